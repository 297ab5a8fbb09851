namespace ArchDsl.Compiler.Tests;

using static CompilerTestKit;
using static CompilerDiagnosticTests;

/// <summary>The augmentation keys of issue 11 item 3: their typed config, defaults and diagnostics AD0190–AD0193.</summary>
public class TrainAugmentCheckTests
{
    private static string Rgb(string train) => Spec("conv(dim, kernel: 2)", train, input: "input image[3, 32, 32]");

    [Fact]
    public void Mixup_with_top_level_label_smoothing_is_refused_where_the_smoothing_is() =>
        Expect(Rgb("train { label_smoothing: 0.1, mixup: mixup(cutmix_alpha: 1.0) }"), CompilerCodes.MixupLabelSmoothing, 5, "0.1",
            "train key 'label_smoothing' (0.1) is not used with mixup; the mixed targets are smoothed by mixup(label_smoothing: …)",
            "drop it and write mixup(label_smoothing: 0.1, …)");

    [Fact]
    public void Mixup_with_both_alphas_zero_mixes_nothing() =>
        Expect(Rgb("train { mixup: mixup(mixup_alpha: 0) }"), CompilerCodes.MixupNothingToMix, 5, "mixup(",
            "mixup(mixup_alpha: 0, cutmix_alpha: 0) mixes nothing; one of the alphas must be > 0");

    [Theory]
    [InlineData("rand-m9-x3", "unknown section 'x3' (supported: m, n, mstd, mmax, inc, p; timm's op weights 'w' are not)")]
    [InlineData("augmix-m5", "must start with 'rand', not 'augmix'")]
    [InlineData("rand-inc2", "section 'inc2' has an invalid value")]
    [InlineData("rand-m", "section 'm' is not a name followed by a number")]
    public void A_timm_config_string_timm_would_refuse_is_an_error(string config, string why) =>
        Expect(Rgb($"train {{ augment: [flip, rand_augment(\"{config}\")] }}"), CompilerCodes.RandAugmentConfig, 5, "[flip",
            $"rand_augment config \"{config}\": {why}");

    [Fact]
    public void A_reversed_range_is_an_error_with_the_range_turned_round() =>
        Expect(Rgb("train { augment: [erase(p: 0.5, scale: [0.4, 0.1])] }"), CompilerCodes.AugmentRangeReversed, 5, "[erase",
            "erase(scale: [0.4, 0.1]) has its minimum above its maximum", "write [0.1, 0.4]");

    [Theory]
    [InlineData("train { augment: [color_jitter(hue: 0.7)] }", "0.7", "argument 'hue' of color_jitter expects a number in [0, 0.5] but got the number 0.7")]
    [InlineData("train { augment: [erase(mode: noise)] }", "noise", "argument 'mode' of erase expects const, rand or pixel but got 'noise'")]
    [InlineData("train { mixup: mixup(mode: pair) }", "pair", "argument 'mode' of mixup expects batch but got 'pair'")]
    public void Argument_types_are_checked(string train, string at, string message) =>
        Expect(Rgb(train), CompilerCodes.TrainValue, 5, at, message);

    [Fact]
    public void The_typed_config_fills_timms_and_torchvisions_defaults()
    {
        var t = Graph(Rgb("train { augment: [color_jitter(0.4, 0.4, 0.4), erase(p: 0.25, mode: pixel), rand_augment], mixup: mixup }")).Train;
        Assert.Equal(new ColorJitterConfig(0.4, 0.4, 0.4, 0), t.Augment[0]);
        Assert.Equal(new EraseConfig(0.25, 0.02, 0.33, 0.3, 3.3, "pixel"), t.Augment[1]);
        Assert.Equal(new TimmRandAugmentConfig(9, 2, 0.5, 10, true, 0.5, "rand-m9-mstd0.5-inc1"), t.Augment[2]);
        Assert.Equal(new MixupConfig(1.0, 0.0, 1.0, 0.5, "batch", true, 0.1), t.Mixup); // timm's Mixup() defaults
        Assert.Null(Graph(Rgb("train { }")).Train.Mixup);
        // erase's later arguments stay out of the IR unless given, so older IR reads the same
        var erase = (TrainCall)((System.Collections.IList)Graph(Rgb("train { augment: [erase] }")).Train["augment"]!)[0]!;
        Assert.Equal(["p"], erase.Args.Keys);
    }

    [Fact]
    public void Mixup_arguments_are_overridable_from_the_command_line()
    {
        var t = Graph(Rgb("train { }"), "train.mixup.cutmix_alpha=1.0").Train;
        Assert.Equal(1.0, t.Mixup!.CutmixAlpha);
    }

    [Fact]
    public void A_train_config_from_code_is_checked_by_the_same_rules()
    {
        var bad = new TrainConfig(new Dictionary<string, object>
        {
            ["mixup"] = new TrainCall("mixup", new Dictionary<string, object> { ["mixup_alpha"] = 0.0, ["cutmix_alpha"] = 0.0 }),
        });
        Assert.Contains("mixup(mixup_alpha: 0, cutmix_alpha: 0) mixes nothing; one of the alphas must be > 0", TrainSchema.Check(bad));
    }
}
