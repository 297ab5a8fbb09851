using Sprache;
using static ArchDsl.Dsl.Kit;

namespace ArchDsl.Dsl;

/// <summary>
/// The tokens of the grammar (<see cref="Grammar"/>), read from the lexical pre-pass (<see cref="Lexer"/>) through the
/// input's token cursor (<see cref="TextInput.NextToken"/>), so the text is scanned once: each yields its value with
/// its span, and when the token is not there fails WITHOUT consuming (its remainder is its input), expecting it by
/// name, so an alternative can be tried. Each is one delegate, not <c>from _ in trivia from t in lexeme.Span() select …</c>:
/// a token is attempted at every position where an alternative might start — most attempts fail — and the grammar's
/// combinators would allocate a dozen closures, results and line/column lookups per attempt in the parser's innermost loop.
/// Only a number's value and a string's contents are read from the token's text (its own characters, once per success).
/// </summary>
internal static class Tokens
{
    private static readonly IEnumerable<string> ExpectName = ["a name"], ExpectNumber = ["a number"], ExpectString = ["a string"];

    /// <summary><c>ident</c>.</summary>
    public static readonly Parser<Tok<string>> Word = i =>
    {
        var ti = (TextInput)i;
        return ti.NextToken(out var t) && t.Kind == TokenKind.Ident
            ? Result.Success(new Tok<string>(t.Text, new Span(ti.SourceText, t.Start, t.Length)), ti.PastToken())
            : Result.Failure<Tok<string>>(i, "", ExpectName);
    };

    /// <summary><c>number</c>: an <see cref="IntLit"/> or <see cref="FloatLit"/>; AD0014/AD0019 where it is malformed or too large.</summary>
    public static readonly Parser<Expr> Number = i =>
    {
        var ti = (TextInput)i;
        if (!ti.NextToken(out var t) || t.Kind != TokenKind.Number) return Result.Failure<Expr>(i, "", ExpectNumber);
        var s = ti.Source;
        var start = t.Start;
        var end = Lexical.ScanNumber(s, start, out var isFloat, out var badEnd);
        var after = ti.PastToken(); // the pre-pass's number token runs to badEnd
        if (badEnd > end)
            return Fail<Expr>(after, new SyntaxError(DslCodes.InvalidNumber, [Clip(s[start..badEnd])],
                "a number is digits with an optional fraction and exponent, e.g. 128, 1_000, 0.01, .5, 4., 1e-6; put a space or operator before a name",
                start, badEnd - start));
        var text = t.Text;
        var span = new Span(ti.SourceText, start, end - start);
        if (Lexical.TryNumberValue(text, isFloat, out var integer, out var real))
            return Result.Success(isFloat ? (Expr)new FloatLit(real, span) : new IntLit(integer, span), after);
        return isFloat
            ? Fail<Expr>(after, new SyntaxError(DslCodes.NumberTooLarge, ["number", Clip(text)], null, start, end - start))
            : Fail<Expr>(after, new SyntaxError(DslCodes.NumberTooLarge, ["integer", Clip(text)], "integers must fit in 64 bits", start, end - start));
    };

    /// <summary><c>string</c>; AD0002 where it is not closed on its line.</summary>
    public static readonly Parser<Expr> Str = i =>
    {
        var ti = (TextInput)i;
        if (!ti.NextToken(out var t) || t.Kind != TokenKind.String) return Result.Failure<Expr>(i, "", ExpectString);
        var close = Lexical.ScanString(ti.Source, t.Start, out var value, out var end);
        if (close < 0)
            return Fail<Expr>(ti.PastToken(), new SyntaxError(DslCodes.UnterminatedString, [],
                "close the string with '\"' on the same line", t.Start, Math.Max(1, end - t.Start)));
        return Result.Success((Expr)new StringLit(value, new Span(ti.SourceText, t.Start, close - t.Start)), ti.PastToken());
    };

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
            var ti = (TextInput)i;
            if (ti.NextToken(out var t) && t.Kind == TokenKind.Punct)
                foreach (var p in ps)
                    if (p == t.Text)
                        return Result.Success(new Tok<string>(p, new Span(ti.SourceText, t.Start, t.Length)), ti.PastToken());
            return Result.Failure<Tok<string>>(i, "", expected);
        };
    }

    /// <summary>A keyword: an identifier token with exactly this text.</summary>
    public static Parser<Tok<string>> Kw(string k) => Kws.GetOrAdd(k, static k =>
    {
        IEnumerable<string> expected = [$"'{k}'"];
        return i =>
        {
            var ti = (TextInput)i;
            return ti.NextToken(out var t) && t.Kind == TokenKind.Ident && t.Text == k
                ? Result.Success(new Tok<string>(k, new Span(ti.SourceText, t.Start, t.Length)), ti.PastToken())
                : Result.Failure<Tok<string>>(i, "", expected);
        };
    });

    private static string Clip(string s) => s.Length <= 30 ? s : s[..27] + "...";
}
