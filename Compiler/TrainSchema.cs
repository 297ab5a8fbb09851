using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>
/// The keys of a <c>train { }</c> section, their types and defaults. The resolved
/// <see cref="TrainConfig"/> holds every key that has a default (filled in when missing) and every
/// optional key that was given. Values: long, double, bool, string, <see cref="TrainCall"/>, or
/// <c>List&lt;object&gt;</c>.
/// <code>
/// data            name or string (fashion-mnist, cifar10, "folder:/x") or a call (synthetic(train: 2000))   default fashion-mnist
/// path            string, the data's location                                                            optional
/// epochs          integer ≥ 1                                                   default 10
/// batch           integer ≥ 1                                                   default 128
/// optimizer       adamw(lr: 1e-3, weight_decay: 0.01, betas: [0.9, 0.999], eps: 1e-8)
///                 | sgd(lr: 0.1, momentum: 0.0, weight_decay: 0.0, nesterov: false)   default adamw; arguments filled
/// schedule        constant | cosine(warmup, warmup_epochs, min_lr) | onecycle(max_lr, pct_start, anneal, div_factor,
///                 final_div_factor, three_phase, base_momentum, max_momentum) — always a TrainCall;
///                 only the given arguments (the runtime knows the rest)          default constant
/// warmup          integer epochs ≥ 0 (long) or a fraction of training (double)   default 0
/// label_smoothing number in [0, 1)                                              default 0.0
/// clip            gradient-norm clip, number ≥ 0 (0 = off)                      default 0.0
/// augment         list of flip | crop(pad: 4) | erase(p: 0.25) | randaugment(n: 2, m: 9); arguments filled   default []
/// seed            integer                                                       default 0
/// val_split       number in [0, 1)                                              default 0.0
/// subset, test_subset  integer ≥ 1: keep only that many training / test samples            optional
/// normalize       bool                                                                        optional
/// mean, std       number or list of numbers (per channel)                                      optional
/// device          cpu | cuda                                                                  optional
/// amp             bool (mixed precision)                                        default false
/// </code>
/// </summary>
public static class TrainSchema
{
    internal sealed record Kind(string Expects, Func<Val, object?> Convert);

    private sealed record KeySpec(string Name, Kind Kind, object? Default);

    private sealed record CallSpec(string Name, (string Arg, Kind Kind, object? Default)[] Args, bool FillDefaults);

    private static Kind Int(long min) => new(min == 1 ? "a positive integer" : min == 0 ? "an integer ≥ 0" : "an integer",
        v => Evaluator.AsInteger(v) is { } n && n >= min ? n : null);

    private static Kind Num(double min, double max, bool maxOpen, string expects) => new(expects,
        v => v is IntVal or FloatVal && AsDouble(v) is var d && d >= min && (maxOpen ? d < max : d <= max) ? d : null);

    private static readonly Kind Bool = new("true or false", v => v is BoolVal b ? b.Value : null);
    private static readonly Kind Str = new("a name or a string", v => v switch { StrVal s => s.Value, WordVal w => w.Word, _ => null });
    private static Kind Word(params string[] words) => new(Suggest.OrList(words),
        v => v is WordVal w && words.Contains(w.Word) ? w.Word : v is StrVal s && words.Contains(s.Value) ? s.Value : null);

    private static readonly Kind Rate = Num(0, double.MaxValue, false, "a number ≥ 0");
    private static readonly Kind PosRate = new("a number > 0", v => v is IntVal or FloatVal && AsDouble(v) > 0 ? AsDouble(v) : null);
    private static readonly Kind Fraction = Num(0, 1, true, "a number in [0, 1)");
    private static readonly Kind Scalar = new("a number, name, string or boolean", v => v switch
    {
        IntVal i => i.Value, FloatVal f => f.Value, StrVal s => s.Value, WordVal w => w.Word, BoolVal b => b.Value, _ => null,
    });
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
        new("cosine", [("warmup", Int(0), null), ("warmup_epochs", Int(0), null), ("min_lr", Rate, null)], false),
        new("onecycle", [("max_lr", PosRate, null), ("pct_start", Num(0, 1, true, "a number in [0, 1)"), null), ("anneal", Word("cos", "linear"), null),
            ("div_factor", PosRate, null), ("final_div_factor", PosRate, null), ("three_phase", Bool, null),
            ("base_momentum", Fraction, null), ("max_momentum", Fraction, null)], false),
    ];

    private static readonly CallSpec[] Augments =
    [
        new("flip", [], true),
        new("crop", [("pad", Int(0), 4L)], true),
        new("erase", [("p", Num(0, 1, false, "a probability in [0, 1]"), 0.25)], true),
        new("randaugment", [("n", Int(0), 2L), ("m", Int(0), 9L)], true),
    ];

    private static readonly KeySpec[] Keys =
    [
        new("data", new Kind("a dataset name, a string or a call", _ => null), "fashion-mnist"), // converted specially
        new("path", new Kind("a string", v => v is StrVal s ? s.Value : null), null),
        new("epochs", Int(1), 10L),
        new("batch", Int(1), 128L),
        new("optimizer", new Kind("adamw(…) or sgd(…)", _ => null), null), // call-valued, below
        new("schedule", new Kind("constant, cosine(…) or onecycle(…)", _ => null), null),
        new("warmup", IntOrFraction, 0L),
        new("label_smoothing", Fraction, 0.0),
        new("clip", Rate, 0.0),
        new("augment", new Kind("a list of flip, crop(pad), erase(p), randaugment(n, m)", _ => null), null),
        new("seed", Int(long.MinValue), 0L),
        new("val_split", Fraction, 0.0),
        new("subset", Int(1), null),
        new("test_subset", Int(1), null),
        new("normalize", Bool, null),
        new("mean", Numbers, null),
        new("std", Numbers, null),
        new("device", Word("cpu", "cuda"), null),
        new("amp", Bool, false),
    ];

    /// <summary>Every train key, in documentation order.</summary>
    public static IReadOnlyList<string> KeyNames => Keys.Select(k => k.Name).ToList();

    /// <summary>The keys whose value is a call that <c>train.key.arg=value</c> may modify.</summary>
    public static bool IsCallKey(string key) => key is "optimizer" or "schedule" or "data";

    internal static string DefaultCallName(string key) => key switch { "optimizer" => "adamw", "schedule" => "constant", _ => "fashion-mnist" };

    private static double AsDouble(Val v) => v switch { IntVal i => i.Value, FloatVal f => f.Value, _ => double.NaN };

    /// <summary>Resolves the entries (already de-duplicated, overrides applied) into a config.</summary>
    internal static TrainConfig Resolve(IReadOnlyList<(string Key, Expr Value, Span KeySpan)> entries, Scope scope, Evaluator ev, DiagnosticBag diags)
    {
        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (key, expr, keySpan) in entries)
        {
            var spec = Array.Find(Keys, k => k.Name == key);
            if (spec is null)
            {
                var close = Suggest.Closest(key, Keys.Select(k => k.Name));
                diags.Error(CompilerCodes.UnknownTrainKey, $"unknown train key '{key}'", keySpan,
                    close is not null ? $"did you mean '{close}'?" : $"train keys: {string.Join(", ", Keys.Select(k => k.Name))}");
                continue;
            }
            if (key == "data" && HyphenWord(expr, scope) is { } word)
            {
                values[key] = word;
                continue;
            }
            var v = ev.Eval(expr, scope);
            if (v is UnknownVal) continue;
            object? result = key switch
            {
                "data" => v switch
                {
                    CallVal c => Call(c, null, key, ev, diags),
                    _ => Convert(v, Str, key, ev, diags),
                },
                "optimizer" => Call(v, Optimizers, key, ev, diags),
                "schedule" => Call(v, Schedules, key, ev, diags),
                "augment" => Augment(v, ev, diags),
                _ => Convert(v, spec.Kind, key, ev, diags),
            };
            if (result is not null) values[key] = result;
        }
        foreach (var spec in Keys)
        {
            if (values.ContainsKey(spec.Name)) continue;
            var fallback = spec.Name switch
            {
                "optimizer" => new TrainCall("adamw", Optimizers[0].Args.ToDictionary(a => a.Arg, a => a.Default!)),
                "schedule" => new TrainCall("constant", new Dictionary<string, object>()),
                "augment" => new List<object>(),
                _ => spec.Default,
            };
            if (fallback is not null) values[spec.Name] = fallback;
        }
        return new TrainConfig(values);
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

    private static object? Convert(Val v, Kind kind, string key, Evaluator ev, DiagnosticBag diags)
    {
        if (kind.Convert(v) is { } ok) return ok;
        if (v is WordVal w && !Words.IsKnown(w.Word) && kind != Str && !kind.Expects.Contains(w.Word)) { ev.ReportUndefined(w); return null; }
        diags.Error(CompilerCodes.TrainValue, $"train key '{key}' expects {kind.Expects} but got {Evaluator.Describe(v)}", v.Span);
        return null;
    }

    /// <summary>A call-shaped value (or a bare name) checked against the allowed calls; null specs accept any call with scalar arguments.</summary>
    private static TrainCall? Call(Val v, CallSpec[]? specs, string key, Evaluator ev, DiagnosticBag diags)
    {
        var (name, args, nameSpan) = v switch
        {
            CallVal c => (c.Name, c.Args, c.NameSpan),
            WordVal w => (w.Word, (IReadOnlyList<ArgVal>)[], w.Span),
            StrVal s => (s.Value, (IReadOnlyList<ArgVal>)[], s.Span),
            _ => (null, [], v.Span),
        };
        if (name is null)
        {
            var expects = specs is null ? "a name or a call" : string.Join(", ", specs.Select(s => s.Name));
            diags.Error(CompilerCodes.TrainValue, $"train key '{key}' expects {expects} but got {Evaluator.Describe(v)}", v.Span);
            return null;
        }
        var spec = specs is null ? null : Array.Find(specs, s => s.Name == name);
        if (specs is not null && spec is null)
        {
            var close = Suggest.Closest(name, specs.Select(s => s.Name));
            diags.Error(CompilerCodes.TrainValue, $"unknown {key} '{name}'; expected {Suggest.OrList(specs.Select(s => s.Name).ToList())}", nameSpan,
                close is not null ? $"did you mean '{close}'?" : null);
            return null;
        }
        var result = new Dictionary<string, object>(StringComparer.Ordinal);
        var ok = true;
        var position = 0;
        foreach (var a in args)
        {
            string argName;
            (string Arg, Kind Kind, object? Default) argSpec = default;
            if (a.Name is null)
            {
                if (spec is null || position >= spec.Args.Length)
                {
                    diags.Error(CompilerCodes.TooManyArguments, $"{name} takes {(spec is null ? "only named" : $"at most {spec.Args.Length} positional")} arguments", a.Span);
                    ok = false;
                    continue;
                }
                argSpec = spec.Args[position++];
                argName = argSpec.Arg;
            }
            else
            {
                argName = a.Name;
                if (spec is not null)
                {
                    var idx = Array.FindIndex(spec.Args, x => x.Arg == argName);
                    if (idx < 0)
                    {
                        var close = Suggest.Closest(argName, spec.Args.Select(x => x.Arg));
                        diags.Error(CompilerCodes.UnknownArgument, $"{name} has no argument '{argName}'", a.NameSpan,
                            close is not null ? $"did you mean '{close}'?" : spec.Args.Length == 0 ? $"{name} takes no arguments" : $"{name} takes {string.Join(", ", spec.Args.Select(x => x.Arg))}");
                        ok = false;
                        continue;
                    }
                    argSpec = spec.Args[idx];
                }
            }
            if (result.ContainsKey(argName))
            {
                diags.Error(CompilerCodes.DuplicateArgument, $"argument '{argName}' of {name} is given twice", a.Span);
                ok = false;
                continue;
            }
            if (a.Value is UnknownVal) { ok = false; continue; }
            var kind = spec is null ? Scalar : argSpec.Kind;
            var converted = kind.Convert(a.Value) ?? (spec is null && a.Value is ListVal ? Numbers.Convert(a.Value) : null);
            if (converted is null)
            {
                diags.Error(CompilerCodes.TrainValue, $"argument '{argName}' of {name} expects {kind.Expects} but got {Evaluator.Describe(a.Value)}", a.Value.Span);
                ok = false;
                continue;
            }
            result[argName] = converted;
        }
        if (!ok) return null;
        if (spec is { FillDefaults: true })
            foreach (var (arg, _, def) in spec.Args)
                if (!result.ContainsKey(arg) && def is not null) result[arg] = def is List<object> l ? new List<object>(l) : def;
        return new TrainCall(name, result);
    }

    private static List<object>? Augment(Val v, Evaluator ev, DiagnosticBag diags)
    {
        var items = v is ListVal l ? l.Items : [v];
        var result = new List<object>();
        var ok = true;
        foreach (var item in items)
        {
            if (item is UnknownVal) { ok = false; continue; }
            if (Call(item, Augments, "augment", ev, diags) is { } c) result.Add(c);
            else ok = false;
        }
        return ok ? result : null;
    }
}
