using System.Text;

namespace ArchDsl.Dsl;

/// <summary>
/// Renders a <see cref="Diagnostic"/> as a terminal shows it, after rustc:
/// <code>
/// file:line:col: error AD0004: '{' is never closed
///  3 | mixer * depth {
///    |               ^ unclosed '{' opened here
///  = hint: add the matching '}'
/// </code>
/// The primary span is underlined with <c>^</c>, each secondary label with <c>-</c> and its text, in line order
/// (a label in another file first names it: <c>--&gt; file:line:col</c>). A source line longer than
/// <see cref="MaxLineWidth"/> is clipped to a window around its caret with <c>...</c> on the cut sides, as rustc
/// does, so a 160,000-character line costs a few hundred bytes of output; tabs show as one space and other control
/// characters as U+FFFD, so carets stay under the characters they mark.
/// </summary>
public static class DiagnosticText
{
    /// <summary>Widest source text shown on one line (rustc's default without a terminal width is 140 columns).</summary>
    public const int MaxLineWidth = 120;

    private const string Ellipsis = "...";

    public static string Render(Diagnostic d)
    {
        var sb = new StringBuilder();
        var sev = d.Severity == Severity.Error ? "error" : "warning";
        if (d.Span is { } primary)
        {
            var (line, col) = primary.Source.LineColumn(primary.Start);
            sb.Append($"{primary.File}:{line}:{col}: {sev} {d.Code}: {d.Message}\n");
            var marks = new List<Mark> { new(primary, null, '^') };
            marks.AddRange(d.Labels.Select(l => new Mark(l.Span, l.Message, '-')));
            var gutter = marks.Max(m => m.Span.Line).ToString().Length;
            var lastSource = primary.Source.Whole;
            var lastLine = -1;
            foreach (var m in marks.OrderBy(m => m.Span.Source.Whole == primary.Source.Whole ? 0 : 1).ThenBy(m => m.Span.Start))
            {
                var l = m.Span.Line;
                if (m.Span.Source.Whole != lastSource)
                {
                    sb.Append($"{new string(' ', gutter)}--> {m.Span}\n");
                    lastSource = m.Span.Source.Whole;
                    lastLine = -1;
                }
                var (text, caretAt, caretWidth) = Window(m.Span);
                if (l != lastLine) sb.Append($" {l.ToString().PadLeft(gutter)} | {text}\n");
                sb.Append($" {new string(' ', gutter)} | {new string(' ', caretAt)}{new string(m.Marker, caretWidth)}");
                sb.Append(m.Label is null ? "\n" : $" {m.Label}\n");
                lastLine = l;
            }
        }
        else
        {
            sb.Append($"{sev} {d.Code}: {d.Message}\n");
            foreach (var l in d.Labels) sb.Append($"  --> {l.Span}: {l.Message}\n");
        }
        if (d.Hint is not null) sb.Append($"  = hint: {d.Hint}\n");
        return sb.ToString();
    }

    private readonly record struct Mark(Span Span, string? Label, char Marker);

    /// <summary>The shown text of the span's line (clipped around the span when long), the caret's offset in it and
    /// the caret's width (at least 1; a span running past the line or the window stops at its end).</summary>
    public static (string Text, int CaretAt, int CaretWidth) Window(Span span)
    {
        var src = span.Source.Whole;  // an embedded value's line is shown whole, as its file has it
        var line = src.LineColumn(span.Start).Line;
        int lineStart = src.LineStart(line), lineEnd = src.LineEnd(line);
        var col0 = Math.Clamp(span.Start, lineStart, lineEnd) - lineStart;  // 0-based caret column
        var length = lineEnd - lineStart;
        var spanEnd = Math.Min(span.End, lineEnd) - lineStart;
        var width = Math.Max(1, spanEnd - col0);

        int from = 0, to = length;
        if (length > MaxLineWidth)
        {
            // keep a third of the window before the caret, as much of the span as fits after it
            from = Math.Clamp(col0 - MaxLineWidth / 3, 0, Math.Max(0, length - MaxLineWidth));
            to = Math.Min(length, from + MaxLineWidth);
        }
        var sb = new StringBuilder(to - from + 2 * Ellipsis.Length);
        if (from > 0) sb.Append(Ellipsis);
        for (var i = lineStart + from; i < lineStart + to; i++)
        {
            var c = src.Text[i];
            sb.Append(c == '\t' ? ' ' : char.IsControl(c) || c is '\u2028' or '\u2029' ? '\uFFFD' : c);
        }
        if (to < length) sb.Append(Ellipsis);
        var caretAt = col0 - from + (from > 0 ? Ellipsis.Length : 0);
        var visibleEnd = to - from + (from > 0 ? Ellipsis.Length : 0);
        width = Math.Max(1, Math.Min(width, visibleEnd - caretAt));
        return (sb.ToString(), caretAt, width);
    }
}
