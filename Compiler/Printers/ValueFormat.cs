using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using ArchDsl.Dsl;

namespace ArchDsl.Compiler.Printers;

/// <summary>
/// Culture-invariant formatting of IR values (attribute and train values: long, double, bool, string,
/// <see cref="TrainCall"/>, lists), shared by the printers so that every output agrees.
/// </summary>
public static partial class ValueFormat
{
    /// <summary>An integer with thousands separators: <c>86,567,656</c>.</summary>
    public static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary><c>1 layer</c>, <c>8 layers</c>, <c>1,024 bytes</c>: <paramref name="n"/> (as <see cref="Count"/>) and
    /// <paramref name="noun"/>, with an <c>s</c> unless n is 1.</summary>
    public static string Plural(long n, string noun) => $"{Count(n)} {noun}{(n == 1 ? "" : "s")}";

    /// <summary>
    /// A value as it reads in the text printer: <c>5</c>, <c>0.5</c>, <c>true</c>, <c>same</c> (a word),
    /// <c>"two words"</c> (a string that is not a word, or that would read as a number or bool),
    /// <c>adamw(lr: 0.01)</c> (arguments in ordinal order), <c>[crop(pad: 2), flip]</c>.
    /// </summary>
    public static string Value(object? v) => v switch
    {
        null => "null",
        long l => l.ToString(CultureInfo.InvariantCulture),
        double d => FloatText.Format(d),
        bool b => b ? "true" : "false",
        string s => Word(s),
        TrainCall c => c.Args.Count == 0
            ? Word(c.Name) + "()"
            : $"{Word(c.Name)}({string.Join(", ", c.Args.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{Word(a.Key)}: {Value(a.Value)}"))})",
        IEnumerable e => "[" + string.Join(", ", e.Cast<object?>().Select(Value)) + "]",
        // Not an IR value type (int, float, …): print it, typed, so a snapshot shows the contract breach.
        IFormattable f => $"{f.ToString(null, CultureInfo.InvariantCulture)}:{v.GetType().Name}",
        _ => $"{v}:{v.GetType().Name}",
    };

    /// <summary>A string bare when it is a plain word (<c>fashion-mnist</c>, <c>same</c>), else quoted and escaped.</summary>
    public static string Word(string s) =>
        WordRegex().IsMatch(s) && s is not ("true" or "false" or "null" or "nan" or "inf") ? s : Quote(s);

    /// <summary>A double-quoted string with <c>\\</c>, <c>\"</c>, and control characters escaped.</summary>
    public static string Quote(string s)
    {
        var sb = new StringBuilder(s.Length + 2).Append('"');
        foreach (var ch in s)
        {
            switch (ch)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                default:
                    if (char.IsControl(ch)) sb.Append("\\u").Append(((int)ch).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(ch);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_\-./]*$")]
    private static partial Regex WordRegex();
}
