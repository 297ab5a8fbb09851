using ArchDsl.Cli;
using static ArchDsl.Cli.Tests.CliHarness;

namespace ArchDsl.Cli.Tests;

/// <summary>archc diff / snapshot / sweep as a user meets them: output, exit codes, files.</summary>
public sealed class AblationCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("archc-ablate-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Copy(string relative)
    {
        var path = Path.Combine(_dir, Path.GetFileName(relative));
        File.Copy(Spec(relative), path);
        return path;
    }

    // ---- diff ----------------------------------------------------------------------------------------

    [Fact]
    public void Diff_with_set_prints_the_collapsed_kernel_change_and_exits_zero()
    {
        var spec = Spec("convmixer.arch");
        var (code, stdout, stderr) = Run("diff", spec, "--set", "kernel=9");
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Equal("", stderr);
        Assert.StartsWith($"--- {spec}\n+++ {spec} --set kernel=9\n", stdout);
        Assert.Contains("~ blocks.{0..7}.token.0: conv2d kernel 5 → 9, padding 2 → 4", stdout);
        Assert.Matches(@"params\s+165,002\s+222,346\s+\+57,344", stdout);
    }

    [Fact]
    public void Diff_of_two_files_applies_set_to_the_second()
    {
        var (code, stdout, _) = Run("diff", Spec("convmixer.arch"), Spec("convmixer.arch"), "--set", "residual=both", "--format", "json");
        Assert.Equal(ExitCodes.Ok, code);
        using var json = System.Text.Json.JsonDocument.Parse(stdout);
        Assert.Equal(8, json.RootElement.GetProperty("added").GetArrayLength());
        Assert.Equal(0, json.RootElement.GetProperty("removed").GetArrayLength());
    }

    [Fact]
    public void Diff_of_identical_graphs_says_so_and_exits_zero()
    {
        var (code, stdout, _) = Run("diff", Spec("vit.arch"), Copy("vit.arch"));
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains("no differences", stdout);
    }

    [Fact]
    public void Diff_exits_one_on_spec_errors_and_two_on_usage()
    {
        var (code, stdout, stderr) = Run("diff", Spec("convmixer.arch"), "--set", "nosuch=1");
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.Equal("", stdout);
        Assert.Contains("error AD", stderr);
        Assert.DoesNotContain("   at ", stderr);

        var usage = Run("diff", Spec("convmixer.arch"));
        Assert.Equal(ExitCodes.Usage, usage.Code);
        Assert.Contains("--set", usage.Err);
    }

    // ---- snapshot ------------------------------------------------------------------------------------

    [Fact]
    public void Snapshot_writes_then_check_passes_then_fails_on_drift_with_a_diff()
    {
        var spec = Copy("convmixer.arch");
        var lockFile = Path.Combine(_dir, "convmixer.graph.txt");

        var missing = Run("snapshot", "--check", _dir);
        Assert.Equal(ExitCodes.SpecErrors, missing.Code);
        Assert.Contains("MISSING", missing.Out);

        var write = Run("snapshot", _dir);
        Assert.Equal(ExitCodes.Ok, write.Code);
        Assert.Contains($"wrote    {lockFile}", write.Out);
        Assert.Equal(Run("graph", spec).Out, File.ReadAllText(lockFile));

        var clean = Run("snapshot", "--check", spec);
        Assert.Equal(ExitCodes.Ok, clean.Code);
        Assert.Contains($"ok       {spec}", clean.Out);

        File.WriteAllText(spec, File.ReadAllText(spec).Replace("kernel = 5", "kernel = 7"));
        var drift = Run("snapshot", "--check", spec);
        Assert.Equal(ExitCodes.SpecErrors, drift.Code);
        Assert.Contains("DRIFTED", drift.Out);
        Assert.Contains($"--- {lockFile} (locked)\n+++ {spec} (compiled)\n", drift.Out);
        Assert.Contains("kernel=7", drift.Out);
        Assert.Contains("1 of 1 spec failed", drift.Err);
    }

    [Fact]
    public void Snapshot_of_a_missing_path_or_a_folder_without_specs_exits_one_as_check_does()
    {
        var nope = Path.Combine(_dir, "nope.arch");
        var (code, stdout, stderr) = Run("snapshot", nope);
        Assert.Equal(ExitCodes.SpecErrors, code);   // as check, summary, eval and report say a missing path (was 2, a usage error)
        Assert.Equal("", stdout);
        Assert.Equal($"archc: error: no spec file or folder '{nope}'", stderr.TrimEnd());
        Assert.Equal(ExitCodes.SpecErrors, Run("check", nope).Code);

        var empty = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;
        var none = Run("snapshot", "--check", empty);
        Assert.Equal(ExitCodes.SpecErrors, none.Code);
        Assert.Equal($"archc: error: no .arch files in '{empty}'", none.Err.TrimEnd());
    }

    // ---- sweep ---------------------------------------------------------------------------------------

    internal const string TinySpec = """
        arch Tiny(dim = 8, depth = 1, kernel = 3, patch = 2, classes = 4)
        input image[1, 8, 8]
        stem conv(dim, kernel: patch, stride: patch) -> gelu -> batchnorm
        mixer * depth {
          token:    conv(dim, kernel: kernel, groups: dim, padding: same) -> gelu -> batchnorm
          channel:  conv(dim, kernel: 1) -> gelu -> batchnorm
          residual: token
        }
        head avgpool -> linear(classes)
        train { data: synthetic(train: 128, test: 64, noise: 0.5), epochs: 1, batch: 32 }
        """;

    string TinySweep(string extra = "")
    {
        File.WriteAllText(Path.Combine(_dir, "tiny.arch"), TinySpec);
        var path = Path.Combine(_dir, "sweep.yaml");
        File.WriteAllText(path, "spec: tiny.arch\ngrid:\n  kernel: [1, 3]\nseeds: [0, 1]\nthreads: 1\noutput: out\n" + extra);
        return path;
    }

    [Fact]
    public void Sweep_dry_run_lists_configurations_with_counts_and_trains_nothing()
    {
        var (code, stdout, stderr) = Run("sweep", TinySweep(), "--dry-run");
        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.Contains("2 configuration(s) × 2 seed(s) = 4 run(s)", stdout);
        Assert.Matches(@"kernel=1\s+params\s+[\d,]+\s+mult-adds\s+[\d,]+\s+seed 0: pending, seed 1: pending", stdout);
        Assert.Contains("    tiny.arch --set kernel=3\n", stdout);
        Assert.Contains("points: 4 pending", stdout);
        Assert.False(Directory.Exists(Path.Combine(_dir, "out")));
    }

    [Fact]
    public void Sweep_trains_writes_the_report_and_a_rerun_skips_everything()
    {
        var sweep = TinySweep();
        var (code, stdout, stderr) = Run("sweep", sweep);
        Assert.True(code == ExitCodes.Ok, stderr + stdout);
        Assert.Contains("[4/4] kernel=3 seed 1: training", stdout);
        foreach (var f in new[] { "results.md", "results.csv", "accuracy-vs-params.svg", "index.html" })
            Assert.True(File.Exists(Path.Combine(_dir, "out", f)), f);
        Assert.Matches(@"\| kernel=3 \| kernel=3 \| [\d,]+ \| [\d,]+ \| 2/2 \| \d+\.\d\d ± \d+\.\d\d \|", File.ReadAllText(Path.Combine(_dir, "out", "results.md")));

        var again = Run("sweep", sweep);
        Assert.Equal(ExitCodes.Ok, again.Code);
        Assert.DoesNotContain(": training", again.Out);
        Assert.Equal(4, again.Out.Split("done already").Length - 1);
        Assert.Contains("points: 4 finished", Run("sweep", sweep, "--dry-run").Out);
    }

    [Fact]
    public void Sweep_file_and_spec_errors_exit_one_without_a_stack_trace()
    {
        var bad = Run("sweep", TinySweep("bogus: 1\n"));
        Assert.Equal(ExitCodes.SpecErrors, bad.Code);
        Assert.Contains("unknown key 'bogus'", bad.Err);
        Assert.DoesNotContain("   at ", bad.Err);

        var spec = Run("sweep", TinySweep("set: { nosuch: 1 }\n"), "--dry-run");
        Assert.Equal(ExitCodes.SpecErrors, spec.Code);
        Assert.Contains("error AD0120", spec.Err);

        var missing = Run("sweep", Path.Combine(_dir, "none.yaml"));
        Assert.Equal(ExitCodes.SpecErrors, missing.Code);
        Assert.Contains("cannot read sweep file", missing.Err);
    }
}
