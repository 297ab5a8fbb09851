using System.Runtime.CompilerServices;
using Sprache;

namespace ArchDsl.Dsl;

/// <summary>A Sprache input over a <see cref="SourceText"/> that can start at any offset (error recovery parses
/// one declaration or statement at a time) and advance by a whole token at once. It carries the lexical pre-pass's
/// tokens and the index of the first token at or after its position, so the grammar's tokens (<see cref="Tokens"/>)
/// read the token there instead of scanning the text a second time.</summary>
internal class TextInput : IInput
{
    private readonly SourceText _src;
    private readonly int _pos;
    private readonly TokenBuffer _tokens;
    private readonly int _tok;
    private IDictionary<object, object>? _memos;

    /// <param name="tok">the index in <paramref name="tokens"/> of the first token starting at or after <paramref name="pos"/></param>
    private TextInput(SourceText src, int pos, TokenBuffer tokens, int tok)
    {
        _src = src;
        _pos = pos;
        _tokens = tokens;
        _tok = tok;
    }

    /// <summary>An input at <paramref name="pos"/> of the text <paramref name="tokens"/> were scanned from.</summary>
    public TextInput(SourceText src, int pos, TokenBuffer tokens) : this(src, pos, tokens, tokens.IndexAt(pos)) { }

    public SourceText SourceText => _src;
    public string Source => _src.Text;
    public char Current => _src.Text[_pos];
    public bool AtEnd => _pos >= _src.Text.Length;
    public int Position => _pos;
    public int Line => _src.LineColumn(_pos).Line;
    public int Column => _src.LineColumn(_pos).Column;
    public IDictionary<object, object> Memos => _memos ??= new Dictionary<object, object>();

    /// <summary>Set on the remainder of a failure the grammar decided (see <see cref="SyntaxError"/>); position
    /// equality ignores it. (A subclass, not a field: every token advance allocates an input, failures rarely.)</summary>
    public SyntaxError? Error => (this as Failed)?.Reason;

    public IInput Advance() =>
        AtEnd ? throw new InvalidOperationException("Cannot advance beyond the end of the input.") : At(_pos + 1);

    public TextInput At(int pos)
    {
        if (pos == _pos && this is not Failed) return this;
        var tok = _tok;
        if (pos >= _pos) // forward, usually by a token or two: step; backward: search
            while (tok < _tokens.Count && _tokens[tok].Start < pos) tok++;
        else tok = _tokens.IndexAt(pos);
        return new TextInput(_src, pos, _tokens, tok);
    }

    /// <summary>The next token (after any trivia), if any.</summary>
    public bool NextToken(out Token token)
    {
        if (_tok < _tokens.Count) { token = _tokens[_tok]; return true; }
        token = default;
        return false;
    }

    /// <summary>The input just past the next token (<see cref="NextToken"/> returned true).</summary>
    public TextInput PastToken()
    {
        var t = _tokens[_tok];
        return new TextInput(_src, t.Start + t.Length, _tokens, _tok + 1);
    }

    public TextInput WithError(SyntaxError error) => new Failed(_src, _pos, _tokens, _tok, error);

    public bool Equals(IInput? other) => other is TextInput t && ReferenceEquals(t._src, _src) && t._pos == _pos;
    public override bool Equals(object? obj) => obj is IInput i && Equals(i);
    public override int GetHashCode() => HashCode.Combine(_src, _pos);
    public override string ToString() => $"offset {_pos}";

    private sealed class Failed(SourceText src, int pos, TokenBuffer tokens, int tok, SyntaxError reason) : TextInput(src, pos, tokens, tok)
    {
        public SyntaxError Reason { get; } = reason;
    }
}

/// <summary>A token's value and the span it covers (leading trivia excluded).</summary>
internal readonly record struct Tok<T>(T Value, Span Span);

/// <summary>
/// A syntax error decided by the grammar itself (as opposed to a plain "this token does not start that
/// alternative" failure): the descriptor and its arguments, a hint, where it is (<c>Offset</c> -1: at the failure's
/// position, after trivia; <c>Length</c> 0: the token there) and an optional secondary label. An argument that is
/// <see cref="Found"/> becomes the token found at the error's position, described as in messages (<c>'gelu'</c>,
/// <c>end of file</c>). It travels through Sprache on the failure's remainder (<see cref="TextInput.Error"/>): a
/// Sprache result has only a string message, and the remainder is what every combinator, Sprache's own included,
/// hands on from a failure unchanged.
/// </summary>
internal sealed record SyntaxError(DiagnosticDescriptor Descriptor, object?[] Args, string? Hint, int Offset = -1, int Length = 0,
    Label? Label = null)
{
    /// <summary>Stands for "the token found at the error's position" among <see cref="Args"/>.</summary>
    public static readonly object Found = new();

    /// <summary>The diagnostic in <paramref name="src"/>, <paramref name="at"/> being the failure's position after trivia.</summary>
    public Diagnostic ToDiagnostic(SourceText src, int at)
    {
        var text = src.Text;
        var start = Offset >= 0 ? Offset : at;
        var len = Length > 0 ? Length : Lexical.TokenLength(text, start);
        var found = Lexical.Describe(text, start);
        var args = Array.ConvertAll(Args, a => ReferenceEquals(a, Found) ? found : a);
        var d = Diagnostic.Create(Descriptor, new Span(src, start, Math.Min(len, text.Length - start)), Hint, args);
        return Label is { } l ? d.WithLabel(l.Span, l.Message) : d;
    }
}

/// <summary>Parsers built per name (<c>"(" args ")"</c> after <c>conv</c>, whose error names <c>conv</c>), built once per
/// name and shared; past <paramref name="capacity"/> names (a generated or fuzzed file) further ones are built per use.</summary>
internal sealed class BoundedCache<T>(Func<string, T> build, int capacity = 4096)
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, T> _items = new(StringComparer.Ordinal);

    public T Get(string name) =>
        _items.TryGetValue(name, out var known) ? known : _items.Count < capacity ? _items.GetOrAdd(name, build) : build(name);
}

/// <summary>The few combinators Sprache lacks or implements with re-parsing (its XMany parses the failing element
/// twice, which is exponential in nesting depth); all single-pass and iterative.</summary>
internal static class Kit
{
    /// <summary>A failure at <paramref name="at"/> carrying <paramref name="error"/>: committed, never backtracked over.</summary>
    public static IResult<T> Fail<T>(IInput at, SyntaxError error) =>
        Result.Failure<T>(((TextInput)at).WithError(error), "", []);

    /// <summary>The grammar's own error carried by a failed result, if any.</summary>
    public static SyntaxError? ErrorOf<T>(IResult<T> r) => (r.Remainder as TextInput)?.Error;

    public static bool IsCommitted<T>(IResult<T> r, IInput start) =>
        !r.Remainder.Equals(start) || ErrorOf(r) is not null;

    /// <summary>A forward reference for recursive rules. (Sprache's own <c>Parse.Ref</c> memoises per input and
    /// throws "left recursion" when a rule that failed is tried again at the same input, which backtracking does.)</summary>
    public static Parser<T> Ref<T>(Func<Parser<T>> reference)
    {
        Parser<T>? p = null;
        return i => (p ??= reference())(i);
    }

    public static IResult<TOut> Forward<TIn, TOut>(IResult<TIn> r) => Result.Failure<TOut>(r.Remainder, r.Message, r.Expectations);

    /// <summary><c>{ p }</c>: stops cleanly where p does not start; fails where p fails after starting.
    /// With <paramref name="max"/>, more than that many items is an error at the next one.</summary>
    public static Parser<List<T>> Many<T>(Parser<T> p, int max = int.MaxValue, Func<IInput, IResult<List<T>>>? tooMany = null) => i =>
    {
        var list = new List<T>();
        var cur = i;
        while (true)
        {
            var r = p(cur);
            if (!r.WasSuccessful)
                return IsCommitted(r, cur) ? Forward<T, List<T>>(r) : Result.Success(list, cur);
            if (r.Remainder.Equals(cur)) return Result.Success(list, cur);
            if (list.Count >= max && tooMany is not null) return tooMany(cur);
            list.Add(r.Value);
            cur = r.Remainder;
        }
    };

    /// <summary><c>[ p ]</c>: null where p does not start; fails where p fails after starting.</summary>
    public static Parser<T?> Opt<T>(Parser<T> p) where T : struct => i =>
    {
        var r = p(i);
        if (r.WasSuccessful) return Result.Success<T?>(r.Value, r.Remainder);
        return IsCommitted(r, i) ? Forward<T, T?>(r) : Result.Success<T?>(null, i);
    };

    public static Parser<T?> OptRef<T>(Parser<T> p) where T : class => i =>
    {
        var r = p(i);
        if (r.WasSuccessful) return Result.Success<T?>(r.Value, r.Remainder);
        return IsCommitted(r, i) ? Forward<T, T?>(r) : Result.Success<T?>(null, i);
    };

    /// <summary>p, or (where p does not even start) the error <paramref name="descriptor"/> with <paramref name="args"/> and
    /// what was found: used after a point of no return, so the message can say what was expected and why
    /// ("expected ')' to close the argument list of 'conv'"). The error is built once, here.</summary>
    public static Parser<T> Expect<T>(this Parser<T> p, DiagnosticDescriptor descriptor, object?[] args, string? hint = null) =>
        p.Expect(new SyntaxError(descriptor, [.. args, SyntaxError.Found], hint));

    /// <summary><see cref="Expect{T}(Parser{T}, DiagnosticDescriptor, object?[], string?)"/> with a secondary label
    /// (<paramref name="labelText"/> at <paramref name="label"/>: the bracket being closed).</summary>
    public static Parser<T> ExpectLabelled<T>(this Parser<T> p, DiagnosticDescriptor descriptor, object?[] args, string? hint,
        Span label, string labelText) =>
        p.Expect(new SyntaxError(descriptor, [.. args, SyntaxError.Found], hint, Label: new Label(label, labelText)));

    private static Parser<T> Expect<T>(this Parser<T> p, SyntaxError error) => i =>
    {
        var r = p(i);
        if (r.WasSuccessful || IsCommitted(r, i)) return r;
        return Fail<T>(i, error);
    };

    [ThreadStatic] private static int _depth;

    /// <summary>Guards recursion: past <paramref name="limit"/> levels of nesting on this thread (or when the thread's
    /// stack runs low) the parse fails with <see cref="DslCodes.NestingTooDeep"/> instead of overflowing the stack. (The
    /// count is per thread, so the grammar's rules can be shared: one parse runs on one thread.)</summary>
    public static Parser<T> Nest<T>(Parser<T> p, int limit) => i =>
    {
        if (_depth >= limit || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            var at = Lexical.SkipTrivia(i.Source, i.Position);
            return Fail<T>(i, new SyntaxError(DslCodes.NestingTooDeep, [limit],
                "split the expression or chain into named parameters or blocks", at, 1));
        }
        _depth++;
        try { return p(i); }
        finally { _depth--; }
    };
}
