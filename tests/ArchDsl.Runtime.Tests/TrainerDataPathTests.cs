using ArchDsl.Runtime.Training;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The trainer times the part of each step spent making batches (index copy, one tensor, augmentation on
/// the batch tensor) and records it per epoch, so a run shows whether the data path is the bottleneck.
/// How big that share is, is a measurement (the README records it from a real run), not a unit test:
/// timings on a machine busier than its cores measure the machine, not the code.
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
    public void The_time_spent_making_batches_is_recorded_per_epoch()
    {
        var r = Trainer.Train(Compile(Spec), Options(TempRoot()) with { Threads = 1 });
        var epoch = MetricsLog.Read(Path.Combine(r.RunDir, RunDirectory.MetricsFile)).Records.Single(x => x.GetProperty("kind").GetString() == "epoch");
        double data = epoch.GetProperty("data_s").GetDouble(), total = epoch.GetProperty("elapsed_s").GetDouble();
        Assert.True(data > 0, "the data time should be measured");
        Assert.True(data < total, $"making batches ({data:0.000}s) is part of the epoch ({total:0.000}s), so it cannot exceed it");
    }
}
