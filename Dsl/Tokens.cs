using Sprache;
using static ArchDsl.Dsl.Kit;

namespace ArchDsl.Dsl;

/// <summary>
/// The tokens of the grammar (<see cref="Grammar"/>), scanned with the lexical rules of <see cref="Lexical"/>: each
/// skips leading trivia, yields its value with its span, and when the token is not there fails WITHOUT consuming (its
/// remainder is its input), expecting it by name, so an alternative can be tried. Each is one delegate, not
/// <c>from _ in trivia from t in lexeme.Span() select …</c>: a token is attempted at every position where an
/// alternative might start — most attempts fail — and the grammar's combinators would allocate a dozen closures,
/// results and line/column lookups per attempt in the parser's innermost loop.
/// </summary>
internal static class Tokens
{
    // ---- lexemes (no trivia, no span), first: the tokens below are built from them -------------------------

    private static readonly Parser<string> RawIdent = i =>
    {
        if (i.AtEnd || !Lexical.IsIdentStart(i.Current)) return Result.Failure<string>(i, "", ["a name"]);
        var end = Lexical.ScanIdent(i.Source, i.Position);
        return Result.Success(i.Source[i.Position..end], ((TextInput)i).At(end));
    };

    private readonly record struct NumberValue(bool IsFloat, long Int, double Float);

    private static readonly Parser<NumberValue> RawNumber = i =>
    {
        var s = i.Source;
        var start = i.Position;
        if (!Lexical.IsNumberStart(s, start)) return Result.Failure<NumberValue>(i, "", ["a number"]);
        var end = Lexical.ScanNumber(s, start, out var isFloat, out var badEnd);
        var after = ((TextInput)i).At(badEnd);
        if (badEnd > end)
            return Fail<NumberValue>(after, new SyntaxError(DslCodes.InvalidNumber, [Clip(s[start..badEnd])],
                "a number is digits with an optional fraction and exponent, e.g. 128, 1_000, 0.01, .5, 4., 1e-6; put a space or operator before a name",
                start, badEnd - start));
        var text = s[start..end];
        if (Lexical.TryNumberValue(text, isFloat, out var integer, out var real))
            return Result.Success(new NumberValue(isFloat, integer, real), after);
        return isFloat
            ? Fail<NumberValue>(after, new SyntaxError(DslCodes.NumberTooLarge, ["number", Clip(text)], null, start, end - start))
            : Fail<NumberValue>(after, new SyntaxError(DslCodes.NumberTooLarge, ["integer", Clip(text)], "integers must fit in 64 bits", start, end - start));
    };

    private static readonly Parser<string> RawString = i =>
    {
        if (i.AtEnd || i.Current != '"') return Result.Failure<string>(i, "", ["a string"]);
        var close = Lexical.ScanString(i.Source, i.Position, out var value, out var end);
        if (close < 0)
            return Fail<string>(((TextInput)i).At(Math.Max(end, i.Position + 1)), new SyntaxError(DslCodes.UnterminatedString, [],
                "close the string with '\"' on the same line", i.Position, Math.Max(1, end - i.Position)));
        return Result.Success(value, ((TextInput)i).At(close));
    };

    // ---- tokens ---------------------------------------------------------------------------------------------------

    /// <summary><c>ident</c>.</summary>
    public static readonly Parser<Tok<string>> Word = Token(RawIdent, "a name");

    /// <summary><c>number</c>: an <see cref="IntLit"/> or <see cref="FloatLit"/>; AD0014/AD0019 where it is malformed or too large.</summary>
    public static readonly Parser<Expr> Number = Token(RawNumber, "a number").Select(t => t.Value.IsFloat
        ? (Expr)new FloatLit(t.Value.Float, t.Span)
        : new IntLit(t.Value.Int, t.Span));

    /// <summary><c>string</c>; AD0002 where it is not closed on its line.</summary>
    public static readonly Parser<Expr> Str = Token(RawString, "a string").Select(t => (Expr)new StringLit(t.Value, t.Span));

    /// <summary>The name of an op step: any identifier but a keyword (so a dangling '->' before the next statement is
    /// reported there, not parsed as an op called 'head').</summary>
    public static readonly Parser<Tok<string>> OpName = i =>
    {
        var r = Word(i);
        return r.WasSuccessful && !Grammar.Keywords.Contains(r.Value.Value) ? r : Result.Failure<Tok<string>>(i, "", ["an op"]);
    };

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Parser<Tok<string>>> Syms = new(), Kws = new();

    /// <summary>One of the punctuation tokens <paramref name="ps"/> (<c>"+" | "-"</c>), the first that matches; when none
    /// does, one failure expecting them all, in order. Matched in place: no lexeme string, no intermediate results.</summary>
    public static Parser<Tok<string>> Sym(params string[] ps) => Syms.GetOrAdd(string.Join(" ", ps), BuildSym, ps);

    /// <summary>The punctuation token <paramref name="p"/> (no array, no key to build: rules name one inside their selectors).</summary>
    public static Parser<Tok<string>> Sym(string p) => Syms.TryGetValue(p, out var known) ? known : Syms.GetOrAdd<string[]>(p, BuildSym, [p]);

    private static Parser<Tok<string>> BuildSym(string key, string[] ps)
    {
        IEnumerable<string> expected = ps.Select(p => $"'{p}'").Distinct().ToArray();
        return i =>
        {
            var s = i.Source;
            var start = Lexical.SkipTrivia(s, i.Position);
            foreach (var p in ps)
                if (IsPunctAt(s, start, p))
                    return Result.Success(new Tok<string>(p, new Span(Src(i), start, p.Length)), ((TextInput)i).At(start + p.Length));
            return Result.Failure<Tok<string>>(i, "", expected);
        };
    }

    /// <summary>A keyword: an identifier token with exactly this text (compared in place, no substring).</summary>
    public static Parser<Tok<string>> Kw(string k) => Kws.GetOrAdd(k, static k =>
    {
        IEnumerable<string> expected = [$"'{k}'"];
        return i =>
        {
            var s = i.Source;
            var start = Lexical.SkipTrivia(s, i.Position);
            if (start < s.Length && Lexical.IsIdentStart(s[start]))
            {
                var end = Lexical.ScanIdent(s, start);
                if (end - start == k.Length && string.CompareOrdinal(s, start, k, 0, k.Length) == 0)
                    return Result.Success(new Tok<string>(k, new Span(Src(i), start, k.Length)), ((TextInput)i).At(end));
            }
            return Result.Failure<Tok<string>>(i, "", expected);
        };
    });

    /// <summary>Punctuation <paramref name="p"/> at <paramref name="pos"/> ('-' only when it does not begin '->').</summary>
    private static bool IsPunctAt(string s, int pos, string p) =>
        string.CompareOrdinal(s, pos, p, 0, p.Length) == 0 && pos + p.Length <= s.Length
        && !(p == "-" && pos + 1 < s.Length && s[pos + 1] == '>');

    private static SourceText Src(IInput i) => ((TextInput)i).SourceText;

    /// <summary>Trivia, then the lexeme <paramref name="raw"/>, with the lexeme's span; a lexeme that is not there fails at
    /// the token's input, consuming nothing; one that is there but malformed keeps its own error.</summary>
    private static Parser<Tok<T>> Token<T>(Parser<T> raw, string what)
    {
        IEnumerable<string> expected = [what];
        return i =>
        {
            var start = Lexical.SkipTrivia(i.Source, i.Position);
            var r = raw(((TextInput)i).At(start));
            if (r.WasSuccessful)
                return Result.Success(new Tok<T>(r.Value, new Span(Src(i), start, r.Remainder.Position - start)), r.Remainder);
            return ErrorOf(r) is not null
                ? Result.Failure<Tok<T>>(r.Remainder, r.Message, r.Expectations)
                : Result.Failure<Tok<T>>(i, "", expected);
        };
    }

    private static string Clip(string s) => s.Length <= 30 ? s : s[..27] + "...";
}
