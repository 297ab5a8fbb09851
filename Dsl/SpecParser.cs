using Sprache;

namespace ArchDsl.Dsl;

/// <summary>A parsed file (partial when there were errors: the declarations and statements that parsed) and every
/// diagnostic found, in source order.</summary>
public sealed record ParseResult(SpecFile File, IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool HasErrors => Diagnostics.Any(d => d.IsError);
}

/// <summary>A parsed expression (null when it has errors) and its syntax diagnostics.</summary>
public sealed record ExpressionResult(Expr? Expr, IReadOnlyList<Diagnostic> Diagnostics);

/// <summary>
/// Parses one spec file. Never throws, never recurses without bound: a lexical pre-pass reports bad characters,
/// unterminated strings and unbalanced brackets precisely, and its tokens are what the Sprache grammar reads (the text
/// is scanned once); the grammar parses one declaration
/// (<c>import</c>, <c>block</c>, <c>arch</c> header) or arch statement at a time. After a syntax error it
/// resynchronises at the next keyword that starts a line (a declaration keyword at top level; a statement or
/// declaration keyword inside an arch), outside brackets when the file's brackets balance, so every broken
/// statement of a file is reported, not just the first.
/// </summary>
public static class SpecParser
{
    /// <summary>Bracket nesting (or run of '-') beyond which the parse runs on a thread with a large stack.</summary>
    private const int BigStackNesting = 24;

    /// <summary>Diagnostics reported per file at most; the rest are counted in one final <see cref="DslCodes.TooManyErrors"/>.</summary>
    public const int MaxDiagnostics = 100;

    public static ParseResult Parse(SourceText source)
    {
        ArgumentNullException.ThrowIfNull(source);
        Lexer? lexer = null;
        try
        {
            var lex = lexer = new Lexer(source);
            if (lex.MaxNesting <= BigStackNesting) return new Driver(source, lex).Run();
            ParseResult? result = null;
            Exception? error = null;
            var thread = new Thread(() =>
            {
                try { result = new Driver(source, lex).Run(); }
                catch (Exception e) { error = e; }
            }, 64 * 1024 * 1024);
            thread.Start();
            thread.Join();
            return result ?? Internal(source, error);
        }
        catch (Exception e)
        {
            return Internal(source, e);
        }
        finally
        {
            lexer?.Tokens.Release(); // nothing in the result refers to the tokens
        }
    }

    /// <summary>Parses text held in memory (tests, <c>--set</c> snippets); <paramref name="path"/> names it in diagnostics.</summary>
    public static ParseResult Parse(string text, string path = "<input>") => Parse(new SourceText(path, text));

    private static ParseResult Internal(SourceText source, Exception? e) =>
        new(new SpecFile(source, [], [], []),
            [Diagnostic.Create(DslCodes.InternalError, new Span(source, 0, 0),
                "this is a bug in archc; please report it with the spec file", e?.GetType().Name, e?.Message)]);

    /// <summary>The hint for a value cut short at ':' or '/' (<c>train.data=folder:/data/x</c>): a path is a string,
    /// in double quotes, and on a shell command line the whole assignment in single quotes so the shell keeps them.</summary>
    private static string QuotePathHint(string text, int start)
    {
        var value = text[start..].Trim();
        return $"a path is a string: write \"{value}\" (on a shell command line, quote the quotes: '{text[..start]}\"{value}\"')";
    }

    /// <summary>
    /// Parses one expression — a <c>--set name=value</c> value — from <paramref name="start"/> to the end of the text,
    /// with the grammar of spec files (numbers, strings, names, calls, lists, arithmetic), so a value means the same
    /// on the command line as in a file. Returns the expression, or null and the syntax diagnostics. Never throws.
    /// </summary>
    public static ExpressionResult ParseExpression(SourceText source, int start = 0)
    {
        ArgumentNullException.ThrowIfNull(source);
        var text = source.Text;
        var lex = new Lexer(source, start);
        try
        {
            var lexical = lex.Diagnostics.Where(d => d.Code == DslCodes.InvalidCharacter.Code || d.Code == DslCodes.UnterminatedString.Code).ToList();
            if (lexical.Count > 0) return new ExpressionResult(null, lexical);
            var r = Grammar.Expr.Expect(DslCodes.ExpectedExpression, ["a value"],
                "values are written as in a spec: 256, 0.001, .5, gelu, dim * 2, adamw(lr: 0.01), [flip, crop(pad: 2)], \"text\"")(Grammar.At(source, lex, start));
            if (!r.WasSuccessful) return new ExpressionResult(null, [Failure(source, r).Diagnostic]);
            var end = Lexical.SkipTrivia(text, r.Remainder.Position);
            if (end >= text.Length) return new ExpressionResult(r.Value, []);
            var unmatched = lex.Diagnostics.FirstOrDefault(d => d.Code == DslCodes.UnmatchedBracket.Code);
            return new ExpressionResult(null, [unmatched ?? Diagnostic.Create(DslCodes.ExpectedToken,
                new Span(source, end, Lexical.TokenLength(text, end)),
                text[end] is ':' or '/' ? QuotePathHint(text, start) // folder:/data/x, cifar10:/data: a path unquoted
                    : "a value is one expression; join parts with an operator (+ - * / %) or put them in a list [a, b]",
                "the end of the value", Lexical.Describe(text, end))]);
        }
        catch (Exception e)
        {
            return new ExpressionResult(null, Internal(source, e).Diagnostics);
        }
        finally
        {
            lex.Tokens.Release();
        }
    }

    /// <summary>A failed Sprache result as a diagnostic (the grammar's own error where it decided one), and its offset.</summary>
    private static (Diagnostic Diagnostic, int Offset) Failure<T>(SourceText src, IResult<T> r)
    {
        var text = src.Text;
        var pos = Lexical.SkipTrivia(text, r.Remainder.Position);
        if (Kit.ErrorOf(r) is { } e)
        {
            var d = e.ToDiagnostic(src, pos);
            return (d, d.Span!.Value.Start);
        }
        // a failure no rule turned into its own error: what the alternatives tried there expected
        var expected = r.Expectations.Distinct().ToList();
        var what = expected.Count > 0 ? string.Join(" or ", expected) : "a token";
        return (Diagnostic.Create(DslCodes.ExpectedToken, new Span(src, pos, Math.Min(Lexical.TokenLength(text, pos), text.Length - pos)), null,
            what, Lexical.Describe(text, pos)), pos);
    }

    private sealed class Driver(SourceText src, Lexer lex)
    {
                private readonly string _text = src.Text;
        private readonly List<(Diagnostic Diag, int Offset)> _diags = new();
        private readonly List<(int Start, int End)> _units = new();
        private readonly List<ImportDecl> _imports = new();
        private readonly List<BlockDecl> _blocks = new();
        private readonly List<ArchDecl> _archs = new();

        public ParseResult Run()
        {
            var pos = 0;
            while (Next(pos) is { } tok)
            {
                switch (tok is { Kind: TokenKind.Ident } ? tok.Text : null)
                {
                    case "import":
                        pos = Unit(tok.Start, Grammar.Import, _imports.Add, declOnly: true);
                        break;
                    case "block":
                        pos = Unit(tok.Start, Grammar.Block, _blocks.Add, declOnly: true);
                        break;
                    case "arch":
                        pos = Arch(tok.Start);
                        break;
                    default:
                        var hint = tok.Kind == TokenKind.Ident && Grammar.StmtKeywords.Contains(tok.Text)
                            ? $"a '{tok.Text}' statement belongs to an arch: put it after 'arch Name(…)'"
                            : Suggestions.Closest(tok.Text, Grammar.DeclKeywords) is { } s ? $"did you mean '{s}'?" : null;
                        Report(DslCodes.ExpectedDeclaration, hint, tok.Start, tok.Length, Found(tok.Start));
                        var resync = Resync(tok.Start + 1, declOnly: true);
                        _units.Add((tok.Start, resync));
                        pos = resync;
                        break;
                }
            }
            return new ParseResult(new SpecFile(src, _imports, _blocks, _archs), Diagnostics());
        }

        /// <summary>An arch header, then its statements until the next declaration (or the end).</summary>
        private int Arch(int start)
        {
            var r = Grammar.ArchHeader(Grammar.At(src, lex, start));
            ArchHeader? header = null;
            int pos;
            if (r.WasSuccessful)
            {
                header = r.Value;
                pos = r.Remainder.Position;
                _units.Add((start, pos));
            }
            else
            {
                pos = Resync(Math.Max(ReportFailure(r), start + 1), declOnly: false);
                _units.Add((start, pos));
            }

            var body = new List<Stmt>();
            var lastEndsInChain = false;
            while (Next(pos) is { } tok)
            {
                if (tok.Kind == TokenKind.Ident && Grammar.DeclKeywords.Contains(tok.Text)) break;
                if (tok.Kind == TokenKind.Ident && Grammar.StmtKeywords.Contains(tok.Text))
                {
                    var sr = Grammar.Statement(Grammar.At(src, lex, tok.Start));
                    if (sr.WasSuccessful)
                    {
                        body.Add(sr.Value);
                        pos = sr.Remainder.Position;
                        lastEndsInChain = sr.Value is StageStmt;
                        _units.Add((tok.Start, pos));
                    }
                    else
                    {
                        pos = Resync(Math.Max(ReportFailure(sr), tok.Start + 1), declOnly: false);
                        lastEndsInChain = false;
                        _units.Add((tok.Start, pos));
                    }
                    continue;
                }

                // neither a statement nor a declaration
                if (lastEndsInChain && !tok.LineStart)
                {
                    Report(DslCodes.ExpectedArrowOrEnd,
                        "steps of a chain are joined with '->'; a new statement starts on its own line with a keyword", tok.Start, tok.Length,
                        Found(tok.Start));
                }
                else
                {
                    var suggestion = Suggestions.Closest(tok.Text, Grammar.StmtKeywords) ?? Suggestions.Closest(tok.Text, Grammar.DeclKeywords);
                    Report(DslCodes.ExpectedStatement, suggestion is not null ? $"did you mean '{suggestion}'?" : null, tok.Start, tok.Length,
                        Found(tok.Start));
                }
                var resync = Resync(tok.Start + 1, declOnly: false);
                _units.Add((tok.Start, resync));
                pos = resync;
                lastEndsInChain = false;
            }

            if (header is not null)
            {
                var span = body.Count > 0 ? header.Keyword.Span.To(body[^1].Span) : header.Keyword.Span.To(header.End);
                _archs.Add(new ArchDecl(header.Name.Value, header.Params, header.Base, body, header.Name.Span, span));
            }
            return pos;
        }

        private int Unit<T>(int start, Parser<T> parser, Action<T> onSuccess, bool declOnly)
        {
            var r = parser(Grammar.At(src, lex, start));
            int end;
            if (r.WasSuccessful)
            {
                onSuccess(r.Value);
                end = r.Remainder.Position;
            }
            else
            {
                end = Resync(Math.Max(ReportFailure(r), start + 1), declOnly);
            }
            _units.Add((start, end));
            return end;
        }

        private Token? Next(int pos)
        {
            var i = lex.IndexAt(pos);
            return i < lex.Tokens.Count ? lex.Tokens[i] : null;
        }

        /// <summary>The next place to start over: a keyword first on its line, not an entry key ('residual:') and,
        /// when the file's brackets balance, outside all brackets.</summary>
        private int Resync(int from, bool declOnly)
        {
            var toks = lex.Tokens;
            for (var i = lex.IndexAt(from); i < toks.Count; i++)
            {
                var t = toks[i];
                if (!t.LineStart || t.Kind != TokenKind.Ident) continue;
                if (!(declOnly ? Grammar.DeclKeywords : Grammar.Keywords).Contains(t.Text)) continue;
                if (lex.Balanced && t.Depth != 0) continue;
                if (i + 1 < toks.Count && toks[i + 1] is { Kind: TokenKind.Punct, Text: ":" or "=" }) continue;
                return t.Start;
            }
            return _text.Length;
        }

        /// <summary>Turns a failed Sprache result into a diagnostic; returns the offset it was reported at.</summary>
        private int ReportFailure<T>(IResult<T> r)
        {
            var (d, at) = Failure(src, r);
            _diags.Add((d, at));
            return at;
        }

        private string Found(int offset) => Lexical.Describe(_text, offset);

        private void Report(DiagnosticDescriptor descriptor, string? hint, int offset, int length, params object?[] args) =>
            _diags.Add((Diagnostic.Create(descriptor, new Span(src, offset, Math.Min(length, _text.Length - offset)), hint, args), offset));

        /// <summary>Lexical and syntax diagnostics merged, one per mistake where they overlap, in source order,
        /// at most <see cref="MaxDiagnostics"/> of them. (Sorted arrays and binary searches: a file of 100,000 stray
        /// brackets must not make this quadratic.)</summary>
        private List<Diagnostic> Diagnostics()
        {
            var parseOffsets = _diags.Select(p => p.Offset).Order().ToArray();
            var strongParseOffsets = _diags.Where(p => !IsDriverLevel(p.Diag.Code)).Select(p => p.Offset).ToHashSet();
            var units = _units.OrderBy(u => u.Start).ToArray();
            var unitStarts = units.Select(u => u.Start).ToArray();

            var result = new List<(Diagnostic Diag, int Offset)>();
            var labels = new Dictionary<int, List<Span>>(); // unclosed openers by the offset of the parse error they explain
            var covering = new List<(int Start, int End)>(); // bad characters and unterminated strings, in order
            var unmatched = new HashSet<int>();
            foreach (var d in lex.Diagnostics)
            {
                var s = d.Span!.Value;
                switch (d.Code)
                {
                    case var c when c == DslCodes.InvalidCharacter.Code || c == DslCodes.UnterminatedString.Code:
                        covering.Add((s.Start, Math.Max(s.End, s.Start + 1)));
                        break;
                    case var c when c == DslCodes.UnmatchedBracket.Code:
                        unmatched.Add(s.Start);
                        if (strongParseOffsets.Contains(s.Start)) continue; // the parser said which bracket was expected there
                        break;
                    case var c when c == DslCodes.UnclosedBracket.Code:
                        var ui = Array.BinarySearch(unitStarts, s.Start);
                        if (ui < 0) ui = ~ui - 1;
                        if (ui >= 0 && s.Start < units[ui].End)
                        {
                            var pi = Array.BinarySearch(parseOffsets, s.Start + 1);
                            if (pi < 0) pi = ~pi;
                            if (pi < parseOffsets.Length && parseOffsets[pi] <= units[ui].End)
                            {
                                // the parser reported where the closing bracket was missing: point at the bracket there
                                if (!labels.TryGetValue(parseOffsets[pi], out var openers)) labels[parseOffsets[pi]] = openers = new List<Span>();
                                openers.Add(s);
                                continue;
                            }
                        }
                        break;
                }
                result.Add((d, s.Start));
            }
            covering.Sort();
            var coverStarts = covering.Select(c => c.Start).ToArray();
            foreach (var raw in _diags)
            {
                var p = raw;
                if (labels.TryGetValue(p.Offset, out var unclosed))
                    foreach (var opener in unclosed.Take(3))
                        if (p.Diag.Labels.All(l => l.Span.Start != opener.Start))
                            p = (p.Diag.WithLabel(opener, $"this '{_text[opener.Start]}' is never closed"), p.Offset);
                var ci = Array.BinarySearch(coverStarts, p.Offset);
                if (ci < 0) ci = ~ci - 1;
                var covered = (ci >= 0 && p.Offset < covering[ci].End) || (unmatched.Contains(p.Offset) && IsDriverLevel(p.Diag.Code));
                if (!covered) result.Add(p);
            }
            var ordered = result.OrderBy(x => x.Offset).Select(x => x.Diag).ToList();
            if (ordered.Count <= MaxDiagnostics) return ordered;
            var rest = ordered.Count - MaxDiagnostics;
            ordered.RemoveRange(MaxDiagnostics, rest);
            ordered.Add(Diagnostic.Create(DslCodes.TooManyErrors, null,
                "fix the first ones: later errors are often consequences of earlier ones", rest));
            return ordered;
        }

        private static bool IsDriverLevel(string code) =>
            code == DslCodes.ExpectedDeclaration.Code || code == DslCodes.ExpectedStatement.Code || code == DslCodes.ExpectedArrowOrEnd.Code;
    }
}
