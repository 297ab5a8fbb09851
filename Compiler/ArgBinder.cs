using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>One binding error: its descriptor and the values its message format takes.</summary>
internal readonly record struct BinderError(DiagnosticDescriptor Descriptor, object?[] Args);

/// <summary>How a binder names its owner in errors: "conv takes at most 6 arguments", "arch 'X' has no parameter 'y'".
/// Each error is made only when it happens (binding runs for every step of every expansion).</summary>
/// <param name="TooMany">the error for one positional argument too many</param>
/// <param name="Unknown">the error for an unknown name</param>
/// <param name="UnknownHint">the hint when no name is close (usage, the parameter list)</param>
/// <param name="Duplicate">the error for a slot given twice</param>
internal sealed record BinderWords(Func<BinderError> TooMany, Func<string, BinderError> Unknown, Func<string?> UnknownHint,
    Func<string, BinderError> Duplicate);

/// <summary>
/// The one positional/named argument binder, used by ops, blocks and arch bases (and by <see cref="BindOp"/> for
/// op arguments with their kinds and defaults). Positional arguments fill the slots in order; named ones their slot;
/// errors: too many positional arguments, an unknown name (with a "did you mean"), a slot given twice (the first
/// labelled "first given here").
/// </summary>
internal static class ArgBinder
{
    /// <summary>Matches <paramref name="args"/> to <paramref name="slots"/>: (slot index, argument) for each argument that
    /// found a free slot, in order. <paramref name="ok"/> is false after any reported error.</summary>
    /// <param name="overrides">True for an argument laid over preset ones (a step's arguments on a parameter's
    /// <c>act = linear(8)</c>, a <c>--set train.optimizer.lr=…</c> on the spec's <c>sgd(0.5)</c>): it replaces the preset
    /// argument that filled its slot, positionally or by name, instead of being a duplicate. Positional overriding
    /// arguments continue after the preset's, as <c>functools.partial</c>'s do.</param>
    public static List<(int Slot, T Arg)> Match<T>(IReadOnlyList<T> args, IReadOnlyList<string> slots, Func<T, string?> name,
        Func<T, Span> span, Func<T, Span> nameSpan, BinderWords words, DiagnosticBag diags, out bool ok, Func<T, bool>? overrides = null)
    {
        var result = new List<(int, T)>(args.Count);
        ok = true;
        if (args.Count == 0) return result;
        // per slot name (its first index; a block may declare a name twice, reported there): the index in result of
        // the argument that filled it, + 1 (0: free)
        System.Span<int> filled = slots.Count <= 32 ? stackalloc int[slots.Count] : new int[slots.Count];
        filled.Clear();
        var position = 0;
        foreach (var a in args)
        {
            int slot;
            if (name(a) is not { } n)
            {
                if (position >= slots.Count)
                {
                    Report(diags, words.TooMany(), span(a));
                    ok = false;
                    continue;
                }
                slot = position++;
            }
            else
            {
                slot = IndexOf(slots, n);
                if (slot < 0)
                {
                    var close = Suggest.Closest(n, slots);
                    Report(diags, words.Unknown(n), nameSpan(a), close is not null ? $"did you mean '{close}'?" : words.UnknownHint());
                    ok = false;
                    continue;
                }
            }
            var key = name(a) is null ? IndexOf(slots, slots[slot]) : slot;
            if (filled[key] > 0)
            {
                var earlier = result[filled[key] - 1].Item2;
                if (overrides is not null && overrides(a) && !overrides(earlier))
                {
                    result[filled[key] - 1] = (slot, a);
                    continue;
                }
                var dup = words.Duplicate(slots[slot]);
                diags.Add(Diagnostic.Create(dup.Descriptor, span(a), null, dup.Args).WithLabel(span(earlier), CompilerDiagnostics.FirstGiven));
                ok = false;
                continue;
            }
            result.Add((slot, a));
            filled[key] = result.Count;
        }
        return result;
    }

    private static void Report(DiagnosticBag diags, BinderError e, Span at, string? hint = null) => diags.Report(e.Descriptor, at, hint, e.Args);

    private static int IndexOf(IReadOnlyList<string> slots, string name)
    {
        for (var i = 0; i < slots.Count; i++)
            if (slots[i] == name) return i;
        return -1;
    }

    /// <summary>The wording of an op's binding errors (made once per op, see <see cref="OpDef.BinderWords"/>).</summary>
    public static BinderWords WordsFor(OpDef op) => new(
        () => op.Args.Count == 0 ? new(CompilerDiagnostics.TakesNoArguments, [op.Name]) : new(CompilerDiagnostics.TakesAtMost, [op.Name, op.Args.Count, op.Usage]),
        n => new(CompilerDiagnostics.NoSuchArgument, [op.Name, n]),
        () => op.Args.Count == 0 ? CompilerDiagnostics.TakesNoArguments.Format(op.Name) : $"usage: {op.Usage}",
        n => new(CompilerDiagnostics.ArgumentGivenTwice, [n, op.Name]));

    /// <summary>
    /// Binds arguments to an op's signature: converts and range-checks each value by its <see cref="ArgKind"/> and fills
    /// in the defaults. Null after an error (reported) or an unknown value (already reported).
    /// </summary>
    public static Dictionary<string, BoundArg>? BindOp(OpDef op, IReadOnlyList<ArgVal> args, Span at, DiagnosticBag diags, Evaluator ev)
    {
        var bound = new Dictionary<string, BoundArg>(StringComparer.Ordinal);
        var ok = true;
        var matched = args.Count == 0 ? [] : Match(args, op.ArgNames, a => a.Name, a => a.Span, a => a.NameSpan, op.BinderWords, diags, out ok, a => a.Overrides);
        foreach (var (slot, a) in matched)
        {
            var spec = op.Args[slot];
            var value = Convert(op, spec, a.Value, diags, ev);
            if (value is null) { ok = false; bound[spec.Name] = new BoundArg(0L, a.Span); continue; }
            bound[spec.Name] = new BoundArg(value, a.Value.Span, a.Value.Origins);
        }
        // a required argument written with a typo (conv(dim, kernal: 1)) is reported once, as the unknown name with its
        // "did you mean", not also as missing (as Roslyn's CS1739 stands alone)
        var meant = args.Where(a => a.Name is { } n && !op.ArgNames.Contains(n)).Select(a => Suggest.Closest(a.Name!, op.ArgNames)).OfType<string>().ToHashSet();
        foreach (var spec in op.ArgArray)
        {
            if (bound.ContainsKey(spec.Name)) continue;
            if (spec.Required && meant.Contains(spec.Name)) { ok = false; continue; }
            if (spec.Required)
            {
                diags.Report(CompilerDiagnostics.MissingOpArgument, at, $"usage: {op.Usage}", op.Name, spec.Name);
                ok = false;
                continue;
            }
            bound[spec.Name] = new BoundArg(spec.Default!, at);
        }
        return ok ? bound : null;
    }

    private static object? Convert(OpDef op, ArgSig spec, Val v, DiagnosticBag diags, Evaluator ev)
    {
        if (v is UnknownVal) return null;
        object? result = (spec.Kind, v) switch
        {
            (ArgKind.PosInt or ArgKind.NonNegInt, IntVal i) => i.Value,
            (ArgKind.Float or ArgKind.PositiveFloat or ArgKind.Prob, IntVal i) => (double)i.Value,
            (ArgKind.Float or ArgKind.PositiveFloat or ArgKind.Prob, FloatVal f) => f.Value,
            (ArgKind.Bool, BoolVal b) => b.Value,
            (ArgKind.Padding, IntVal i) => i.Value,
            (ArgKind.PosInt or ArgKind.Padding, FloatVal f) when Evaluator.AsInteger(f) is { } whole => whole,
            (ArgKind.Padding, WordVal { Word: "same" or "valid" } w) => w.Word,
            (ArgKind.Padding, StrVal { Value: "same" or "valid" } s) => s.Value,
            (ArgKind.Choice, WordVal w) when spec.Choices!.Contains(w.Word) => w.Word,
            (ArgKind.Choice, StrVal s) when spec.Choices!.Contains(s.Value) => s.Value,
            _ => null,
        };
        if (result is null)
        {
            if (v is WordVal w && spec.Kind != ArgKind.Choice && !Words.IsKnown(w.Word)) { ev.ReportUndefined(w); return null; }
            var expects = spec.Kind switch
            {
                ArgKind.PosInt or ArgKind.NonNegInt => "an integer",
                ArgKind.Bool => "true or false",
                ArgKind.Padding => "an integer, same or valid",
                ArgKind.Choice => string.Join(" or ", spec.Choices!),
                _ => "a number",
            };
            diags.ReportValue(CompilerDiagnostics.ArgumentType, v, spec.Kind is ArgKind.PosInt or ArgKind.Padding ? Evaluator.IntegerHint(v) : null,
                spec.Name, op.Name, expects, Evaluator.Describe(v));
            return null;
        }
        var bad = (spec.Kind, result) switch
        {
            (ArgKind.PosInt, long l) when l < 1 => "must be ≥ 1",
            (ArgKind.PosInt, long l) when l > int.MaxValue => "is too large",
            (ArgKind.NonNegInt, long l) when l < 0 => "must be ≥ 0",
            (ArgKind.NonNegInt, long l) when l > int.MaxValue => "is too large",
            (ArgKind.Padding, long l) when l < 0 => "must be ≥ 0",
            (ArgKind.Padding, long l) when l > 1_000_000 => "is too large",
            (ArgKind.PositiveFloat, double d) when !(d > 0) => "must be > 0",
            (ArgKind.Prob, double d) when !(d >= 0 && d < 1) => "must be in [0, 1)",
            _ => null,
        };
        if (bad is null) return result;
        diags.ReportValue(CompilerDiagnostics.ArgumentOutOfRange, v, null, spec.Name, op.Name, bad, Evaluator.Show(v));
        return null;
    }
}
