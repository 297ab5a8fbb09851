using System.Security.Cryptography;
using System.Text;
using ArchDsl.Compiler;

namespace ArchDsl.Runtime.Sweep;

/// <summary>
/// One configuration of a sweep: a spec and its overrides (the point's, the grid's, the sweep's
/// <c>set:</c> and <c>budget:</c> as <c>train.&lt;key&gt;</c>), trained once per seed. <see cref="Id"/> is its
/// folder name under <c>points/</c>: stable across runs of the same sweep file, so a rerun finds its runs.
/// </summary>
/// <param name="Settings">its overrides, each located where the sweep file writes it (<see cref="Override.Written"/>).</param>
public sealed record SweepConfig(string Id, string Label, string Spec, IReadOnlyList<Override> Settings, IReadOnlyList<string> Varied)
{
    /// <summary>Its overrides as <c>k=v</c>, as <c>--set</c> would give them.</summary>
    public IReadOnlyList<string> Overrides => Settings.Select(o => o.ToString()).ToList();

    /// <summary>The overrides that tell this configuration from the others (the point's and the grid's), as <c>k=v</c>.</summary>
    public string VariedText => Varied.Count == 0 ? "(defaults)" : string.Join(" ", Varied);
}

/// <summary>One training run of a sweep: a configuration and a seed; <see cref="Overrides"/> ends with <c>train.seed=&lt;seed&gt;</c>.</summary>
public sealed record SweepPoint(SweepConfig Config, long Seed, string Directory)
{
    public IReadOnlyList<string> Overrides => [.. Config.Overrides, $"train.seed={Seed}"];

    /// <summary>What the point compiles with: its configuration's <see cref="SweepConfig.Settings"/> and its seed.</summary>
    public IReadOnlyList<Override> Settings => [.. Config.Settings, new Override("train.seed", Seed.ToString(System.Globalization.CultureInfo.InvariantCulture))];
    public string Name => $"{Config.Id}/seed{Seed}";
}

/// <summary>A sweep file expanded: where its outputs go, its configurations, and every (configuration, seed) point in run order.</summary>
/// <remarks><see cref="ReportDir"/> is where results.md/.csv, the charts and index.html go (the output folder unless the file says <c>report:</c>).</remarks>
public sealed record SweepPlan(SweepFile File, string OutputDir, string ReportDir, IReadOnlyList<SweepConfig> Configs, IReadOnlyList<SweepPoint> Points)
{
    public const string PointsDir = "points";

    /// <summary>
    /// Expands points × grid (cartesian, keys in file order) × specs into configurations, then each
    /// configuration × seeds into points, ordered configuration-major (all seeds of the first configuration
    /// first). Paths in the file are relative to its folder. Later overrides of the same key win, in
    /// this order: the sweep's <c>set:</c>, the point's <c>set:</c>, the grid, <c>budget:</c> (the seed comes from <c>seeds:</c>):
    /// each configuration's overrides give each key once, so <c>set: {depth: 6}</c> with <c>grid: {depth: [2, 4]}</c> trains depth 2 and 4.
    /// </summary>
    public static SweepPlan Expand(SweepFile file)
    {
        string Resolve(string p) => Path.GetFullPath(Path.Combine(file.Folder, p));

        var bases = file.Points.Count > 0
            ? file.Points.SelectMany(p => (p.Spec is null ? file.Specs : [p.Spec]).Select(s => (Label: p.Label, Spec: s, Set: p.Set)))
            : file.Specs.Select(s => (Label: (string?)null, Spec: s, Set: (IReadOnlyList<Override>)[]));

        // The grid's cartesian product, first key outermost.
        IEnumerable<List<Override>> cells = [[]];
        foreach (var (_, values) in file.Grid)
            cells = cells.SelectMany(c => values.Select(v => new List<Override>(c) { v })).ToList();
        var grid = cells.ToList();

        var multiSpec = file.Points.Count == 0 ? file.Specs.Count > 1 : bases.Select(b => b.Spec).Distinct().Count() > 1;
        var configs = new List<SweepConfig>();
        foreach (var b in bases)
        foreach (var cell in grid)
        {
            var varied = LastOfEachKey(b.Set.Concat(cell)).Select(o => o.ToString()).ToList();
            var overrides = LastOfEachKey(file.Set.Concat(b.Set).Concat(cell).Concat(file.Budget.Select(o => o with { Key = "train." + o.Key })));
            // Named by the point's label and its grid cell, or by the spec (when several) and what varies.
            var specName = Path.GetFileNameWithoutExtension(b.Spec);
            var parts = b.Label is not null
                ? cell.Select(kv => $"{kv.Key}={kv.Value}").Prepend(b.Label).ToList()
                : (multiSpec || varied.Count == 0 ? varied.Prepend(specName) : varied).ToList();
            var label = string.Join(" ", parts);
            var id = SafeId(string.Join("-", parts));
            configs.Add(new SweepConfig(id, label, Resolve(b.Spec), overrides, varied));
        }

        // Two configurations whose names sanitise alike get a hash of their full definition appended.
        var clash = configs.GroupBy(c => c.Id, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).SelectMany(g => g).ToHashSet();
        configs = configs.Select(c => clash.Contains(c) ? c with { Id = $"{c.Id}-{Hash(c.Spec + "\n" + string.Join("\n", c.Overrides))}" } : c).ToList();
        var duplicates = configs.GroupBy(c => c.Id, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (duplicates.Count > 0) throw new SweepException($"{file.Path}: the sweep lists the same configuration twice: {string.Join(", ", duplicates)}");

        var output = Path.GetFullPath(Path.Combine(file.Folder, file.Output));
        var points = configs.SelectMany(c => file.Seeds.Select(s => new SweepPoint(c, s, Path.Combine(output, PointsDir, c.Id, $"seed{s}")))).ToList();
        var report = file.Report is null ? output : Path.GetFullPath(Path.Combine(file.Folder, file.Report));
        return new SweepPlan(file, output, report, configs, points);
    }

    /// <summary>Each key once, at its first place, with the value the last of its overrides gives it.</summary>
    private static List<Override> LastOfEachKey(IEnumerable<Override> overrides)
    {
        var list = new List<Override>();
        foreach (var o in overrides)
            if (list.FindIndex(x => x.Key == o.Key) is var i and >= 0) list[i] = o;
            else list.Add(o);
        return list;
    }

    /// <summary>A folder name: letters, digits and <c>. _ = + -</c> kept, anything else '_', at most 80 characters.</summary>
    public static string SafeId(string text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (var ch in text) sb.Append(char.IsAsciiLetterOrDigit(ch) || ch is '.' or '_' or '=' or '+' or '-' ? ch : '_');
        var s = sb.ToString().Trim('.');
        if (s.Length == 0) s = "point";
        return s.Length <= 80 ? s : s[..71] + "-" + Hash(text);
    }

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..8];
}
