using ArchDsl.Compiler;
using static ArchDsl.Compiler.Tests.CompilerDiagnosticTests;
using static ArchDsl.Compiler.Tests.CompilerTestKit;

namespace ArchDsl.Compiler.Tests;

/// <summary>
/// What check must refuse because of the device the run trains on (<see cref="CompileResult.ForTraining"/>): the trainer takes
/// the train key <c>device</c> with its default (cpu) unless the command line or a sweep names one, and so does check.
/// </summary>
public class TrainDeviceCheckTests
{
    private const string Fp16Cpu = "amp: fp16 needs a CUDA device; libtorch's CPU autocast and kernels compute in bfloat16, not float16";
    private static string ConvMixer => Path.Combine(SpecsDir, "convmixer.arch");

    [Fact]
    public void Fp16WithTheDefaultDeviceIsRefusedAtTheAmpValue() =>
        Expect(Spec("conv(dim, kernel: 2)", "train {\n  amp: fp16\n}"), CompilerCodes.AmpUnsupportedOnDevice, 6, "fp16", Fp16Cpu,
            "the device defaults to cpu: use amp: bf16 on the CPU, or train on a GPU (device: cuda in the train section, or --device cuda)");

    [Fact]
    public void Fp16FromASetWithTheDefaultDeviceIsRefused()
    {
        var d = Single(ArchCompiler.CompileFile(ConvMixer, Override.ParseAll(["train.amp=fp16"])).ForTraining(), CompilerCodes.AmpUnsupportedOnDevice);
        Assert.Equal(Fp16Cpu, d.Message);
        Assert.Equal(Override.SourceName, d.Span!.Value.File);
        At(d, 1, 11);
    }

    [Fact]
    public void TheRunsDeviceWinsOverTheTrainKey()
    {
        Assert.True(ArchCompiler.CompileFile(ConvMixer, Override.ParseAll(["train.amp=fp16"])).ForTraining("cuda").Success);
        Assert.True(ArchCompiler.CompileFile(ConvMixer, Override.ParseAll(["train.amp=fp16"])).ForTraining("cuda:1").Success);
        Assert.True(ArchCompiler.CompileFile(ConvMixer, Override.ParseAll(["train.amp=fp16", "train.device=cuda"])).ForTraining().Success);
        var d = Single(ArchCompiler.CompileFile(ConvMixer, Override.ParseAll(["train.amp=fp16", "train.device=cuda"])).ForTraining("cpu"),
            CompilerCodes.AmpUnsupportedOnDevice);
        Assert.Equal("the run's --device is cpu: use amp: bf16 on the CPU, or --device cuda", d.Hint);
    }

    [Fact]
    public void InspectingCommandsDoNotAskForADevice() =>
        Assert.True(ArchCompiler.CompileFile(ConvMixer, Override.ParseAll(["train.amp=fp16"])).Success); // summary, graph, diff
}
