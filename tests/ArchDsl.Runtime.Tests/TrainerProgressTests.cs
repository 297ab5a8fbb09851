using ArchDsl.Presentation;
using ArchDsl.Runtime.Training;
using Spectre.Console;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;

namespace ArchDsl.Runtime.Tests;

[Collection(TorchModelCollection.Name)]
public class TrainerProgressTests
{
    [Fact]
    public void The_spectre_display_shows_each_epoch_with_its_evaluation_and_ends_with_the_result()
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Yes,
            ColorSystem = ColorSystemSupport.Standard,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 240;
        using var sink = new SpectreProgressSink(console);
        var r = Trainer.Train(CompileTiny("train.epochs=2", "train.augment=[flip]"), Options(TempRoot()) with { Progress = sink });
        var text = System.Text.RegularExpressions.Regex.Replace(writer.ToString(), @"\x1b\[[0-9;?]*[A-Za-z]", "");
        Assert.Contains("Training Tiny (", text);
        Assert.Contains("epoch 2/2  loss ", text);
        Assert.Contains("test acc ", text);
        Assert.Contains(r.RunDir, text);
        Assert.Contains("test accuracy", text); // the closing line
    }

    [Fact]
    public void Plain_lines_are_rate_limited_but_every_epoch_end_is_shown()
    {
        var w = new StringWriter();
        Trainer.Train(CompileTiny("train.epochs=2", "train.augment=[]"), Options(TempRoot()) with { Progress = new PlainProgressSink(w, TimeSpan.FromHours(1)) });
        var lines = w.ToString().Split('\n').Where(l => l.StartsWith("epoch ", StringComparison.Ordinal) && l.Contains(" batch ")).ToList();
        // The first step prints (nothing printed yet), then only each epoch's last batch within the hour.
        Assert.Equal(["batch 1/6", "batch 6/6", "batch 6/6"], lines.Select(l => l.Split("  ")[1]).ToList());
    }
}
