using System.Globalization;
using System.Text;

namespace ArchDsl.Compiler.Analysis;

/// <summary>
/// Unified diff of two texts, line by line, as <c>diff -u</c> / <c>git diff</c> write it: a
/// <c>---</c>/<c>+++</c> header, hunks headed <c>@@ -a,b +c,d @@</c> (a count of 1 is left out; an
/// empty side starts at the line before, so inserting into an empty text is <c>@@ -0,0 +1,2 @@</c>),
/// <c>context</c> unchanged lines around each change, and hunks whose context would touch merged.
/// A last line without a line break is followed by <c>\ No newline at end of file</c>. The edit
/// script is Myers' shortest one (O((N+M)·D)). Identical texts give the empty string.
/// </summary>
public static class TextDiff
{
    private enum Kind { Equal, Delete, Insert }

    private readonly record struct Edit(Kind Kind, int Old, int New); // 0-based line indices (-1 where none)

    public static string Unified(string expected, string actual, string expectedName, string actualName, int context = 3)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(context);
        var a = SplitLines(expected);
        var b = SplitLines(actual);
        var edits = Myers(a, b);
        if (edits.All(e => e.Kind == Kind.Equal)) return "";

        var sb = new StringBuilder();
        sb.Append("--- ").Append(expectedName).Append('\n');
        sb.Append("+++ ").Append(actualName).Append('\n');

        var changes = Enumerable.Range(0, edits.Count).Where(i => edits[i].Kind != Kind.Equal).ToList();
        var c = 0;
        while (c < changes.Count)
        {
            var first = changes[c];
            var last = first;
            while (c + 1 < changes.Count && changes[c + 1] - last - 1 <= 2 * context) last = changes[++c];
            c++;
            var start = Math.Max(0, first - context);
            var end = Math.Min(edits.Count, last + context + 1); // exclusive
            AppendHunk(sb, edits, start, end, a, b);
        }
        return sb.ToString();
    }

    private static void AppendHunk(StringBuilder sb, List<Edit> edits, int start, int end, List<string> a, List<string> b)
    {
        // Lines of each side before the hunk: every edit before it that consumed a line of that side.
        var oldBefore = edits.Take(start).Count(e => e.Kind != Kind.Insert);
        var newBefore = edits.Take(start).Count(e => e.Kind != Kind.Delete);
        var hunk = edits.Skip(start).Take(end - start).ToList();
        var oldCount = hunk.Count(e => e.Kind != Kind.Insert);
        var newCount = hunk.Count(e => e.Kind != Kind.Delete);
        sb.Append("@@ -").Append(Range(oldBefore, oldCount)).Append(" +").Append(Range(newBefore, newCount)).Append(" @@\n");
        foreach (var e in hunk)
        {
            var (prefix, line) = e.Kind switch
            {
                Kind.Equal => (' ', a[e.Old]),
                Kind.Delete => ('-', a[e.Old]),
                _ => ('+', b[e.New]),
            };
            sb.Append(prefix);
            if (line.EndsWith('\n')) sb.Append(line);
            else sb.Append(line).Append("\n\\ No newline at end of file\n");
        }
    }

    private static string Range(int before, int count) => count switch
    {
        0 => $"{before.ToString(CultureInfo.InvariantCulture)},0",
        1 => (before + 1).ToString(CultureInfo.InvariantCulture),
        _ => $"{(before + 1).ToString(CultureInfo.InvariantCulture)},{count.ToString(CultureInfo.InvariantCulture)}",
    };

    /// <summary>Lines with their '\n' kept, so that a missing final line break is a difference too.</summary>
    private static List<string> SplitLines(string text)
    {
        var lines = new List<string>();
        var start = 0;
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '\n') continue;
            lines.Add(text[start..(i + 1)]);
            start = i + 1;
        }
        if (start < text.Length) lines.Add(text[start..]);
        return lines;
    }

    /// <summary>Myers' greedy shortest edit script, with the frontier of every step kept to walk back.</summary>
    private static List<Edit> Myers(List<string> a, List<string> b)
    {
        int n = a.Count, m = b.Count, max = n + m, offset = max + 1;
        var v = new int[2 * max + 3];
        var trace = new List<int[]>();
        var found = false;
        for (var d = 0; d <= max && !found; d++)
        {
            trace.Add((int[])v.Clone());
            for (var k = -d; k <= d; k += 2)
            {
                var x = k == -d || (k != d && v[offset + k - 1] < v[offset + k + 1]) ? v[offset + k + 1] : v[offset + k - 1] + 1;
                var y = x - k;
                while (x < n && y < m && string.Equals(a[x], b[y], StringComparison.Ordinal)) { x++; y++; }
                v[offset + k] = x;
                if (x >= n && y >= m) { found = true; break; }
            }
        }

        var edits = new List<Edit>();
        int cx = n, cy = m;
        for (var d = trace.Count - 1; d >= 0; d--)
        {
            var vd = trace[d];
            var k = cx - cy;
            var prevK = k == -d || (k != d && vd[offset + k - 1] < vd[offset + k + 1]) ? k + 1 : k - 1;
            var prevX = vd[offset + prevK];
            var prevY = prevX - prevK;
            while (cx > prevX && cy > prevY) { edits.Add(new Edit(Kind.Equal, cx - 1, cy - 1)); cx--; cy--; }
            if (d > 0)
            {
                if (cx == prevX) edits.Add(new Edit(Kind.Insert, -1, cy - 1));
                else edits.Add(new Edit(Kind.Delete, cx - 1, -1));
            }
            cx = prevX;
            cy = prevY;
        }
        edits.Reverse();
        return edits;
    }
}
