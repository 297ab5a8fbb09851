using System.Buffers;

namespace ArchDsl.Dsl;

internal enum TokenKind { Ident, Number, String, Punct, Bad }

/// <summary>One token of the pre-pass: where it is, its bracket depth (before it) and whether it starts a line.</summary>
internal readonly record struct Token(TokenKind Kind, int Start, int Length, string Text, int Depth, bool LineStart);

/// <summary>
/// The lexical pre-pass, the one scan of the text: the tokens the grammar reads (<see cref="Tokens"/>), with bracket
/// depth and line-start flags (the resynchronisation points of error recovery), plus the lexical diagnostics that
/// Sprache would position poorly: bad characters, unterminated strings, unmatched and unclosed brackets.
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
                    Diagnostics.Add(Diagnostic.Create(DslCodes.UnterminatedString,
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
                var what = count == 1 ? first : $"{first} and {count - 1} more invalid character{(count == 2 ? "" : "s")}";
                Diagnostics.Add(Diagnostic.Create(DslCodes.InvalidCharacter, new Span(source, pos, end - pos), Lexical.InvalidCharacterHint(c), what));
                Add(TokenKind.Bad, pos, end - pos);
                pos = end;
            }
            minusRun = 0;
        }
        foreach (var (open, offset) in stack)
        {
            Balanced = false;
            UnclosedOpeners.Add(offset);
            Diagnostics.Add(Diagnostic.Create(DslCodes.UnclosedBracket,
                new Span(source, offset, 1), $"add the matching '{Match(open)}'", open));
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
                    Diagnostics.Add(Diagnostic.Create(DslCodes.UnclosedBracket,
                        new Span(source, at, 1), $"add '{Match(o)}' before this '{close}'", o)
                        .WithLabel(new Span(source, offset, 1), $"this '{close}' closes an earlier '{open}'"));
                }
                stack.Pop();
                return;
            }
            var unmatched = Diagnostic.Create(DslCodes.UnmatchedBracket, new Span(source, offset, 1),
                stack.Count > 0 ? $"close the '{stack.Peek().Open}' with '{Match(stack.Peek().Open)}' first, or remove this '{close}'"
                    : "there is no open bracket for it to close", close);
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
    public int IndexAt(int offset) => Tokens.IndexAt(offset);
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

    /// <summary>Index of the first token starting at or after <paramref name="offset"/>.</summary>
    public int IndexAt(int offset)
    {
        int lo = 0, hi = Count;
        while (lo < hi)
        {
            var mid = (lo + hi) / 2;
            if (_items[mid].Start < offset) lo = mid + 1; else hi = mid;
        }
        return lo;
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
