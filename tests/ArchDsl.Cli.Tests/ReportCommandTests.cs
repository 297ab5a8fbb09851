using ArchDsl.Cli;
using static ArchDsl.Cli.Tests.CliHarness;

namespace ArchDsl.Cli.Tests;

/// <summary><c>archc report</c> and the sweep's <c>--report</c>/<c>--dry-run</c>/errors as a user meets them, on real tiny runs.</summary>
public sealed class ReportCommandTests : IDisposable
{
    const string TinySpec = TinyTrainSpec;

    readonly string _dir = Directory.CreateTempSubdirectory("archc-report-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Train(params string[] sets)
    {
        var spec = Path.Combine(_dir, "tiny.arch");
        File.WriteAllText(spec, TinySpec);
        var runs = Path.Combine(_dir, "runs");
        var before = Directory.Exists(runs) ? Directory.GetDirectories(runs) : [];
        var (code, _, err) = Run(["train", spec, "--runs", runs, "--epochs", "2", .. sets.SelectMany(s => new[] { "--set", s })]);
        Assert.True(code == ExitCodes.Ok, err);
        return Directory.GetDirectories(runs).Except(before).Single();
    }

    [Fact]
    public void Train_leaves_a_report_and_report_redraws_it_or_compares_runs()
    {
        var a = Train();
        Assert.True(File.Exists(Path.Combine(a, "report.html")));
        Assert.True(new FileInfo(Path.Combine(a, "accuracy.png")).Length > 1000);
        File.Delete(Path.Combine(a, "accuracy.png"));
        var (code, stdout, stderr) = Run("report", a);
        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.Contains("report.html", stdout);
        Assert.True(File.Exists(Path.Combine(a, "accuracy.png")));

        var b = Train("dim=12");
        var cmp = Path.Combine(_dir, "cmp");
        (code, stdout, stderr) = Run("report", a, b, "-o", cmp);
        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.Contains("comparison of 2 runs", stdout);
        var md = File.ReadAllText(Path.Combine(cmp, "metrics.md"));
        Assert.Contains("| dim | (not set) | 12 |", md);
        Assert.True(File.Exists(Path.Combine(cmp, "train-loss.svg")));
    }

    [Fact]
    public void Report_of_what_is_not_a_run_is_a_clear_error()
    {
        var (code, _, stderr) = Run("report", Path.Combine(_dir, "nope"));
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.Contains($"no run directory or sweep file '{Path.Combine(_dir, "nope")}'", stderr);
        (code, _, stderr) = Run("report", _dir);
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.Contains("is not a run directory (no run.json)", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Fact]
    public void A_bad_sweep_file_gets_every_error_rendered_with_its_location()
    {
        var sweep = Path.Combine(_dir, "bad.yaml");
        File.WriteAllText(sweep, "spec: tiny.arch\nsedes: [0]\nthreads: two\n");
        var (code, _, stderr) = Run("sweep", sweep, "--dry-run");
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.Contains("bad.yaml:2:1: error AD0217: unknown key 'sedes' in a sweep file", stderr);
        Assert.Contains("= hint: did you mean 'seeds'?", stderr);
        Assert.Contains("bad.yaml:3:10: error AD0221: threads must be a positive integer, got 'two'", stderr);
        Assert.Contains("archc: 2 errors in", stderr);
    }

    [Fact]
    public void Sweep_report_goes_where_report_says()
    {
        File.WriteAllText(Path.Combine(_dir, "tiny.arch"), TinySpec);
        var sweep = Path.Combine(_dir, "s.yaml");
        File.WriteAllText(sweep, "spec: tiny.arch\ngrid: { dim: [4, 8] }\nbudget: { epochs: 1 }\noutput: out\n");
        var (code, stdout, stderr) = Run("sweep", sweep, "--dry-run");
        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.Contains("time: no estimate yet for the 2 point(s) left", stdout);
        var elsewhere = Path.Combine(_dir, "elsewhere");
        (code, _, stderr) = Run("sweep", sweep, "--report", elsewhere);
        Assert.True(code == ExitCodes.Ok, stderr);
        foreach (var f in new[] { "index.html", "results.md", "accuracy-vs-params.png", "curves-loss.svg" })
            Assert.True(File.Exists(Path.Combine(elsewhere, f)), f);
        Assert.False(File.Exists(Path.Combine(_dir, "out", "index.html")));
    }
}
