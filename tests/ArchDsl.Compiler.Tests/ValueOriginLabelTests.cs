using ArchDsl.Compiler;
using static ArchDsl.Compiler.Tests.CompilerDiagnosticTests;
using static ArchDsl.Compiler.Tests.CompilerTestKit;

namespace ArchDsl.Compiler.Tests;

/// <summary>A value of the wrong type or range used through a parameter is reported at its use, with a secondary label at
/// where the value was written (the header's default, or the --set value).</summary>
public class ValueOriginLabelTests
{
    private const string FromHere = "the value comes from here";

    /// <summary>The diagnostic's one label: rustc's "set by" note under the value of the --set <paramref name="typed"/>.</summary>
    private static void ExpectSetLabel(ArchDsl.Dsl.Diagnostic d, string typed, int column, int length)
    {
        var label = Assert.Single(d.Labels);
        Assert.Equal((Override.SourceName, 1, column, length, $"set by --set {typed} on the command line"),
            (label.Span.File, label.Span.Line, label.Span.Column, label.Span.Length, label.Message));
    }

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
        ExpectSetLabel(d, "kernel=\"five\"", 8, 6);
    }

    /// <summary>A shape rule's error about an argument (patch size, heads, groups, chunks, padding…) labels where the
    /// argument's value came from, as a type or range error does: the --set that gave it, with rustc's "set by" note.</summary>
    [Fact]
    public void A_shape_error_caused_by_a_set_value_is_labelled_at_the_set()
    {
        var spec = Spec("patches(p) -> linear(dim)", header: "arch A(dim = 8, p = 4, classes = 10)");
        var d = Expect(spec, CompilerCodes.PatchDoesNotDivide, 3, "p)", "patch 5 does not divide image height 28 (patches on image[1, 28, 28])",
            "try 4 or 7", overrides: ["p=5"]);
        ExpectSetLabel(d, "p=5", 3, 1);
        Assert.Contains("\n --> <--set>:1:3\n 1 | p=5\n   |   - set by --set p=5 on the command line\n", d.Render());
    }

    /// <summary>The same shape error through a parameter's default labels the default, where it was written.</summary>
    [Fact]
    public void A_shape_error_caused_by_a_parameters_default_is_labelled_at_the_default()
    {
        var spec = Spec("patches(size) -> linear(dim) -> attention(heads)", header: "arch A(dim = 8, heads = 3, size = 4, classes = 10)");
        var d = Expect(spec, CompilerCodes.HeadsDoNotDivide, 3, "heads)", "heads 3 does not divide width 8 (attention on tokens[49, 8])", "try 2, 4 or 8");
        ExpectLabel(d, spec, FromHere, 1, "3");
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

    /// <summary>A value computed from names (<c>dim * mlp</c>) labels each operand's origin: the header's default and the --set.</summary>
    [Fact]
    public void A_computed_value_labels_the_origin_of_each_operand()
    {
        var spec = Spec("conv(dim * r, kernel: 1)", header: "arch A(dim = 8, r = 2, classes = 10)");
        var d = Expect(spec, CompilerCodes.ArgumentType, 3, "dim * r", "argument 'out' of conv expects an integer but got the number 2.4",
            overrides: ["r=0.3"]);
        Assert.Equal([("test.arch", 1, 14, FromHere), (Override.SourceName, 1, 3, "set by --set r=0.3 on the command line")],
            d.Labels.Select(l => (Path.GetFileName(l.Span.File), l.Span.Line, l.Span.Column, l.Message)));
    }

    /// <summary>A name whose value was computed (<c>out = dim * r</c>) labels the expression that computed it as well as its
    /// operands' origins; a name read through another name (<c>k = k0</c>) labels only where the value was written.</summary>
    [Fact]
    public void A_name_bound_to_a_computed_value_labels_its_expression_and_its_operands_origins()
    {
        const string header = "arch A(dim = 8, r = 2, out = dim * r, classes = 10)";
        var spec = Spec("conv(out, kernel: 1)", header: header);
        var d = Expect(spec, CompilerCodes.ArgumentType, 3, "out,", "argument 'out' of conv expects an integer but got the number 2.4",
            overrides: ["r=0.3"]);
        Assert.Equal([("test.arch", 1, header.IndexOf("dim * r", StringComparison.Ordinal) + 1, 7, FromHere), ("test.arch", 1, 14, 1, FromHere),
                      (Override.SourceName, 1, 3, 3, "set by --set r=0.3 on the command line")],
            d.Labels.Select(l => (Path.GetFileName(l.Span.File), l.Span.Line, l.Span.Column, l.Span.Length, l.Message)));

        var through = Spec("conv(o2, kernel: 1)", header: "arch A(dim = 8, r = 2, out = dim * r, o2 = out, classes = 10)");
        Assert.Equal(3, Single(Compile(through, "r=0.3"), CompilerCodes.ArgumentType).Labels.Count);
    }

    /// <summary>An error of the arithmetic itself (inexact or zero division) labels the --set that made it.</summary>
    [Fact]
    public void A_division_an_override_makes_inexact_labels_the_override()
    {
        var spec = Spec("conv(half, kernel: 1)", header: "arch A(dim = 8, half = dim / 2, classes = 10)");
        var d = Expect(spec, CompilerCodes.InexactDivision, 1, "dim / 2", "3 / 2 is not a whole number; integer division must be exact",
            "divisors of 3 near 2: 3", overrides: ["dim=3"]);
        ExpectSetLabel(d, "dim=3", 5, 1);
    }

    /// <summary>A mixer's drop_path from a --set is labelled at the --set.</summary>
    [Fact]
    public void A_mixer_drop_path_from_a_set_is_labelled_at_the_set()
    {
        var r = Compile(File.ReadAllText(Path.Combine(TestSupport.Repo.SpecsDir, "vit.arch")), "drop=1.5");
        var d = Single(r, CompilerCodes.BadMixer);
        Assert.Equal("mixer drop_path must be a probability in [0, 1), not the number 1.5", d.Message);
        ExpectSetLabel(d, "drop=1.5", 6, 3);
    }
}
