using ArchDsl.Cli;
using static ArchDsl.Cli.Tests.CliHarness;

namespace ArchDsl.Cli.Tests;

/// <summary>
/// A <c>--device</c> given to check, train or bench that names no device (<c>gpu</c>, an index that is no number: <c>cuda:x</c>) is one error line with
/// the forms torch.device takes, exit 1, no stack trace and nothing written — before, <c>cuda:x</c> ended in a
/// FormatException's stack trace.
/// </summary>
public class DeviceOptionTests
{
    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:x")]
    [InlineData("cuda:-1")]
    public void Check_train_and_bench_name_a_device_they_cannot_read(string device)
    {
        var check = Run("check", Spec("convmixer.arch"), "--device", device);
        Assert.Equal(ExitCodes.SpecErrors, check.Code); // check refuses what train would
        Assert.Contains($"archc: error: unknown device '{device}' (expected cpu, cuda or cuda:N", check.Err);
        Assert.Equal(ExitCodes.Ok, Run("check", Spec("convmixer.arch"), "--device", "cuda:1").Code);

        var runs = Path.Combine(Directory.CreateTempSubdirectory("archdsl-device-cli-").FullName, "runs");
        var train = Run("train", Spec("convmixer.arch"), "--device", device, "--runs", runs);
        Assert.Equal(ExitCodes.SpecErrors, train.Code);
        Assert.Contains($"archc: error: unknown device '{device}' (expected cpu, cuda or cuda:N", train.Err);
        Assert.DoesNotContain("   at ", train.Err);
        Assert.False(Directory.Exists(runs) && Directory.EnumerateFileSystemEntries(runs).Any());

        var bench = Run("bench", Spec("convmixer.arch"), "--device", device, "--no-pytorch", "--iterations", "1", "--warmup", "0", "--batch", "2");
        Assert.Equal(ExitCodes.SpecErrors, bench.Code);
        Assert.Contains($"unknown device '{device}'", bench.Err);
        Assert.DoesNotContain("   at ", bench.Err);
    }
}
