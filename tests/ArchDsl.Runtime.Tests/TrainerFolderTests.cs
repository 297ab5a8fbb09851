using ArchDsl.Compiler;
using ArchDsl.Dsl;
using ArchDsl.Runtime.Training;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// Image folders end to end through the trainer: a shipped ImageNet spec (at reduced size) trains for an epoch on a
/// generated ImageNet-layout folder of JPEGs of mixed sizes, and the run does not depend on the number of data workers,
/// whole or resumed.
/// </summary>
[Collection(TorchModelCollection.Name)]
public class TrainerFolderTests
{
    /// <summary>train/ and val/ of <paramref name="classes"/> wnid-named classes, JPEGs of sizes around 60×45 and a PNG.</summary>
    private static string ImageNetLayout(string root, int classes, int perClass)
    {
        for (int c = 0; c < classes; c++)
            for (int i = 0; i < perClass; i++)
            {
                DataFolderTests.WriteGradient(Path.Combine(root, "train", $"n{c:D8}", $"n{c:D8}_{i}.JPEG"), 48 + 7 * i + c * 3, 40 + 5 * i, 90);
                if (i < 2) DataFolderTests.WriteGradient(Path.Combine(root, "val", $"n{c:D8}", $"v{i}.png"), 50 + c, 44);
            }
        return root;
    }

    private static IrGraph ImageNetSpec(string data, int workers = 2, params string[] more)
    {
        var r = ArchCompiler.CompileFile(Path.Combine(TestSupport.Repo.SpecsDir, "imagenet", "vit-ti16.arch"), Override.ParseAll(
            ["depth=1", "dim=24", "heads=2", "size=32", "classes=3", $"train.data=folder(path: \"{data}\", workers: {workers})", "train.batch=8",
             "train.augment=[flip, crop(pad: 4)]", "train.schedule=constant", .. more])).ForTraining();
        Assert.True(r.Success, string.Join("\n", r.Diagnostics.Select(d => d.ToString())));
        return r.Graph!;
    }

    [Fact]
    public void A_shipped_imagenet_spec_trains_an_epoch_on_a_generated_imagenet_layout_folder()
    {
        var data = ImageNetLayout(Path.Combine(TempRoot(), "imagenet"), 3, 6);
        var r = Trainer.Train(ImageNetSpec(data, 2, "train.epochs=1"), Options(TempRoot()) with { Threads = 1 });
        Assert.Equal((TrainOutcome.Completed, 1, 3L), (r.Outcome, r.EpochsDone, r.Steps)); // 18 images, batch 8
        Assert.True(r.TrainLoss is double loss && double.IsFinite(loss));
        Assert.NotNull(r.TestAccuracy); // evaluated on val/ with the eval crop
        var card = File.ReadAllText(Path.Combine(r.RunDir, "model.json"));
        Assert.Contains("n00000002", card);
    }

    /// <summary>Cancels the run after a given step (mid-epoch), as a Ctrl-C would.</summary>
    private sealed class StopAfter(int step, CancellationTokenSource cancel) : IProgressSink
    {
        public void StepCompleted(StepInfo s) { if (s.Step == step) cancel.Cancel(); }
    }

    [Fact]
    public void Worker_count_does_not_change_a_run_nor_its_resume()
    {
        var data = ImageNetLayout(Path.Combine(TempRoot(), "imagenet"), 3, 6);
        string[] sets = ["train.epochs=2", "train.seed=4", "train.transform=random_resized_crop(scale: [0.3, 1])"];
        var one = Trainer.Train(ImageNetSpec(data, 1, sets), Options(TempRoot(), checkpointEvery: 1) with { Threads = 1 });
        var three = Trainer.Train(ImageNetSpec(data, 3, sets), Options(TempRoot(), checkpointEvery: 1) with { Threads = 1 });
        Assert.Equal(Curve(one.RunDir), Curve(three.RunDir));

        using var cancel = new CancellationTokenSource();
        var cut = Trainer.Train(ImageNetSpec(data, 2, sets),
            Options(TempRoot(), checkpointEvery: 1) with { Threads = 1, Progress = new StopAfter(4, cancel), Cancellation = cancel.Token });
        Assert.Equal(TrainOutcome.Interrupted, cut.Outcome);
        var resumed = Trainer.Resume(cut.RunDir, new TrainOptions { HandleSignals = false, Threads = 1 });
        Assert.Equal(TrainOutcome.Completed, resumed.Outcome);
        Assert.Equal(Curve(one.RunDir), Curve(cut.RunDir));
    }

    [Fact]
    public void Unreadable_images_are_neither_trained_on_nor_evaluated_and_the_summary_counts_them()
    {
        var data = ImageNetLayout(Path.Combine(TempRoot(), "imagenet"), 3, 6);
        using var tmp = new DataTempDir();
        DataBadFolderTests.MakeBad(Path.Combine(data, "train", "n00000000", "zz.jpg"), "not-an-image", tmp);
        DataBadFolderTests.MakeBad(Path.Combine(data, "val", "n00000000", "zz.jpg"), "truncated", tmp); // val/: 6 images, 1 bad
        DataBadFolderTests.MakeBad(Path.Combine(data, "val", "n00000001", "zz.jpg"), "zero-byte", tmp);
        var log = new StringWriter();
        var r = Trainer.Train(ImageNetSpec(data, 2, "train.epochs=1"), Options(TempRoot()) with { Threads = 1, Progress = new PlainProgressSink(log, TimeSpan.Zero) });
        Assert.Equal(TrainOutcome.Completed, r.Outcome);
        // the header says what is known before the first step: the normalisation statistics met the bad training image (all 19
        // are read), the zero-byte val image is unreadable as listed; the truncated one is met only when val is evaluated, so
        // summary.yaml leaves out one more test image than the header names
        Assert.Contains(": 19 training images listed (1 known unreadable left out), 8 test images listed (1 known unreadable left out); ", log.ToString());
        Assert.Contains("epoch 1: evaluating on 7 test images", log.ToString());
        var summary = File.ReadAllText(Path.Combine(r.RunDir, "summary.yaml"));
        Assert.Contains("train_samples: 18\n", summary); // 19 listed, 1 unreadable
        Assert.Contains("  train: 1\n  test: 2\n", summary);
        Assert.Contains("  samples: 6\n", summary); // the test set's readable images
        Assert.Contains(Path.Combine(data, "val", "n00000000", "zz.jpg"), summary);

        var eval = Evaluator.Evaluate(r.RunDir);
        Assert.Equal(6, eval.Samples);
        Assert.Equal(6L, Enumerable.Range(0, 3).Sum(i => Enumerable.Range(0, 3).Sum(j => eval.Confusion[i, j])));
        Assert.Equal(2, eval.Skipped.Count);
        Assert.Equal(r.TestAccuracy!.Value, eval.Accuracy, 12);
        Assert.Contains("2 unreadable image(s) skipped", eval.Render());
    }
}
