using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>A <c>--set train.key=value</c> or <c>--set train.key.argument=value</c> override, parsed: <see cref="Sub"/> is the argument, if any.</summary>
/// <param name="SubSpan">Where <paramref name="Sub"/>, the argument of <c>train.key.argument=value</c>, is written in the key.</param>
internal sealed record TrainOverride(string Key, string? Sub, Expr Value, Span KeySpan, Span? SubSpan = null);

/// <summary>
/// <c>--set</c> overrides: each key checked (a parameter of the arch, or <c>train.key[.argument]</c>), its value
/// parsed by the spec grammar into the parameter's slot or a <see cref="TrainOverride"/>; and the train section's
/// entries composed with the train overrides the way Hydra composes a config.
/// </summary>
internal sealed class OverrideBinder(DiagnosticBag diags)
{
    private readonly DiagnosticBag _diags = diags;

    /// <summary>Sets each parameter override's value into its slot; returns the train overrides, in the order given.</summary>
    public List<TrainOverride> Apply(IReadOnlyList<Override> overrides, List<ParamSlot> slots, string archName)
    {
        var trainOverrides = new List<TrainOverride>();
        foreach (var o in WithoutConflicts(overrides)) ApplyOverride(o, slots, trainOverrides, archName);
        return trainOverrides;
    }

    /// <summary>
    /// The overrides with each key once: a key given twice with the same value counts once; with two
    /// values it is a conflict (reported at the second), since which should win would depend on order.
    /// </summary>
    private IEnumerable<Override> WithoutConflicts(IReadOnlyList<Override> overrides)
    {
        var seen = new Dictionary<string, Override>(StringComparer.Ordinal);
        foreach (var o in overrides)
        {
            if (o.Malformed) { yield return o; continue; }
            if (!seen.TryGetValue(o.Key, out var first)) { seen[o.Key] = o; yield return o; continue; }
            if (first.Value.Trim() == o.Value.Trim()) continue;
            var (_, keySpan, _) = Locate(o);
            _diags.Report(CompilerDiagnostics.ConflictingOverride, keySpan, $"keep one --set {o.Key}=…",
                o.Key, first.Value.Trim(), o.Value.Trim());
        }
    }

    private void ApplyOverride(Override o, List<ParamSlot> slots, List<TrainOverride> train, string archName)
    {
        var (src, keySpan, valueStart) = Locate(o);
        if (o.Malformed || o.Key.Length == 0)
        {
            _diags.Report(CompilerDiagnostics.OverrideNotNameValue, keySpan, "write --set dim=256 or --set train.epochs=3", o.Key);
            return;
        }
        var parts = o.Key.Split('.');
        if (parts[0] == "train" && parts.Length > 1)
        {
            ApplyTrainOverride(o, parts, src, keySpan, valueStart, train);
            return;
        }
        var slot = slots.Find(s => s.Name == o.Key);
        if (slot is null)
        {
            var close = Suggest.Closest(o.Key, slots.Select(s => s.Name).Append("train"));
            _diags.Report(CompilerDiagnostics.OverrideUnknownParameter, keySpan,
                close is not null ? $"did you mean '{close}'?" : $"its parameters: {string.Join(", ", slots.Select(s => s.Name))}; train keys: train.<key>",
                archName, o.Key);
            return;
        }
        if (ParseOverrideValue(src, valueStart) is { } value) slot.Value = value;
    }

    /// <summary>
    /// The source an override's diagnostics are located in: what was typed (<see cref="Override.Typed"/>: no '='
    /// added to a malformed one; <c>--epochs 0</c> for an option), or the file that wrote it (<see cref="Override.Written"/>);
    /// the span of its key (or option) and where its value starts.
    /// </summary>
    private static (SourceText Source, Span KeySpan, int ValueStart) Locate(Override o)
    {
        if (o.WrittenAt is var (key, valueStart))
        {
            // in the file that wrote it: the value parsed alone, at its place, the key before it in the same text
            var embedded = SourceText.Embedded(key.Source, valueStart, o.Value);
            return (embedded, new Span(embedded, Math.Min(key.Start, valueStart), Math.Min(key.Length, Math.Max(0, valueStart - key.Start))), valueStart);
        }
        var src = new SourceText(o.Option is null ? Override.SourceName : Override.CommandLineSourceName, o.Typed);
        var keyLength = o.Option?.Length ?? o.Key.Length;
        return (src, new Span(src, 0, keyLength), keyLength + 1);
    }

    /// <summary><c>train.key=value</c> or <c>train.key.argument=value</c>: the key must be one of <see cref="TrainSchema.KeyNames"/>, an argument only of a call key.</summary>
    private void ApplyTrainOverride(Override o, string[] parts, SourceText src, Span keySpan, int valueStart, List<TrainOverride> train)
    {
        if (parts.Length > 3 || parts.Any(p => p.Length == 0))
        {
            _diags.Report(CompilerDiagnostics.OverrideNotTrainKey, keySpan, null, o.Key);
            return;
        }
        if (!TrainSchema.KeyNames.Contains(parts[1]))
        {
            var close = Suggest.Closest(parts[1], TrainSchema.KeyNames);
            _diags.Report(CompilerDiagnostics.OverrideUnknownTrainKey, keySpan,
                close is not null ? $"did you mean 'train.{close}'?" : $"train keys: {string.Join(", ", TrainSchema.KeyNames)}", parts[1], o.Key);
            return;
        }
        if (parts.Length == 3 && !TrainSchema.IsCallKey(parts[1]))
        {
            _diags.Report(CompilerDiagnostics.OverrideArgumentOfPlainKey, keySpan, $"set the key itself: --set train.{parts[1]}=…", parts[1], parts[2]);
            return;
        }
        if (ParseOverrideValue(src, valueStart) is { } tv)
            train.Add(parts.Length == 3
                ? new TrainOverride(parts[1], parts[2], tv, keySpan, new Span(src, keySpan.Start + keySpan.Length - parts[2].Length, parts[2].Length))
                : new TrainOverride(parts[1], null, tv, keySpan));
    }

    /// <summary>The value of an override, parsed by the spec grammar; null after reporting its syntax errors.</summary>
    private Expr? ParseOverrideValue(SourceText src, int start)
    {
        var parsed = SpecParser.ParseExpression(src, start);
        _diags.AddRange(parsed.Diagnostics);
        return parsed.Expr;
    }

    /// <summary>
    /// The train section's entries (a key given twice is reported and the first kept) with the train overrides
    /// applied. As Hydra composes: a whole value (<c>train.optimizer=sgd</c>, like choosing a config group) applies
    /// first, then arguments (<c>train.optimizer.lr=0.5</c>) on top of it, whatever the command-line order: they are
    /// appended to the call, and <c>Overriding</c> counts them, so the binder lets each replace the spec's argument
    /// of its slot (<c>sgd(0.5)</c>'s lr as well as <c>sgd(lr: 0.5)</c>'s).
    /// </summary>
    public List<(string Key, Expr Value, Span KeySpan, int Overriding)> TrainEntries(TrainStmt? train, IReadOnlyList<TrainOverride> overrides)
    {
        var entries = new List<(string Key, Expr Value, Span KeySpan, int Overriding)>();
        if (train is not null)
            foreach (var e in train.Entries)
            {
                var firstIdx = entries.FindIndex(x => x.Key == e.Key);
                if (firstIdx >= 0)
                {
                    _diags.Add(Diagnostic.Create(CompilerDiagnostics.DuplicateTrainKey, e.KeySpan, null, e.Key)
                        .WithLabel(entries[firstIdx].KeySpan, CompilerDiagnostics.FirstGiven));
                    continue;
                }
                entries.Add((e.Key, e.Value, e.KeySpan, 0));
            }
        foreach (var (key, sub, value, keySpan, subSpan) in overrides.OrderBy(o => o.Sub is null ? 0 : 1))
        {
            var idx = entries.FindIndex(x => x.Key == key);
            if (sub is null)
            {
                if (idx >= 0) entries[idx] = (key, value, keySpan, 0);
                else entries.Add((key, value, keySpan, 0));
                continue;
            }
            var current = idx >= 0 ? entries[idx].Value : null;
            // the argument as written, 'lr=0.1': its name is where a binding error about the name points (EvalArg)
            var arg = new Arg(sub, value, subSpan is { } at ? new Span(at.Source, at.Start, value.Span.End - at.Start) : value.Span);
            Expr? updated = current switch
            {
                null => new CallExpr(TrainSchema.DefaultCallName(key), [arg], keySpan, keySpan),
                CallExpr c => c with { Args = [.. c.Args, arg] },
                Name n => new CallExpr(n.Id, [arg], n.Span, n.Span),
                StringLit s => new CallExpr(s.Value, [arg], s.Span, s.Span),
                _ => null,
            };
            if (updated is null)
            {
                _diags.Report(CompilerDiagnostics.OverrideArgumentOfNonCall, keySpan, $"set the whole value: --set train.{key}=name({sub}: …)", key, sub);
                continue;
            }
            if (idx >= 0) entries[idx] = (key, updated, entries[idx].KeySpan, entries[idx].Overriding + 1);
            else entries.Add((key, updated, keySpan, 1));
        }
        return entries;
    }
}
