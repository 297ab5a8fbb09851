using System.Globalization;
using ArchDsl.Runtime.Training;
using ArchDsl.Torch;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The test set never chooses the model (issue 9, item 7): weights are selected only on a validation split;
/// without one nothing is selected and the last epoch's weights are reported and evaluated. summary.yaml
/// says what was selected on what; <c>archc eval</c>'s default follows it.
/// </summary>
[Collection(TorchModelCollection.Name)]
public class SelectionTests
{
    static List<System.Text.Json.JsonElement> Records(string runDir, string kind) =>
        MetricsLog.Read(Path.Combine(runDir, RunDirectory.MetricsFile)).Records.Where(x => x.GetProperty("kind").GetString() == kind).ToList();

    static string F(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);

    [Fact]
    public void Without_a_validation_split_nothing_is_selected_and_the_last_epoch_is_reported_on_test()
    {
        var r = Trainer.Train(CompileTiny("train.epochs=3", "train.augment=[]"), Options(TempRoot()));
        Assert.Null(r.BestEpoch);
        Assert.Null(r.BestAccuracy);
        Assert.False(File.Exists(Path.Combine(r.RunDir, "checkpoints", "best.safetensors")));
        var epochs = Records(r.RunDir, "epoch");
        Assert.All(epochs, e => Assert.False(e.TryGetProperty("best", out _), "no epoch is marked best"));
        Assert.Equal(epochs[^1].GetProperty("test_acc").GetDouble(), r.TestAccuracy);

        var summary = File.ReadAllText(Path.Combine(r.RunDir, RunDirectory.SummaryFile));
        Assert.Contains("selection:\n  on: none   # no validation split (train key val_split): no weights are chosen by a score\n", summary);
        Assert.Contains("reported:\n  weights: last epoch (3)\n  set: test\n", summary);
        Assert.Contains($"test:\n  loss: {F(r.TestLoss!.Value)}\n  accuracy: {F(r.TestAccuracy!.Value)}\n", summary);
        Assert.DoesNotContain("best", summary);
        Assert.Equal("none", Checkpoint.ReadState(Path.Combine(r.RunDir, "checkpoints", "last.safetensors")).Selection);

        // eval: the default is the last weights on test, the number summary.yaml reports; there is no best.
        var e = Evaluator.Evaluate(r.RunDir);
        Assert.EndsWith(Path.Combine("checkpoints", "last.safetensors"), e.Checkpoint);
        Assert.Equal(("test", r.TestAccuracy), (e.Set, (double?)e.Accuracy));
        var best = Assert.Throws<TrainingException>(() => Evaluator.Evaluate(r.RunDir, new EvalOptions { Checkpoint = "best" }));
        Assert.Contains("chose no best weights (it has no validation split, train key val_split); use --checkpoint last", best.Message);
    }

    [Fact]
    public void With_a_validation_split_the_best_val_epoch_is_selected_and_its_weights_are_reported_on_test()
    {
        var r = Trainer.Train(CompileTiny("train.val_split=0.25", "train.epochs=4", "train.augment=[]", "train.optimizer=adamw(lr: 0.05)"), Options(TempRoot()));
        var epochs = Records(r.RunDir, "epoch");
        Assert.All(epochs, x => Assert.False(x.TryGetProperty("test_acc", out _), "the test set is not looked at during training"));
        var val = epochs.Select(x => x.GetProperty("val_acc").GetDouble()).ToList();
        int expected = val.IndexOf(val.Max()) + 1;   // the first epoch of the highest val accuracy
        Assert.Equal(expected, r.BestEpoch);
        Assert.Equal(val.Max(), r.BestAccuracy);
        Assert.Equal(expected, epochs.Last(x => x.GetProperty("best").GetBoolean()).GetProperty("epoch").GetInt32());

        var bestState = Checkpoint.ReadState(Path.Combine(r.RunDir, "checkpoints", "best.safetensors"));
        Assert.Equal((expected, "val"), (bestState.Epoch, bestState.Selection));
        var test = Records(r.RunDir, "test").Single();
        Assert.Equal(expected, test.GetProperty("epoch").GetInt32());
        Assert.Equal(r.TestAccuracy, test.GetProperty("test_acc").GetDouble());

        var summary = File.ReadAllText(Path.Combine(r.RunDir, RunDirectory.SummaryFile));
        Assert.Contains($"selection:\n  on: val\n  metric: accuracy\n  accuracy: {F(val.Max())}\n  epoch: {expected}\n", summary);
        Assert.Contains($"reported:\n  weights: best on val (epoch {expected})\n  set: test\n", summary);
        Assert.Contains("  best: checkpoints/best.safetensors   # selected on val\n", summary);

        // eval's default is the val-selected weights, and it reproduces the reported test accuracy.
        var e = Evaluator.Evaluate(r.RunDir);
        Assert.EndsWith(Path.Combine("checkpoints", "best.safetensors"), e.Checkpoint);
        Assert.Equal(expected, e.Epoch);
        Assert.Equal(r.TestAccuracy, e.Accuracy);
        Assert.Equal(4, Evaluator.Evaluate(r.RunDir, new EvalOptions { Checkpoint = "last" }).Epoch);
    }

    /// <summary>A checkpoint as older versions wrote it: no selection field.</summary>
    static void ForgetSelection(string checkpoint)
    {
        using var scope = torch.NewDisposeScope();
        var tensors = Safetensors.Load(checkpoint, out var meta);
        meta["archdsl.state"] = (CheckpointState.FromJson(meta["archdsl.state"]) with { Selection = null }).ToJson();
        Safetensors.Save(checkpoint, tensors, meta);
    }

    [Fact]
    public void An_older_runs_best_is_taken_only_when_that_run_had_a_validation_split()
    {
        // Older versions wrote best.safetensors on the test set when there was no validation split.
        var noVal = Trainer.Train(CompileTiny("train.epochs=1", "train.augment=[]"), Options(TempRoot()));
        var best = Path.Combine(noVal.RunDir, "checkpoints", "best.safetensors");
        File.Copy(Path.Combine(noVal.RunDir, "checkpoints", "last.safetensors"), best);
        ForgetSelection(best);
        Assert.EndsWith(Path.Combine("checkpoints", "last.safetensors"), Evaluator.Evaluate(noVal.RunDir).Checkpoint);
        var e = Assert.Throws<TrainingException>(() => Evaluator.Evaluate(noVal.RunDir, new EvalOptions { Checkpoint = "best" }));
        Assert.Contains("was chosen on the test set (a run of an older version without a validation split)", e.Message);

        // With a validation split they chose on it, as now.
        var val = Trainer.Train(CompileTiny("train.val_split=0.25", "train.epochs=1", "train.augment=[]"), Options(TempRoot()));
        ForgetSelection(Path.Combine(val.RunDir, "checkpoints", "best.safetensors"));
        Assert.EndsWith(Path.Combine("checkpoints", "best.safetensors"), Evaluator.Evaluate(val.RunDir).Checkpoint);
    }
}
