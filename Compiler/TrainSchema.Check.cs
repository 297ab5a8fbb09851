using System.Collections;
using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

// A train config that did not come from source (an IR file read back, a config built by a caller) is
// checked by the same table and rules as a train section, so nothing past the IR boundary re-checks it.
public static partial class TrainSchema
{
    /// <summary>
    /// The errors of a train config by the rules a <c>train { }</c> section obeys (unknown keys, types,
    /// ranges, names, rules between keys), as messages that name the key; empty when it is valid.
    /// </summary>
    public static IReadOnlyList<string> Check(TrainConfig train)
    {
        var at = new Span(new SourceText("<train config>", ""), 0, 0);
        var diags = new DiagnosticBag();
        var values = new Dictionary<string, object>(StringComparer.Ordinal);
        var spans = new Dictionary<string, Span>(StringComparer.Ordinal);
        foreach (var (key, value) in train.Values)
        {
            spans[key] = at;
            var spec = Array.Find(Keys, k => k.Name == key);
            if (spec is null)
                diags.Error(CompilerCodes.UnknownTrainKey, $"unknown train key '{key}'", at);
            else if (ToVal(value, at) is not { } v)
                diags.Error(CompilerCodes.TrainValue, $"train key '{key}' holds {value?.GetType().Name ?? "null"}, which is not an IR value", at);
            else if (ResolveValue(key, spec, v, null, diags) is { } result)
                values[key] = result;
        }
        CheckTogether(values, spans, diags);
        return diags.Items.Select(d => d.Message).ToList();
    }

    private static Val? ToVal(object? value, Span at)
    {
        switch (value)
        {
            case long l: return new IntVal(l, at);
            case int i: return new IntVal(i, at);
            case double d: return new FloatVal(d, at);
            case bool b: return new BoolVal(b, at);
            case string s: return new StrVal(s, at);
            case TrainCall c:
                var args = c.Args.Select(a => ToVal(a.Value, at) is { } v ? new ArgVal(a.Key, v, at, at) : null).ToList();
                return args.Contains(null) ? null : new CallVal(c.Name, args!, at, at);
            case IEnumerable e:
                var items = e.Cast<object?>().Select(x => ToVal(x, at)).ToList();
                return items.Contains(null) ? null : new ListVal(items!, at);
            default: return null;
        }
    }
}
