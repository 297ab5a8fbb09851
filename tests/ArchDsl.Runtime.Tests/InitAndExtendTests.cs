using ArchDsl.Runtime.Model;
using ArchDsl.Runtime.Training;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// Fine-tuning from another run (<c>--init</c>, <see cref="InitialWeights"/>) and extending a run with more epochs
/// (<see cref="Trainer.Resume"/> with an epoch count, <see cref="RunExtension"/>), on real tiny runs.
/// </summary>
[Collection(TorchModelCollection.Name)]
public class InitAndExtendTests
{
    private const string SixClasses = "train.data=synthetic(train: 192, test: 64, noise: 0.5, classes: 6)";

    private static Dictionary<string, Tensor> Weights(string checkpoint) =>
        Safetensors.Load(checkpoint).Where(kv => kv.Key.StartsWith(Checkpoint.ModelPrefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[Checkpoint.ModelPrefix.Length..], kv => kv.Value);

    [Fact]
    public void Init_loads_what_fits_and_reinitialises_a_head_of_another_class_count()
    {
        var root = TempRoot();
        var source = Trainer.Train(CompileTiny(), Options(root)).RunDir;
        var graph = CompileTiny("classes=6", SixClasses);
        using var model = new IrModel(graph, seed: 11, torch.CPU);
        var fresh = model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());

        var report = InitialWeights.Apply(source, model);

        Assert.Equal(RunDirectory.CheckpointPath(source, RunDirectory.Last), report.From); // no val split: its last weights, as eval takes
        Assert.Equal(2, report.Epoch);
        Assert.Equal(["head.1.weight", "head.1.bias"], report.Reinitialized.Select(m => m.Name));
        Assert.Equal("head.1.weight [4, 8] → [6, 8]", report.Reinitialized[0].ToString());
        Assert.Empty(report.Skipped);
        Assert.Empty(report.NotInCheckpoint);
        var saved = Weights(report.From);
        var own = model.state_dict();
        Assert.Equal(own.Count - 2, report.Loaded.Length);
        foreach (var name in report.Loaded) Assert.True(TestSupport.Tensors.MaxAbsDiff(own[name], saved[name]) == 0, $"{name} was not loaded");
        foreach (var m in report.Reinitialized) Assert.True(TestSupport.Tensors.MaxAbsDiff(own[m.Name], fresh[m.Name]) == 0, $"{m.Name} lost its initialisation");
        Assert.Equal([6L, 8L], own["head.1.weight"].shape);
        Assert.Contains("re-initialised, shape differs (2): head.1.weight [4, 8] → [6, 8], head.1.bias [4] → [6]", report.Describe());
    }

    [Fact]
    public void Init_names_tensors_the_other_model_lacks_and_those_it_has_no_place_for()
    {
        var root = TempRoot();
        var source = Trainer.Train(CompileTiny("depth=2"), Options(root)).RunDir;
        using var model = new IrModel(CompileTiny("depth=1"), seed: 11, torch.CPU);
        var report = InitialWeights.Apply(source, model);
        Assert.Empty(report.NotInCheckpoint);
        Assert.NotEmpty(report.Skipped);
        Assert.All(report.Skipped, name => Assert.StartsWith("blocks.1.", name));
        Assert.Contains($"skipped, not in this model ({report.Skipped.Length}): blocks.1.", report.Describe());

        using var deeper = new IrModel(CompileTiny("depth=3"), seed: 11, torch.CPU);
        var back = InitialWeights.Apply(source, deeper);
        Assert.All(back.NotInCheckpoint, name => Assert.StartsWith("blocks.2.", name));
        Assert.Equal(report.Skipped.Length, back.NotInCheckpoint.Length);
    }

    [Fact]
    public void Init_from_an_unknown_run_or_an_unrelated_model_is_a_clear_error_and_leaves_no_run()
    {
        var root = TempRoot();
        var missing = Path.Combine(root, "runs", "nope");
        var e = Assert.Throws<TrainingException>(() => Trainer.Train(CompileTiny(), Options(root) with { Init = missing }));
        Assert.Equal($"no run directory or checkpoint '{missing}'", e.Message);
        Assert.False(Directory.Exists(Path.Combine(root, "tiny")) || Directory.GetDirectories(root).Any(d => Path.GetFileName(d).StartsWith("tiny-", StringComparison.Ordinal)));

        var source = Trainer.Train(CompileTiny(), Options(root)).RunDir;
        using var other = new IrModel(CompileTiny("dim=16", "classes=6", SixClasses), seed: 1, torch.CPU); // every conv, norm and the head of another width
        var e2 = Assert.Throws<TrainingException>(() => InitialWeights.Apply(source, other));
        Assert.StartsWith($"no parameter of '{RunDirectory.CheckpointPath(source, RunDirectory.Last)}' fits the model", e2.Message);
    }

    [Fact]
    public void A_run_started_with_init_records_its_report_and_starts_from_those_weights()
    {
        var root = TempRoot();
        var source = Trainer.Train(CompileTiny(), Options(root)).RunDir;
        var sink = new TrainerTests.RecordingSink();
        var tuned = Trainer.Train(CompileTiny("classes=6", SixClasses), Options(root) with { Init = source, Progress = sink }).RunDir;
        var info = RunDirectory.ReadRunInfo(tuned);
        Assert.Equal(RunDirectory.CheckpointPath(source, RunDirectory.Last), info.InitFrom);
        Assert.NotNull(info.Init);
        Assert.Equal(["head.1.weight", "head.1.bias"], info.Init!.Reinitialized.Select(m => m.Name));
        Assert.Contains(sink.Messages, m => m.StartsWith($"init: {info.Init.Loaded.Length} of the model's {info.Init.Loaded.Length + 2} tensors loaded from", StringComparison.Ordinal));
    }

    /// <summary>
    /// Planning an extension reads the run and writes nothing (every rank of a data-parallel resume plans before the
    /// rendezvous; a rank that planned from a run.json rank 0 had already rewritten refused "--epochs 2" as not above
    /// the run's 2 epochs); committing the plan archives the summary and rewrites graph.yaml and run.json.
    /// </summary>
    [Fact]
    public void Planning_an_extension_writes_nothing_and_committing_it_writes_the_plan()
    {
        var root = TempRoot();
        var run = Trainer.Train(CompileTiny(), Options(root)).RunDir;
        static Dictionary<string, string> Files(string dir) =>
            Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
                .ToDictionary(f => Path.GetRelativePath(dir, f), f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f))));
        var before = Files(run);

        var plan = RunExtension.Prepare(run, RunDirectory.ReadGraph(run), RunDirectory.ReadRunInfo(run), 3);
        var again = RunExtension.Prepare(run, RunDirectory.ReadGraph(run), RunDirectory.ReadRunInfo(run), 3);

        Assert.Equal(before, Files(run));
        Assert.Equal(3, plan.Graph.Train.Loop.Epochs);
        Assert.Equal(plan.Info.ConfigHash, again.Info.ConfigHash);
        Assert.Equal("summary.2-epochs.yaml", plan.ArchivedSummary);
        var summary = File.ReadAllText(RunDirectory.SummaryOf(run));
        RunExtension.Commit(run, plan);
        Assert.False(File.Exists(RunDirectory.SummaryOf(run)));
        Assert.Equal(summary, File.ReadAllText(Path.Combine(run, "summary.2-epochs.yaml")));
        Assert.Equal(3, RunDirectory.ReadGraph(run).Train.Loop.Epochs);
        var info = RunDirectory.ReadRunInfo(run);
        Assert.Equal(plan.Info.ConfigHash, info.ConfigHash);
        Assert.Equal((2, 3), (info.Extensions[^1].FromEpochs, info.Extensions[^1].ToEpochs));
    }

    [Fact]
    public void Extending_a_finished_run_recomputes_the_schedule_for_the_new_total_and_keeps_what_was_written()
    {
        var root = TempRoot();
        var two = Trainer.Train(CompileTiny(), Options(root)).RunDir;
        var curveBefore = Curve(two);
        var summaryBefore = File.ReadAllText(RunDirectory.SummaryOf(two));
        var four = Trainer.Train(CompileTiny("train.epochs=4"), Options(root)).RunDir; // what an N-epoch run's schedule is

        var e = Assert.Throws<TrainingException>(() => Trainer.Resume(two, Options(root), extendTo: 2));
        Assert.Contains("has 2 epoch(s) in all; --epochs with --resume is the new total, so give more than 2 (e.g. --epochs 3)", e.Message);
        var result = Trainer.Resume(two, Options(root), extendTo: 4);

        Assert.Equal(TrainOutcome.Completed, result.Outcome);
        Assert.Equal(4, result.Epochs);
        var after = Curve(two);
        Assert.Equal(curveBefore, after.Take(curveBefore.Count)); // the first two epochs' records are kept as they were
        Assert.Equal(summaryBefore, File.ReadAllText(Path.Combine(two, "summary.2-epochs.yaml")));
        Assert.Contains("epochs: 4\n", File.ReadAllText(RunDirectory.SummaryOf(two)));
        Assert.Equal(4, RunDirectory.ReadGraph(two).Train.Loop.Epochs);

        // The rates: trained steps keep the 2-epoch schedule's; later steps follow the 4-epoch schedule exactly.
        var steps = StepLrs(two);
        var fourEpochRates = StepLrs(four).Where(kv => kv.Key > 12).ToList();
        Assert.NotEmpty(fourEpochRates);
        foreach (var (step, lr) in fourEpochRates) Assert.Equal(lr, steps[step]);
        var schedule2 = Schedules.FromTrain(CompileTiny().Train, 6);
        var schedule4 = Schedules.FromTrain(CompileTiny("train.epochs=4").Train, 6);
        Assert.True(schedule4.LearningRate(12) > 100 * schedule2.LearningRate(11), "one-cycle over 4 epochs is mid-anneal where the 2-epoch one ended");

        var info = RunDirectory.ReadRunInfo(two);
        var ext = Assert.Single(info.Extensions);
        Assert.Equal((2, 4, 12L, "summary.2-epochs.yaml"), (ext.FromEpochs, ext.ToEpochs, ext.AtStep, ext.ArchivedSummary));
        Assert.Equal(ConfigHash.Of(RunDirectory.ReadGraph(two)), info.ConfigHash);
        Assert.Equal(ConfigHash.Of(RunDirectory.ReadGraph(four)), info.ConfigHash); // the same configuration as a 4-epoch run
    }

    [Fact]
    public void Extending_a_run_selected_on_val_keeps_its_test_record()
    {
        var root = TempRoot();
        var run = Trainer.Train(CompileTiny("train.val_split=0.25"), Options(root)).RunDir;
        var tests = () => MetricRecord.ReadAll(RunDirectory.MetricsOf(run)).OfType<TestRecord>().ToList();
        var first = Assert.Single(tests());
        Trainer.Resume(run, Options(root), extendTo: 3);
        var both = tests();
        Assert.Equal(2, both.Count);
        Assert.Equal(first, both[0]);
        Assert.Throws<TrainingException>(() => Trainer.Resume(run, Options(root))); // finished again: a plain resume refuses
    }

    private static Dictionary<long, double> StepLrs(string run) =>
        MetricRecord.ReadAll(RunDirectory.MetricsOf(run)).OfType<StepRecord>().GroupBy(r => r.Step).ToDictionary(g => g.Key, g => g.First().Lr);
}
