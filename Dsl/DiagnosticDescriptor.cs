namespace ArchDsl.Dsl;

/// <summary>
/// One diagnostic code, defined once (Roslyn's <c>DiagnosticDescriptor</c>): the stable code (AD0001…), a short
/// title, and the message format its reports fill in (<c>{0}</c>, <c>{1}</c>… as <see cref="string.Format(string, object?[])"/>).
/// </summary>
public sealed record DiagnosticDescriptor(string Code, string Title, string MessageFormat)
{
    /// <summary>The message with <paramref name="args"/> filled in (invariant culture; a double as <see cref="FloatText.Format"/> writes it).</summary>
    public string Format(params object?[] args) =>
        string.Format(System.Globalization.CultureInfo.InvariantCulture, MessageFormat, args.Select(a => a is double d ? FloatText.Format(d) : a).ToArray());
}
