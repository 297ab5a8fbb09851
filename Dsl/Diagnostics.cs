using System.Text;

namespace ArchDsl.Dsl;

public enum Severity { Error, Warning }

/// <summary>
/// One finding about a spec, rustc/Roslyn style: a stable code (AD0001…), a message, the span that
/// caused it and, where one helps, a hint. Codes AD0001–AD0099 belong to the Dsl (syntax, imports),
/// AD0100 and up to the compiler.
/// </summary>
public sealed record Diagnostic(string Code, string Message, Span? Span, string? Hint = null, Severity Severity = Severity.Error)
{
    public bool IsError => Severity == Severity.Error;

    /// <summary><c>file:line:col: error AD0123: message</c>, the source line, a caret under the span, the hint.</summary>
    public string Render()
    {
        var sb = new StringBuilder();
        var sev = Severity == Severity.Error ? "error" : "warning";
        if (Span is { } s)
        {
            var (line, col) = s.Source.LineColumn(s.Start);
            sb.Append($"{s.File}:{line}:{col}: {sev} {Code}: {Message}\n");
            var text = s.Source.Line(line).Replace('\t', ' ');
            var gutter = line.ToString();
            sb.Append($" {gutter} | {text}\n");
            var lineEnd = s.Source.LineColumn(s.End);
            var width = lineEnd.Line == line ? Math.Max(1, lineEnd.Column - col) : Math.Max(1, text.Length - col + 1);
            sb.Append($" {new string(' ', gutter.Length)} | {new string(' ', col - 1)}{new string('^', width)}\n");
        }
        else
        {
            sb.Append($"{sev} {Code}: {Message}\n");
        }
        if (Hint is not null) sb.Append($"  = hint: {Hint}\n");
        return sb.ToString();
    }

    public override string ToString() => Span is { } s ? $"{s}: {Code}: {Message}" : $"{Code}: {Message}";
}

/// <summary>Collects diagnostics; a phase reports all it finds, not just the first.</summary>
public sealed class DiagnosticBag
{
    private readonly List<Diagnostic> _items = new();
    public IReadOnlyList<Diagnostic> Items => _items;
    public bool HasErrors => _items.Any(d => d.IsError);
    public void Add(Diagnostic d) => _items.Add(d);
    public void AddRange(IEnumerable<Diagnostic> ds) => _items.AddRange(ds);
    public void Error(string code, string message, Span? span, string? hint = null) => _items.Add(new Diagnostic(code, message, span, hint));
}

/// <summary>Thrown only to carry diagnostics across a boundary (never shown as a stack trace).</summary>
public sealed class DiagnosticException(IReadOnlyList<Diagnostic> diagnostics)
    : Exception(string.Join("\n", diagnostics.Select(d => d.ToString())))
{
    public IReadOnlyList<Diagnostic> Diagnostics { get; } = diagnostics;
}
