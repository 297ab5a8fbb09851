using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

// Call-valued train keys: optimizer, schedule, data and each augmentation are a name or a call of one, checked
// against the table's allowed calls (CallSpec) with their arguments converted and defaults filled.
public static partial class TrainSchema
{
    /// <summary>A call-shaped value (or a bare name) checked against the allowed calls.</summary>
    private static TrainCall? Call(Val v, CallSpec[] specs, string key, Evaluator? ev, DiagnosticBag diags, bool canonical = false)
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
            var expects = string.Join(", ", specs.Select(s => s.Name));
            diags.Report(CompilerDiagnostics.TrainKeyType, v.Span, null, key, expects, Evaluator.Describe(v));
            return null;
        }
        var lookup = canonical ? DataCatalog.Find(name)?.Name ?? name : name;
        var spec = Array.Find(specs, s => s.Name == lookup);
        if (spec is null)
        {
            var close = Suggest.Closest(name, specs.Select(s => s.Name));
            diags.Report(CompilerDiagnostics.UnknownTrainCall, nameSpan, close is not null ? $"did you mean '{close}'?" : null,
                key, name, Suggest.OrList(specs.Select(s => s.Name).ToList()));
            return null;
        }
        if (CallArgs(name, spec, args, diags) is not { } result) return null;
        if (spec.FillDefaults)
            foreach (var (arg, _, def) in spec.Args)
                if (!result.ContainsKey(arg) && def is not null && spec.Later?.Contains(arg) != true) result[arg] = def is List<object> l ? new List<object>(l) : def;
        return new TrainCall(name, result);
    }

    /// <summary>A call's arguments matched by <see cref="ArgBinder"/> (positional, then named), then checked and converted
    /// by its <see cref="CallSpec"/>; null after an error (reported).</summary>
    private static Dictionary<string, object>? CallArgs(string name, CallSpec spec, IReadOnlyList<ArgVal> args, DiagnosticBag diags)
    {
        var result = new Dictionary<string, object>(StringComparer.Ordinal);
        if (args.Count == 0) return result;
        var slots = Array.ConvertAll(spec.Args, x => x.Arg);
        var matched = ArgBinder.Match(args, slots, a => a.Name, a => a.Span, a => a.NameSpan, WordsFor(name, slots), diags, out var ok, a => a.Overrides);
        foreach (var (slot, a) in matched)
        {
            if (a.Value is UnknownVal) { ok = false; continue; }
            var (argName, kind, _) = spec.Args[slot];
            if (kind.Convert(a.Value) is { } converted) { result[argName] = converted; continue; }
            diags.ReportValue(CompilerDiagnostics.TrainArgumentType, a.Value, kind.Hint(a.Value), argName, name, kind.Expects, Evaluator.Describe(a.Value));
            ok = false;
        }
        return ok ? result : null;
    }

    /// <summary>How a train call names itself in binding errors ("sgd has no argument 'x'", hint "sgd takes lr, momentum, …").</summary>
    private static BinderWords WordsFor(string name, string[] slots) => new(
        () => new(CompilerDiagnostics.TakesAtMostPositional, [name, slots.Length]),
        n => new(CompilerDiagnostics.NoSuchArgument, [name, n]),
        () => slots.Length == 0 ? $"{name} takes no arguments" : $"{name} takes {string.Join(", ", slots)}",
        n => new(CompilerDiagnostics.ArgumentGivenTwice, [n, name]));

    /// <summary><paramref name="v"/> with its last <paramref name="overriding"/> arguments marked as laid over the others.</summary>
    private static Val WithOverriding(Val v, int overriding) => overriding > 0 && v is CallVal c
        ? c with { Args = [.. c.Args.Take(c.Args.Count - overriding), .. c.Args.Skip(c.Args.Count - overriding).Select(a => a with { Overrides = true })] }
        : v;

    /// <summary>
    /// A <c>data</c> value: a catalogue name (<c>folder:/x</c> with a path) or a call of one. The string form with
    /// arguments — <c>"folder:/x"</c> given sub-keys by <c>--set train.data.workers=2</c> — is the call
    /// <c>folder(path: "/x", workers: 2)</c>, so both forms take the same sub-keys (a <c>--set train.data.path</c> replaces the string's).
    /// </summary>
    private static object? Data(Val v, Evaluator? ev, DiagnosticBag diags)
    {
        if (v is CallVal c)
        {
            var (name, inlinePath) = DataCatalog.SplitSource(c.Name);
            if (inlinePath is not null) c = c with { Args = [new ArgVal("path", new StrVal(inlinePath, c.NameSpan), c.NameSpan, c.NameSpan), .. c.Args] };
            c = c with { Name = name };
            return DataName(c.Name, c.NameSpan, diags) ? Call(c, DataCalls, "data", ev, diags, canonical: true) : null;
        }
        if (Convert(v, Str, "data", ev, diags) is not string s) return null;
        return DataName(DataCatalog.SplitSource(s).Name, v.Span, diags) ? s : null;
    }

    /// <summary>Reports a data name the catalogue does not hold.</summary>
    private static bool DataName(string name, Span at, DiagnosticBag diags)
    {
        if (DataCatalog.Find(name) is not null) return true;
        var names = DataCatalog.All.Select(d => d.Name).ToList();
        var close = Suggest.Closest(name, names.Concat(DataCatalog.All.SelectMany(d => d.Aliases)));
        diags.Report(CompilerDiagnostics.UnknownData, at,
            close is not null ? $"did you mean '{DataCatalog.Find(close)!.Name}'?" : "other image sets load with folder:<path> (one directory per class)",
            name, Suggest.OrList(names));
        return false;
    }

    private static List<object>? Augment(Val v, Evaluator? ev, DiagnosticBag diags)
    {
        var items = v is ListVal l ? l.Items : [v];
        var result = new List<object>();
        var given = new List<Span>(); // each result's item, for the label of a second one
        var ok = true;
        foreach (var item in items)
        {
            if (item is UnknownVal) { ok = false; continue; }
            if (Call(item, Augments, "augment", ev, diags) is not { } c) { ok = false; continue; }
            if (result.FindIndex(r => ((TrainCall)r).Name == c.Name) is var first and >= 0)
            {
                diags.Add(Diagnostic.Create(CompilerDiagnostics.AugmentTwice, item.Span, "list each augmentation once", c.Name)
                    .WithLabel(given[first], CompilerDiagnostics.FirstGiven));
                ok = false;
                continue;
            }
            result.Add(c);
            given.Add(item.Span);
        }
        return ok ? result : null;
    }
}
