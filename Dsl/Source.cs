namespace ArchDsl.Dsl;

/// <summary>
/// The text of one spec file, with the line table diagnostics need. A line ends at <c>\n</c>, <c>\r\n</c> or a lone
/// <c>\r</c> — the three conventions the Language Server Protocol specifies and VS Code, Vim and Emacs treat as line
/// breaks — so line and column agree with what an editor shows whatever the file's convention.
/// (U+2028, U+2029 and U+0085 are not line breaks here, as in VS Code, which flags them as "unusual line terminators";
/// outside strings and comments they are invalid characters, AD0001.)
/// </summary>
public sealed class SourceText
{
    private readonly int[] _lineStarts;

    public SourceText(string path, string text)
    {
        Path = path;
        Text = text;
        Whole = this;
        var starts = new List<int> { 0 };
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\n') starts.Add(i + 1);
            else if (c == '\r' && (i + 1 >= text.Length || text[i + 1] != '\n')) starts.Add(i + 1);
        }
        _lineStarts = starts.ToArray();
    }

    public string Path { get; }
    public string Text { get; }

    /// <summary>
    /// The file whose lines diagnostics show: this text itself, or for a value <see cref="Embedded"/> in a file, that file.
    /// </summary>
    public SourceText Whole { get; private init; }

    /// <summary>
    /// A value written inside a larger file (a sweep file's <c>kernel: [3, 9]</c>), to be parsed alone by a parser that
    /// reads to the end of the text (<see cref="SpecParser.ParseExpression"/>): its text is the file's up to
    /// <paramref name="start"/> followed by <paramref name="value"/>, so offsets, lines and columns are the file's, and a
    /// diagnostic shows the file's whole line (<see cref="Whole"/>). Where the file writes the value other than verbatim
    /// (a YAML escape), offsets after the escape are approximate; they stay on the value's line.
    /// </summary>
    /// <param name="file">the file the value is written in.</param>
    /// <param name="start">the offset in <paramref name="file"/> where the value's text begins (after an opening quote).</param>
    /// <param name="value">the value as the file's format reads it (quotes and escapes removed).</param>
    public static SourceText Embedded(SourceText file, int start, string value)
    {
        ArgumentNullException.ThrowIfNull(file);
        start = Math.Clamp(start, 0, file.Text.Length);
        return new SourceText(file.Path, file.Text[..start] + value) { Whole = file.Whole };
    }
    public int LineCount => _lineStarts.Length;

    /// <summary>True for the characters that end a line (<c>\n</c> and <c>\r</c>; <c>\r\n</c> is one break).</summary>
    public static bool IsLineBreak(char c) => c is '\n' or '\r';

    /// <summary>1-based line and column of a character offset (the column counts UTF-16 code units, as LSP does).</summary>
    public (int Line, int Column) LineColumn(int offset)
    {
        offset = Math.Clamp(offset, 0, Text.Length);
        var idx = Array.BinarySearch(_lineStarts, offset);
        if (idx < 0) idx = ~idx - 1;
        return (idx + 1, offset - _lineStarts[idx] + 1);
    }

    /// <summary>Offset where a 1-based line starts.</summary>
    public int LineStart(int line) => line < 1 ? 0 : line > _lineStarts.Length ? Text.Length : _lineStarts[line - 1];

    /// <summary>Offset where a 1-based line's text ends (before its line break).</summary>
    public int LineEnd(int line)
    {
        if (line < 1 || line > _lineStarts.Length) return Text.Length;
        var end = line < _lineStarts.Length ? _lineStarts[line] : Text.Length;
        while (end > _lineStarts[line - 1] && IsLineBreak(Text[end - 1])) end--;
        return end;
    }

    /// <summary>The text of a 1-based line, without its line break.</summary>
    public string Line(int line)
    {
        if (line < 1 || line > _lineStarts.Length) return "";
        return Text[_lineStarts[line - 1]..LineEnd(line)];
    }

    public int Offset(int line, int column) =>
        line < 1 || line > _lineStarts.Length ? Text.Length : Math.Min(Text.Length, _lineStarts[line - 1] + column - 1);
}

/// <summary>A range of characters in one source file. Every AST node carries one.</summary>
public readonly record struct Span(SourceText Source, int Start, int Length)
{
    public int End => Start + Length;
    public int Line => Source.LineColumn(Start).Line;
    public int Column => Source.LineColumn(Start).Column;
    public string File => Source.Path;

    /// <summary>The smallest span covering both.</summary>
    public Span To(Span other)
    {
        var start = Math.Min(Start, other.Start);
        return new Span(Source, start, Math.Max(End, other.End) - start);
    }

    public override string ToString() => $"{File}:{Line}:{Column}";
}
