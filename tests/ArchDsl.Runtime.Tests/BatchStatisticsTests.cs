using ArchDsl.Compiler;
using ArchDsl.Runtime.Training;
using ArchDsl.Torch;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// A BatchNorm never trains on one value per channel (issue 9, item 1): the kernel raises PyTorch's own
/// error instead of writing NaN into running_var, and the trainer refuses, before training, every batch
/// size an epoch really has at which the compiler's analysis finds one value per channel.
/// </summary>
[Collection(TorchModelCollection.Name)]
public sealed class BatchStatisticsTests
{
    [Fact]
    public void Batch_norm_in_training_refuses_one_value_per_channel_as_pytorch()
    {
        using var scope = NewDisposeScope();
        var mean = zeros(3);
        var var = ones(3);
        var e = Assert.Throws<ArgumentException>(() => F.batch_norm(ones(1, 3, 1, 1), mean, var, training: true));
        Assert.Equal("Expected more than 1 value per channel when training, got input size torch.Size([1, 3, 1, 1])", e.Message);
        Assert.Throws<ArgumentException>(() => F.batch_norm(ones(1, 3), mean, var, training: true));
        Assert.Equal(new[] { 0f, 0f, 0f }, mean.data<float>().ToArray()); // nothing updated
        // two values per channel, from the batch or the map, are fine; evaluation uses the running statistics
        Assert.True(Finite(F.batch_norm(randn(2, 3, 1, 1), mean, var, training: true)));
        Assert.True(Finite(F.batch_norm(randn(1, 3, 2, 1), mean, var, training: true)));
        Assert.True(Finite(F.batch_norm(randn(1, 3, 1, 1), mean, var, training: false)));
        Assert.True(Finite(var));
    }

    private static bool Finite(Tensor t) => t.data<float>().ToArray().All(float.IsFinite);

    [Theory]
    [InlineData(65, 32, "the last batch of each epoch has 1 image (65 training images, batch 32)")]
    [InlineData(1, 32, "the training set has 1 image")]
    [InlineData(10, 1, "each batch has 1 image")]
    public void The_trainer_refuses_a_batch_with_one_value_per_channel_before_training(int images, int batch, string which)
    {
        var root = TempRoot();
        // patch 8 on 8×8 images: every BatchNorm sees a 1×1 map. check refuses these configs itself (AD0145), so the
        // graph's config is edited after compiling, as an API caller's or an edited graph.yaml's would be.
        var graph = CompileTiny("patch=8", "train.augment=[]");
        graph = graph with { Train = new(new Dictionary<string, object>(graph.Train.Values)
        {
            ["batch"] = (long)batch,
            ["data"] = new TrainCall("synthetic", new Dictionary<string, object> { ["train"] = (long)images, ["test"] = 8L }),
        }) };
        var e = Assert.Throws<TrainingException>(() => Trainer.Train(graph, Options(root)));
        Assert.StartsWith($"{which}, so batchnorm 'stem.2' would take its training statistics over 1 value per channel (batch 1 × 1×1 map); " +
                          "PyTorch refuses this (\"Expected more than 1 value per channel when training\")", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(root)); // no half-made run directory
    }

    [Fact]
    public void A_last_batch_of_one_on_larger_maps_trains_and_is_not_dropped()
    {
        // patch 2: 4×4 maps, so a last batch of one image still gives 16 values per channel (PyTorch trains it).
        var r = Trainer.Train(CompileTiny("train.data=synthetic(train: 65, test: 8)", "train.epochs=1", "train.augment=[]"), Options(TempRoot()));
        Assert.Equal(3, r.Steps); // 32 + 32 + 1
        Assert.True(r.TrainLoss is double loss && double.IsFinite(loss));
    }
}
