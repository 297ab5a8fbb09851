using System.Text.Json;
using ArchDsl.Cli;
using static ArchDsl.Cli.Tests.CliHarness;

namespace ArchDsl.Cli.Tests;

/// <summary><c>archc diff</c> on real run directories (tiny runs on synthetic data) and on two override sets of one spec.</summary>
public sealed class DiffRunsTests : IDisposable
{
    const string TinySpec = """
        arch Tiny(dim = 8, kernel = 3, classes = 3)
        input image[1, 8, 8]
        stem conv(dim, kernel: 2, stride: 2) -> gelu -> batchnorm
        mixer * 2 {
          token:   conv(dim, kernel: kernel, groups: dim, padding: same) -> gelu -> batchnorm
          channel: conv(dim, kernel: 1) -> gelu -> batchnorm
          residual: token
        }
        head global_pool -> linear(classes)
        train {
          data: synthetic(train: 32, test: 16)
          epochs: 1
          batch: 16
          seed: 1
        }
        """;

    readonly string _dir = Directory.CreateTempSubdirectory("archc-diff-runs-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string Spec(string text, string name = "tiny.arch")
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    string TrainedRun(string spec, string name, params string[] sets)
    {
        var (code, _, err) = Run(["train", spec, "--runs", Path.Combine(_dir, "runs"), "--name", name, "--threads", "1", .. sets.SelectMany(s => new[] { "--set", s })]);
        Assert.True(code == ExitCodes.Ok, err);
        return Directory.GetDirectories(Path.Combine(_dir, "runs"), name + "-*").Single();
    }

    [Fact]
    public void Two_runs_differ_in_their_graphs_train_config_and_overrides()
    {
        var spec = Spec(TinySpec);
        var a = TrainedRun(spec, "a");
        var b = TrainedRun(spec, "b", "kernel=5", "train.optimizer.lr=0.005");
        var (code, text, err) = Run("diff", a, b);
        Assert.True(code == ExitCodes.Ok, err);
        Assert.StartsWith($"--- {a}\n+++ {b}\n", text);
        Assert.Contains("  ~ blocks.{0,1}.token.0: conv2d kernel 3 → 5, padding 1 → 2   (×2, each)\n", text);
        Assert.Contains("train: 1 key\n  ~ optimizer: adamw(", text);
        Assert.Contains("lr: 0.005", text);
        Assert.Contains("overrides: 2 keys\n  ~ kernel: (none) → 5\n  ~ train.optimizer.lr: (none) → 0.005\n", text);
        Assert.EndsWith("\nspec: the same text\n", text);

        var (jcode, json, jerr) = Run("diff", a, b, "--format", "json");
        Assert.True(jcode == ExitCodes.Ok, jerr);
        using var doc = JsonDocument.Parse(json);
        var overrides = doc.RootElement.GetProperty("sources").GetProperty("overrides");
        Assert.Equal(["kernel", "train.optimizer.lr"], overrides.EnumerateArray().Select(o => o.GetProperty("key").GetString()));
        Assert.Equal(JsonValueKind.Null, overrides[0].GetProperty("before").ValueKind);
        Assert.Equal("5", overrides[0].GetProperty("after").GetString());
        Assert.Equal(2, doc.RootElement.GetProperty("changed").GetArrayLength());
        Assert.Equal("optimizer", doc.RootElement.GetProperty("train")[0].GetProperty("key").GetString());
    }

    [Fact]
    public void A_run_against_one_from_a_commented_spec_has_the_same_graph_and_shows_the_text_change()
    {
        var a = TrainedRun(Spec(TinySpec), "a");
        var b = TrainedRun(Spec(TinySpec.Replace("residual: token", "residual: token   # as published"), "commented.arch"), "b");
        var (code, text, err) = Run("diff", a, b);
        Assert.True(code == ExitCodes.Ok, err);
        Assert.Contains("no differences: the compiled graphs and train settings are identical\n", text);
        Assert.Contains("\nspec:\n", text);
        Assert.Contains("\n-  residual: token\n+  residual: token   # as published\n", text);
        Assert.DoesNotContain("overrides:", text);

        var self = Run("diff", a, a);
        Assert.EndsWith("no differences: the compiled graphs and train settings are identical\nparams 451, mult-adds 4,888\n\nspec: the same text\n", self.Out);
    }

    [Fact]
    public void Runs_and_specs_are_not_mixed_and_a_missing_run_is_named()
    {
        var spec = Spec(TinySpec);
        var a = TrainedRun(spec, "a");
        var missing = Path.Combine(_dir, "runs", "nope");
        var (code, _, err) = Run("diff", a, missing);
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.Equal($"archc: error: no run directory '{missing}'", err.TrimEnd());
        Assert.Equal(ExitCodes.Usage, Run("diff", a, spec).Code);
        Assert.Equal(ExitCodes.Usage, Run("diff", spec, a).Code);
        Assert.Equal(ExitCodes.Usage, Run("diff", a, a, "--set", "dim=4").Code);
        var notRun = Directory.CreateDirectory(Path.Combine(_dir, "empty")).FullName;
        var e = Run("diff", a, notRun);
        Assert.Equal(ExitCodes.SpecErrors, e.Code);
        Assert.Equal($"archc: error: '{notRun}' is not a run directory (no graph.yaml)", e.Err.TrimEnd());
    }

    [Fact]
    public void Two_override_sets_on_one_spec()
    {
        var spec = Spec(TinySpec);
        var (code, text, err) = Run("diff", spec, "--set", "dim=16", "--set-a", "kernel=5", "--set-b", "kernel=9");
        Assert.True(code == ExitCodes.Ok, err);
        Assert.StartsWith($"--- {spec} --set dim=16 --set kernel=5\n+++ {spec} --set dim=16 --set kernel=9\n", text);
        Assert.Contains("conv2d kernel 5 → 9, padding 2 → 4", text);
        Assert.Equal(ExitCodes.Usage, Run("diff", spec, spec, "--set-a", "kernel=5").Code);

        var bad = Run("diff", spec, "--set-a", "kernel=5", "--set-b", "kernal=9");
        Assert.Equal(ExitCodes.SpecErrors, bad.Code);
        Assert.StartsWith("<--set>:1:1: error AD0120: ", bad.Err);
    }
}
