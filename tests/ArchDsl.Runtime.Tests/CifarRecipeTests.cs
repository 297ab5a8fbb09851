using ArchDsl.Compiler;
using ArchDsl.Runtime.Training;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// specs/cifar10/convmixer-256-8.arch, the paper's CIFAR-10 recipe, checks clean with the authors' values in its typed
/// config and trains for a few steps on a small CIFAR-10 binary set written here (smaller epochs and batch by --set).
/// </summary>
[Collection(TorchModelCollection.Name)]
public class CifarRecipeTests
{
    private const string Recipe = "cifar10/convmixer-256-8.arch";

    /// <summary>The binary version's six files, <paramref name="perFile"/> records each: label r % 10, bytes from a fixed LCG.</summary>
    private static string WriteCifar(int perFile)
    {
        var dir = Path.Combine(TempRoot(), "cifar-10-batches-bin");
        Directory.CreateDirectory(dir);
        uint state = 7;
        foreach (var name in Enumerable.Range(1, 5).Select(i => $"data_batch_{i}.bin").Append("test_batch.bin"))
        {
            var data = new byte[perFile * 3073];
            for (int r = 0; r < perFile; r++)
            {
                data[r * 3073] = (byte)(r % 10);
                for (int i = 1; i < 3073; i++) data[r * 3073 + i] = (byte)((state = state * 1664525 + 1013904223) >> 24);
            }
            File.WriteAllBytes(Path.Combine(dir, name), data);
        }
        return dir;
    }

    [Fact]
    public void The_recipe_holds_the_authors_values()
    {
        // checks clean: no error and no warning (archc check's "ok"), the data's files not needed to check it
        var compiled = ArchCompiler.CompileFile(ModelTestKit.Spec(Recipe)).ForTraining();
        Assert.True(compiled.Success && compiled.Diagnostics.Count == 0, string.Join("\n", compiled.Diagnostics));
        var g = ModelTestKit.CompileSpec(Recipe);
        Assert.Equal(594_186, g.Nodes.Sum(n => n.ParamCount)); // ConvMixer-256/8, k5 p2: 0.59M as published
        var t = g.Train;
        Assert.Equal((25, 512), (t.Loop.Epochs, t.Loop.Batch));
        Assert.Equal(new AdamWConfig(0.05, 0.005, 0.9, 0.999, 1e-8), t.Optimizer);
        var s = Assert.IsType<OneCycleScheduleConfig>(t.Schedule);
        Assert.Equal((0.05, 0.4, "linear", 20.0, true, 0.9, 0.9), (s.MaxLr, s.PctStart, s.Anneal, s.DivFactor, s.ThreePhase, s.BaseMomentum, s.MaxMomentum));
        Assert.Equal<AugmentConfig>([new FlipConfig(), new RandAugmentConfig(2, 12)], t.Augment);
        Assert.Equal([0.4914, 0.4822, 0.4465], t.Data.Mean!);
        Assert.Equal(0.0, t.Loop.Clip);
    }

    [Fact]
    public void The_recipe_trains_on_a_small_cifar_file_with_the_scripts_default_augmentation_and_mixup()
    {
        var dir = WriteCifar(perFile: 16);
        // The script's own defaults add colour jitter and erasing; mixup / cutmix rides along to train the soft-target loss.
        var g = ModelTestKit.CompileSpec(Recipe, $"train.data.path=\"{dir}\"", "train.epochs=1", "train.batch=16",
            "train.augment=[flip, randaugment(n: 1, m: 8), color_jitter(0.1, 0.1, 0.1), erase(p: 0.25)]",
            "train.mixup=mixup(mixup_alpha: 0.8, cutmix_alpha: 1.0)");
        var r = Trainer.Train(g, Options(TempRoot()) with { Specs = [] });
        Assert.Equal(TrainOutcome.Completed, r.Outcome);
        Assert.Equal(5, r.Steps); // 80 images in batches of 16
        Assert.True(r.TrainLoss is double l && double.IsFinite(l) && l > 0, $"train loss {r.TrainLoss}");
        Assert.True(r.TestAccuracy is >= 0 and <= 1, $"test accuracy {r.TestAccuracy}");
    }
}
