using ArchDsl.Compiler;
using static ArchDsl.Compiler.Tests.CompilerDiagnosticTests;

namespace ArchDsl.Compiler.Tests;

/// <summary>"Did you mean" for a name written as a step: the candidates are the ops, the blocks, and the names in scope that
/// can stand there (a parameter holding an op or a call of one), through the one routine, <c>Suggest.Closest</c>.</summary>
public class OpSuggestionTests
{
    [Fact]
    public void AMistypedOpParameterSuggestsTheParameter() =>
        Expect(Spec("conv(dim, kernel: 2) -> actt", header: "arch A(dim = 8, act = gelu, classes = 10)"), CompilerCodes.UnknownOp, 3, "actt",
            "unknown op 'actt'", "did you mean 'act'?");

    [Fact]
    public void AMistypedCallParameterSuggestsTheParameter() =>
        Expect(Spec("conv(dim, kernel: 2) -> mixx", header: "arch A(dim = 8, mix = conv(dim, kernel: 1), classes = 10)"), CompilerCodes.UnknownOp, 3, "mixx",
            "unknown op 'mixx'", "did you mean 'mix'?");

    [Fact]
    public void ANumberParameterCannotStandAsAStepSoIsNotSuggested()
    {
        var d = Expect(Spec("conv(dim, kernel: 2) -> dimm"), CompilerCodes.UnknownOp, 3, "dimm", "unknown op 'dimm'");
        Assert.StartsWith("ops: ", d.Hint);
    }
}
