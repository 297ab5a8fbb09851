namespace ArchDsl.Dsl;

/// <summary>
/// "Did you mean" for every layer (syntax, compiler, command line): rustc's <c>find_best_match_for_name</c> rule.
/// A candidate that equals the word ignoring case wins; otherwise the closest candidate by optimal-string-alignment
/// distance (Levenshtein plus adjacent transpositions, compared ignoring case) within <c>max(len, 3) / 3</c> edits of
/// the word's length — one edit up to 5 characters, two up to 8 — ties going to the first in ordinal order. So
/// <c>gelo</c> finds <c>gelu</c> and <c>sumary</c> <c>summary</c>, but <c>norm</c> does not find <c>none</c> (two edits
/// in four letters is another word). A caller may add synonyms the field uses for a candidate (<c>swish</c> for
/// <c>silu</c>), which are suggested whatever their distance when the
/// candidate is among those offered.
/// </summary>
public static class Suggestions
{
    /// <summary>Longest word compared (longer ones are never a typo of a short name, and the distance is quadratic).</summary>
    private const int MaxLength = 64;

    /// <summary>The candidate the word is most likely a misspelling of, or null (also when the word is itself a candidate).</summary>
    public static string? Closest(string word, IEnumerable<string> candidates, IReadOnlyDictionary<string, string>? synonyms = null)
    {
        if (word.Length == 0 || word.Length > MaxLength) return null;
        var lower = word.ToLowerInvariant();
        var all = candidates as IReadOnlyCollection<string> ?? candidates.ToList();
        if (synonyms is not null && synonyms.TryGetValue(lower, out var synonym) && all.Contains(synonym)) return synonym;
        var allowed = Math.Max(word.Length, 3) / 3;
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var c in all.Distinct().OrderBy(c => c, StringComparer.Ordinal))
        {
            if (c == word) return null;
            if (c.Length > MaxLength) continue;
            var d = string.Equals(c, word, StringComparison.OrdinalIgnoreCase) ? -1 : Distance(lower, c.ToLowerInvariant());
            if (d < bestDistance) (best, bestDistance) = (c, d);
        }
        return bestDistance <= allowed ? best : null;
    }

    /// <summary>Optimal string alignment distance: insertions, deletions, substitutions and adjacent transpositions.</summary>
    public static int Distance(string a, string b)
    {
        var rows = new int[3, b.Length + 1];
        for (var j = 0; j <= b.Length; j++) rows[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
        {
            int cur = i % 3, prev = (i - 1) % 3, prev2 = (i + 1) % 3;
            rows[cur, 0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                var d = Math.Min(Math.Min(rows[cur, j - 1] + 1, rows[prev, j] + 1), rows[prev, j - 1] + cost);
                if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) d = Math.Min(d, rows[prev2, j - 2] + 1);
                rows[cur, j] = d;
            }
        }
        return rows[a.Length % 3, b.Length];
    }
}
