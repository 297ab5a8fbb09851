namespace ArchDsl.Dsl;

// The lexical rules of the language, in one place. The lexical pre-pass (Lexer.cs) scans the text once with
// these functions into the tokens the Sprache grammar reads (Tokens.cs, through the input's token cursor),
// finding on the way precise positions for bad characters, unterminated strings and unbalanced brackets,
// and the resynchronisation points of error recovery; the grammar rescans only a number's or a string's own
// characters for its value.
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
