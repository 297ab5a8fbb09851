namespace ArchDsl.Dsl;

/// <summary>The text of one spec file, with the line table diagnostics need.</summary>
public sealed class SourceText
{
    private readonly int[] _lineStarts;

    public SourceText(string path, string text)
    {
        Path = path;
        Text = text;
        var starts = new List<int> { 0 };
        for (var i = 0; i < text.Length; i++)
            if (text[i] == '\n') starts.Add(i + 1);
        _lineStarts = starts.ToArray();
    }

    public string Path { get; }
    public string Text { get; }
    public int LineCount => _lineStarts.Length;

    /// <summary>1-based line and column of a character offset.</summary>
    public (int Line, int Column) LineColumn(int offset)
    {
        offset = Math.Clamp(offset, 0, Text.Length);
        var idx = Array.BinarySearch(_lineStarts, offset);
        if (idx < 0) idx = ~idx - 1;
        return (idx + 1, offset - _lineStarts[idx] + 1);
    }

    /// <summary>The text of a 1-based line, without its line break.</summary>
    public string Line(int line)
    {
        if (line < 1 || line > _lineStarts.Length) return "";
        var start = _lineStarts[line - 1];
        var end = line < _lineStarts.Length ? _lineStarts[line] : Text.Length;
        return Text[start..end].TrimEnd('\n', '\r');
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
