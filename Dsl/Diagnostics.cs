namespace ArchDsl.Dsl;

public enum Severity { Error, Warning }

/// <summary>A secondary place a diagnostic points at, with what it is (<c>first declared here</c>,
/// <c>unclosed '{' opened here</c>), rendered as its own caret line — rustc's secondary labels.</summary>
public sealed record Label(Span Span, string Message);

/// <summary>
/// One finding about a spec, rustc/Roslyn style: a stable code (AD0001…), a message, the span that caused it,
/// secondary labelled spans where another place explains it, and, where one helps, a hint. Codes AD0001–AD0099
/// belong to the Dsl (syntax, imports), AD0100 and up to the compiler. The record holds only the facts; text and
/// JSON renderings are <see cref="DiagnosticText"/> and <see cref="DiagnosticJson"/>.
/// </summary>
public sealed record Diagnostic(string Code, string Message, Span? Span, string? Hint = null, Severity Severity = Severity.Error)
{
    public bool IsError => Severity == Severity.Error;

    /// <summary>An error of <paramref name="descriptor"/>'s code, its message format filled in with <paramref name="args"/>.</summary>
    public static Diagnostic Create(DiagnosticDescriptor descriptor, Span? span, string? hint, params object?[] args) =>
        new(descriptor.Code, descriptor.Format(args), span, hint);

    /// <summary>Secondary spans, each with its label, in the order they were added.</summary>
    public IReadOnlyList<Label> Labels { get; init; } = [];

    /// <summary>This diagnostic with one more secondary label.</summary>
    public Diagnostic WithLabel(Span span, string message) => this with { Labels = [.. Labels, new Label(span, message)] };

    /// <summary>The terminal rendering (<see cref="DiagnosticText.Render"/>).</summary>
    public string Render() => DiagnosticText.Render(this);

    public override string ToString() => Span is { } s ? $"{s}: {Code}: {Message}" : $"{Code}: {Message}";

    /// <summary>The order a reader fixes them in, as Roslyn lists them: by file (in the order first met), then position;
    /// diagnostics of a whole file (no span) last. Stable: equal places keep their order. The one order of every
    /// rendering (text and JSON).</summary>
    public static IReadOnlyList<Diagnostic> InReadingOrder(IEnumerable<Diagnostic> diagnostics)
    {
        var all = diagnostics.ToList();
        var files = all.Select(d => d.Span?.File).Distinct().ToList();
        return all.OrderBy(d => d.Span is null ? int.MaxValue : files.IndexOf(d.Span.Value.File)).ThenBy(d => d.Span?.Start ?? 0).ToList();
    }
}

/// <summary>Collects diagnostics; a phase reports all it finds, not just the first. The same message at the same place
/// is one mistake: a second report of it (a bad value defined once and used many times) is dropped.</summary>
public sealed class DiagnosticBag
{
    private readonly List<Diagnostic> _items = new();
    private readonly HashSet<(string Code, SourceText Source, int Start, string Message)> _placed = new();
    public IReadOnlyList<Diagnostic> Items => _items;
    public bool HasErrors => _items.Any(d => d.IsError);

    public void Add(Diagnostic d)
    {
        if (d.Span is { } s && !_placed.Add((d.Code, s.Source, s.Start, d.Message))) return;
        _items.Add(d);
    }

    public void AddRange(IEnumerable<Diagnostic> ds)
    {
        foreach (var d in ds) Add(d);
    }

    public void Error(string code, string message, Span? span, string? hint = null) => Add(new Diagnostic(code, message, span, hint));

    /// <summary>Reports <paramref name="descriptor"/> at <paramref name="span"/>, its message format filled in with <paramref name="args"/>.</summary>
    public void Report(DiagnosticDescriptor descriptor, Span? span, string? hint, params object?[] args) =>
        Add(Diagnostic.Create(descriptor, span, hint, args));
}

/// <summary>Thrown only to carry diagnostics across a boundary (never shown as a stack trace).</summary>
public sealed class DiagnosticException(IReadOnlyList<Diagnostic> diagnostics)
    : Exception(string.Join("\n", diagnostics.Select(d => d.ToString())))
{
    public IReadOnlyList<Diagnostic> Diagnostics { get; } = diagnostics;
}
