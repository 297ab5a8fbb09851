using System.Text;
using System.Text.RegularExpressions;
using ArchDsl.Compiler.Analysis;

namespace ArchDsl.Compiler.Tests;

public class SnapshotDiffTests
{
    private static string Lines(IEnumerable<string> lines) => string.Concat(lines.Select(l => l + "\n"));
    private static string Numbers(int from, int to) => Lines(Enumerable.Range(from, to - from + 1).Select(i => i.ToString()));
    private static string Diff(string a, string b, int context = 3) => TextDiff.Unified(a, b, "a", "b", context);

    [Fact]
    public void Identical_texts_give_nothing()
    {
        Assert.Equal("", Diff("", ""));
        Assert.Equal("", Diff(Numbers(1, 50), Numbers(1, 50)));
        Assert.Equal("", Diff("no newline", "no newline"));
    }

    [Fact]
    public void Insert_into_empty() => Assert.Equal("--- a\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n", Diff("", "x\ny\n"));

    [Fact]
    public void Delete_everything() => Assert.Equal("--- a\n+++ b\n@@ -1 +0,0 @@\n-x\n", Diff("x\n", ""));

    [Fact]
    public void Change_in_the_middle_with_three_lines_of_context() =>
        Assert.Equal("--- a\n+++ b\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n", Diff(Numbers(1, 10), Numbers(1, 10).Replace("5\n", "five\n")));

    [Fact]
    public void Change_at_start_and_end()
    {
        Assert.Equal("--- a\n+++ b\n@@ -1,4 +1,4 @@\n-1\n+one\n 2\n 3\n 4\n", Diff(Numbers(1, 10), "one\n" + Numbers(2, 10)));
        Assert.Equal("--- a\n+++ b\n@@ -7,4 +7,4 @@\n 7\n 8\n 9\n-10\n+ten\n", Diff(Numbers(1, 10), Numbers(1, 9) + "ten\n"));
    }

    [Fact]
    public void Insert_and_delete_at_start_and_end()
    {
        Assert.Equal("--- a\n+++ b\n@@ -1,3 +1,4 @@\n+0\n 1\n 2\n 3\n", Diff(Numbers(1, 10), Numbers(0, 10)));
        Assert.Equal("--- a\n+++ b\n@@ -8,3 +8,4 @@\n 8\n 9\n 10\n+11\n", Diff(Numbers(1, 10), Numbers(1, 11)));
        Assert.Equal("--- a\n+++ b\n@@ -1,4 +1,3 @@\n-1\n 2\n 3\n 4\n", Diff(Numbers(1, 10), Numbers(2, 10)));
        Assert.Equal("--- a\n+++ b\n@@ -7,4 +7,3 @@\n 7\n 8\n 9\n-10\n", Diff(Numbers(1, 10), Numbers(1, 9)));
    }

    [Fact]
    public void Changes_further_apart_than_twice_the_context_make_separate_hunks()
    {
        var a = Numbers(1, 20);
        Assert.Equal("--- a\n+++ b\n@@ -1,6 +1,6 @@\n 1\n 2\n-3\n+x\n 4\n 5\n 6\n@@ -8,7 +8,7 @@\n 8\n 9\n 10\n-11\n+y\n 12\n 13\n 14\n",
            Diff(a, a.Replace("\n3\n", "\nx\n").Replace("\n11\n", "\ny\n")));
        // Six unchanged lines between (4..9): the contexts touch, one hunk.
        Assert.Equal("--- a\n+++ b\n@@ -1,13 +1,13 @@\n 1\n 2\n-3\n+x\n 4\n 5\n 6\n 7\n 8\n 9\n-10\n+y\n 11\n 12\n 13\n",
            Diff(a, a.Replace("\n3\n", "\nx\n").Replace("\n10\n", "\ny\n")));
    }

    [Fact]
    public void Zero_context()
    {
        Assert.Equal("--- a\n+++ b\n@@ -5 +5 @@\n-5\n+five\n", Diff(Numbers(1, 10), Numbers(1, 10).Replace("5\n", "five\n"), context: 0));
        Assert.Equal("--- a\n+++ b\n@@ -2,0 +3 @@\n+x\n", Diff("1\n2\n3\n", "1\n2\nx\n3\n", context: 0));
        Assert.Equal("--- a\n+++ b\n@@ -2 +1,0 @@\n-2\n", Diff("1\n2\n3\n", "1\n3\n", context: 0));
    }

    [Fact]
    public void Missing_final_newline_is_marked()
    {
        Assert.Equal("--- a\n+++ b\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n", Diff("a\nb", "a\nb\n"));
        Assert.Equal("--- a\n+++ b\n@@ -1 +1 @@\n-a\n+c\n\\ No newline at end of file\n", Diff("a\n", "c"));
    }

    [Fact]
    public void A_replaced_block_lists_deletions_before_insertions() =>
        Assert.Equal("--- a\n+++ b\n@@ -1,4 +1,4 @@\n 1\n-2\n-3\n+b\n+c\n 4\n", Diff("1\n2\n3\n4\n", "1\nb\nc\n4\n"));

    [Fact]
    public void Headers_name_the_two_sides() =>
        Assert.StartsWith("--- X.verified.txt\n+++ X.received.txt\n@@ ", TextDiff.Unified("a\n", "b\n", "X.verified.txt", "X.received.txt"));

    /// <summary>Applies a unified diff to the old text, checking every context and deleted line against it.</summary>
    private static string Apply(string oldText, string diff)
    {
        var old = Regex.Split(oldText, "(?<=\n)").Where(l => l.Length > 0).ToList();
        var result = new List<string>();
        var lines = diff.Split('\n');
        var pos = 0; // next old line to copy
        var i = 2;
        Assert.StartsWith("--- ", lines[0]);
        Assert.StartsWith("+++ ", lines[1]);
        while (i < lines.Length && lines[i].Length > 0)
        {
            var m = Regex.Match(lines[i], @"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$");
            Assert.True(m.Success, "bad hunk header: " + lines[i]);
            int oldStart = int.Parse(m.Groups[1].Value), oldCount = m.Groups[2].Success ? int.Parse(m.Groups[2].Value) : 1;
            int newStart = int.Parse(m.Groups[3].Value), newCount = m.Groups[4].Success ? int.Parse(m.Groups[4].Value) : 1;
            var firstOld = oldCount == 0 ? oldStart : oldStart - 1;
            Assert.True(firstOld >= pos, "hunks out of order");
            result.AddRange(old.Skip(pos).Take(firstOld - pos));
            pos = firstOld;
            Assert.Equal(newCount == 0 ? newStart : newStart - 1, result.Count);
            i++;
            int seenOld = 0, seenNew = 0;
            while (i < lines.Length && lines[i].Length > 0 && !lines[i].StartsWith("@@", StringComparison.Ordinal))
            {
                var kind = lines[i][0];
                var text = lines[i][1..] + "\n";
                if (i + 1 < lines.Length && lines[i + 1] == "\\ No newline at end of file") { text = lines[i][1..]; i++; }
                i++;
                if (kind == ' ' || kind == '-') { Assert.Equal(old[pos], text); pos++; seenOld++; }
                if (kind == ' ' || kind == '+') { result.Add(text); seenNew++; }
            }
            Assert.Equal(oldCount, seenOld);
            Assert.Equal(newCount, seenNew);
        }
        result.AddRange(old.Skip(pos));
        return string.Concat(result);
    }

    private static int Lcs(IReadOnlyList<string> a, IReadOnlyList<string> b)
    {
        var dp = new int[a.Count + 1, b.Count + 1];
        for (var i = 1; i <= a.Count; i++)
            for (var j = 1; j <= b.Count; j++)
                dp[i, j] = a[i - 1] == b[j - 1] ? dp[i - 1, j - 1] + 1 : Math.Max(dp[i - 1, j], dp[i, j - 1]);
        return dp[a.Count, b.Count];
    }

    [Fact]
    public void Random_texts_patch_back_exactly_with_a_minimal_number_of_changed_lines()
    {
        var rng = new Random(20240601);
        for (var round = 0; round < 400; round++)
        {
            var alphabet = rng.Next(2, 6);
            string RandomText()
            {
                var n = rng.Next(0, 25);
                var sb = new StringBuilder();
                for (var k = 0; k < n; k++) sb.Append((char)('a' + rng.Next(alphabet))).Append('\n');
                if (n > 0 && rng.Next(5) == 0) sb.Length--; // sometimes no final newline
                return sb.ToString();
            }
            var a = RandomText();
            var b = RandomText();
            var context = rng.Next(0, 4);
            var diff = Diff(a, b, context);
            Assert.Equal(a == b, diff == "");
            if (diff == "") continue;
            Assert.Equal(b, Apply(a, diff));
            var aLines = Regex.Split(a, "(?<=\n)").Where(l => l.Length > 0).ToList();
            var bLines = Regex.Split(b, "(?<=\n)").Where(l => l.Length > 0).ToList();
            var changed = diff.Split('\n').Skip(2).Count(l => l.Length > 0 && (l[0] == '+' || l[0] == '-'));
            Assert.Equal(aLines.Count + bLines.Count - 2 * Lcs(aLines, bLines), changed);
        }
    }
}
