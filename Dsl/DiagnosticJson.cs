using System.Text;
using System.Text.Json;

namespace ArchDsl.Dsl;

/// <summary>
/// Renders diagnostics as JSON for editors and scripts: one object per diagnostic,
/// <c>{"code", "severity", "message", "span", "labels", "hint"}</c>, where a span is
/// <c>{"file", "line", "column", "end_line", "end_column"}</c> (1-based; the end is exclusive, as in LSP ranges)
/// and each label is a span with its <c>"message"</c>. A diagnostic of a whole file has <c>"span": null</c>.
/// </summary>
public static class DiagnosticJson
{
    /// <summary>A JSON array of the diagnostics, indented, ending in a newline.</summary>
    public static string Write(IEnumerable<Diagnostic> diagnostics)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartArray();
            foreach (var d in diagnostics) WriteOne(w, d);
            w.WriteEndArray();
        }
        return Encoding.UTF8.GetString(stream.ToArray()) + "\n";
    }

    private static void WriteOne(Utf8JsonWriter w, Diagnostic d)
    {
        w.WriteStartObject();
        w.WriteString("code", d.Code);
        w.WriteString("severity", d.Severity == Severity.Error ? "error" : "warning");
        w.WriteString("message", d.Message);
        w.WritePropertyName("span");
        if (d.Span is { } s) WriteSpan(w, s, null); else w.WriteNullValue();
        w.WriteStartArray("labels");
        foreach (var l in d.Labels) WriteSpan(w, l.Span, l.Message);
        w.WriteEndArray();
        if (d.Hint is null) w.WriteNull("hint"); else w.WriteString("hint", d.Hint);
        w.WriteEndObject();
    }

    private static void WriteSpan(Utf8JsonWriter w, Span s, string? message)
    {
        var (line, col) = s.Source.LineColumn(s.Start);
        var (endLine, endCol) = s.Source.LineColumn(s.End);
        w.WriteStartObject();
        w.WriteString("file", s.File);
        w.WriteNumber("line", line);
        w.WriteNumber("column", col);
        w.WriteNumber("end_line", endLine);
        w.WriteNumber("end_column", endCol);
        if (message is not null) w.WriteString("message", message);
        w.WriteEndObject();
    }
}
