using System.Globalization;
using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>
/// Parses one DSL expression (the value of a <c>--set name=value</c> override) with the grammar of
/// Ast.cs: numbers, strings, names, calls with named/positional arguments, lists, + - * / % and
/// unary minus. Errors become <see cref="CompilerCodes.BadOverride"/> diagnostics; it never throws.
/// </summary>
internal sealed class ExprParser
{
    private readonly SourceText _src;
    private readonly int _end;
    private readonly DiagnosticBag _diags;
    private int _pos;
    private int _depth;
    private bool _failed;

    private ExprParser(SourceText src, int start, DiagnosticBag diags)
    {
        _src = src;
        _pos = start;
        _end = src.Text.Length;
        _diags = diags;
    }

    /// <summary>The expression in <paramref name="src"/> from <paramref name="start"/> to the end, or null after reporting.</summary>
    public static Expr? Parse(SourceText src, int start, DiagnosticBag diags)
    {
        var p = new ExprParser(src, start, diags);
        p.SkipSpace();
        if (p._pos >= p._end)
        {
            p.Fail("the override has no value", start);
            return null;
        }
        var e = p.ParseExpr();
        p.SkipSpace();
        if (!p._failed && p._pos < p._end) p.Fail($"unexpected '{src.Text[p._pos]}' after the value", p._pos);
        return p._failed ? null : e;
    }

    private Span SpanFrom(int start) => new(_src, start, Math.Max(0, _pos - start));

    private void Fail(string message, int at)
    {
        if (_failed) return;
        _failed = true;
        _diags.Error(CompilerCodes.BadOverride, $"cannot parse override value: {message}", new Span(_src, Math.Min(at, _end), at < _end ? 1 : 0),
            "values are DSL expressions: 256, 0.001, gelu, dim * 2, adamw(lr: 0.01), [flip, crop(pad: 2)], \"text\"");
    }

    private void SkipSpace()
    {
        while (_pos < _end && char.IsWhiteSpace(_src.Text[_pos])) _pos++;
    }

    private bool Eat(char c)
    {
        SkipSpace();
        if (_pos < _end && _src.Text[_pos] == c) { _pos++; return true; }
        return false;
    }

    private Expr ParseExpr()
    {
        if (++_depth > Limits.MaxDepth) { Fail("nested too deeply", _pos); _depth--; return new IntLit(0, SpanFrom(_pos)); }
        try
        {
            var start = SkipAndPos();
            var left = ParseTerm();
            while (!_failed)
            {
                SkipSpace();
                if (_pos >= _end || (_src.Text[_pos] != '+' && _src.Text[_pos] != '-')) break;
                var op = _src.Text[_pos++].ToString();
                var right = ParseTerm();
                left = new Binary(left, op, right, SpanFrom(start));
            }
            return left;
        }
        finally { _depth--; }
    }

    private int SkipAndPos() { SkipSpace(); return _pos; }

    private Expr ParseTerm()
    {
        var start = SkipAndPos();
        var left = ParseUnary();
        while (!_failed)
        {
            SkipSpace();
            if (_pos >= _end || "*/%".IndexOf(_src.Text[_pos]) < 0) break;
            var op = _src.Text[_pos++].ToString();
            var right = ParseUnary();
            left = new Binary(left, op, right, SpanFrom(start));
        }
        return left;
    }

    private Expr ParseUnary()
    {
        var start = SkipAndPos();
        if (Eat('-'))
        {
            if (++_depth > Limits.MaxDepth) { Fail("nested too deeply", _pos); _depth--; return new IntLit(0, SpanFrom(start)); }
            try { return new Negate(ParseUnary(), SpanFrom(start)); }
            finally { _depth--; }
        }
        return ParseAtom();
    }

    private Expr ParseAtom()
    {
        var start = SkipAndPos();
        if (_pos >= _end) { Fail("a value is missing", _pos); return new IntLit(0, SpanFrom(start)); }
        var c = _src.Text[_pos];
        if (char.IsAsciiDigit(c) || (c == '.' && _pos + 1 < _end && char.IsAsciiDigit(_src.Text[_pos + 1]))) return ParseNumber();
        if (c == '"')
        {
            _pos++;
            var sb = new System.Text.StringBuilder();
            while (_pos < _end && _src.Text[_pos] != '"')
            {
                if (_src.Text[_pos] == '\\' && _pos + 1 < _end) _pos++;
                sb.Append(_src.Text[_pos++]);
            }
            if (_pos >= _end) { Fail("unterminated string", start); return new StringLit("", SpanFrom(start)); }
            _pos++;
            return new StringLit(sb.ToString(), SpanFrom(start));
        }
        if (c == '(')
        {
            _pos++;
            var inner = ParseExpr();
            if (!Eat(')')) Fail("expected ')'", _pos);
            return inner;
        }
        if (c == '[')
        {
            _pos++;
            var items = new List<Expr>();
            if (!Eat(']'))
            {
                do items.Add(ParseExpr()); while (!_failed && Eat(','));
                if (!Eat(']')) Fail("expected ']' or ','", _pos);
            }
            return new ListExpr(items, SpanFrom(start));
        }
        if (char.IsAsciiLetter(c) || c == '_')
        {
            ScanIdent();
            var id = _src.Text[start.._pos];
            var idSpan = SpanFrom(start);
            SkipSpace();
            if (_pos < _end && _src.Text[_pos] == '(')
            {
                _pos++;
                var args = new List<Arg>();
                if (!Eat(')'))
                {
                    do args.Add(ParseArg()); while (!_failed && Eat(','));
                    if (!Eat(')')) Fail("expected ')' or ','", _pos);
                }
                return new CallExpr(id, args, idSpan, SpanFrom(start));
            }
            return new Name(id, idSpan);
        }
        Fail($"unexpected '{c}'", _pos);
        return new IntLit(0, SpanFrom(start));
    }

    /// <summary>An identifier as the Dsl's lexer reads it: a '-' between two letters belongs to it (fashion-mnist).</summary>
    private void ScanIdent()
    {
        var t = _src.Text;
        while (_pos < _end)
        {
            if (char.IsAsciiLetterOrDigit(t[_pos]) || t[_pos] == '_') _pos++;
            else if (t[_pos] == '-' && char.IsAsciiLetter(t[_pos - 1]) && _pos + 1 < _end && char.IsAsciiLetter(t[_pos + 1])) _pos++;
            else break;
        }
    }

    private Arg ParseArg()
    {
        var start = SkipAndPos();
        var save = _pos;
        if (_pos < _end && (char.IsAsciiLetter(_src.Text[_pos]) || _src.Text[_pos] == '_'))
        {
            ScanIdent();
            var name = _src.Text[start.._pos];
            if (Eat(':')) return new Arg(name, ParseExpr(), SpanFrom(start));
            _pos = save;
        }
        var value = ParseExpr();
        return new Arg(null, value, SpanFrom(start));
    }

    private Expr ParseNumber()
    {
        var start = _pos;
        var isFloat = false;
        while (_pos < _end && (char.IsAsciiDigit(_src.Text[_pos]) || _src.Text[_pos] == '_')) _pos++;
        if (_pos < _end && _src.Text[_pos] == '.') { isFloat = true; _pos++; while (_pos < _end && char.IsAsciiDigit(_src.Text[_pos])) _pos++; }
        if (_pos < _end && (_src.Text[_pos] == 'e' || _src.Text[_pos] == 'E'))
        {
            var save = _pos;
            _pos++;
            if (_pos < _end && (_src.Text[_pos] == '+' || _src.Text[_pos] == '-')) _pos++;
            if (_pos < _end && char.IsAsciiDigit(_src.Text[_pos]))
            {
                isFloat = true;
                while (_pos < _end && char.IsAsciiDigit(_src.Text[_pos])) _pos++;
            }
            else _pos = save;
        }
        var text = _src.Text[start.._pos].Replace("_", "");
        var span = SpanFrom(start);
        if (isFloat)
        {
            if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)) return new FloatLit(d, span);
        }
        else if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var l)) return new IntLit(l, span);
        Fail($"'{text}' is not a number this language can hold", start);
        return new IntLit(0, span);
    }
}
