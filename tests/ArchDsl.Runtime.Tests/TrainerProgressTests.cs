using ArchDsl.Presentation;
using ArchDsl.Runtime.Training;
using ArchDsl.Torch;
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

    /// <summary>The header counts an image folder's images as listed and names those known to be unreadable before the
    /// first step as left out (what training meets later is summary.yaml's to count).</summary>
    [Fact]
    public void The_header_counts_readable_images_and_says_how_many_unreadable_were_left_out()
    {
        var info = new RunStartInfo("runs/x", "Tiny", 1, 3, 8, 100, "cpu", 1, "folder:/d", 1019, "test", 8, "none", "sgd(lr: 0.1)", false, 0, 0,
            TrainUnreadable: 1001, EvalUnreadable: 1);
        Assert.Equal("data folder:/d: 1,019 training images listed (1,001 known unreadable left out), 8 test images listed (1 known unreadable left out); " +
                     "1 epoch(s) × 3 batches of 8; sgd(lr: 0.1); augment none", info.DescribeData());
        Assert.Equal("data folder:/d: 1,019 training images; 1 epoch(s) × 3 batches of 8; sgd(lr: 0.1); augment none",
            (info with { TrainUnreadable = 0, EvalSet = null }).DescribeData());
    }

    /// <summary>The BLAS line of the log and summary.yaml writes the self-check's error as the run's other rounded figures
    /// (Python's <c>format(v, '.2g')</c>: <c>2.1e-07</c>, not .NET's culture-dependent <c>2.1E-07</c>).</summary>
    [Fact]
    public void The_blas_line_writes_the_self_check_error_as_python_does()
    {
        Assert.Equal("OpenBLAS SkylakeX (chosen: avx512f+bw+vl+dq; library default Prescott; self-check error 2.1e-07)",
            BlasKernelText.Describe(new BlasKernelInfo("SkylakeX", "chosen", "avx512f+bw+vl+dq; library default Prescott", 2.14e-7)));
        Assert.Equal("OpenBLAS Prescott (default: Haswell (avx2+fma) failed the self-check: error 0.312 > 0.0001)",
            BlasKernelText.Describe(new BlasKernelInfo("Prescott", "default", "Haswell (avx2+fma) failed the self-check", 0.3123)));
        Assert.Equal("OpenBLAS Prescott (default: Haswell (avx2+fma) failed the self-check: error nan > 0.0001)",
            BlasKernelText.Describe(new BlasKernelInfo("Prescott", "default", "Haswell (avx2+fma) failed the self-check", double.NaN)));
        Assert.Equal("OpenBLAS Haswell (user: OPENBLAS_CORETYPE=Haswell)", BlasKernelText.Describe(new BlasKernelInfo("Haswell", "user", "OPENBLAS_CORETYPE=Haswell")));
        Assert.Equal("not loaded", BlasKernelText.Describe(null));
    }

    [Fact]
    public void Plain_lines_write_every_count_with_thousands_separators_as_parameter_counts_are()
    {
        var w = new StringWriter();
        var sink = new PlainProgressSink(w, TimeSpan.Zero);
        sink.RunStarted(new RunStartInfo("runs/x", "Tiny", 1, 1250, 64, 1234567, "cpu", 2, "synthetic", 80000, "test", 12000, "none", "sgd(lr: 0.1)", true, 0, 1001));
        sink.StepCompleted(new StepInfo(1, 1, 1100, 1250, 1100, 1, 1, 0.5, 0.1, 3533.4, TimeSpan.FromSeconds(3)));
        sink.Evaluating(1, "test", 12000);
        sink.EpochCompleted(new EpochInfo(1, 1, 1250, 1, 0.5, "test", 1, 0.5, false, 12345.6, TimeSpan.FromSeconds(9)));
        Assert.Equal([
            "resuming Tiny (1,234,567 parameters) on cpu with 2 thread(s) → runs/x",
            "  data synthetic: 80,000 training images, 12,000 test images; 1 epoch(s) × 1,250 batches of 64; sgd(lr: 0.1); augment none",
            "  continuing at epoch 1, batch 1,001",
            "epoch 1/1  batch 1,100/1,250  loss 1.0000  acc 50.00%  lr 1.00e-1  3,533 img/s  eta 3.0s",
            "epoch 1: evaluating on 12,000 test images",
            "epoch 1/1 done in 9.0s: train loss 1.0000 acc 50.00%; test loss 1.0000 acc 50.00%; 12,346 img/s"], w.ToString().TrimEnd().Split(Environment.NewLine));
        Assert.Equal("-", Throughput.Count(double.NaN));
    }
}
