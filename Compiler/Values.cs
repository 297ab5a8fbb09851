using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

// Compile-time values of the language: what a parameter, an argument or a train value evaluates to
// (the Evaluator, Evaluator.cs, makes them; a Scope, Scope.cs, binds them to names), and the words it knows.
// A bare word that names nothing in scope stays a WordVal (an op name such as gelu, an enum word such
// as same or token) and is judged where it is used: as an op, as a word, or as an undefined name.

internal abstract record Val(Span Span)
{
    /// <summary>Where the value was written when it is used through a name (a parameter's default, a <c>--set</c> value, an
    /// argument of a block call): <see cref="Span"/> is then the use, this the origin; for a value computed from such values
    /// (<c>dim * mlp</c>), their origins; empty when written where it is used.</summary>
    public IReadOnlyList<Span> Origins { get; init; } = [];

    /// <summary>True for a value read through a name (<c>k = k0</c>): its <see cref="Span"/> is only a use and its
    /// <see cref="Origins"/> already say where it was written, so reading it through another name adds no label.</summary>
    public bool ThroughName { get; init; }

    /// <summary>The origins of this value when it is read through a name: where it was written (a literal's span; a computed
    /// value's own expression, <c>dim * r</c>, and its operands' origins, each once), or, when it was itself read through a
    /// name, the origins it already has.</summary>
    public IReadOnlyList<Span> OriginsThroughName => ThroughName ? Origins : Origins.Prepend(Span).Distinct().ToList();
}

/// <summary>A diagnostic about a value, with a secondary label at where the value was written when that is elsewhere.</summary>
internal static class ValueOrigin
{
    /// <summary>The label at a value's origin (<see cref="Val.Origins"/>) written in a file (a parameter's default, a sweep file's entry).</summary>
    public const string Label = "the value comes from here";

    /// <summary>The label at <paramref name="origin"/>: rustc's "set by" note for an override typed on the command line
    /// (<c>set by --set patch=5 on the command line</c>, <c>set by --epochs 0 on the command line</c>), else <see cref="Label"/>.</summary>
    public static string LabelFor(Span origin) => origin.File switch
    {
        Override.SourceName => $"set by --set {origin.Source.Text} on the command line",
        Override.CommandLineSourceName => $"set by {origin.Source.Text} on the command line",
        _ => Label,
    };

    /// <summary>Reports at the value's use (its span), labelling its origin when it came through a name.</summary>
    public static void ReportValue(this DiagnosticBag diags, DiagnosticDescriptor descriptor, Val v, string? hint, params object?[] args) =>
        diags.ReportUse(descriptor, v.Span, v.Origins, hint, args);

    /// <summary>Reports at a value's use <paramref name="span"/>, labelling each of its <paramref name="origins"/> that is elsewhere.</summary>
    public static void ReportUse(this DiagnosticBag diags, DiagnosticDescriptor descriptor, Span span, IReadOnlyList<Span> origins, string? hint, params object?[] args)
    {
        var d = Diagnostic.Create(descriptor, span, hint, args);
        foreach (var o in origins)
            if (o != span) d = d.WithLabel(o, LabelFor(o));
        diags.Add(d);
    }

    /// <summary>The origins of a value computed from <paramref name="operands"/>: theirs, each once, in order.</summary>
    public static IReadOnlyList<Span> Of(params Val[] operands) =>
        operands.Length == 1 ? operands[0].Origins : operands.SelectMany(v => v.Origins).Distinct().ToList();
}

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

/// <summary>One argument of a call, evaluated. <paramref name="Overrides"/>: laid over preset arguments (see
/// <see cref="ArgBinder.Match{T}"/>): it replaces the preset one of its slot instead of duplicating it.</summary>
internal sealed record ArgVal(string? Name, Val Value, Span Span, Span NameSpan, bool Overrides = false);

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
    /// <c>gap</c> (global average pooling) is timm's <c>global_pool</c>; a <c>gpu</c> is the device torch.device calls <c>cuda</c>.</summary>
    public static readonly IReadOnlyDictionary<string, string> Synonyms = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["swish"] = "silu", ["dense"] = "linear", ["fc"] = "linear", ["gap"] = "global_pool", ["gpu"] = "cuda",
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
