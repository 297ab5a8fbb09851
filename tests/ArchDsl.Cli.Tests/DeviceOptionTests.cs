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
        Assert.Equal(ExitCodes.Ok, Run("check", Spec("convmixer.arch"), "--device", "cuda:1").Code);   // a device this machine may lack is a warning (below)

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

    [Fact]
    public void Check_warns_of_the_train_keys_device_when_this_machine_lacks_it()
    {
        var check = Run("check", Spec("convmixer.arch"), "--set", "train.device=cuda");
        Assert.Equal(ExitCodes.Ok, check.Code);
        Assert.Equal(Runtime.Training.Trainer.DeviceUnavailable("cuda") is { } why   // a machine with CUDA: no word
            ? $"archc: warning: {why} (train would stop here with this error)" : "", check.Err.TrimEnd());
    }

    [Fact]
    public void Check_warns_of_a_device_this_machine_lacks_in_the_words_train_stops_with()
    {
        const string option = "--device", value = "cuda:999";
        // no machine has a thousand GPUs: without CUDA, "sees no CUDA device"; with some, "has N CUDA devices"
        var runs = Path.Combine(Directory.CreateTempSubdirectory("archdsl-device-cli-").FullName, "runs");
        var train = Run("train", Spec("convmixer.arch"), option, value, "--runs", runs);
        Assert.Equal(ExitCodes.SpecErrors, train.Code);
        var trainSays = Assert.Single(train.Err.TrimEnd().Split('\n'));
        Assert.StartsWith("archc: error: device 'cuda:999' was asked for, but this ", trainSays);

        var check = Run("check", Spec("convmixer.arch"), option, value);
        Assert.Equal(ExitCodes.Ok, check.Code);   // the spec is sound; a machine with the device trains it
        Assert.Equal(trainSays.Replace("archc: error: ", "archc: warning: ") + " (train would stop here with this error)", check.Err.TrimEnd());
        Assert.Equal("", Run("check", Spec("convmixer.arch"), "--device", "cpu").Err);
    }
}
