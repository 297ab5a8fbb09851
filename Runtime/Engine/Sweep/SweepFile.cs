using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ArchDsl.Runtime.Sweep;

/// <summary>A sweep file is malformed or a sweep cannot go on; the message names the file and the key. Print it, not the stack trace.</summary>
public sealed class SweepException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>One entry of <c>points:</c> — a label, an optional spec of its own, and its overrides.</summary>
public sealed record SweepPointEntry(string? Label, string? Spec, IReadOnlyList<KeyValuePair<string, string>> Set);

/// <summary>
/// A parsed sweep file (YAML). The schema (paths are relative to the sweep file's folder):
/// <code>
/// name: kernel-size                # optional; default the file name without extension
/// spec: ../../specs/convmixer.arch # or specs: [a.arch, b.arch] — each point runs on each spec…
/// points:                          # …unless the point names its own spec
///   - label: convmixer             # optional; default spec name + overrides
///     spec: ../../specs/convmixer.arch
///     set: { dim: 96 }             # overrides, as --set key=value
/// grid:                            # cartesian product; crossed with every point (or alone)
///   kernel: [3, 5, 7, 9]
/// set: { depth: 6 }                # overrides for every point
/// budget: { epochs: 1, subset: 6000, test_subset: 2000 }   # train keys for every point (train.&lt;key&gt;)
/// seeds: [0, 1]                    # train.seed of each run; default [0]
/// output: ../../runs/sweeps/kernel  # where the run directories go; default runs/sweeps/&lt;name&gt;
/// report: results                  # where the tables, charts and index.html go; default the output folder
/// log_every: 10                    # metrics.jsonl step records every N steps (learning curves); default 10
/// threads: 2                       # libtorch threads per run; default all cores
/// device: cpu                      # cpu | cuda; default cpu
/// </code>
/// Values are written as they would be after <c>--set key=</c>: <c>9</c>, <c>layer</c>, <c>"layer(eps: 1e-6)"</c>.
/// </summary>
public sealed record SweepFile(
    string Path,
    string Name,
    IReadOnlyList<string> Specs,
    IReadOnlyList<SweepPointEntry> Points,
    IReadOnlyList<KeyValuePair<string, IReadOnlyList<string>>> Grid,
    IReadOnlyList<KeyValuePair<string, string>> Set,
    IReadOnlyList<KeyValuePair<string, string>> Budget,
    IReadOnlyList<long> Seeds,
    string Output,
    string? Report,
    int LogEvery,
    int? Threads,
    string? Device)
{
    private static readonly string[] KnownKeys = ["name", "spec", "specs", "points", "grid", "set", "budget", "seeds", "output", "report", "log_every", "threads", "device"];

    public string Folder => System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!;

    public static SweepFile Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SweepException($"cannot read sweep file '{path}': {e.Message}", e);
        }
        return Parse(text, path);
    }

    /// <summary>Parses sweep YAML; <paramref name="path"/> names it in errors and anchors relative paths.</summary>
    public static SweepFile Parse(string text, string path)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(text)); }
        catch (YamlException e)
        {
            throw new SweepException($"{path}:{e.Start.Line}:{e.Start.Column}: not valid YAML: {e.Message}", e);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
            throw new SweepException($"{path}: a sweep file is a YAML mapping (spec:, grid: or points:, seeds:, budget:, …)");

        string Where(YamlNode n) => $"{path}:{n.Start.Line}:{n.Start.Column}";

        foreach (var key in root.Children.Keys)
            if (key is not YamlScalarNode { Value: { } k } || !KnownKeys.Contains(k))
                throw new SweepException($"{Where(key)}: unknown key '{(key as YamlScalarNode)?.Value ?? key.ToString()}'; a sweep file has {string.Join(", ", KnownKeys)}");

        YamlNode? Get(string key) => root.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

        string Scalar(YamlNode n, string what) => n is YamlScalarNode { Value: { } s } ? s : throw new SweepException($"{Where(n)}: {what} must be a single value");

        List<string> ScalarList(YamlNode n, string what) => n switch
        {
            YamlSequenceNode seq => seq.Children.Select(c => Scalar(c, what + " entries")).ToList(),
            YamlScalarNode => [Scalar(n, what)],
            _ => throw new SweepException($"{Where(n)}: {what} must be a value or a list of values"),
        };

        List<KeyValuePair<string, string>> Map(YamlNode n, string what)
        {
            if (n is not YamlMappingNode m) throw new SweepException($"{Where(n)}: {what} must be a mapping of key: value");
            return m.Children.Select(kv => new KeyValuePair<string, string>(Scalar(kv.Key, what + " keys"), Scalar(kv.Value, $"{what}.{(kv.Key as YamlScalarNode)?.Value}"))).ToList();
        }

        int? PositiveInt(string key)
        {
            if (Get(key) is not { } n) return null;
            var s = Scalar(n, key);
            return int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= 1 ? v : throw new SweepException($"{Where(n)}: {key} must be a positive integer, got '{s}'");
        }

        var name = Get("name") is { } nameNode ? Scalar(nameNode, "name") : System.IO.Path.GetFileNameWithoutExtension(path);

        var specs = new List<string>();
        if (Get("spec") is { } spec) specs.AddRange(ScalarList(spec, "spec"));
        if (Get("specs") is { } specsNode) specs.AddRange(ScalarList(specsNode, "specs"));

        var points = new List<SweepPointEntry>();
        if (Get("points") is { } pointsNode)
        {
            if (pointsNode is not YamlSequenceNode seq) throw new SweepException($"{Where(pointsNode)}: points must be a list");
            foreach (var item in seq.Children)
            {
                if (item is not YamlMappingNode m) throw new SweepException($"{Where(item)}: a point is a mapping (label:, spec:, set:)");
                string? label = null, pointSpec = null;
                var set = new List<KeyValuePair<string, string>>();
                foreach (var (k, v) in m.Children)
                {
                    switch (Scalar(k, "point keys"))
                    {
                        case "label": label = Scalar(v, "label"); break;
                        case "spec": pointSpec = Scalar(v, "spec"); break;
                        case "set": set.AddRange(Map(v, "set")); break;
                        case var other: throw new SweepException($"{Where(k)}: unknown point key '{other}'; a point has label:, spec: and set:");
                    }
                }
                points.Add(new SweepPointEntry(label, pointSpec, set));
            }
        }

        var grid = new List<KeyValuePair<string, IReadOnlyList<string>>>();
        if (Get("grid") is { } gridNode)
        {
            if (gridNode is not YamlMappingNode gm) throw new SweepException($"{Where(gridNode)}: grid must be a mapping of key: [values]");
            foreach (var (k, v) in gm.Children)
            {
                var key = Scalar(k, "grid keys");
                var values = ScalarList(v, $"grid.{key}");
                if (values.Count == 0) throw new SweepException($"{Where(v)}: grid.{key} has no values");
                grid.Add(new(key, values));
            }
        }

        var setAll = Get("set") is { } setNode ? Map(setNode, "set") : [];
        var budget = Get("budget") is { } budgetNode ? Map(budgetNode, "budget") : [];
        foreach (var (k, _) in budget)
            if (k.StartsWith("train.", StringComparison.Ordinal))
                throw new SweepException($"{path}: budget keys are train keys without the 'train.' prefix (write '{k["train.".Length..]}')");

        var seeds = new List<long>();
        if (Get("seeds") is { } seedsNode)
            foreach (var s in ScalarList(seedsNode, "seeds"))
                seeds.Add(long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seed) ? seed : throw new SweepException($"{Where(seedsNode)}: seeds must be integers, got '{s}'"));
        if (seeds.Count == 0) seeds.Add(0);
        if (seeds.Distinct().Count() != seeds.Count) throw new SweepException($"{path}: seeds repeat a value");

        var output = Get("output") is { } outNode ? Scalar(outNode, "output") : System.IO.Path.Combine("runs", "sweeps", name);
        var report = Get("report") is { } reportNode ? Scalar(reportNode, "report") : null;
        var device = Get("device") is { } devNode ? Scalar(devNode, "device") : null;

        if (specs.Count == 0 && (points.Count == 0 || points.Any(p => p.Spec is null)))
            throw new SweepException($"{path}: name the spec(s) to train: 'spec:' / 'specs:', or 'spec:' in every point");

        return new SweepFile(path, name, specs, points, grid, setAll, budget, seeds, output, report, PositiveInt("log_every") ?? 10, PositiveInt("threads"), device);
    }
}
