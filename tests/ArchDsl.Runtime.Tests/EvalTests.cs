using ArchDsl.Runtime.Training;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;

namespace ArchDsl.Runtime.Tests;

[Collection(TorchModelCollection.Name)]
public class EvalTests
{
    [Fact]
    public void Eval_of_a_run_reproduces_its_logged_test_accuracy_with_a_confusion_matrix()
    {
        var r = Trainer.Train(CompileTiny("train.epochs=3", "train.augment=[flip]"), Options(TempRoot()));
        var epochs = MetricsLog.Read(Path.Combine(r.RunDir, RunDirectory.MetricsFile)).Records
            .Where(x => x.GetProperty("kind").GetString() == "epoch").ToList();
        // No validation split: nothing was selected, so eval takes the last weights (what summary.yaml reports).
        var e = Evaluator.Evaluate(r.RunDir);
        Assert.EndsWith(Path.Combine("checkpoints", "last.safetensors"), e.Checkpoint);
        Assert.Equal(3, e.Epoch);
        Assert.Equal(64, e.Samples);
        Assert.Equal(epochs[^1].GetProperty("test_acc").GetDouble(), e.Accuracy);
        Assert.Equal(epochs[^1].GetProperty("test_loss").GetDouble(), e.Loss, 6);
        Assert.Equal(r.TestAccuracy, e.Accuracy);
        Assert.Equal(64, e.Confusion.Total);
        Assert.Equal(4, e.PerClassAccuracy.Count);
        Assert.Equal(e.Accuracy, (double)e.Confusion.Correct / e.Confusion.Total);
        for (int k = 0; k < 4; k++) Assert.Equal(16, e.Confusion.RowTotal(k)); // synthetic test classes are balanced
        var text = e.Render();
        Assert.Contains("test set of synthetic: 64 images, accuracy", text);
        Assert.Contains("class3", text);
        Assert.Contains("overall", text);

        // A checkpoint file names itself.
        var last = Evaluator.Evaluate(Path.Combine(r.RunDir, "checkpoints", "last.safetensors"));
        Assert.Equal(e.Accuracy, last.Accuracy);

        // The training set too.
        var train = Evaluator.Evaluate(r.RunDir, new EvalOptions { Set = "train", Checkpoint = "last" });
        Assert.Equal(192, train.Samples);
    }

    [Fact]
    public void Eval_of_something_that_is_not_a_run_says_so()
    {
        var e = Assert.Throws<TrainingException>(() => Evaluator.Evaluate("/nonexistent/run"));
        Assert.Contains("no run directory or checkpoint '/nonexistent/run'", e.Message);
        var empty = TempRoot();
        e = Assert.Throws<TrainingException>(() => Evaluator.Evaluate(empty));
        Assert.Contains($"'{Path.GetFullPath(empty)}' is not a run directory (no graph.yaml)", e.Message);
        var stray = Path.Combine(empty, "x.safetensors");
        File.WriteAllBytes(stray, new byte[16]);
        e = Assert.Throws<TrainingException>(() => Evaluator.Evaluate(stray));
        Assert.Contains("not inside a run directory", e.Message);
        var r = Trainer.Train(CompileTiny("train.epochs=1"), Options(TempRoot()));
        e = Assert.Throws<TrainingException>(() => Evaluator.Evaluate(r.RunDir, new EvalOptions { Set = "val" }));
        Assert.Contains("no validation split", e.Message);
    }
}
