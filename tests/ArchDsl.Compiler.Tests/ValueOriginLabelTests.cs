using ArchDsl.Compiler;
using static ArchDsl.Compiler.Tests.CompilerDiagnosticTests;
using static ArchDsl.Compiler.Tests.CompilerTestKit;

namespace ArchDsl.Compiler.Tests;

/// <summary>A value of the wrong type or range used through a parameter is reported at its use, with a secondary label at
/// where the value was written (the header's default, or the --set value).</summary>
public class ValueOriginLabelTests
{
    private const string FromHere = "the value comes from here";

    [Theory]
    [InlineData("kernel = \"five\"", "kernel", "argument 'kernel' of conv expects an integer but got the string \"five\"", "\"five\"")]
    [InlineData("kernel = 0", "kernel", "argument 'kernel' of conv must be ≥ 1, but is 0", "0")]
    [InlineData("k0 = true, k = k0", "k", "argument 'kernel' of conv expects an integer but got the boolean true", "true")] // through another parameter: the first value
    public void AParametersBadValueIsLabelledWhereItIsWritten(string parameters, string use, string message, string value)
    {
        var spec = Spec($"conv(dim, kernel: {use})", header: $"arch A(dim = 8, {parameters}, classes = 10)");
        var d = Expect(spec, message.Contains("expects") ? CompilerCodes.ArgumentType : CompilerCodes.InvalidArgument, 3, use + ")", message);
        ExpectLabel(d, spec, FromHere, 1, value);
    }

    [Fact]
    public void ASetValueIsLabelledInItsPseudoFile()
    {
        var spec = Spec("conv(dim, kernel: kernel)", header: "arch A(dim = 8, kernel = 3, classes = 10)");
        var d = Single(Compile(spec, "kernel=\"five\""), CompilerCodes.ArgumentType);
        At(d, 3, spec.Split('\n')[2].IndexOf("kernel)", StringComparison.Ordinal) + 1);
        var label = Assert.Single(d.Labels);
        Assert.Equal((Override.SourceName, 1, 8, FromHere), (label.Span.File, label.Span.Line, label.Span.Column, label.Message));
    }

    [Fact]
    public void ARepeatCountFromAParameterLabelsIt()
    {
        var spec = Spec("repeat n { gelu }", header: "arch A(dim = 8, n = 2.5, classes = 10)");
        var d = Expect(spec, CompilerCodes.ArgumentType, 3, "n {", "repeat count must be an integer but is the number 2.5");
        ExpectLabel(d, spec, FromHere, 1, "2.5");
    }

    [Fact]
    public void AValueWrittenWhereItIsUsedHasNoLabel() =>
        Assert.Empty(Expect(Spec("conv(dim, kernel: \"five\")"), CompilerCodes.ArgumentType, 3, "\"five\"",
            "argument 'kernel' of conv expects an integer but got the string \"five\"").Labels);

    [Fact]
    public void ATrainValueThroughAParameterLabelsIt()
    {
        var spec = Spec("conv(dim, kernel: 2)", "train { epochs: ep }", header: "arch A(dim = 8, ep = 0.5, classes = 10)");
        var d = Expect(spec, CompilerCodes.TrainValue, 5, "ep }", "train key 'epochs' expects a positive integer but got the number 0.5");
        ExpectLabel(d, spec, FromHere, 1, "0.5");
    }
}
