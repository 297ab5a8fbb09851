using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>
/// The one table of the keys of a <c>train { }</c> section, their types and defaults. The resolved
/// <see cref="TrainConfig"/> holds every key that has a default (filled in when missing) and every
/// optional key that was given (values: long, double, bool, string, <see cref="TrainCall"/>, or
/// <c>List&lt;object&gt;</c>); its typed view (<see cref="TrainConfig.Optimizer"/> and the rest, in
/// TrainSchema.Typed.cs) fills every other default from this table too, so the runtime states none.
/// Call-valued keys (optimizer, schedule, data, augmentations) are checked in TrainSchema.Calls.cs.
/// <code>
/// data            a <see cref="DataCatalog"/> name or string (fashion-mnist, cifar10, "folder:/x") or a call of one:
///                 name(path: "/x"), synthetic(train: 4096, test: 1024, noise: 1.0, classes, path)       default fashion-mnist
/// path            string, the data's location                                                            optional
/// epochs          integer ≥ 1                                                   default 10
/// batch           integer ≥ 1                                                   default 128
/// optimizer       adamw(lr: 1e-3, weight_decay: 0.01, betas: [0.9, 0.999], eps: 1e-8)
///                 | sgd(lr: 0.1, momentum: 0.0, weight_decay: 0.0, nesterov: false)   default adamw; arguments filled
/// schedule        constant | cosine(warmup, warmup_epochs, min_lr: 0) | onecycle(max_lr: the optimizer's lr, pct_start: 0.3,
///                 anneal: cos, div_factor: 25, final_div_factor: 1e4, three_phase: false, base_momentum: 0.85,
///                 max_momentum: 0.95) — always a TrainCall; only the given arguments are written into the IR   default constant
/// warmup          integer epochs ≥ 0 (long) or a fraction of training (double)   default 0
/// label_smoothing number in [0, 1)                                              default 0.0
/// clip            gradient-norm clip, number ≥ 0 (0 = off)                      default 0.0
/// augment         list of flip | crop(pad: 4) | erase(p: 0.25, scale: [0.02, 0.33], ratio: [0.3, 3.3], mode: const|rand|pixel)
///                 | randaugment(n: 2, m: 9 in 0..30) | rand_augment("rand-m9-mstd0.5-inc1") | color_jitter(brightness, contrast,
///                 saturation: 0, hue: 0 in [0, 0.5]), each once; arguments filled (erase's scale/ratio/mode not written)   default []
/// mixup           mixup(mixup_alpha: 1.0, cutmix_alpha: 0.0, prob: 1.0, switch_prob: 0.5, mode: batch, correct_lam: true,
///                 label_smoothing: 0.1), timm's Mixup; arguments filled                                                       optional
/// seed            integer                                                       default 0
/// val_split       number in [0, 1)                                              default 0.0
/// subset, test_subset  integer ≥ 1: use only that many training-set images (val_split holds out its fraction of
///                 them) / test images                                                       optional
/// normalize       bool                                                          default true (not written into the IR)
/// mean, std       number or list of numbers (per channel), both or neither, as many of each    optional
/// device          cpu | cuda                                                    default cpu (not written into the IR)
/// amp             bf16 | fp16 | off (mixed precision, <see cref="AmpMode"/>)      default off
/// transform       folder images to the input size: random_resized_crop(size, scale: [0.08, 1], ratio: [3.0/4, 4.0/3]) |
///                 center_crop(size) | resize(size); size defaults to the input's   default random_resized_crop (optional)
/// crop_pct        number in (0, 1]: evaluation resizes the shorter side to size / crop_pct, then center-crops   default 0.875 (optional)
/// normalize       also imagenet | cifar10 | cifar100 (named statistics, <see cref="DataCatalog.Statistics"/>) | computed (= true)
/// sync_bn         bool: data-parallel BatchNorm statistics over all ranks (SyncBatchNorm)   optional (false)
/// weight_decay_rule  timm | all: which parameters the optimizer's weight_decay applies to — timm: not 1-D ones
///                 (norm weights, biases) nor token parameters (timm's param_groups_weight_decay with no_weight_decay());
///                 all: every one (PyTorch's optimizer(model.parameters()))                               default timm
/// ema             number in (0, 1): keep an exponential moving average of the weights with this decay (timm's
///                 ModelEmaV2), evaluated and checkpointed beside them                                    optional
/// </code>
/// </summary>
public static partial class TrainSchema
{
    /// <summary>What a key's value must be, in words; its conversion (null: not such a value); for a key that takes one of a
    /// few words, those words (a bare word outside them is a mistyped choice, not an undefined name).</summary>
    internal sealed record Kind(string Expects, Func<Val, object?> Convert, string[]? Choices = null)
    {
        /// <summary>"did you mean" for a word or string outside <see cref="Choices"/>, or null.</summary>
        public string? Hint(Val v) =>
            Choices is null ? null
            : (v switch { WordVal w => w.Word, StrVal t => t.Value, _ => null }) is { } text && Suggest.Closest(text, Choices) is { } s ? $"did you mean '{s}'?" : null;
    }

    /// <summary>A train key; <paramref name="InIr"/> false: its default is the typed config's, not written into the IR.</summary>
    private sealed record KeySpec(string Name, Kind Kind, object? Default, bool InIr = true);

    /// <summary>A call of a call-valued key; <paramref name="FillDefaults"/> false: defaults feed the typed config but are not written into the IR.
    /// <paramref name="Later"/>: arguments added after the call's IR form was fixed, whose defaults are never written (so older IR reads the same).</summary>
    private sealed record CallSpec(string Name, (string Arg, Kind Kind, object? Default)[] Args, bool FillDefaults, string[]? Later = null);

    private static Kind Int(long min) => new(min == 1 ? "a positive integer" : min == 0 ? "an integer ≥ 0" : "an integer",
        v => Evaluator.AsInteger(v) is { } n && n >= min ? n : null);

    private static Kind Num(double min, double max, bool maxOpen, string expects) => new(expects,
        v => v is IntVal or FloatVal && AsDouble(v) is var d && d >= min && (maxOpen ? d < max : d <= max) ? d : null);

    private static readonly Kind Bool = new("true or false", v => v is BoolVal b ? b.Value : null);
    private static readonly Kind Str = new("a name or a string", v => v switch { StrVal s => s.Value, WordVal w => w.Word, _ => null });
    private static Kind Word(params string[] words) => new(Suggest.OrList(words),
        v => v is WordVal w && words.Contains(w.Word) ? w.Word : v is StrVal s && words.Contains(s.Value) ? s.Value : null, words);

    private static readonly Kind Rate = Num(0, double.MaxValue, false, "a number ≥ 0");
    private static readonly Kind PosRate = new("a number > 0", v => v is IntVal or FloatVal && AsDouble(v) > 0 ? AsDouble(v) : null);
    private static readonly Kind Fraction = Num(0, 1, true, "a number in [0, 1)");
    private static readonly Kind Numbers = new("a number or a list of numbers", v => v switch
    {
        IntVal or FloatVal => AsDouble(v),
        ListVal l when l.Items.All(x => x is IntVal or FloatVal) => l.Items.Select(x => (object)AsDouble(x)).ToList(),
        _ => null,
    });
    private static readonly Kind Betas = new("a list of two numbers in [0, 1)", v =>
        v is ListVal { Items.Count: 2 } l && l.Items.All(x => x is IntVal or FloatVal && AsDouble(x) is >= 0 and < 1)
            ? l.Items.Select(x => (object)AsDouble(x)).ToList() : null);
    private static readonly Kind IntOrFraction = new("an integer number of epochs ≥ 0 or a fraction in [0, 1)", v => v switch
    {
        IntVal { Value: >= 0 } i => i.Value,
        FloatVal { Value: >= 0 and < 1 } f => f.Value,
        FloatVal f when Evaluator.AsInteger(f) is >= 1 and var n => n, // 2.0 epochs is 2 epochs
        _ => null,
    });

    private static readonly CallSpec[] Optimizers =
    [
        new("adamw", [("lr", PosRate, 1e-3), ("weight_decay", Rate, 0.01), ("betas", Betas, new List<object> { 0.9, 0.999 }), ("eps", PosRate, 1e-8)], true),
        new("sgd", [("lr", PosRate, 0.1), ("momentum", Fraction, 0.0), ("weight_decay", Rate, 0.0), ("nesterov", Bool, false)], true),
    ];

    private static readonly CallSpec[] Schedules =
    [
        new("constant", [], false),
        // warmup / warmup_epochs absent: the top-level warmup applies; max_lr absent: the optimizer's lr.
        new("cosine", [("warmup", Int(0), null), ("warmup_epochs", Int(0), null), ("min_lr", Rate, 0.0)], false),
        // PyTorch's OneCycleLR defaults.
        new("onecycle", [("max_lr", PosRate, null), ("pct_start", Num(0, 1, true, "a number in [0, 1)"), 0.3), ("anneal", Word("cos", "linear"), "cos"),
            ("div_factor", PosRate, 25.0), ("final_div_factor", PosRate, 1e4), ("three_phase", Bool, false),
            ("base_momentum", Fraction, 0.85), ("max_momentum", Fraction, 0.95)], false),
    ];

    private static readonly CallSpec[] Augments =
    [
        new("flip", [], true),
        new("crop", [("pad", Int(0), 4L)], true),
        // torchvision's RandomErasing defaults; mode as timm's RandomErasing (const: 0, rand: one normal value per channel, pixel: per pixel).
        new("erase", [("p", Probability, 0.25), ("scale", Range("fractions of the image", 1), new List<object> { 0.02, 0.33 }),
            ("ratio", Range("aspect ratios", double.MaxValue), new List<object> { 0.3, 3.3 }), ("mode", Word("const", "rand", "pixel"), "const")],
            true, Later: ["scale", "ratio", "mode"]),
        // m indexes torchvision's 31 magnitude bins (num_magnitude_bins=31).
        new("randaugment", [("n", Int(0), 2L), ("m", new("an integer in 0..30", v => v is IntVal { Value: >= 0 and <= 30 } i ? i.Value : null), 9L)], true),
        .. AugmentsAdded,
    ];

    private static readonly Kind Path = new("a string", v => v is StrVal s ? s.Value : null);

    private static Kind Range(double min, double max, string expects) => new(expects, v =>
        v is ListVal { Items.Count: 2 } l && l.Items.All(x => x is IntVal or FloatVal) && AsDouble(l.Items[0]) is var a && AsDouble(l.Items[1]) is var b
        && a >= min && a <= b && b <= max ? new List<object> { a, b } : null);

    /// <summary>The per-sample transforms of folder images (torchvision's RandomResizedCrop defaults; timm's eval crop).</summary>
    private static readonly CallSpec[] Transforms =
    [
        new("random_resized_crop", [("size", Int(1), null), ("scale", Range(double.Epsilon, 1, "a list [min, max] with 0 < min ≤ max ≤ 1"), new List<object> { 0.08, 1.0 }),
            ("ratio", Range(double.Epsilon, double.MaxValue, "a list [min, max] with 0 < min ≤ max"), new List<object> { 3.0 / 4, 4.0 / 3 })], false),
        new("center_crop", [("size", Int(1), null)], false),
        new("resize", [("size", Int(1), null)], false),
    ];

    private static readonly Kind NormalizeKind = new("true, false, computed, " + string.Join(", ", DataCatalog.Statistics.Keys), v => v switch
    {
        BoolVal b => b.Value,
        WordVal w when w.Word == "computed" => true,
        StrVal s when s.Value == "computed" => true,
        WordVal w when DataCatalog.Statistics.ContainsKey(w.Word) => w.Word,
        StrVal s when DataCatalog.Statistics.ContainsKey(s.Value) => s.Value,
        _ => null,
    });

    /// <summary>The calls <c>data</c> may be: every catalogue entry takes <c>path</c>; synthetic also its sizes.</summary>
    private static readonly CallSpec[] DataCalls = DataCatalog.All.Select(d => new CallSpec(d.Name, d == DataCatalog.Synthetic
        ? [("train", Int(1), (long)DataCatalog.SyntheticTrain), ("test", Int(1), (long)DataCatalog.SyntheticTest),
           ("noise", Rate, DataCatalog.SyntheticNoise), ("classes", Int(1), null), ("path", Path, null)]
        : d == DataCatalog.Folder ? [("path", Path, null), ("strict", Bool, false), ("workers", Int(1), null)]
        : [("path", Path, null)], false)).ToArray();

    private static readonly KeySpec[] Keys =
    [
        new("data", new Kind("a dataset name, a string or a call", _ => null), "fashion-mnist"), // converted specially
        new("path", Path, null),
        new("epochs", Int(1), 10L),
        new("batch", Int(1), 128L),
        new("optimizer", new Kind("adamw(…) or sgd(…)", _ => null), null), // call-valued, below
        new("schedule", new Kind("constant, cosine(…) or onecycle(…)", _ => null), null),
        new("warmup", IntOrFraction, 0L),
        new("label_smoothing", Fraction, 0.0),
        new("clip", Rate, 0.0),
        new("augment", new Kind("a list of flip, crop(pad), erase(p), randaugment(n, m), rand_augment(config), color_jitter(…)", _ => null), null),
        new("seed", Int(long.MinValue), 0L),
        new("val_split", Fraction, 0.0),
        new("subset", Int(1), null),
        new("test_subset", Int(1), null),
        new("normalize", NormalizeKind, true, InIr: false),
        new("mean", Numbers, null),
        new("std", Numbers, null),
        new("device", Word("cpu", "cuda"), "cpu", InIr: false), // --device on the command line wins over it
        new("amp", new Kind(Suggest.OrList(AmpModes.Names), _ => null), "off"), // checked by Amp (TrainSchema.Amp.cs)
        new("mixup", new Kind("mixup(…)", _ => null), null), // call-valued, TrainSchema.Augment.cs
        new("transform", new Kind("random_resized_crop(…), center_crop(…) or resize(…)", _ => null), null),
        new("crop_pct", new("a number in (0, 1]", v => v is IntVal or FloatVal && AsDouble(v) is > 0 and <= 1 ? AsDouble(v) : null), null),
        new("sync_bn", Bool, null), // optional: absent (false) leaves the IR and config hash of existing specs as they were
        new("weight_decay_rule", Word("timm", "all"), "timm"),
        new("ema", new Kind("a decay in (0, 1)", v => v is IntVal or FloatVal && AsDouble(v) is > 0 and < 1 ? AsDouble(v) : null), null),
    ];

    /// <summary>Every train key, in documentation order.</summary>
    public static IReadOnlyList<string> KeyNames => Keys.Select(k => k.Name).ToList();

    /// <summary>The keys whose value is a call that <c>train.key.arg=value</c> may modify.</summary>
    public static bool IsCallKey(string key) => key is "optimizer" or "schedule" or "data" or "mixup" or "transform";

    internal static string DefaultCallName(string key) => key switch
    {
        "optimizer" => "adamw", "schedule" => "constant", "mixup" => "mixup", "transform" => Transforms[0].Name, _ => "fashion-mnist",
    };

    private static double AsDouble(Val v) => v switch { IntVal i => i.Value, FloatVal f => f.Value, _ => double.NaN };

    /// <summary>Resolves the entries (already de-duplicated, overrides applied) into a config.</summary>
    /// <param name="entries">Each key's value; <c>Overriding</c>: how many of a call's last arguments are <c>--set</c>
    /// arguments laid over the spec's (see <see cref="ArgVal.Overrides"/>).</param>
    /// <param name="spans">Each given key's value span, for diagnostics about the config as a whole.</param>
    internal static TrainConfig Resolve(IReadOnlyList<(string Key, Expr Value, Span KeySpan, int Overriding)> entries, Scope scope, Evaluator ev,
                                        DiagnosticBag diags, out IReadOnlyDictionary<string, Span> spans)
    {
        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        var valueSpans = new Dictionary<string, Span>(StringComparer.Ordinal);
        spans = valueSpans;
        foreach (var (key, expr, keySpan, overriding) in entries)
        {
            valueSpans[key] = expr.Span;
            var spec = Array.Find(Keys, k => k.Name == key);
            if (spec is null)
            {
                var close = Suggest.Closest(key, Keys.Select(k => k.Name));
                diags.Report(CompilerDiagnostics.UnknownTrainKey, keySpan,
                    close is not null ? $"did you mean '{close}'?" : $"train keys: {string.Join(", ", Keys.Select(k => k.Name))}", key);
                continue;
            }
            if (key == "data" && HyphenWord(expr, scope) is { } word)
            {
                if (DataName(word, expr.Span, diags)) values[key] = word;
                continue;
            }
            var v = WithOverriding(ev.Eval(expr, scope), overriding);
            if (v is UnknownVal) continue;
            if (ResolveValue(key, spec, v, ev, diags) is { } result) values[key] = result;
        }
        foreach (var spec in Keys)
        {
            if (values.ContainsKey(spec.Name)) continue;
            var fallback = spec.Name switch
            {
                "optimizer" => new TrainCall("adamw", Optimizers[0].Args.ToDictionary(a => a.Arg, a => a.Default!)),
                "schedule" => new TrainCall("constant", new Dictionary<string, object>()),
                "augment" => new List<object>(),
                _ => spec.InIr ? spec.Default : null,
            };
            if (fallback is not null) values[spec.Name] = fallback;
        }
        CheckTogether(values, valueSpans, diags);
        return new TrainConfig(values);
    }

    /// <summary>One key's value checked and converted to its IR form; null after an error.</summary>
    private static object? ResolveValue(string key, KeySpec spec, Val v, Evaluator? ev, DiagnosticBag diags) => key switch
    {
        "data" => Data(v, ev, diags),
        "optimizer" => Call(v, Optimizers, key, ev, diags),
        "schedule" => Call(v, Schedules, key, ev, diags),
        "transform" => Call(v, Transforms, key, ev, diags),
        "augment" => Augment(v, ev, diags),
        "amp" => Amp(v, diags),
        "mixup" => Call(v, MixupCalls, key, ev, diags),
        _ => Convert(v, spec.Kind, key, ev, diags),
    };

    /// <summary>Rules between keys: mean and std go together with one value each per channel; folder data needs a path.</summary>
    private static void CheckTogether(Dictionary<string, object> values, Dictionary<string, Span> spans, DiagnosticBag diags)
    {
        CheckAugmentTogether(values, spans, diags);
        static int Count(object v) => v is List<object> l ? l.Count : 1;
        values.TryGetValue("mean", out var mean);
        values.TryGetValue("std", out var std);
        if ((mean is null) != (std is null))
        {
            var (given, missing) = mean is null ? ("std", "mean") : ("mean", "std");
            diags.Report(CompilerDiagnostics.NormalizeNeedsBoth, spans[given],
                "give both, one value per channel (for example mean: [0.286], std: [0.353]), or neither to use the training set's statistics", given, missing);
        }
        else if (mean is not null && Count(mean) != Count(std!))
            diags.Report(CompilerDiagnostics.NormalizeCounts, spans["std"], "give one value per channel in both", Count(std!), Count(mean));
        if (std is not null && (std is List<object> l ? l : [std]).Any(x => x is not (double and > 0)))
            diags.Report(CompilerDiagnostics.StdNotPositive, spans["std"], null);
        if (values.TryGetValue("optimizer", out var o) && o is TrainCall { Name: "sgd" } sgd && sgd.Args.GetValueOrDefault("nesterov") is true
            && sgd.Args.GetValueOrDefault("momentum") is 0.0 && spans.TryGetValue("optimizer", out var optAt))
            diags.Report(CompilerDiagnostics.NesterovWithoutMomentum, optAt,
                "give a momentum, as sgd(lr: 0.1, momentum: 0.9, nesterov: true) (PyTorch refuses Nesterov without momentum)");
        if (values.TryGetValue("schedule", out var sch) && sch is TrainCall sc && spans.TryGetValue("schedule", out var schAt))
        {
            if (sc.Name == "onecycle" && values.GetValueOrDefault("warmup") is not (0L or 0.0) && spans.TryGetValue("warmup", out var wAt))
                diags.Report(CompilerDiagnostics.OneCycleWarmup, wAt, "drop warmup, or use schedule: cosine");
            if (sc.Name == "cosine" && sc.Args.GetValueOrDefault("min_lr") is double min && values.GetValueOrDefault("optimizer") is TrainCall opt
                && opt.Args.GetValueOrDefault("lr") is double lr && min > lr)
                diags.Report(CompilerDiagnostics.MinLrAboveLr, schAt, "give a min_lr ≤ lr", min, lr);
        }
        if (values.TryGetValue("data", out var data) && spans.TryGetValue("data", out var at) && !values.ContainsKey("path"))
        {
            var (name, path) = data is string s ? DataCatalog.SplitSource(s) : (((TrainCall)data).Name, ((TrainCall)data).Args.GetValueOrDefault("path") as string);
            if (path is null && DataCatalog.Find(name) == DataCatalog.Folder)
                diags.Report(CompilerDiagnostics.FolderWithoutPath, at,
                    "write data: folder:<path>, data: folder(path: \"<path>\"), or add a path: key");
        }
    }

    /// <summary><c>fashion-mnist</c> parsed as a subtraction of two unbound names: the word "fashion-mnist".</summary>
    private static string? HyphenWord(Expr e, Scope scope) => e is Binary { Op: "-" } ? Hyphen(e, scope) : null;

    private static string? Hyphen(Expr e, Scope scope) => e switch
    {
        Name n when !scope.TryLookup(n.Id, out _) => n.Id,
        IntLit i => i.Span.Source.Text.Substring(i.Span.Start, i.Span.Length),
        Binary { Op: "-" } b when b.Left.Span.End + 1 == b.Right.Span.Start
                                  && Hyphen(b.Left, scope) is { } l && Hyphen(b.Right, scope) is { } r => $"{l}-{r}",
        _ => null,
    };

    private static object? Convert(Val v, Kind kind, string key, Evaluator? ev, DiagnosticBag diags)
    {
        if (kind.Convert(v) is { } ok) return ok;
        if (v is WordVal w && !Words.IsKnown(w.Word) && kind != Str && kind.Choices is null && !kind.Expects.Contains(w.Word) && ev is not null) { ev.ReportUndefined(w); return null; }
        diags.ReportValue(CompilerDiagnostics.TrainKeyType, v, kind.Hint(v), key, kind.Expects, Evaluator.Describe(v));
        return null;
    }
}
