namespace ArchDsl.Compiler.Analysis;

/// <summary>What a compiled graph was made from: the spec text (a run's <c>spec.arch</c>) and the <c>--set</c> overrides as given.</summary>
public sealed record GraphSources(string SpecText, IReadOnlyList<string> Overrides);

/// <summary>An override key given on one side only (null on the other) or with two values.</summary>
public sealed record OverrideChange(string Key, string? Before, string? After);

/// <summary>
/// The difference between what two graphs were made from, beside the graphs' own (<see cref="GraphDiffResult.Sources"/>):
/// the overrides compared by key (<c>kernel=5</c> → <c>kernel=9</c>; repeated identical ones count once), and the spec
/// texts as a unified diff (empty when equal). A comment edited in a spec shows here though the graphs are the same.
/// </summary>
public sealed record SourceDiff(IReadOnlyList<OverrideChange> Overrides, string SpecDiff)
{
    public bool IsEmpty => Overrides.Count == 0 && SpecDiff.Length == 0;

    public static SourceDiff Of(GraphSources before, GraphSources after, string beforeLabel, string afterLabel)
    {
        static Dictionary<string, string> ByKey(IEnumerable<string> overrides) =>
            overrides.Select(Override.Parse).GroupBy(o => o.Key, StringComparer.Ordinal)
                     .ToDictionary(g => g.Key, g => string.Join(", ", g.Select(o => o.Value.Trim()).Distinct()), StringComparer.Ordinal);
        var a = ByKey(before.Overrides);
        var b = ByKey(after.Overrides);
        var changes = a.Keys.Union(b.Keys).Order(StringComparer.Ordinal)
            .Select(k => new OverrideChange(k, a.GetValueOrDefault(k), b.GetValueOrDefault(k)))
            .Where(c => c.Before != c.After).ToList();
        return new SourceDiff(changes, TextDiff.Unified(before.SpecText, after.SpecText, beforeLabel, afterLabel));
    }
}
