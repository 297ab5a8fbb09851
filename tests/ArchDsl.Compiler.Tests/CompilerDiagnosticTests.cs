using ArchDsl.Dsl;

namespace ArchDsl.Compiler.Tests;

using static CompilerTestKit;

/// <summary>
/// Each compiler diagnostic: its code, the line and column it points at (the column is where the named
/// token <c>at</c> starts on that line), its exact message and, where one helps, its hint.
/// </summary>
public class CompilerDiagnosticTests
{
    internal static string Spec(string stem, string? extra = null, string header = "arch A(dim = 8, heads = 2, classes = 10)", string input = "input image[1, 28, 28]") =>
        string.Join("\n", new[] { header, input, "stem " + stem, "head avgpool -> linear(classes)", extra ?? "" });

    internal static Diagnostic Expect(string spec, string code, int line, string at, string message, string? hint = null, string[]? overrides = null)
    {
        var r = Compile(spec, overrides ?? []);
        var d = Single(r, code);
        Assert.Equal(message, d.Message);
        var lineText = spec.Split('\n')[line - 1];
        var col = lineText.IndexOf(at, StringComparison.Ordinal);
        Assert.True(col >= 0, $"'{at}' is not on line {line}: {lineText}");
        At(d, line, col + 1);
        if (hint is not null) Assert.Equal(hint, d.Hint);
        return d;
    }

    /// <summary>Asserts that <paramref name="d"/> has exactly one secondary label, <paramref name="message"/>, where the
    /// token <paramref name="at"/> starts on <paramref name="line"/> (its <paramref name="occurrence"/>-th there),
    /// spanning that token, and that the terminal rendering shows it as its own caret line.</summary>
    internal static void ExpectLabel(Diagnostic d, string spec, string message, int line, string at, int occurrence = 1)
    {
        var label = Assert.Single(d.Labels);
        Assert.Equal(message, label.Message);
        var lineText = spec.Split('\n')[line - 1];
        var col = -1;
        for (var i = 0; i < occurrence; i++) col = lineText.IndexOf(at, col + 1, StringComparison.Ordinal);
        Assert.True(col >= 0, $"'{at}' is not on line {line}: {lineText}");
        Assert.Equal((line, col + 1, at.Length), (label.Span.Line, label.Span.Column, label.Span.Length));
        Assert.Contains($" | {new string(' ', col)}{new string('-', at.Length)} {message}\n", d.Render());
        Assert.DoesNotContain("test.arch:", d.Message); // the place is the label's, not pasted into the message
    }

    [Fact]
    public void UnknownOpSuggestsTheClosestOp() =>
        Expect(Spec("conv(dim, kernel: 2, stride: 2) -> gelo"), CompilerCodes.UnknownOp, 3, "gelo", "unknown op 'gelo'", "did you mean 'gelu'?");

    [Fact]
    public void UnknownOpHeldByAParameterIsReportedOnceAtTheValueWithTheUseLabelled()
    {
        // One mistake (the value), however often the parameter is used; the first use is a secondary label.
        var d = Expect(Spec("conv(dim, kernel: 2) -> act -> act", header: "arch A(dim = 8, act = relux, classes = 10)"), CompilerCodes.UnknownOp, 1, "relux",
            "unknown op 'relux' (the value of 'act')", "did you mean 'relu'?");
        var label = Assert.Single(d.Labels);
        Assert.Equal((3, 30), (label.Span.Line, label.Span.Column));
        Assert.Equal("'act' used as a step here", label.Message);
    }

    [Fact]
    public void UnknownArgument() =>
        Expect(Spec("conv(dim, kernl: 2)"), CompilerCodes.UnknownArgument, 3, "kernl", "conv has no argument 'kernl'", "did you mean 'kernel'?");

    [Fact]
    public void ARequiredArgumentWrittenWithATypoIsOneErrorNotAlsoAMissingOne()
    {
        // conv's kernel is required: "conv needs argument 'kernel'" as well would say the same fault twice
        var r = Compile(Spec("conv(dim, kernl: 2)"), []);
        Assert.Equal([CompilerCodes.UnknownArgument], r.Diagnostics.Select(d => d.Code));
        Expect(Spec("conv(dim, strid: 2)"), CompilerCodes.MissingArgument, 3, "conv(dim, strid: 2)", "conv needs argument 'kernel'");   // a typo of another argument
    }

    [Fact]
    public void DuplicateArgument() =>
        Expect(Spec("conv(dim, kernel: 2, kernel: 3)"), CompilerCodes.DuplicateArgument, 3, "kernel: 3", "argument 'kernel' of conv is given twice");

    [Fact]
    public void PositionalAndNamedDuplicate()
    {
        var spec = Spec("conv(dim, kernel: 2) -> flatten -> linear(4, out: 5)");
        var d = Expect(spec, CompilerCodes.DuplicateArgument, 3, "out: 5", "argument 'out' of linear is given twice");
        ExpectLabel(d, spec, "first given here", 3, "4");
    }

    [Fact]
    public void MissingRequiredArgument() =>
        Expect(Spec("conv(kernel: 2) -> gelu"), CompilerCodes.MissingArgument, 3, "conv", "conv needs argument 'out'",
            "usage: conv(out, kernel, stride: 1, padding: 0, groups: 1, bias: true)");

    [Fact]
    public void WrongArgumentType() =>
        Expect(Spec("conv(dim, kernel: same)"), CompilerCodes.ArgumentType, 3, "same", "argument 'kernel' of conv expects an integer but got 'same'");

    [Fact]
    public void ArgumentOutOfRange() =>
        Expect(Spec("conv(dim, kernel: 0)"), CompilerCodes.InvalidArgument, 3, "0)", "argument 'kernel' of conv must be ≥ 1, but is 0");

    [Fact]
    public void ConvSamePaddingNeedsStrideOne() =>
        Expect(Spec("conv(dim, kernel: 4, stride: 2, padding: same)"), CompilerCodes.InvalidArgument, 3, "same",
            "padding: same needs stride 1, but conv has stride 2", "use an explicit padding with stride > 1");

    [Fact]
    public void PoolSamePaddingNeedsAnOddKernel() =>
        Expect(Spec("conv(dim, kernel: 2) -> max_pool(2, 1, padding: same)"), CompilerCodes.InvalidArgument, 3, "same",
            "padding: same needs stride 1 and an odd kernel, but max_pool has kernel 2 and stride 1");

    [Fact]
    public void MaxPoolPaddingOverHalfTheKernel() =>
        Expect(Spec("conv(dim, kernel: 3) -> max_pool(3, 2, padding: 2)"), CompilerCodes.InvalidArgument, 3, "2)",
            "max_pool padding 2 is more than half the kernel 3");

    [Fact]
    public void MaxPoolNeedsItsStride() =>
        Expect(Spec("conv(dim, kernel: 2) -> max_pool(2)"), CompilerCodes.MissingArgument, 3, "max_pool", "max_pool needs argument 'stride'",
            "usage: max_pool(kernel, stride, padding: 0)");

    [Fact]
    public void MaxPoolKernelLargerThanTheInput() =>
        Expect(Spec("conv(dim, kernel: 2, stride: 2) -> max_pool(15, 1)"), CompilerCodes.InvalidShape, 3, "max_pool",
            "max_pool kernel 15 is larger than the padded input (input image[8, 14, 14], padding 0)");

    [Fact]
    public void GroupNormGroupsMustDivideTheChannels() =>
        Expect(Spec("conv(dim, kernel: 2, stride: 2) -> group_norm(3)"), CompilerCodes.InvalidShape, 3, "3)",
            "group_norm groups 3 does not divide the 8 channels (input image[8, 14, 14])", "try groups 2, 4 or 8");

    [Fact]
    public void GroupNormIsForImages() =>
        Expect(Spec("patches(4) -> group_norm(1)"), CompilerCodes.WrongLayout, 3, "group_norm",
            "group_norm expects image[C,H,W] but got tokens[49, 16]", "this op works on images; it must come before the image becomes tokens (patches/flatten)");

    [Fact]
    public void LayerScaleInitMustBeANumber() =>
        Expect(Spec("conv(dim, kernel: 2) -> layer_scale(init: true)"), CompilerCodes.ArgumentType, 3, "true",
            "argument 'init' of layer_scale expects a number but got the boolean true");

    [Fact]
    public void AffineTakesNoArguments() =>
        Expect(Spec("conv(dim, kernel: 2) -> affine(1)"), CompilerCodes.TooManyArguments, 3, "1)", "affine takes no arguments");

    [Fact]
    public void PrefixTokensAreForTokens() =>
        Expect("arch A(classes = 10)\ninput image[1, 28, 28]\nstem conv(8, kernel: 2)\nhead global_pool(prefix_tokens: 1) -> linear(classes)",
            CompilerCodes.InvalidArgument, 4, "1)", "global_pool prefix_tokens applies to tokens, not to image[8, 27, 27]", "an image has no prefix tokens; write global_pool");

    [Fact]
    public void PrefixTokensMustLeaveATokenToAverage() =>
        Expect("arch A(classes = 10)\ninput image[1, 8, 8]\nstem patches(4) -> cls_token\nhead global_pool(prefix_tokens: 5) -> linear(classes)",
            CompilerCodes.InvalidArgument, 4, "5)", "global_pool prefix_tokens 5 leaves no token of the 5 to average (input tokens[5, 16])",
            "prefix_tokens must be under 5");

    [Fact]
    public void PrefixTokensCannotBeNegative() =>
        Expect("arch A(classes = 10)\ninput image[1, 8, 8]\nstem patches(4) -> cls_token\nhead global_pool(prefix_tokens: -1) -> linear(classes)",
            CompilerCodes.InvalidArgument, 4, "-1)", "argument 'prefix_tokens' of global_pool must be ≥ 0, but is -1");

    [Fact]
    public void MixerNormMustBeANorm()
    {
        var spec = "arch A(dim = 8)\ninput image[1, 28, 28]\nmixer * 2 {\n  token: gelu\n  norm: afine, pre\n}";
        Expect(spec, CompilerCodes.BadMixer, 5, "afine", "mixer norm must be batch, layer, group, affine or none, not 'afine'", "did you mean 'affine'?");
    }

    [Fact]
    public void TooManyArguments() =>
        Expect(Spec("conv(dim, kernel: 2) -> relu(1)"), CompilerCodes.TooManyArguments, 3, "1)", "relu takes no arguments");

    [Fact]
    public void ChoiceArgumentOutsideItsChoices() =>
        Expect(Spec("conv(dim, kernel: 2) -> gelu(approximate: erf)"), CompilerCodes.ArgumentType, 3, "erf)",
            "argument 'approximate' of gelu expects none or tanh but got 'erf'");

    [Fact]
    public void ParameterThatIsNotAnOp() =>
        Expect(Spec("conv(8, kernel: 2) -> dim"), CompilerCodes.NotAnOp, 3, "dim", "'dim' holds the integer 8, not an op, so it cannot be a step");

    [Fact]
    public void UndefinedName() =>
        Expect(Spec("conv(dimm, kernel: 2)"), CompilerCodes.UndefinedName, 3, "dimm", "undefined name 'dimm'", "did you mean 'dim'?");

    [Fact]
    public void UndefinedNameInADefault() =>
        Expect(Spec("conv(dim, kernel: 2)", header: "arch A(dim = 8, hidden = dimm * 4, classes = 10)"), CompilerCodes.UndefinedName, 1, "dimm",
            "undefined name 'dimm'", "did you mean 'dim'?");

    [Fact]
    public void ParametersThatDependOnEachOther() =>
        Expect(Spec("conv(dim, kernel: 2)", header: "arch A(hidden = dim * 4, dim = hidden / 2, classes = 10)"), CompilerCodes.ParameterCycle, 1, "dim *",
            "parameter 'hidden' depends on itself (hidden -> dim -> hidden)");

    [Fact]
    public void DuplicateParameter()
    {
        var spec = Spec("conv(dim, kernel: 2)", header: "arch A(dim = 8, heads = 2, dim = 4, classes = 10)");
        var d = Expect(spec, CompilerCodes.DuplicateParameter, 1, "dim = 4", "parameter 'dim' of arch 'A' is declared twice");
        ExpectLabel(d, spec, "first declared here", 1, "dim");
    }

    [Fact]
    public void DuplicateBlockParameter()
    {
        var spec = "block b(d, d) { relu }\narch A(dim = 8)\ninput image[1, 28, 28]\nstem b(1, 2)";
        var d = Expect(spec, CompilerCodes.DuplicateParameter, 1, "d)", "parameter 'd' of block 'b' is declared twice");
        ExpectLabel(d, spec, "first declared here", 1, "d");
    }

    [Fact]
    public void ArithmeticOnAWord() =>
        Expect(Spec("conv(dim * gelu, kernel: 2)"), CompilerCodes.ArithmeticType, 3, "dim * gelu", "'*' needs numbers but got 'gelu'");

    [Fact]
    public void InexactIntegerDivision() =>
        Expect(Spec("conv(dim, kernel: 2)", header: "arch A(dim = 8, heads = 3, head_dim = dim / heads, classes = 10)"), CompilerCodes.InexactDivision, 1,
            "dim / heads", "8 / 3 is not a whole number; integer division must be exact", "divisors of 8 near 3: 2, 4 or 8");

    [Fact]
    public void DivisionByZero() =>
        Expect(Spec("conv(dim / 0, kernel: 2)"), CompilerCodes.ArithmeticError, 3, "dim / 0", "division by zero in 8 / 0");

    [Fact]
    public void UnknownOverrideName()
    {
        // Overrides are reported in a pseudo-file "<--set>" holding the assignment, so the caret lands under it.
        var d = Single(Compile(Spec("conv(dim, kernel: 2)"), "dimm=3"), CompilerCodes.UnknownOverride);
        Assert.Equal("arch 'A' has no parameter 'dimm' to override", d.Message);
        Assert.Equal("did you mean 'dim'?", d.Hint);
        Assert.Equal("<--set>", d.Span!.Value.File);
        At(d, 1, 1);
        Assert.Equal(4, d.Span.Value.Length);
    }

    [Fact]
    public void UnknownOverrideTrainKey()
    {
        var d = Single(Compile(Spec("conv(dim, kernel: 2)"), "train.epoch=3"), CompilerCodes.UnknownOverride);
        Assert.Equal("unknown train key 'epoch' in override 'train.epoch'", d.Message);
        Assert.Equal("did you mean 'train.epochs'?", d.Hint);
        At(d, 1, 1);
    }

    [Fact]
    public void UnparsableOverrideValueGetsTheSpecGrammarsError()
    {
        // The value is parsed by the spec grammar itself, so it gets the same syntax diagnostic a file would.
        var r = Compile(Spec("conv(dim, kernel: 2)"), "dim=(3");
        var d = Single(r, Dsl.DslCodes.ExpectedClosingBracket.Code);
        Assert.Equal("expected ')' to close '(', found end of file", d.Message);
        Assert.Equal("<--set>", d.Span!.Value.File);
        At(d, 1, 7);
        var label = Assert.Single(d.Labels);
        Assert.Equal((1, 5, "this '(' is never closed"), (label.Span.Line, label.Span.Column, label.Message));
    }

    [Fact]
    public void OverrideWithoutEquals()
    {
        var d = Single(Compile(Spec("conv(dim, kernel: 2)"), "dim"), CompilerCodes.BadOverride);
        Assert.Equal("override 'dim' is not name=value", d.Message);
        At(d, 1, 1);
        Assert.Equal("dim", d.Span!.Value.Source.Text); // the line quoted back is what was typed, with no '=' added
    }

    [Fact]
    public void PatchSizeMustDivideTheImage() =>
        Expect(Spec("patches(5) -> linear(dim)"), CompilerCodes.PatchDoesNotDivide, 3, "5",
            "patch 5 does not divide image height 28 (patches on image[1, 28, 28])", "try 4 or 7");

    [Fact]
    public void PatchSizeMustDivideTheWidthToo() =>
        Expect(Spec("patches(4) -> linear(dim)", input: "input image[1, 28, 30]"), CompilerCodes.PatchDoesNotDivide, 3, "4",
            "patch 4 does not divide image width 30 (patches on image[1, 28, 30])", "try 2");

    [Fact]
    public void HeadsMustDivideTheWidth() =>
        Expect(Spec("patches(4) -> linear(192) -> attention(5)"), CompilerCodes.HeadsDoNotDivide, 3, "5",
            "heads 5 does not divide width 192 (attention on tokens[49, 192])", "try 3, 4 or 6");

    [Fact]
    public void ResidualBodyMustKeepTheShape() =>
        Expect(Spec("conv(dim, kernel: 2, stride: 2) -> residual { conv(16, kernel: 1) }"), CompilerCodes.ResidualShapeChange, 3, "residual",
            "residual body changes the shape from image[8, 14, 14] to image[16, 14, 14]; add needs both shapes equal");

    [Fact]
    public void MixerSubLayerWithASkipMustKeepTheShape()
    {
        var spec = "arch A(dim = 8)\ninput image[1, 28, 28]\nstem conv(dim, kernel: 2, stride: 2)\nmixer * 2 {\n  token: conv(dim * 2, kernel: 1)\n}\nhead avgpool";
        Expect(spec, CompilerCodes.ResidualShapeChange, 5, "conv",
            "the token sub-layer changes the shape from image[8, 14, 14] to image[16, 14, 14], so its residual add cannot work",
            "keep the shape in the token chain, or drop its skip: residual: channel (or none)");
    }

    [Fact]
    public void OpOnTheWrongLayout() =>
        Expect(Spec("conv(dim, kernel: 3)", input: "input tokens[196, 768]"), CompilerCodes.WrongLayout, 3, "conv",
            "conv expects image[C,H,W] but got tokens[196, 768]");

    [Fact]
    public void LinearOnAnImage() =>
        Expect(Spec("linear(dim)"), CompilerCodes.WrongLayout, 3, "linear", "linear expects tokens[N,D] or vector[D] but got image[1, 28, 28]",
            "a classifier pools the image first: global_pool (global average pooling) -> linear(classes); to keep positions, turn it into tokens: patches(p) or flatten");

    [Fact]
    public void GroupsMustDivideChannels() =>
        Expect(Spec("conv(dim, kernel: 5, groups: 3)"), CompilerCodes.InvalidShape, 3, "3)",
            "conv groups 3 does not divide the input channels 1 (input image[1, 28, 28])");

    [Fact]
    public void KernelLargerThanTheInput() =>
        Expect(Spec("conv(dim, kernel: 29)"), CompilerCodes.InvalidShape, 3, "conv",
            "conv kernel 29 is larger than the padded input 28×28 (input image[1, 28, 28], padding 0)");

    [Fact]
    public void UnknownTrainKeySuggestsTheClosest() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { epoch: 3 }"), CompilerCodes.UnknownTrainKey, 5, "epoch", "unknown train key 'epoch'",
            "did you mean 'epochs'?");

    [Fact]
    public void WrongTrainValueType() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { epochs: 0.5 }"), CompilerCodes.TrainValue, 5, "0.5",
            "train key 'epochs' expects a positive integer but got the number 0.5");

    [Fact]
    public void UnknownAmpValueSuggestsTheClosest() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { amp: bf61 }"), CompilerCodes.UnknownAmp, 5, "bf61",
            "amp takes bf16, fp16 or off, not bf61", "did you mean 'bf16'?");

    [Fact]
    public void AmpNumberIsUnknownAmp() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { amp: 16 }"), CompilerCodes.UnknownAmp, 5, "16",
            "amp takes bf16, fp16 or off, not the integer 16", "write one of bf16, fp16 or off");

    [Fact]
    public void AmpTrueIsTheOldBoolean() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { amp: true }"), CompilerCodes.AmpBoolean, 5, "true",
            "amp: true no longer says which precision to train in; amp takes bf16, fp16 or off",
            "write amp: bf16 (CPU, or a GPU with bfloat16), or amp: fp16 (CUDA, with loss scaling)");

    [Fact]
    public void AmpFalseIsTheOldBoolean() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { amp: false }"), CompilerCodes.AmpBoolean, 5, "false",
            "amp: false no longer says which precision to train in; amp takes bf16, fp16 or off", "write amp: off");

    [Fact]
    public void AmpFp16OnTheCpuIsRefused() =>
        Expect(Spec("conv(dim, kernel: 2)", "train {\n  device: cpu\n  amp: fp16\n}"), CompilerCodes.AmpUnsupportedOnDevice, 7, "fp16",
            "amp: fp16 needs a CUDA device; libtorch's CPU autocast and kernels compute in bfloat16, not float16",
            "use amp: bf16 on the CPU, or device: cuda");

    [Fact]
    public void AmpValuesAreTyped()
    {
        Assert.Equal(AmpMode.Bf16, Graph(Spec("conv(dim, kernel: 2)", "train { amp: bf16 }")).Train.Loop.Amp);
        Assert.Equal(AmpMode.Fp16, Graph(Spec("conv(dim, kernel: 2)", "train {\n  device: cuda\n  amp: fp16\n}")).Train.Loop.Amp);
        Assert.Equal(AmpMode.Off, Graph(Spec("conv(dim, kernel: 2)", "train { amp: off }")).Train.Loop.Amp);
    }

    [Fact]
    public void UnknownOptimizer() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { optimizer: adam(lr: 0.1) }"), CompilerCodes.TrainValue, 5, "adam",
            "unknown optimizer 'adam'; expected adamw or sgd", "did you mean 'adamw'?");

    [Fact]
    public void UnknownOptimizerArgument() =>
        Expect(Spec("conv(dim, kernel: 2)", "train { optimizer: sgd(lr: 0.1, momentun: 0.9) }"), CompilerCodes.UnknownArgument, 5, "momentun",
            "sgd has no argument 'momentun'", "did you mean 'momentum'?");

    [Fact]
    public void DuplicateTrainKey()
    {
        var spec = Spec("conv(dim, kernel: 2)", "train { epochs: 1, epochs: 2 }");
        var d = Expect(spec, CompilerCodes.DuplicateTrainKey, 5, "epochs: 2", "train key 'epochs' is given twice");
        ExpectLabel(d, spec, "first given here", 5, "epochs");
    }

    [Fact]
    public void BlockThatCallsItself()
    {
        var spec = "block a(d) { relu -> a(d) }\narch A(dim = 8)\ninput image[1, 28, 28]\nstem a(dim)";
        Expect(spec, CompilerCodes.BlockRecursion, 1, "a(d) }", "block 'a' calls itself (a -> a)",
            "a block cannot expand into itself; use repeat n { … } to stack copies");
    }

    [Fact]
    public void BlocksThatCallEachOther()
    {
        var spec = "block a { relu -> b }\nblock b { gelu -> a }\narch A(dim = 8)\ninput image[1, 28, 28]\nstem a";
        Expect(spec, CompilerCodes.BlockRecursion, 2, "a }", "block 'a' calls itself (a -> b -> a)");
    }

    [Fact]
    public void UnknownArchName()
    {
        var r = ArchCompiler.CompileText(Spec("conv(dim, kernel: 2)"), "test.arch", [], "Mixr");
        var d = Single(r, CompilerCodes.UnknownArch);
        Assert.Equal("no arch named 'Mixr' in test.arch or its imports", d.Message);
        Assert.Null(d.Span); // named on the command line, not in a file
        Assert.Equal("archs: A", d.Hint);
    }

    [Fact]
    public void FileWithoutArch()
    {
        var d = Single(Compile("block b { relu }"), CompilerCodes.UnknownArch);
        Assert.Equal("test.arch declares no arch", d.Message);
        At(d, 1, 1);
    }

    [Fact]
    public void UnknownBase()
    {
        var spec = "arch ViT(dim = 8)\ninput image[1, 28, 28]\nstem patches(4) -> linear(dim)\narch Small = Vit(dim: 4)";
        Expect(spec, CompilerCodes.UnknownBase, 4, "Vit", "arch 'Small' derives from 'Vit', which is no arch here", "did you mean 'ViT'?");
    }

    [Fact]
    public void UnknownBaseParameter()
    {
        var spec = "arch ViT(dim = 8)\ninput image[1, 28, 28]\nstem patches(4) -> linear(dim)\narch Small = ViT(dims: 4)";
        Expect(spec, CompilerCodes.UnknownArgument, 4, "dims", "arch 'ViT' has no parameter 'dims'", "did you mean 'dim'?");
    }

    [Fact]
    public void BaseCycle()
    {
        var spec = "arch X = Y(dim: 1)\narch Y = X(dim: 2)";
        Expect(spec, CompilerCodes.BaseCycle, 1, "Y", "arch 'Y' derives from itself: Y = X = Y");
    }

    [Fact]
    public void DuplicateArch()
    {
        var spec = "arch A(dim = 8)\ninput image[1, 28, 28]\narch A(dim = 4)\ninput image[1, 28, 28]";
        var d = Expect(spec, CompilerCodes.DuplicateDeclaration, 3, "A", "arch 'A' is declared twice");
        ExpectLabel(d, spec, "first declared here", 1, "A");
    }

    [Fact]
    public void BlockNamedLikeAnOp()
    {
        var spec = "block conv { relu }\narch A(dim = 8)\ninput image[1, 28, 28]\nstem relu";
        Expect(spec, CompilerCodes.DuplicateDeclaration, 1, "conv", "block 'conv' has the name of a built-in op", "rename the block");
    }

    [Fact]
    public void MissingInput() =>
        Expect("arch A(dim = 8)\nstem relu\nhead avgpool", CompilerCodes.MissingInput, 2, "stem", "arch 'A' has no input before its first stem",
            "start the arch with: input image[channels, size, size]");

    [Fact]
    public void DuplicateStem()
    {
        var spec = Spec("relu", "stem gelu");
        var d = Expect(spec, CompilerCodes.DuplicateStatement, 5, "stem", "arch 'A' has a second 'stem' statement", "join the two into one chain with ->");
        ExpectLabel(d, spec, "first 'stem' statement here", 3, "stem");
    }

    [Fact]
    public void DuplicateBlock()
    {
        var spec = "block b { relu }\nblock b { gelu }\narch A(dim = 8)\ninput image[1, 28, 28]\nstem b";
        var d = Expect(spec, CompilerCodes.DuplicateDeclaration, 2, "b {", "block 'b' is declared twice");
        ExpectLabel(d, spec, "first declared here", 1, "b", occurrence: 2); // the first 'b' is block's
    }

    [Fact]
    public void DuplicateMixerEntry()
    {
        var spec = "arch A(dim = 8)\ninput image[1, 28, 28]\nmixer * 2 {\n  token: gelu\n  token: relu\n}";
        var d = Expect(spec, CompilerCodes.BadMixer, 5, "token", "mixer entry 'token' is given twice");
        ExpectLabel(d, spec, "first given here", 4, "token");
    }

    [Fact]
    public void UnknownInputLayout() =>
        Expect(Spec("relu", input: "input picture[1, 28, 28]"), CompilerCodes.BadInput, 2, "picture", "unknown input layout 'picture'");

    [Fact]
    public void InputWithTheWrongNumberOfSizes() =>
        Expect(Spec("relu", input: "input image[1, 28]"), CompilerCodes.BadInput, 2, "input", "image input needs 3 sizes [C, H, W] but has 2");

    [Fact]
    public void UnknownMixerEntry()
    {
        var spec = "arch A(dim = 8)\ninput image[1, 28, 28]\nmixer * 2 {\n  tokn: gelu\n}";
        Expect(spec, CompilerCodes.BadMixer, 4, "tokn", "unknown mixer entry 'tokn'", "did you mean 'token'?");
    }

    [Fact]
    public void BadMixerResidual()
    {
        var spec = "arch A(dim = 8)\ninput image[1, 28, 28]\nmixer * 2 {\n  token: gelu\n  residual: tokens\n}";
        Expect(spec, CompilerCodes.BadMixer, 5, "tokens", "mixer residual must be token, channel, both or none, not 'tokens'", "did you mean 'token'?");
    }

    [Fact]
    public void RepeatCountOverTheLimit() =>
        Expect(Spec("repeat 2000000 { gelu }"), CompilerCodes.TooLarge, 3, "2000000", "repeat count 2,000,000 is over the limit of 1,000,000");

    [Fact]
    public void ExpansionWorkIsBounded()
    {
        // Nothing is built (repeat 0), but the loops would run 10^12 times: the work limit stops them. The time bound
        // only turns a missing limit (hours) into a failure instead of a hang; it is no speed target (~5 s alone here).
        var watch = System.Diagnostics.Stopwatch.StartNew();
        var r = Compile(Spec("repeat 1000000 { repeat 1000000 { repeat 0 { gelu } } }"));
        Assert.Contains(r.Errors, d => d.Code == CompilerCodes.TooLarge);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(120), $"took {watch.Elapsed}");
    }

    [Fact]
    public void DeeplyNestedBlocksAreReportedNotOverflowed()
    {
        var blocks = string.Join("\n", Enumerable.Range(0, 300).Select(i => $"block b{i} {{ relu -> b{i + 1} }}")) + "\nblock b300 { gelu }";
        var r = Compile(blocks + "\narch A(dim = 8)\ninput image[1, 28, 28]\nstem b0");
        var d = Assert.Single(r.Errors, e => e.Code == CompilerCodes.TooDeep);
        Assert.Equal("blocks, repeats and residuals nest more than 200 levels deep here", d.Message);
    }

    [Fact]
    public void LongExpressionsThatParseAlsoCompile()
    {
        // 999 additions: within the parser's limit of 1,000 operators, so the compiler must evaluate it too.
        var sum = string.Join(" + ", Enumerable.Repeat("1", 1000));
        var g = Graph($"arch A(dim = {sum})\ninput tokens[2, 3]\nstem linear(dim)");
        Assert.Equal(1000L, g.OutputNode.Attrs["out"]);
    }

    [Fact]
    public void EveryStatementsErrorsAreReported()
    {
        var spec = string.Join("\n",
            "arch A(dim = 8, classes = 10)",
            "input image[1, 28, 28]",
            "stem conv(dim, kernl: 2)",
            "mixer * 2 {",
            "  token: gelo",
            "}",
            "head avgpool -> linear(clases)",
            "train { epoch: 3 }");
        var r = Compile(spec);
        var codes = r.Errors.Select(d => (d.Code, d.Span!.Value.Line)).ToList();
        Assert.Contains((CompilerCodes.UnknownArgument, 3), codes);
        Assert.Contains((CompilerCodes.UnknownOp, 5), codes);
        Assert.Contains((CompilerCodes.UndefinedName, 7), codes);
        Assert.Contains((CompilerCodes.UnknownTrainKey, 8), codes);
        Assert.Null(r.Graph);
    }

    [Fact]
    public void RenderedDiagnosticShowsLineCaretAndHint()
    {
        var r = Compile(Spec("patches(5) -> linear(dim)"));
        var text = Single(r, CompilerCodes.PatchDoesNotDivide).Render();
        Assert.Equal(
            "test.arch:3:14: error AD0130: patch 5 does not divide image height 28 (patches on image[1, 28, 28])\n" +
            " 3 | stem patches(5) -> linear(dim)\n" +
            "   |              ^\n" +
            "  = hint: try 4 or 7\n", text);
    }

    [Fact]
    public void CodesAreUniqueAndInTheCompilerRange()
    {
        var all = CompilerCodes.All;
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.All(all, c => Assert.Matches("^AD0[1-9][0-9][0-9]$", c));
    }
}
