using ArchDsl.Cli;
using static ArchDsl.Cli.Tests.CliHarness;

namespace ArchDsl.Cli.Tests;

/// <summary><c>--amp</c> on the command line: bad values are usage errors (bench) or located diagnostics (train), fp16 on the CPU a clear error.</summary>
public class AmpCliTests
{
    [Fact]
    public void Bench_refuses_an_unknown_amp_value_as_a_usage_error()
    {
        var (code, _, err) = Run("bench", Spec("vit.arch"), "--amp", "fp8", "--no-pytorch");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("fp8", err);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void Bench_refuses_fp16_on_the_cpu()
    {
        var (code, _, err) = Run("bench", Spec("vit.arch"), "--amp", "fp16", "--no-pytorch", "--iterations", "1", "--warmup", "0", "--batch", "2");
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.Contains("archc: error: --amp fp16: amp: fp16 needs a CUDA device", err);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void Check_refuses_fp16_on_the_default_device_as_train_does()
    {
        var (code, _, err) = Run("check", Spec("convmixer.arch"), "--set", "train.amp=fp16");
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.Contains("<--set>:1:11: error AD0197: amp: fp16 needs a CUDA device", err);
        Assert.Equal(ExitCodes.Ok, Run("check", Spec("convmixer.arch"), "--set", "train.amp=fp16", "--device", "cuda").Code);
        Assert.Equal(ExitCodes.Ok, Run("check", Spec("convmixer.arch"), "--set", "train.amp=fp16", "--set", "train.device=cuda").Code);
    }

    [Fact]
    public void Train_amp_goes_through_the_compiler_with_its_location()
    {
        var runs = Directory.CreateTempSubdirectory("archdsl-amp-cli-").FullName;
        try
        {
            var (code, _, err) = Run("train", Spec("vit.arch"), "--amp", "bf61", "--runs", runs);
            Assert.Equal(ExitCodes.SpecErrors, code);
            Assert.Contains("error AD0195: amp takes bf16, fp16 or off, not bf61", err);
            Assert.Contains("did you mean 'bf16'?", err);
            Assert.Empty(Directory.GetFileSystemEntries(runs));
        }
        finally { Directory.Delete(runs, true); }
    }
}
