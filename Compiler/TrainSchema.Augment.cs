using System.Collections;
using System.Globalization;
using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

// The batch-level augmentations added for real image data (issue 11 item 3): colour jitter, timm's
// RandAugment, random erasing's ranges and modes, and timm's Mixup / CutMix with its label mixing.
public static partial class TrainSchema
{
    private static Kind Probability => Num(0, 1, false, "a probability in [0, 1]");

    /// <summary>A <c>[min, max]</c> list of two numbers in (0, <paramref name="max"/>]; min ≤ max is checked together (AD0193).</summary>
    private static Kind Range(string what, double max) => new($"a list [min, max] of two {what} in (0, {(max == double.MaxValue ? "∞" : max.ToString(CultureInfo.InvariantCulture))}]",
        v => v is ListVal { Items.Count: 2 } l && l.Items.All(x => x is IntVal or FloatVal && AsDouble(x) is var d && d > 0 && d <= max)
            ? l.Items.Select(x => (object)AsDouble(x)).ToList() : null);

    // Properties, not fields: TrainSchema.cs's tables use them, and static initialisers of partial files run in no set order.
    private static CallSpec[] AugmentsAdded =>
    [
        // torchvision's ColorJitter: each strength s draws a factor in [max(0, 1 - s), 1 + s]; hue h a shift in [-h, h].
        new("color_jitter", [("brightness", Rate, 0.0), ("contrast", Rate, 0.0), ("saturation", Rate, 0.0),
            ("hue", Num(0, 0.5, false, "a number in [0, 0.5]"), 0.0)], true),
        // timm's rand_augment_transform config string; timm's own default for DeiT-style recipes.
        new("rand_augment", [("config", Str, "rand-m9-mstd0.5-inc1")], true),
    ];

    /// <summary>timm's <c>Mixup</c> constructor defaults (timm/data/mixup.py); mode batch only.</summary>
    private static CallSpec[] MixupCalls =>
    [
        new("mixup", [("mixup_alpha", Rate, 1.0), ("cutmix_alpha", Rate, 0.0), ("prob", Probability, 1.0), ("switch_prob", Probability, 0.5),
            ("mode", Word("batch"), "batch"), ("correct_lam", Bool, true), ("label_smoothing", Fraction, 0.1)], true),
    ];

    /// <summary>Rules of the augmentation keys: ranges in order, timm config strings that parse, mixup that mixes, smoothing given once.</summary>
    private static void CheckAugmentTogether(Dictionary<string, object> values, Dictionary<string, Span> spans, DiagnosticBag diags)
    {
        if (values.GetValueOrDefault("augment") is IEnumerable items && spans.TryGetValue("augment", out var augAt))
            foreach (var call in items.OfType<TrainCall>())
            {
                foreach (var (arg, value) in call.Args)
                    if (value is List<object> { Count: 2 } range && range[0] is double lo && range[1] is double hi && lo > hi)
                        diags.Report(CompilerDiagnostics.AugmentRangeReversed, augAt, $"write [{FloatText.Format(hi)}, {FloatText.Format(lo)}]", call.Name, arg, FloatText.Format(lo), FloatText.Format(hi));
                if (call.Name == "rand_augment" && call.Args.GetValueOrDefault("config") is string config
                    && RandAugmentPolicy.TryParse(config, out _) is { } error)
                    diags.Report(CompilerDiagnostics.RandAugmentConfig, augAt,
                        "timm's form is rand-m<magnitude>[-n<ops>][-mstd<std>][-mmax<max>][-inc<0|1>][-p<prob>], e.g. \"rand-m9-mstd0.5-inc1\"", config, error);
            }
        if (values.GetValueOrDefault("mixup") is not TrainCall mix || !spans.TryGetValue("mixup", out var mixAt)) return;
        if (mix.Args.GetValueOrDefault("mixup_alpha", 1.0) is 0.0 && mix.Args.GetValueOrDefault("cutmix_alpha", 0.0) is 0.0)
            diags.Report(CompilerDiagnostics.MixupNothingToMix, mixAt, "give mixup_alpha: 0.8 (Beta(α, α) mixing) or cutmix_alpha: 1.0, as DeiT does");
        if (values.GetValueOrDefault("label_smoothing") is double ls and > 0 && spans.TryGetValue("label_smoothing", out var lsAt))
            diags.Report(CompilerDiagnostics.MixupLabelSmoothing, lsAt, $"drop it and write mixup(label_smoothing: {FloatText.Format(ls)}, …)", FloatText.Format(ls));
    }

    internal static AugmentConfig TypedAugmentAdded(string name, Func<string, object?> arg) => name switch
    {
        "color_jitter" => new ColorJitterConfig(Double(arg("brightness")), Double(arg("contrast")), Double(arg("saturation")), Double(arg("hue"))),
        "rand_augment" => RandAugmentPolicy.Parse((string)arg("config")!),
        _ => throw new InvalidOperationException($"augment '{name}' is not in the table (the compiler checks it)"),
    };

    internal static EraseConfig TypedErase(Func<string, object?> arg)
    {
        var scale = ((IEnumerable)arg("scale")!).Cast<object>().Select(Double).ToList();
        var ratio = ((IEnumerable)arg("ratio")!).Cast<object>().Select(Double).ToList();
        return new EraseConfig(Double(arg("p")), scale[0], scale[1], ratio[0], ratio[1], (string)arg("mode")!);
    }

    internal static MixupConfig? TypedMixup(TrainConfig t)
    {
        if (t["mixup"] is null) return null;
        var (spec, args) = CallOf(t, "mixup", MixupCalls);
        double D(string a) => Double(Arg(spec, args, a));
        return new MixupConfig(D("mixup_alpha"), D("cutmix_alpha"), D("prob"), D("switch_prob"), (string)Arg(spec, args, "mode")!,
            Arg(spec, args, "correct_lam") is true, D("label_smoothing"));
    }
}
