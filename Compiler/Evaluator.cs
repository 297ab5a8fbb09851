using System.Globalization;
using System.Runtime.CompilerServices;
using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>Evaluates expressions to values, reporting into a bag and returning UnknownVal after an error.</summary>
internal sealed class Evaluator(DiagnosticBag diags)
{
    private int _depth;

    public Val Eval(Expr e, Scope scope)
    {
        // The parser allows 1,000 operators in an expression and 200 levels of brackets; anything deeper is refused here.
        const int maxDepth = 1500;
        RuntimeHelpers.EnsureSufficientExecutionStack();
        if (++_depth > maxDepth)
        {
            _depth--;
            diags.Report(CompilerDiagnostics.ExpressionTooDeep, e.Span, null, maxDepth);
            return new UnknownVal(e.Span);
        }
        try { return EvalCore(e, scope); }
        finally { _depth--; }
    }

    private Val EvalCore(Expr e, Scope scope)
    {
        switch (e)
        {
            case IntLit i: return new IntVal(i.Value, i.Span);
            case FloatLit f: return new FloatVal(f.Value, f.Span);
            case StringLit s: return new StrVal(s.Value, s.Span);
            case Name n:
                if (scope.TryLookup(n.Id, out var v)) return v is WordVal ? v : v with { Span = n.Span, Origins = v.OriginsThroughName, ThroughName = true };
                if (n.Id == "true") return new BoolVal(true, n.Span);
                if (n.Id == "false") return new BoolVal(false, n.Span);
                return new WordVal(n.Id, n.Span, scope);
            case Negate neg:
            {
                var x = Eval(neg.Operand, scope);
                switch (x)
                {
                    case UnknownVal: return new UnknownVal(neg.Span);
                    case IntVal iv when iv.Value == long.MinValue:
                        diags.ReportUse(CompilerDiagnostics.NegationOverflow, neg.Span, x.Origins, null);
                        return new UnknownVal(neg.Span);
                    case IntVal iv: return new IntVal(-iv.Value, neg.Span) { Origins = x.Origins };
                    case FloatVal fv: return new FloatVal(-fv.Value, neg.Span) { Origins = x.Origins };
                    default:
                        ReportNotNumber(x, "-", neg.Span);
                        return new UnknownVal(neg.Span);
                }
            }
            case Binary b:
                return EvalBinary(b, Eval(b.Left, scope), Eval(b.Right, scope));
            case CallExpr c:
                return new CallVal(c.Callee, c.Args.Select(a => EvalArg(a, scope)).ToList(), c.CalleeSpan, c.Span);
            case ListExpr l:
                return new ListVal(l.Items.Select(x => Eval(x, scope)).ToList(), l.Span);
            default:
                return new UnknownVal(e.Span);
        }
    }

    public ArgVal EvalArg(Arg a, Scope scope)
    {
        var nameSpan = a.Name is null ? a.Span : new Span(a.Span.Source, a.Span.Start, Math.Min(a.Name.Length, a.Span.Length));
        return new ArgVal(a.Name, Eval(a.Value, scope), a.Span, nameSpan);
    }

    private Val EvalBinary(Binary b, Val l, Val r)
    {
        if (l is UnknownVal || r is UnknownVal) return new UnknownVal(b.Span);
        if (l is not (IntVal or FloatVal)) { ReportNotNumber(l, b.Op, b.Span); return new UnknownVal(b.Span); }
        if (r is not (IntVal or FloatVal)) { ReportNotNumber(r, b.Op, b.Span); return new UnknownVal(b.Span); }
        var origins = ValueOrigin.Of(l, r);
        if (l is IntVal li && r is IntVal ri)
        {
            long x = li.Value, y = ri.Value;
            try
            {
                switch (b.Op)
                {
                    case "+": return new IntVal(checked(x + y), b.Span) { Origins = origins };
                    case "-": return new IntVal(checked(x - y), b.Span) { Origins = origins };
                    case "*": return new IntVal(checked(x * y), b.Span) { Origins = origins };
                    case "/" or "%" when y == 0:
                        diags.ReportUse(CompilerDiagnostics.DivisionByZero, b.Span, origins, null, Show(l), b.Op, Show(r));
                        return new UnknownVal(b.Span);
                    case "/":
                        if (x % y != 0)
                        {
                            diags.ReportUse(CompilerDiagnostics.InexactDivision, b.Span, origins, DivisionHint(x, y), x, y);
                            return new UnknownVal(b.Span);
                        }
                        return new IntVal(checked(x / y), b.Span) { Origins = origins };
                    case "%": return new IntVal(x % y, b.Span) { Origins = origins };
                }
            }
            catch (OverflowException)
            {
                diags.ReportUse(CompilerDiagnostics.IntegerOverflow, b.Span, origins, null, x, b.Op, y);
                return new UnknownVal(b.Span);
            }
        }
        double fx = AsDouble(l), fy = AsDouble(r);
        double result = b.Op switch { "+" => fx + fy, "-" => fx - fy, "*" => fx * fy, "/" => fx / fy, "%" => fx % fy, _ => double.NaN };
        if (double.IsNaN(result) || double.IsInfinity(result))
        {
            diags.ReportUse(CompilerDiagnostics.NotFinite, b.Span, origins, null, Show(l), b.Op, Show(r));
            return new UnknownVal(b.Span);
        }
        return new FloatVal(result, b.Span) { Origins = origins };
    }

    private static string DivisionHint(long x, long y)
    {
        if (y <= 0 || x <= 0) return "write a float (e.g. 2.0) to divide without rounding";
        var near = Suggest.NearDivisors(x, y, 3);
        return near.Count == 0 ? $"{x} has no divisor near {y}" : $"divisors of {x} near {y}: {Suggest.OrList(near)}";
    }

    private static double AsDouble(Val v) => v switch { IntVal i => i.Value, FloatVal f => f.Value, _ => double.NaN };

    /// <summary>Reports a non-number used in arithmetic: an unbound word is an undefined name.</summary>
    public void ReportNotNumber(Val v, string op, Span at)
    {
        if (v is WordVal w && !Words.IsKnown(w.Word)) ReportUndefined(w);
        else diags.Report(CompilerDiagnostics.ArithmeticType, at, null, op, Describe(v));
    }

    public void ReportUndefined(WordVal w)
    {
        if (w.Word is MixerExpander.BlockIndexName or MixerExpander.DepthName)
        {
            // A mixer's per-block names, used where no mixer binds them (a stem or head, a block body, the train section).
            diags.Report(CompilerDiagnostics.BlockNameOutsideMixer, w.Span,
                $"use it in a mixer's entries or chains (drop_path: 0.1 * i / (depth - 1)); a block body sees it only as an argument, as in token: my_block({w.Word})",
                w.Word, w.Word == MixerExpander.BlockIndexName ? "the index of a mixer's block (0-based)" : "the number of blocks of a mixer");
            return;
        }
        var names = w.Scope?.AllNames().Distinct().ToList() ?? [];
        var close = Suggest.Closest(w.Word, names);
        diags.Report(CompilerDiagnostics.UndefinedName, w.Span,
            close is not null ? $"did you mean '{close}'?" : names.Count > 0 ? $"names in scope: {string.Join(", ", names.Take(12))}" : null,
            w.Word);
    }

    public static string Show(Val v) => v switch
    {
        IntVal i => i.Value.ToString(CultureInfo.InvariantCulture),
        FloatVal f => FloatText.Format(f.Value),
        StrVal s => $"\"{s.Value}\"",
        BoolVal b => b.Value ? "true" : "false",
        WordVal w => w.Word,
        CallVal c => $"{c.Name}({string.Join(", ", c.Args.Select(a => a.Name is null ? Show(a.Value) : $"{a.Name}: {Show(a.Value)}"))})",
        ListVal l => $"[{string.Join(", ", l.Items.Select(Show))}]",
        _ => "?",
    };

    /// <summary>The value as an integer where one is needed: an integer, or a number with a whole value (<c>dim * 4.0</c>
    /// = 768.0 counts as 768, as timm's <c>int(dim * mlp_ratio)</c> takes it); null for anything else, a fraction
    /// included (769.5 is an error, not silently truncated).</summary>
    public static long? AsInteger(Val v) => v switch
    {
        IntVal i => i.Value,
        FloatVal f when f.Value == Math.Floor(f.Value) && Math.Abs(f.Value) <= 9_007_199_254_740_992 => (long)f.Value,
        _ => null,
    };

    /// <summary>An integer-valued float as an <see cref="IntVal"/> (see <see cref="AsInteger"/>); any other value unchanged.</summary>
    public static Val WholeAsInteger(Val v) => v is FloatVal f && AsInteger(f) is { } n ? new IntVal(n, f.Span) { Origins = f.Origins } : v;

    /// <summary>The hint for a number given where an integer is needed: what to write instead.</summary>
    public static string? IntegerHint(Val v) => v is FloatVal f
        ? $"{Show(f)} is not a whole number; a number with a whole value (768.0) counts as an integer, so choose values whose result is whole (e.g. a ratio such as 4.0 or 0.5 of a width divisible by 2)"
        : null;

    /// <summary>A value with its kind, for type errors: <c>the integer 5</c>, <c>the word 'same'</c>.</summary>
    public static string Describe(Val v) => v switch
    {
        IntVal i => $"the integer {Show(i)}",
        FloatVal f => $"the number {Show(f)}",
        StrVal s => $"the string {Show(s)}",
        BoolVal b => $"the boolean {Show(b)}",
        WordVal w => $"'{w.Word}'",
        CallVal c => $"the call {Show(c)}",
        ListVal l => $"the list {Show(l)}",
        _ => "an unknown value",
    };
}
