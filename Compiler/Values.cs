using System.Globalization;
using System.Runtime.CompilerServices;
using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

// Compile-time values of the language: what a parameter, an argument or a train value evaluates to.
// A bare word that names nothing in scope stays a WordVal (an op name such as gelu, an enum word such
// as same or token) and is judged where it is used: as an op, as a word, or as an undefined name.

internal abstract record Val(Span Span);

internal sealed record IntVal(long Value, Span Span) : Val(Span);

internal sealed record FloatVal(double Value, Span Span) : Val(Span);

internal sealed record StrVal(string Value, Span Span) : Val(Span);

internal sealed record BoolVal(bool Value, Span Span) : Val(Span);

/// <summary>A bare word bound to nothing; <c>Scope</c> is where it was read (for "did you mean" hints).</summary>
internal sealed record WordVal(string Word, Span Span, Scope? Scope) : Val(Span);

/// <summary><c>layer(eps: 1e-6)</c>, <c>adamw(lr: 0.01)</c>: a call as a value, arguments evaluated.</summary>
internal sealed record CallVal(string Name, IReadOnlyList<ArgVal> Args, Span NameSpan, Span Span) : Val(Span);

internal sealed record ListVal(IReadOnlyList<Val> Items, Span Span) : Val(Span);

/// <summary>The value of something that already failed (an error was reported): silently accepted everywhere.</summary>
internal sealed record UnknownVal(Span Span) : Val(Span);

internal sealed record ArgVal(string? Name, Val Value, Span Span, Span NameSpan);

/// <summary>Names bound to values, innermost first. <c>Kind</c> says what binds them (for messages).</summary>
internal sealed class Scope(Scope? parent, string kind)
{
    private readonly Dictionary<string, Val> _vars = new(StringComparer.Ordinal);
    public Scope? Parent { get; } = parent;
    public string Kind { get; } = kind;

    public void Set(string name, Val value) => _vars[name] = value;
    public bool HasOwn(string name) => _vars.ContainsKey(name);

    /// <summary>Evaluates, on first use, a name this scope declares but has not bound yet (arch parameters
    /// in any order); null when the scope does not declare it.</summary>
    public Func<string, Val?>? Lazy { get; set; }

    public bool TryLookup(string name, out Val value)
    {
        for (var s = this; s is not null; s = s.Parent)
        {
            if (s._vars.TryGetValue(name, out value!)) return true;
            if (s.Lazy?.Invoke(name) is { } v) { value = v; return true; }
        }
        value = null!;
        return false;
    }

    public IEnumerable<string> AllNames()
    {
        for (var s = this; s is not null; s = s.Parent)
            foreach (var k in s._vars.Keys) yield return k;
    }

    /// <summary>The shape names of a chain's input: image → C, H, W; tokens → N, D; vector → D.</summary>
    public static Scope ForShape(Shape? shape, Span span, Scope? parent)
    {
        var s = new Scope(parent, "shape names");
        Val V(int i) => shape is null ? new UnknownVal(span) : new IntVal(shape.Dims[i], span);
        var layout = shape?.Layout;
        if (shape is null)
        {
            foreach (var n in new[] { "C", "H", "W", "N", "D" }) s.Set(n, new UnknownVal(span));
        }
        else if (layout == Layout.Image) { s.Set("C", V(0)); s.Set("H", V(1)); s.Set("W", V(2)); }
        else if (layout == Layout.Tokens) { s.Set("N", V(0)); s.Set("D", V(1)); }
        else s.Set("D", V(0));
        return s;
    }
}

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
                if (scope.TryLookup(n.Id, out var v)) return v is WordVal ? v : v with { Span = n.Span };
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
                        diags.Report(CompilerDiagnostics.NegationOverflow, neg.Span, null);
                        return new UnknownVal(neg.Span);
                    case IntVal iv: return new IntVal(-iv.Value, neg.Span);
                    case FloatVal fv: return new FloatVal(-fv.Value, neg.Span);
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
        if (l is IntVal li && r is IntVal ri)
        {
            long x = li.Value, y = ri.Value;
            try
            {
                switch (b.Op)
                {
                    case "+": return new IntVal(checked(x + y), b.Span);
                    case "-": return new IntVal(checked(x - y), b.Span);
                    case "*": return new IntVal(checked(x * y), b.Span);
                    case "/" or "%" when y == 0:
                        diags.Report(CompilerDiagnostics.DivisionByZero, b.Span, null, Show(l), b.Op, Show(r));
                        return new UnknownVal(b.Span);
                    case "/":
                        if (x % y != 0)
                        {
                            diags.Report(CompilerDiagnostics.InexactDivision, b.Span, DivisionHint(x, y), x, y);
                            return new UnknownVal(b.Span);
                        }
                        return new IntVal(checked(x / y), b.Span);
                    case "%": return new IntVal(x % y, b.Span);
                }
            }
            catch (OverflowException)
            {
                diags.Report(CompilerDiagnostics.IntegerOverflow, b.Span, null, x, b.Op, y);
                return new UnknownVal(b.Span);
            }
        }
        double fx = AsDouble(l), fy = AsDouble(r);
        double result = b.Op switch { "+" => fx + fy, "-" => fx - fy, "*" => fx * fy, "/" => fx / fy, "%" => fx % fy, _ => double.NaN };
        if (double.IsNaN(result) || double.IsInfinity(result))
        {
            diags.Report(CompilerDiagnostics.NotFinite, b.Span, null, Show(l), b.Op, Show(r));
            return new UnknownVal(b.Span);
        }
        return new FloatVal(result, b.Span);
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
        var names = w.Scope?.AllNames().Distinct().ToList() ?? [];
        var close = Suggest.Closest(w.Word, names);
        diags.Report(CompilerDiagnostics.UndefinedName, w.Span,
            close is not null ? $"did you mean '{close}'?" : names.Count > 0 ? $"names in scope: {string.Join(", ", names.Take(12))}" : null,
            w.Word);
    }

    public static string Show(Val v) => v switch
    {
        IntVal i => i.Value.ToString(CultureInfo.InvariantCulture),
        FloatVal f => f.Value.ToString("R", CultureInfo.InvariantCulture),
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
    public static Val WholeAsInteger(Val v) => v is FloatVal f && AsInteger(f) is { } n ? new IntVal(n, f.Span) : v;

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

/// <summary>Words the language knows without declaring them: op names and enum-like values.</summary>
internal static class Words
{
    private static readonly HashSet<string> Enum = new(StringComparer.Ordinal)
    {
        "same", "valid", "token", "channel", "both", "none", "pre", "post", "true", "false", "cpu", "cuda", "auto",
        "adamw", "sgd", "onecycle", "cosine", "constant", "flip", "crop", "erase", "randaugment", "cos", "linear",
    };

    public static bool IsKnown(string word) => Enum.Contains(word) || OpCatalog.TryGet(word, out _) || OpCatalog.ChoiceWords.Contains(word);

    /// <summary>Names the field uses for an op the catalogue calls otherwise, suggested where they are misused:
    /// PyTorch's SiLU "is also known as the swish function"; Keras' <c>Dense</c> and timm's <c>fc</c> are a linear layer;
    /// <c>gap</c> (global average pooling) is timm's <c>global_pool</c>.</summary>
    public static readonly IReadOnlyDictionary<string, string> Synonyms = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["swish"] = "silu", ["dense"] = "linear", ["fc"] = "linear", ["gap"] = "global_pool",
    };
}

/// <summary>"Did you mean" and divisor hints.</summary>
internal static class Suggest
{
    /// <summary>The one "did you mean" routine (<see cref="Suggestions.Closest"/>), with the field's synonyms of op names.</summary>
    public static string? Closest(string word, IEnumerable<string> candidates) => Suggestions.Closest(word, candidates, Words.Synonyms);

    /// <summary>Up to <paramref name="count"/> divisors of n (excluding 1 and the target itself) nearest to target, ascending.</summary>
    public static IReadOnlyList<long> NearDivisors(long n, long target, int count) => NearCommonDivisors([n], target, count);

    public static IReadOnlyList<long> NearCommonDivisors(IReadOnlyList<long> ns, long target, int count)
    {
        var n = ns.Aggregate(Gcd);
        if (n <= 0) return [];
        var divisors = new List<long>();
        for (long d = 1; d * d <= n; d++)
        {
            if (n % d != 0) continue;
            divisors.Add(d);
            if (d != n / d) divisors.Add(n / d);
        }
        return divisors.Where(d => d != target && (d != 1 || n == 1))
            .OrderBy(d => Math.Abs(d - target)).ThenBy(d => d).Take(count).OrderBy(d => d).ToList();
    }

    private static long Gcd(long a, long b) { while (b != 0) (a, b) = (b, a % b); return Math.Abs(a); }

    public static string OrList<T>(IReadOnlyList<T> items) =>
        items.Count switch
        {
            0 => "",
            1 => $"{items[0]}",
            _ => string.Join(", ", items.Take(items.Count - 1)) + " or " + items[^1],
        };
}
