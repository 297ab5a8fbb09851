using ArchDsl.Runtime.Training;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The data path must not be the bottleneck: making a batch (index copy, one tensor, augmentation on the
/// batch tensor) should cost a small fraction of the model's step. Measured on a Fashion-MNIST-sized
/// ConvMixer with every augmentation on; the trainer times both parts of each step. One libtorch thread:
/// on a machine busier than its cores (as CI and shared machines are) every parallel region of every small
/// op can wait a scheduler slice for its second thread, which measures the machine, not the code.
/// </summary>
[Collection(TorchModelCollection.Name)]
public class TrainerDataPathTests
{
    private const string Spec = """
        arch Mid(dim = 64, depth = 2, kernel = 5, patch = 2, classes = 10)
        input image[1, 28, 28]
        stem conv(dim, kernel: patch, stride: patch) -> gelu -> batchnorm
        mixer * depth {
          token:    conv(dim, kernel: kernel, groups: dim, padding: same) -> gelu -> batchnorm
          channel:  conv(dim, kernel: 1) -> gelu -> batchnorm
          residual: token
        }
        head avgpool -> linear(classes)
        train {
          data: synthetic(train: 640, test: 10)
          epochs: 1
          batch: 128
          augment: [flip, crop(pad: 2), erase(p: 0.25), randaugment(n: 2, m: 9)]
        }
        """;

    [Fact]
    public void Making_batches_takes_under_a_tenth_of_the_training_time()
    {
        var r = Trainer.Train(Compile(Spec), Options(TempRoot()) with { Threads = 1 });
        var epoch = MetricsLog.Read(Path.Combine(r.RunDir, Trainer.MetricsFile)).Records.Single(x => x.GetProperty("kind").GetString() == "epoch");
        double data = epoch.GetProperty("data_s").GetDouble(), total = epoch.GetProperty("elapsed_s").GetDouble();
        Assert.True(data > 0, "the data time should be measured");
        Assert.True(data < 0.10 * total, $"making batches took {data:0.000}s of {total:0.000}s");
    }
}
