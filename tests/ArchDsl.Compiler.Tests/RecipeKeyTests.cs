namespace ArchDsl.Compiler.Tests;

using static CompilerTestKit;

/// <summary>The train keys of the field's recipes: <c>weight_decay_rule</c> (timm | all, default timm) and <c>ema</c>
/// (a decay in (0, 1), off when absent) — resolved, written into the IR, overridable, and checked where written.</summary>
public class RecipeKeyTests
{
    private const string Arch = "arch A(classes = 10)\ninput image[1, 28, 28]\nstem conv(8, kernel: 4, stride: 4) -> gelu\nhead avgpool -> linear(classes)\n";

    [Fact]
    public void Defaults_are_timms_rule_and_no_ema_and_both_are_in_the_ir()
    {
        var g = Graph(Arch);
        Assert.Equal(WeightDecayRule.Timm, g.Train.WeightDecayRule);
        Assert.Equal("timm", g.Train["weight_decay_rule"]);
        Assert.Null(g.Train.Ema);
        Assert.Null(g.Train["ema"]);
        var set = Graph(Arch + "train { weight_decay_rule: all\n ema: 0.9998 }");
        Assert.Equal(WeightDecayRule.All, set.Train.WeightDecayRule);
        Assert.Equal(0.9998, set.Train.Ema);
        var overridden = Graph(Arch + "train { ema: 0.9998 }", "train.ema=0.99", "train.weight_decay_rule=all");
        Assert.Equal((0.99, WeightDecayRule.All), (overridden.Train.Ema, overridden.Train.WeightDecayRule));
    }

    [Fact]
    public void A_rule_that_is_not_timm_or_all_is_located() =>
        CompilerDiagnosticTests.Expect(Arch + "train { weight_decay_rule: tim }", CompilerCodes.TrainValue, 5, "tim }",
            "train key 'weight_decay_rule' expects timm or all but got 'tim'", "did you mean 'timm'?");

    /// <summary>
    /// A bare word outside a word-valued key's choices is a mistyped choice, said as such with "did you mean" — not an
    /// undefined name with the arch's parameters as the hint (what <c>device: gpu</c> got, because 'gpu' is no substring
    /// of "cpu or cuda"); the same for a call's word-valued argument.
    /// </summary>
    [Theory]
    [InlineData("train { device: gpu }", 5, "gpu }", "train key 'device' expects cpu or cuda but got 'gpu'", "did you mean 'cuda'?")] // torch.device's name for it
    [InlineData("train { device: cud }", 5, "cud }", "train key 'device' expects cpu or cuda but got 'cud'", "did you mean 'cuda'?")]
    [InlineData("train { schedule: onecycle(anneal: lineer) }", 5, "lineer)", "argument 'anneal' of onecycle expects cos or linear but got 'lineer'", "did you mean 'linear'?")]
    public void A_word_outside_a_keys_choices_is_a_mistyped_choice(string train, int line, string at, string message, string hint) =>
        CompilerDiagnosticTests.Expect(Arch + train, CompilerCodes.TrainValue, line, at, message, hint);

    [Theory]
    [InlineData("1.0", "the number 1.0")]
    [InlineData("0", "the integer 0")]
    [InlineData("-0.5", "the number -0.5")]
    public void An_ema_decay_outside_0_1_is_located(string value, string described) =>
        CompilerDiagnosticTests.Expect(Arch + $"train {{ ema: {value} }}", CompilerCodes.TrainValue, 5, value,
            $"train key 'ema' expects a decay in (0, 1) but got {described}");
}
