using System.Buffers;

namespace ArchDsl.Dsl;

// The lexical rules of the language, in one place. Both the Sprache grammar (Grammar.cs, which reads
// characters) and the lexical pre-pass (Lexer below, which finds precise positions for bad characters,
// unterminated strings and unbalanced brackets, and the resynchronisation points of error recovery)
// scan with these functions, so the two can never disagree about where a token starts or ends.
//
//   trivia     = whitespace | "#" { any char but newline } ;
//   ident      = ( letter | "_" ) { letter | digit | "_" | "-" } ;   letter = 'a'..'z' | 'A'..'Z'
//                a '-' belongs to an identifier only when BOTH its neighbours are letters:
//                `fashion-mnist` is one word, `dim-1`, `dim - 1` and `dim -x` are subtractions
//                (write `a - b` to subtract two names).
//   number     = ( digits [ "." [ digits ] ] | "." digits ) [ ("e"|"E") ["+"|"-"] digits ] ;
//   digits     = digit { [ "_" ] digit } ;
//                Python's literals without the 0x/0o/0b forms: 128, 1_000, 0.5, .5, 4., 1e-6, 2.5E3.
//                An integer (no '.', no exponent) is an IntLit, anything else a FloatLit; a number running
//                straight into a letter, '_' or '.' (`2x`, `1e`, `1_`, `1.2.3`) is an error. `--set` values are
//                parsed by the same grammar (SpecParser.ParseExpression), so a number means the same everywhere.
//   string     = '"' { char but '"', line break; or "\" char } '"' ;   (\" and \\ are escapes)
//   line break = "\n" | "\r\n" | "\r" ;   (see SourceText)
//   punct      = "->" | "(" | ")" | "[" | "]" | "{" | "}" | "," | ":" | "=" | "*" | "/" | "%" | "+" | "-" ;
// Identifiers and other code are ASCII; any other character outside strings and comments is an error.
internal static class Lexical
{
    public static bool IsLetter(char c) => c is >= 'a' and <= 'z' or >= 'A' and <= 'Z';
    public static bool IsDigit(char c) => c is >= '0' and <= '9';
    public static bool IsIdentStart(char c) => IsLetter(c) || c == '_';
    public static bool IsIdentChar(char c) => IsLetter(c) || IsDigit(c) || c == '_';
    public static bool IsWhite(char c) => c is ' ' or '\t' or '\r' or '\n' or '\f' or '\v' or '\uFEFF';

    public static readonly string[] Puncts = ["->", "(", ")", "[", "]", "{", "}", ",", ":", "=", "*", "/", "%", "+", "-"];

    /// <summary>Skips whitespace and comments; returns the offset of the next token (or the end).</summary>
    public static int SkipTrivia(string text, int pos)
    {
        while (pos < text.Length)
        {
            var c = text[pos];
            if (IsWhite(c)) pos++;
            else if (c == '#')
            {
                while (pos < text.Length && !SourceText.IsLineBreak(text[pos])) pos++;
            }
            else break;
        }
        return pos;
    }

    /// <summary>End offset of the identifier starting at <paramref name="pos"/> (which must be an ident start).</summary>
    public static int ScanIdent(string text, int pos)
    {
        var i = pos + 1;
        while (i < text.Length)
        {
            var c = text[i];
            if (IsIdentChar(c)) i++;
            else if (c == '-' && IsLetter(text[i - 1]) && i + 1 < text.Length && IsLetter(text[i + 1])) i++;
            else break;
        }
        return i;
    }

    /// <summary>True where a number starts: a digit, or a '.' followed by a digit (<c>.5</c>).</summary>
    public static bool IsNumberStart(string text, int pos) =>
        pos < text.Length && (IsDigit(text[pos]) || (text[pos] == '.' && pos + 1 < text.Length && IsDigit(text[pos + 1])));

    /// <summary>Scans a number at <paramref name="pos"/> (see <see cref="IsNumberStart"/>). Returns its end; <paramref name="isFloat"/>
    /// when it has a '.' or an exponent; <paramref name="badEnd"/> &gt; end when letters, '_' or '.' run straight on (<c>2x</c>).</summary>
    public static int ScanNumber(string text, int pos, out bool isFloat, out int badEnd)
    {
        var i = ScanDigits(text, pos);
        isFloat = false;
        if (i < text.Length && text[i] == '.')
        {
            isFloat = true;
            i = ScanDigits(text, i + 1);
        }
        if (i < text.Length && (text[i] == 'e' || text[i] == 'E'))
        {
            var j = i + 1;
            if (j < text.Length && (text[j] == '+' || text[j] == '-')) j++;
            if (j < text.Length && IsDigit(text[j]))
            {
                isFloat = true;
                i = ScanDigits(text, j);
            }
        }
        badEnd = i;
        while (badEnd < text.Length && (IsIdentChar(text[badEnd]) || text[badEnd] == '.')) badEnd++;
        return i;
    }

    /// <summary><c>digit { [ "_" ] digit }</c> from <paramref name="pos"/> (possibly none); returns the end.</summary>
    private static int ScanDigits(string text, int pos)
    {
        var i = pos;
        while (i < text.Length && (IsDigit(text[i]) || (text[i] == '_' && i > pos && IsDigit(text[i - 1]) && i + 1 < text.Length && IsDigit(text[i + 1]))))
            i++;
        return i;
    }

    /// <summary>The value of a number's text as <see cref="ScanNumber"/> delimits it: <paramref name="integer"/> when it
    /// is an integer, <paramref name="real"/> otherwise; false when an integer does not fit in 64 bits or a float is
    /// not finite. (Out parameters, not a boxed result: this runs once per number token.)</summary>
    public static bool TryNumberValue(string text, bool isFloat, out long integer, out double real)
    {
        var digits = text.Contains('_') ? text.Replace("_", "") : text;
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        real = 0;
        integer = 0;
        if (!isFloat) return long.TryParse(digits, System.Globalization.NumberStyles.None, inv, out integer);
        real = double.Parse(digits, System.Globalization.NumberStyles.Float, inv);
        return double.IsFinite(real);
    }

    /// <summary>Scans a string literal at <paramref name="pos"/> (a '"'). Returns the offset after the closing quote, or
    /// -1 when the line or file ends first (<paramref name="end"/> is then where it stopped).</summary>
    public static int ScanString(string text, int pos, out string value, out int end)
    {
        var sb = new System.Text.StringBuilder();
        var i = pos + 1;
        while (i < text.Length && !SourceText.IsLineBreak(text[i]))
        {
            var c = text[i];
            if (c == '"')
            {
                value = sb.ToString();
                end = i + 1;
                return end;
            }
            if (c == '\\' && i + 1 < text.Length && (text[i + 1] == '"' || text[i + 1] == '\\'))
            {
                sb.Append(text[i + 1]);
                i += 2;
                continue;
            }
            sb.Append(c);
            i++;
        }
        value = sb.ToString();
        end = i;
        return -1;
    }

    /// <summary>The punctuation token at <paramref name="pos"/> (one of <see cref="Puncts"/>, longest first), or null.</summary>
    public static string? ScanPunct(string text, int pos) =>
        pos < 0 || pos >= text.Length ? null : text[pos] switch
        {
            '-' => pos + 1 < text.Length && text[pos + 1] == '>' ? "->" : "-",
            '(' => "(", ')' => ")", '[' => "[", ']' => "]", '{' => "{", '}' => "}",
            ',' => ",", ':' => ":", '=' => "=", '*' => "*", '/' => "/", '%' => "%", '+' => "+",
            _ => null,
        };

    /// <summary>How a token is named in a message: <c>'conv'</c>, <c>'}'</c>, <c>end of file</c>.</summary>
    public static string Describe(string text, int pos)
    {
        pos = SkipTrivia(text, pos);
        if (pos >= text.Length) return "end of file";
        var len = TokenLength(text, pos);
        var s = text.Substring(pos, Math.Min(len, 40));
        return DescribeChar(s);
    }

    /// <summary>Why a character that starts no token is not in the language, and what to write instead.</summary>
    public static string InvalidCharacterHint(char c) => c switch
    {
        '\'' => "strings are written in double quotes",
        ';' => "no ';' is needed: a statement ends where the next statement's keyword begins, and the steps of a chain are joined with '->'",
        '.' => "'.' belongs only in numbers (0.5, .5, 4.); names have no '.'",
        '<' or '>' or '!' or '&' or '|' or '^' or '~' or '?' or '@' or '$' or '`' or '\\'
            => $"'{c}' is not an operator of the language; arithmetic is + - * / % and text belongs in strings or '#' comments",
        _ when c > '~' || char.IsControl(c) => "names, numbers and punctuation are ASCII; other text belongs in strings or '#' comments",
        _ => $"'{c}' is not part of the language; text belongs in strings or '#' comments",
    };

    public static string DescribeChar(string s)
    {
        if (s.Length == 1 && (char.IsControl(s[0]) || char.IsSurrogate(s[0]) || s[0] > '~'))
            return s[0] == '\0' ? "NUL character (U+0000)" : $"character U+{(int)s[0]:X4}" + (char.IsControl(s[0]) || char.IsSurrogate(s[0]) ? "" : $" '{s}'");
        return $"'{s}'";
    }

    /// <summary>Length of the token at <paramref name="pos"/> (at least 1, unless at the end).</summary>
    public static int TokenLength(string text, int pos)
    {
        if (pos >= text.Length) return 0;
        var c = text[pos];
        if (IsIdentStart(c)) return ScanIdent(text, pos) - pos;
        if (IsNumberStart(text, pos))
        {
            ScanNumber(text, pos, out _, out var bad);
            return bad - pos;
        }
        if (c == '"')
        {
            var close = ScanString(text, pos, out _, out var end);
            return (close < 0 ? end : close) - pos;
        }
        return ScanPunct(text, pos)?.Length ?? 1;
    }
}

internal enum TokenKind { Ident, Number, String, Punct, Bad }

/// <summary>One token of the pre-pass: where it is, its bracket depth (before it) and whether it starts a line.</summary>
internal readonly record struct Token(TokenKind Kind, int Start, int Length, string Text, int Depth, bool LineStart);

/// <summary>
/// The lexical pre-pass: tokens with bracket depth and line-start flags (the resynchronisation points of
/// error recovery), plus the lexical diagnostics that Sprache would position poorly: bad characters,
/// unterminated strings, unmatched and unclosed brackets.
/// </summary>
internal sealed class Lexer
{
    public TokenBuffer Tokens { get; }
    public List<Diagnostic> Diagnostics { get; } = new();
    /// <summary>Openers never closed, by offset (their AD0004 is dropped when the parser explains the same mistake).</summary>
    public List<int> UnclosedOpeners { get; } = new();
    public bool Balanced { get; private set; } = true;
    /// <summary>Deepest bracket nesting or longest run of unary '-' signs seen (decides whether to parse on a big stack).</summary>
    public int MaxNesting { get; private set; }

    /// <summary>Scans <paramref name="source"/> from <paramref name="start"/> (0 for a file; past <c>name=</c> for a <c>--set</c> value).</summary>
    public Lexer(SourceText source, int start = 0)
    {
        var text = source.Text;
        // sized once for typical code (~3+ characters a token), so a big file's array is not regrown
        Tokens = new TokenBuffer(Math.Min(text.Length / 3 + 16, 1 << 17));
        var stack = new Stack<(char Open, int Offset)>();
        var pos = start;
        var minusRun = 0;
        var interned = new HashSet<string>(StringComparer.Ordinal);
        var internLookup = interned.GetAlternateLookup<ReadOnlySpan<char>>();
        var prevStart = -1; // start of the previous token; a token starts a line when a line break lies between them
        while (true)
        {
            pos = Lexical.SkipTrivia(text, pos);
            if (pos >= text.Length) break;
            var c = text[pos];
            var depth = stack.Count;
            if (Lexical.IsIdentStart(c))
            {
                var end = Lexical.ScanIdent(text, pos);
                Add(TokenKind.Ident, pos, end - pos);
                pos = end;
            }
            else if (Lexical.IsNumberStart(text, pos))
            {
                Lexical.ScanNumber(text, pos, out _, out var bad);
                Add(TokenKind.Number, pos, bad - pos);
                pos = bad;
            }
            else if (c == '"')
            {
                var close = Lexical.ScanString(text, pos, out _, out var end);
                if (close < 0)
                {
                    Diagnostics.Add(new Diagnostic(DslCodes.UnterminatedString, "unterminated string",
                        new Span(source, pos, Math.Max(1, end - pos)), "close the string with '\"' on the same line"));
                    Add(TokenKind.String, pos, end - pos);
                    pos = Math.Max(end, pos + 1);
                }
                else
                {
                    Add(TokenKind.String, pos, close - pos);
                    pos = close;
                }
            }
            else if (Lexical.ScanPunct(text, pos) is { } p)
            {
                Add(TokenKind.Punct, pos, p.Length);
                if (p == "-") { minusRun++; MaxNesting = Math.Max(MaxNesting, minusRun); }
                else minusRun = 0;
                switch (p)
                {
                    case "(" or "[" or "{":
                        stack.Push((p[0], pos));
                        MaxNesting = Math.Max(MaxNesting, stack.Count);
                        break;
                    case ")" or "]" or "}":
                        Close(p[0], pos);
                        break;
                }
                pos += p.Length;
                continue;
            }
            else
            {
                // a run of characters that start no token is one mistake, reported once
                var end = pos;
                var count = 0;
                while (end < text.Length && !Lexical.IsWhite(text[end]) && text[end] != '#' && text[end] != '"'
                       && !Lexical.IsIdentStart(text[end]) && !Lexical.IsNumberStart(text, end) && Lexical.ScanPunct(text, end) is null)
                {
                    end += char.IsHighSurrogate(text[end]) && end + 1 < text.Length && char.IsLowSurrogate(text[end + 1]) ? 2 : 1;
                    count++;
                }
                var first = char.IsHighSurrogate(c) && pos + 1 < text.Length && char.IsLowSurrogate(text[pos + 1])
                    ? $"character U+{char.ConvertToUtf32(c, text[pos + 1]):X}"
                    : Lexical.DescribeChar(text[pos].ToString());
                var message = count == 1 ? $"unexpected {first}" : $"unexpected {first} and {count - 1} more invalid character{(count == 2 ? "" : "s")}";
                Diagnostics.Add(new Diagnostic(DslCodes.InvalidCharacter, message, new Span(source, pos, end - pos), Lexical.InvalidCharacterHint(c)));
                Add(TokenKind.Bad, pos, end - pos);
                pos = end;
            }
            minusRun = 0;
        }
        foreach (var (open, offset) in stack)
        {
            Balanced = false;
            UnclosedOpeners.Add(offset);
            Diagnostics.Add(new Diagnostic(DslCodes.UnclosedBracket, $"'{open}' is never closed",
                new Span(source, offset, 1), $"add the matching '{Match(open)}'"));
        }
        return;

        void Add(TokenKind kind, int start, int length)
        {
            var lineStart = prevStart < 0 || text.AsSpan(prevStart, start - prevStart).ContainsAny('\n', '\r');
            prevStart = start;
            Tokens.Add(new Token(kind, start, length, Intern(start, length), stack.Count, lineStart));
        }

        // one string per distinct token text (names and numbers repeat: 'conv', 'width', '1'), not one per token
        string Intern(int start, int length)
        {
            var span = text.AsSpan(start, length);
            if (internLookup.TryGetValue(span, out var known)) return known;
            var s = span.ToString();
            interned.Add(s);
            return s;
        }

        void Close(char close, int offset)
        {
            var open = Match(close);
            if (stack.Count > 0 && stack.Peek().Open == open)
            {
                stack.Pop();
                return;
            }
            Balanced = false;
            if (stack.Any(s => s.Open == open))
            {
                // the brackets opened since the matching one were never closed
                while (stack.Peek().Open != open)
                {
                    var (o, at) = stack.Pop();
                    UnclosedOpeners.Add(at);
                    Diagnostics.Add(new Diagnostic(DslCodes.UnclosedBracket, $"'{o}' is never closed",
                        new Span(source, at, 1), $"add '{Match(o)}' before this '{close}'")
                        .WithLabel(new Span(source, offset, 1), $"this '{close}' closes an earlier '{open}'"));
                }
                stack.Pop();
                return;
            }
            var unmatched = new Diagnostic(DslCodes.UnmatchedBracket, $"unexpected '{close}'", new Span(source, offset, 1),
                stack.Count > 0 ? $"close the '{stack.Peek().Open}' with '{Match(stack.Peek().Open)}' first, or remove this '{close}'"
                    : "there is no open bracket for it to close");
            Diagnostics.Add(stack.Count > 0
                ? unmatched.WithLabel(new Span(source, stack.Peek().Offset, 1), $"the innermost open bracket is this '{stack.Peek().Open}'")
                : unmatched);
        }
    }

    static char Match(char c) => c switch
    {
        '(' => ')', ')' => '(', '[' => ']', ']' => '[', '{' => '}', '}' => '{', _ => c,
    };

    /// <summary>Index of the first token starting at or after <paramref name="offset"/>.</summary>
    public int IndexAt(int offset)
    {
        int lo = 0, hi = Tokens.Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (Tokens[mid].Start < offset) lo = mid + 1; else hi = mid;
        }
        return lo;
    }
}

/// <summary>The pre-pass's tokens, in an array rented from the shared pool and handed back when the parse is done
/// (<see cref="Release"/>): a large spec has ~100k tokens, and a fresh large-object-heap array per parse
/// brought on a full garbage collection every few parses.</summary>
internal sealed class TokenBuffer
{
    private Token[] _items;

    public TokenBuffer(int capacity) => _items = ArrayPool<Token>.Shared.Rent(Math.Max(capacity, 16));

    public int Count { get; private set; }

    public Token this[int index] =>
        (uint)index < (uint)Count ? _items[index] : throw new ArgumentOutOfRangeException(nameof(index));

    public void Add(Token token)
    {
        if (Count == _items.Length)
        {
            var bigger = ArrayPool<Token>.Shared.Rent(_items.Length * 2);
            Array.Copy(_items, bigger, Count);
            ArrayPool<Token>.Shared.Return(_items, clearArray: true);
            _items = bigger;
        }
        _items[Count++] = token;
    }

    /// <summary>Returns the array to the pool; the buffer is empty afterwards.</summary>
    public void Release()
    {
        var items = _items;
        _items = [];
        Count = 0;
        if (items.Length > 0) ArrayPool<Token>.Shared.Return(items, clearArray: true);
    }
}
