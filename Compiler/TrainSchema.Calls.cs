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

    /// <summary>A call's arguments (positional, then named) checked and converted by its <see cref="CallSpec"/>; null after an error (reported).</summary>
    private static Dictionary<string, object>? CallArgs(string name, CallSpec spec, IReadOnlyList<ArgVal> args, DiagnosticBag diags)
    {
        var result = new Dictionary<string, object>(StringComparer.Ordinal);
        var ok = true;
        var position = 0;
        foreach (var a in args)
        {
            string argName;
            (string Arg, Kind Kind, object? Default) argSpec = default;
            if (a.Name is null)
            {
                if (position >= spec.Args.Length)
                {
                    diags.Report(CompilerDiagnostics.TakesAtMostPositional, a.Span, null, name, spec.Args.Length);
                    ok = false;
                    continue;
                }
                argSpec = spec.Args[position++];
                argName = argSpec.Arg;
            }
            else
            {
                argName = a.Name;
                var idx = Array.FindIndex(spec.Args, x => x.Arg == argName);
                if (idx < 0)
                {
                    var close = Suggest.Closest(argName, spec.Args.Select(x => x.Arg));
                    diags.Report(CompilerDiagnostics.NoSuchArgument, a.NameSpan,
                        close is not null ? $"did you mean '{close}'?" : spec.Args.Length == 0 ? $"{name} takes no arguments" : $"{name} takes {string.Join(", ", spec.Args.Select(x => x.Arg))}",
                        name, argName);
                    ok = false;
                    continue;
                }
                argSpec = spec.Args[idx];
            }
            if (result.ContainsKey(argName))
            {
                diags.Report(CompilerDiagnostics.ArgumentGivenTwice, a.Span, null, argName, name);
                ok = false;
                continue;
            }
            if (a.Value is UnknownVal) { ok = false; continue; }
            var kind = argSpec.Kind;
            var converted = kind.Convert(a.Value);
            if (converted is null)
            {
                diags.Report(CompilerDiagnostics.TrainArgumentType, a.Value.Span, null, argName, name, kind.Expects, Evaluator.Describe(a.Value));
                ok = false;
                continue;
            }
            result[argName] = converted;
        }
        return ok ? result : null;
    }

    /// <summary>A <c>data</c> value: a catalogue name (<c>folder:/x</c> with a path) or a call of one.</summary>
    private static object? Data(Val v, Evaluator? ev, DiagnosticBag diags)
    {
        if (v is CallVal c) return DataName(c.Name, c.NameSpan, diags) ? Call(c, DataCalls, "data", ev, diags, canonical: true) : null;
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
        var ok = true;
        foreach (var item in items)
        {
            if (item is UnknownVal) { ok = false; continue; }
            if (Call(item, Augments, "augment", ev, diags) is not { } c) { ok = false; continue; }
            if (result.Any(r => ((TrainCall)r).Name == c.Name))
            {
                diags.Report(CompilerDiagnostics.AugmentTwice, item.Span, "list each augmentation once", c.Name);
                ok = false;
                continue;
            }
            result.Add(c);
        }
        return ok ? result : null;
    }
}
