using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>How a binder names its owner in errors: "conv takes at most 6 arguments", "arch 'X' has no parameter 'y'".
/// Each message is made only when its error happens (binding runs for every step of every expansion).</summary>
/// <param name="TooMany">the error for one positional argument too many</param>
/// <param name="Unknown">the error for an unknown name</param>
/// <param name="UnknownHint">the hint when no name is close (usage, the parameter list)</param>
/// <param name="Duplicate">the error for a slot given twice</param>
internal sealed record BinderWords(Func<string> TooMany, Func<string, string> Unknown, Func<string?> UnknownHint, Func<string, string> Duplicate);

/// <summary>
/// The one positional/named argument binder, used by ops, blocks and arch bases (and by <see cref="BindOp"/> for
/// op arguments with their kinds and defaults). Positional arguments fill the slots in order; named ones their slot;
/// errors: too many positional arguments, an unknown name (with a "did you mean"), a slot given twice.
/// </summary>
internal static class ArgBinder
{
    /// <summary>Matches <paramref name="args"/> to <paramref name="slots"/>: (slot index, argument) for each argument that
    /// found a free slot, in order. <paramref name="ok"/> is false after any reported error.</summary>
    public static List<(int Slot, T Arg)> Match<T>(IReadOnlyList<T> args, IReadOnlyList<string> slots, Func<T, string?> name,
        Func<T, Span> span, Func<T, Span> nameSpan, BinderWords words, DiagnosticBag diags, out bool ok)
    {
        var result = new List<(int, T)>(args.Count);
        ok = true;
        if (args.Count == 0) return result;
        var given = new HashSet<string>(StringComparer.Ordinal);
        var position = 0;
        foreach (var a in args)
        {
            int slot;
            if (name(a) is not { } n)
            {
                if (position >= slots.Count)
                {
                    diags.Error(CompilerCodes.TooManyArguments, words.TooMany(), span(a));
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
                    diags.Error(CompilerCodes.UnknownArgument, words.Unknown(n), nameSpan(a),
                        close is not null ? $"did you mean '{close}'?" : words.UnknownHint());
                    ok = false;
                    continue;
                }
            }
            if (!given.Add(slots[slot]))
            {
                diags.Error(CompilerCodes.DuplicateArgument, words.Duplicate(slots[slot]), span(a));
                ok = false;
                continue;
            }
            result.Add((slot, a));
        }
        return result;
    }

    private static int IndexOf(IReadOnlyList<string> slots, string name)
    {
        for (var i = 0; i < slots.Count; i++)
            if (slots[i] == name) return i;
        return -1;
    }

    /// <summary>
    /// Binds arguments to an op's signature: converts and range-checks each value by its <see cref="ArgKind"/> and fills
    /// in the defaults. Null after an error (reported) or an unknown value (already reported).
    /// </summary>
    /// <summary>The wording of an op's binding errors (made once per op, see <see cref="OpDef.BinderWords"/>).</summary>
    public static BinderWords WordsFor(OpDef op) => new(
        () => op.Args.Count == 0 ? $"{op.Name} takes no arguments" : $"{op.Name} takes at most {op.Args.Count} arguments: {op.Usage}",
        n => $"{op.Name} has no argument '{n}'",
        () => op.Args.Count == 0 ? $"{op.Name} takes no arguments" : $"usage: {op.Usage}",
        n => $"argument '{n}' of {op.Name} is given twice");

    public static Dictionary<string, BoundArg>? BindOp(OpDef op, IReadOnlyList<ArgVal> args, Span at, DiagnosticBag diags, Evaluator ev)
    {
        var bound = new Dictionary<string, BoundArg>(StringComparer.Ordinal);
        var ok = true;
        var matched = args.Count == 0 ? [] : Match(args, op.ArgNames, a => a.Name, a => a.Span, a => a.NameSpan, op.BinderWords, diags, out ok);
        foreach (var (slot, a) in matched)
        {
            var spec = op.Args[slot];
            var value = Convert(op, spec, a.Value, diags, ev);
            if (value is null) { ok = false; bound[spec.Name] = new BoundArg(0L, a.Span); continue; }
            bound[spec.Name] = new BoundArg(value, a.Value.Span);
        }
        foreach (var spec in op.ArgArray)
        {
            if (bound.ContainsKey(spec.Name)) continue;
            if (spec.Required)
            {
                diags.Error(CompilerCodes.MissingArgument, $"{op.Name} needs argument '{spec.Name}'", at, $"usage: {op.Usage}");
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
            diags.Error(CompilerCodes.ArgumentType, $"argument '{spec.Name}' of {op.Name} expects {expects} but got {Evaluator.Describe(v)}", v.Span,
                spec.Kind is ArgKind.PosInt or ArgKind.Padding ? Evaluator.IntegerHint(v) : null);
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
        diags.Error(CompilerCodes.InvalidArgument, $"argument '{spec.Name}' of {op.Name} {bad}, but is {Evaluator.Show(v)}", v.Span);
        return null;
    }
}
