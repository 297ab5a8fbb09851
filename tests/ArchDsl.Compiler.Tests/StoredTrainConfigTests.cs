using ArchDsl.Compiler.Printers;

namespace ArchDsl.Compiler.Tests;

using static CompilerTestKit;

/// <summary>
/// A run's graph.yaml written by an earlier archc keeps meaning what it trained with (TrainSchema.UpgradeStored):
/// the old boolean amp trained in float32, and runs before weight_decay_rule decayed every parameter.
/// </summary>
public class StoredTrainConfigTests
{
    private const string Spec = """
        arch Tiny(dim = 8)

        input image[1, 8, 8]

        stem conv(dim, kernel: 4, stride: 4) -> relu

        head global_pool -> linear(10)

        train {
          data: synthetic
          epochs: 1
        }
        """;

    private static IrGraph Current() => Compile(Spec).Graph ?? throw new InvalidOperationException("the spec should compile");

    /// <summary>graph.yaml as an archc before the amp and weight_decay_rule changes wrote it.</summary>
    private static string OldYaml(string ampLine)
    {
        var lines = GraphYaml.Write(Current()).Split('\n').Where(l => !l.TrimStart().StartsWith("weight_decay_rule:", StringComparison.Ordinal));
        return string.Join('\n', lines.Select(l => l.TrimStart().StartsWith("amp:", StringComparison.Ordinal) ? l[..l.IndexOf("amp:", StringComparison.Ordinal)] + ampLine : l));
    }

    [Theory]
    [InlineData("amp: false")]
    [InlineData("amp: true")]
    public void An_old_runs_config_reads_as_what_it_trained_with(string ampLine)
    {
        var old = GraphYaml.Read(OldYaml(ampLine)).Train;
        Assert.NotEmpty(TrainSchema.Check(old)); // as stored, today's rules refuse it
        var upgraded = TrainSchema.UpgradeStored(old);
        Assert.Empty(TrainSchema.Check(upgraded));
        Assert.Equal(AmpMode.Off, upgraded.Loop.Amp);
        Assert.Equal(WeightDecayRule.All, upgraded.WeightDecayRule);
    }

    [Fact]
    public void A_config_written_now_is_left_as_it_is()
    {
        var now = GraphYaml.Read(GraphYaml.Write(Current())).Train;
        Assert.Same(now, TrainSchema.UpgradeStored(now));
        Assert.Equal(WeightDecayRule.Timm, now.WeightDecayRule);
    }
}
