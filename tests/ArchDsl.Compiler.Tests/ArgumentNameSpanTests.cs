using ArchDsl.Compiler;
using static ArchDsl.Compiler.Tests.CompilerDiagnosticTests;
using static ArchDsl.Compiler.Tests.CompilerTestKit;

namespace ArchDsl.Compiler.Tests;

/// <summary>"X has no argument 'y'" points at the argument's name — in a spec's call and in <c>--set train.key.argument=value</c>
/// alike — for every call-valued train key (optimizer, schedule, data, transform, mixup).</summary>
public class ArgumentNameSpanTests
{
    [Theory]
    [InlineData("train.optimizer.lrr=0.1", "adamw has no argument 'lrr'", 17)]
    [InlineData("train.schedule.min_lrr=0.1", "onecycle has no argument 'min_lrr'", 16)]
    [InlineData("train.data.pth=\"/x\"", "fashion-mnist has no argument 'pth'", 12)]
    [InlineData("train.transform.sise=16", "random_resized_crop has no argument 'sise'", 17)]
    [InlineData("train.mixup.alpha=0.2", "mixup has no argument 'alpha'", 13)]
    public void ASetArgumentIsLocatedAtItsName(string set, string message, int column)
    {
        var d = Single(ArchCompiler.CompileFile(Path.Combine(SpecsDir, "convmixer.arch"), Override.ParseAll([set])), CompilerCodes.UnknownArgument);
        Assert.Equal(message, d.Message);
        Assert.Equal(Override.SourceName, d.Span!.Value.File);
        At(d, 1, column);
        Assert.Equal(message.Split('\'')[1].Length, d.Span.Value.Length);
    }

    [Fact]
    public void ASpecArgumentIsLocatedAtItsName()
    {
        var d = Expect(Spec("conv(dim, kernel: 2)", "train { optimizer: adamw(lrr: 0.1) }"), CompilerCodes.UnknownArgument, 5, "lrr",
            "adamw has no argument 'lrr'", "did you mean 'lr'?");
        Assert.Equal(3, d.Span!.Value.Length);
        Expect(Spec("conv(dim, kernel: 2)", "train { schedule: cosine(min_lrr: 0.1) }"), CompilerCodes.UnknownArgument, 5, "min_lrr",
            "cosine has no argument 'min_lrr'", "did you mean 'min_lr'?");
    }
}
