using ArchDsl.Cli;
using static ArchDsl.Cli.Tests.CliHarness;

namespace ArchDsl.Cli.Tests;

/// <summary>archc sweep after its spec changed (points re-trained, never mixed) and over a damaged checkpoint (exit 1, no stack trace).</summary>
public sealed class SweepStaleAndDamageTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("archc-sweep-stale-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Sweep()
    {
        File.WriteAllText(Path.Combine(_dir, "tiny.arch"), AblationCommandTests.TinySpec);
        var path = Path.Combine(_dir, "sweep.yaml");
        File.WriteAllText(path, "spec: tiny.arch\ngrid:\n  kernel: [1, 3]\nseeds: [0]\nthreads: 1\noutput: out\n");
        return path;
    }

    static string ParamsColumn(string markdown, string label) =>
        markdown.Split('\n').Single(l => l.StartsWith($"| {label} |", StringComparison.Ordinal)).Split('|')[3].Trim();

    [Fact]
    public void Editing_the_spec_a_sweep_points_at_retrains_its_points_and_the_table_shows_only_the_new_model()
    {
        var sweep = Sweep();
        var first = Run("sweep", sweep);
        Assert.True(first.Code == ExitCodes.Ok, first.Err + first.Out);
        var before = ParamsColumn(File.ReadAllText(Path.Combine(_dir, "out", "results.md")), "kernel=3");

        File.WriteAllText(Path.Combine(_dir, "tiny.arch"), AblationCommandTests.TinySpec.Replace("dim = 8", "dim = 12"));
        Assert.Contains("seed 0: pending (1 run(s) of a changed configuration)", Run("sweep", sweep, "--dry-run").Out);
        var again = Run("sweep", sweep);
        Assert.True(again.Code == ExitCodes.Ok, again.Err + again.Out);
        Assert.Contains("[2/2] kernel=3 seed 0: the configuration changed since", again.Out);
        Assert.Contains("[2/2] kernel=3 seed 0: training", again.Out);
        Assert.DoesNotContain("done already", again.Out);
        var markdown = File.ReadAllText(Path.Combine(_dir, "out", "results.md"));
        Assert.NotEqual(before, ParamsColumn(markdown, "kernel=3"));
        Assert.Contains("| 1/1 |", markdown);   // one run per point counted: the new one
        Assert.Equal(2, Directory.GetDirectories(Path.Combine(_dir, "out", "points", "kernel=3", "seed0")).Length);   // the old run is kept
    }

    [Fact]
    public void A_sweep_over_a_damaged_checkpoint_reports_the_point_failed_and_exits_one()
    {
        var sweep = Sweep();
        Assert.Equal(ExitCodes.Ok, Run("sweep", sweep).Code);
        // Make the first point unfinished with a checkpoint whose shape is negative.
        var run = Directory.GetDirectories(Path.Combine(_dir, "out", "points", "kernel=1", "seed0")).Single();
        File.Delete(Path.Combine(run, "summary.yaml"));
        var last = Path.Combine(run, "checkpoints", "last.safetensors");
        var (header, data) = CheckpointCorruptionTests.Split(File.ReadAllBytes(last));
        header["model.head.1.bias"]!["shape"] = new System.Text.Json.Nodes.JsonArray(-2, -2);
        File.WriteAllBytes(last, CheckpointCorruptionTests.Join(header, data));

        var (code, stdout, stderr) = Run("sweep", sweep);
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.Contains("kernel=1 seed 0: failed: checkpoint", stdout);
        Assert.Contains("tensor 'model.head.1.bias': shape holds -2", stdout);
        Assert.Contains("1 point(s) failed: kernel=1/seed0", stderr);
        Assert.DoesNotContain("   at ", stderr + stdout);
    }
}
