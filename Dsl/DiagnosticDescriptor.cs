using System.Globalization;
using System.Text.RegularExpressions;

namespace ArchDsl.Dsl;

/// <summary>
/// One diagnostic code, defined once (Roslyn's <c>DiagnosticDescriptor</c>): the stable code (AD0001…), a short
/// title, and the message format its reports fill in (<c>{0}</c>, <c>{1}</c>… as <see cref="string.Format(string, object?[])"/>).
/// </summary>
public sealed partial record DiagnosticDescriptor(string Code, string Title, string MessageFormat)
{
    /// <summary>
    /// The message with <paramref name="args"/> filled in, in the invariant culture. A double or float at a plain
    /// placeholder (<c>{0}</c>) is written as <see cref="FloatText.Format(double)"/> writes it (<c>1e-08</c>, not .NET's
    /// <c>1E-08</c>); at a placeholder with a format specifier (<c>{0:N0}</c>) the specifier is honoured, as for any other argument.
    /// </summary>
    public string Format(params object?[] args)
    {
        var specified = Specified().Matches(MessageFormat).Select(m => int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)).ToHashSet();
        return string.Format(CultureInfo.InvariantCulture, MessageFormat, args.Select((a, i) => specified.Contains(i) ? a : a switch
        {
            double d => FloatText.Format(d),
            float f => FloatText.Format(f),
            _ => a,
        }).ToArray());
    }

    /// <summary>A placeholder with a format specifier, <c>{2:N0}</c> or <c>{2,8:N0}</c> (not an escaped <c>{{</c>); group 1 its index.</summary>
    [GeneratedRegex(@"(?<!\{)\{(\d+)(?:,\s*-?\d+)?:[^}]*\}")]
    private static partial Regex Specified();
}
