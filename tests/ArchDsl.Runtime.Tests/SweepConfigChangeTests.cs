using ArchDsl.Presentation;
using ArchDsl.Runtime.Sweep;
using ArchDsl.Runtime.Training;
using static ArchDsl.Runtime.Tests.SweepTestKit;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// Sweeps never reuse a run whose configuration changed (issue 9, item 6): each run records the content
/// hash of its compiled graph and train config; a point counts only runs of its current hash, re-trains
/// when its spec or sweep file changed what it trains, and the report never mixes configurations.
/// </summary>
public sealed class SweepConfigChangeTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("archdsl-sweepchange-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string SpecPath => Path.Combine(_dir, "tiny.arch");

    SweepPlan Plan(string budget = "epochs: 2")
    {
        if (!File.Exists(SpecPath)) File.WriteAllText(SpecPath, TinySpec);
        return SweepPlan.Expand(Write(_dir, $$"""
            spec: tiny.arch
            grid:
              kernel: [1, 3]
            budget: { {{budget}} }
            seeds: [0]
            output: out
            """));
    }

    static (SweepRunSummary Summary, string Log) Run(FakePointTrainer fake, SweepPlan plan)
    {
        var log = new StringWriter();
        return (new SweepRunner(fake, log, SweepReport.WriteAll).Run(plan), log.ToString());
    }

    [Fact]
    public void Editing_the_spec_retrains_every_point_it_changes_and_the_table_holds_only_the_new_runs()
    {
        var accuracy = 0.5;
        var fake = new FakePointTrainer(_ => accuracy);
        Run(fake, Plan());
        var oldRuns = Plan().Points.Select(p => SweepRunner.StatusOf(p).RunDir!).ToList();

        // A comment and a moved line change no graph: nothing is trained.
        File.WriteAllText(SpecPath, "# the same model\n\n" + TinySpec);
        var (same, _) = Run(fake, Plan());
        Assert.Equal(2, same.Skipped.Count);

        // dim 8 → 16: a new model; both points are trained again, the old runs stay on disk but are not counted.
        File.WriteAllText(SpecPath, TinySpec.Replace("dim = 8", "dim = 16"));
        accuracy = 0.9;
        var plan = Plan();
        var dry = SweepRunner.PlanText(plan, SweepRunner.Compile(plan));
        Assert.Contains("seed 0: pending (1 run(s) of a changed configuration)", dry);
        var (changed, log) = Run(fake, plan);
        Assert.Equal(2, changed.Trained.Count);
        Assert.Empty(changed.Skipped);
        Assert.Contains("[1/2] kernel=1 seed 0: the configuration changed since points/kernel=1/seed0/", log);
        Assert.Contains("was trained (its graph or train config hash differs); that run is kept but not counted", log);
        Assert.All(oldRuns, r => Assert.True(File.Exists(Path.Combine(r, "summary.yaml")), r));
        var results = changed.Results.Configs;
        Assert.All(results, c => Assert.Equal([0.9], c.Runs.Select(r => r.Run.Accuracy)));
        Assert.All(results, c => Assert.Equal(c.Params, c.Runs.Single().Run.Parameters));
        Assert.All(plan.Points, p => Assert.Equal(PointState.Finished, SweepRunner.StatusOf(p).State));
    }

    /// <summary>A run recorded before floats were printed as Python does hashed graph.yaml's old text (<c>eps: 1E-05</c>):
    /// its graph.yaml, read back and hashed now, is the point's configuration, so the sweep does not train it again.</summary>
    [Fact]
    public void A_run_whose_hash_was_taken_from_the_old_printing_of_the_same_graph_still_counts_and_a_changed_one_does_not()
    {
        var fake = new FakePointTrainer(_ => 0.5);
        Run(fake, Plan());
        foreach (var p in Plan().Points)
        {
            var runDir = SweepRunner.StatusOf(p).RunDir!;
            var graph = SweepRunner.CompilePoint(p);
            var text = ArchDsl.Compiler.Printers.GraphYaml.Write(graph with { Nodes = graph.Nodes.Select(n => n with { Origin = null }).ToList() });
            Assert.Contains("e-05", text);
            var oldText = System.Text.RegularExpressions.Regex.Replace(text, @"(\d)e([-+]\d)", "$1E$2");   // .NET's exponent, as printed before
            var oldHash = "sha256:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(oldText)));
            Assert.NotEqual(ConfigHash.Of(graph), oldHash);
            File.WriteAllText(Path.Combine(runDir, RunDirectory.GraphYamlFile), ArchDsl.Compiler.Printers.GraphYaml.Write(graph));
            File.WriteAllText(Path.Combine(runDir, RunDirectory.RunFile), $"{{\"format\": \"archdsl-run/1\", \"config_hash\": \"{oldHash}\"}}\n");
        }
        var (same, _) = Run(fake, Plan());
        Assert.Empty(same.Trained);
        Assert.Equal(2, same.Skipped.Count);

        File.WriteAllText(SpecPath, TinySpec.Replace("dim = 8", "dim = 16"));   // graph.yaml read back is not the new configuration
        var (changed, _) = Run(fake, Plan());
        Assert.Equal(2, changed.Trained.Count);
    }

    [Fact]
    public void Changing_the_sweep_files_budget_retrains_and_an_unfinished_run_of_the_old_configuration_is_not_resumed()
    {
        var fake = new FakePointTrainer(_ => 0.7) { InterruptOn = 1 };
        var (first, _) = Run(fake, Plan());
        Assert.True(first.Interrupted);
        Assert.Equal(PointState.Started, SweepRunner.StatusOf(Plan().Points[0]).State);

        var (second, log) = Run(fake, Plan("epochs: 3"));
        Assert.Empty(fake.ResumeCalls);
        Assert.Equal(2, second.Trained.Count);
        Assert.Contains("kernel=1 seed 0: the configuration changed", log);
        Assert.Equal(3L, fake.Graphs[^1].Train["epochs"]);
    }
}

/// <summary>The hash a real run records, and what changes it.</summary>
[Collection(TorchModelCollection.Name)]
public class ConfigHashTests
{
    [Fact]
    public void A_run_records_the_hash_of_its_graph_and_train_config_and_its_graph_yaml_gives_the_same()
    {
        var graph = CompileTiny("train.epochs=1");
        var r = Trainer.Train(graph, Options(TempRoot()));
        var hash = ConfigHash.Of(graph);
        Assert.Matches("^sha256:[0-9a-f]{64}$", hash);
        Assert.Equal(hash, RunDirectory.ReadRunInfo(r.RunDir).ConfigHash);
        Assert.Contains($"\"config_hash\": \"{hash}\"", File.ReadAllText(Path.Combine(r.RunDir, RunDirectory.RunFile)));
        Assert.Equal(hash, ConfigHash.Of(RunDirectory.ReadGraph(r.RunDir)));   // older runs: from graph.yaml

        Assert.Equal(hash, ConfigHash.Of(Compile("\n\n" + TinySpec, "train.epochs=1")));   // source positions do not count
        foreach (var other in new[] { CompileTiny("train.epochs=2"), CompileTiny("train.epochs=1", "dim=12"), CompileTiny("train.epochs=1", "train.seed=4"),
                                      CompileTiny("train.epochs=1", "train.augment=[]"), CompileTiny("train.epochs=1", "kernel=5") })
            Assert.NotEqual(hash, ConfigHash.Of(other));
    }
}
