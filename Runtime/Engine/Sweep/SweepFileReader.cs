using System.Globalization;
using ArchDsl.Compiler;
using ArchDsl.Dsl;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ArchDsl.Runtime.Sweep;

/// <summary>
/// Reads a sweep file's YAML into a <see cref="SweepFile"/> (the schema is there), reporting every error it finds into
/// the bag at the node it is about, and going on past each so that one run shows them all.
/// </summary>
internal sealed class SweepFileReader(SourceText source, DiagnosticBag bag)
{
    private static readonly string[] PointKeys = ["label", "spec", "set"];
    private string PathText => source.Path;
    private readonly Dictionary<string, Span> _specSpans = new(StringComparer.Ordinal);

    private Span At(YamlNode n)
    {
        int start = (int)Math.Clamp(n.Start.Index, 0, source.Text.Length);
        int end = (int)Math.Clamp(n.End.Index, start, source.Text.Length);
        return new Span(source, start, Math.Max(1, Math.Min(end - start, source.Text.Length - start)));
    }

    private void Report(DiagnosticDescriptor d, YamlNode? n, string? hint, params object?[] args) =>
        bag.Report(d, n is null ? new Span(source, 0, Math.Min(1, source.Text.Length)) : At(n), hint, args);

    public SweepFile? Read()
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(source.Text)); }
        catch (YamlException e)
        {
            int offset = (int)Math.Clamp(e.Start.Index, 0, source.Text.Length);
            bag.Report(CompilerDiagnostics.SweepNotYaml, new Span(source, offset, Math.Min(1, source.Text.Length - offset)), null, $"not valid YAML: {e.Message}");
            return null;
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root)
        {
            Report(CompilerDiagnostics.SweepNotYaml, stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode,
                "spec:, grid: or points:, seeds:, budget:, …", "a sweep file is a YAML mapping of keys");
            return null;
        }
        foreach (var key in root.Children.Keys)
            if (key is not YamlScalarNode { Value: { } k } || !SweepFile.Keys.Contains(k))
                Unknown(key, "a sweep file", SweepFile.Keys);

        YamlNode? Get(string key) => root.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

        var name = Get("name") is { } nameNode ? Scalar(nameNode, "name") ?? "" : System.IO.Path.GetFileNameWithoutExtension(PathText);
        var specs = new List<string>();
        if (Get("spec") is { } spec) specs.AddRange(SpecList(spec, "spec"));
        if (Get("specs") is { } specsNode) specs.AddRange(SpecList(specsNode, "specs"));
        var points = Get("points") is { } pointsNode ? Points(pointsNode) : [];
        var grid = Get("grid") is { } gridNode ? Grid(gridNode) : [];
        var setAll = Get("set") is { } setNode ? Map(setNode, "set") : [];
        var budgetNode = Get("budget");
        var budget = budgetNode is not null ? Map(budgetNode, "budget") : [];
        if (budgetNode is YamlMappingNode bm)
            foreach (var k in bm.Children.Keys.OfType<YamlScalarNode>())
                if (k.Value?.StartsWith("train.", StringComparison.Ordinal) == true)
                    Report(CompilerDiagnostics.SweepBadValue, k, $"write '{k.Value["train.".Length..]}'", "budget keys", "train keys without the 'train.' prefix", k.Value);
        var seeds = Get("seeds") is { } seedsNode ? Seeds(seedsNode) : [0L];
        var output = Get("output") is { } outNode ? Scalar(outNode, "output") ?? "" : System.IO.Path.Combine("runs", "sweeps", name);
        var report = Get("report") is { } reportNode ? Scalar(reportNode, "report") : null;
        var device = Get("device") is { } devNode ? Scalar(devNode, "device") : null;
        var logEvery = PositiveInt(Get("log_every"), "log_every") ?? 10;
        var threads = PositiveInt(Get("threads"), "threads");
        if (specs.Count == 0 && (points.Count == 0 || points.Any(p => p.Spec is null)))
            Report(CompilerDiagnostics.SweepNoSpec, null, "name it with 'spec:' or 'specs:', or with 'spec:' in every point");
        return new SweepFile(PathText, name, specs, points, grid, setAll, budget, seeds, output, report, logEvery, threads, device) { SpecSpans = _specSpans };
    }

    private void Unknown(YamlNode key, string where, IReadOnlyList<string> known)
    {
        var word = (key as YamlScalarNode)?.Value ?? key.ToString();
        var hint = Suggestions.Closest(word, known) is { } c ? $"did you mean '{c}'?" : $"{where} has {string.Join(", ", known)}";
        Report(CompilerDiagnostics.SweepUnknownKey, key, hint, word, where);
    }

    private string? Scalar(YamlNode n, string what)
    {
        if (n is YamlScalarNode { Value: { } s }) return s;
        Report(CompilerDiagnostics.SweepValueShape, n, null, what, "a single value");
        return null;
    }

    /// <summary>Spec paths (a value or a list of values), each remembered where it is written (<see cref="SweepFile.SpecSpans"/>).</summary>
    private List<string> SpecList(YamlNode n, string what)
    {
        if (n is YamlMappingNode)
        {
            Report(CompilerDiagnostics.SweepValueShape, n, null, what, "a value or a list of values");
            return [];
        }
        var specs = new List<string>();
        foreach (var node in n is YamlSequenceNode seq ? seq.Children : [n])
            if (Spec(node, n is YamlSequenceNode ? what + " entries" : what) is { } s) specs.Add(s);
        return specs;
    }

    /// <summary>One spec path, remembered where it is written.</summary>
    private string? Spec(YamlNode n, string what)
    {
        if (Scalar(n, what) is not { } s) return null;
        _specSpans.TryAdd(s, At(n));
        return s;
    }

    /// <summary>A mapping of overrides (<c>set:</c>, <c>budget:</c>), each located where the file writes it.</summary>
    private List<Override> Map(YamlNode n, string what)
    {
        if (n is not YamlMappingNode m)
        {
            Report(CompilerDiagnostics.SweepValueShape, n, $"{what}: {{ key: value }}", what, "a mapping of key: value");
            return [];
        }
        var pairs = new List<Override>();
        foreach (var (k, v) in m.Children)
            if (Scalar(k, what + " keys") is { } key && Scalar(v, $"{what}.{key}") is { } value) pairs.Add(Written(key, k, v, value));
        return pairs;
    }

    /// <summary>The override <c>key=value</c> as the file writes it: its diagnostics point at <paramref name="keyNode"/> and into <paramref name="valueNode"/>.</summary>
    private Override Written(string key, YamlNode keyNode, YamlNode valueNode, string value)
    {
        var quoted = valueNode is YamlScalarNode { Style: ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted };
        var valueStart = (int)Math.Clamp(valueNode.Start.Index + (quoted ? 1 : 0), 0, source.Text.Length);
        return Override.Written(key, value, At(keyNode), valueStart);
    }

    private List<SweepPointEntry> Points(YamlNode n)
    {
        if (n is not YamlSequenceNode seq)
        {
            Report(CompilerDiagnostics.SweepValueShape, n, null, "points", "a list");
            return [];
        }
        var points = new List<SweepPointEntry>();
        foreach (var item in seq.Children)
        {
            if (item is not YamlMappingNode m)
            {
                Report(CompilerDiagnostics.SweepValueShape, item, null, "a point", "a mapping (label:, spec:, set:)");
                continue;
            }
            string? label = null, spec = null;
            var set = new List<Override>();
            foreach (var (k, v) in m.Children)
                switch (Scalar(k, "point keys"))
                {
                    case "label": label = Scalar(v, "label"); break;
                    case "spec": spec = Spec(v, "spec"); break;
                    case "set": set.AddRange(Map(v, "set")); break;
                    case null: break;
                    default: Unknown(k, "a point", PointKeys); break;
                }
            points.Add(new SweepPointEntry(label, spec, set));
        }
        return points;
    }

    private List<KeyValuePair<string, IReadOnlyList<Override>>> Grid(YamlNode n)
    {
        if (n is not YamlMappingNode gm)
        {
            Report(CompilerDiagnostics.SweepValueShape, n, "grid: { kernel: [3, 9] }", "grid", "a mapping of key: [values]");
            return [];
        }
        var grid = new List<KeyValuePair<string, IReadOnlyList<Override>>>();
        foreach (var (k, v) in gm.Children)
        {
            if (Scalar(k, "grid keys") is not { } key) continue;
            var values = new List<Override>();
            if (v is YamlMappingNode) Report(CompilerDiagnostics.SweepValueShape, v, null, $"grid.{key}", "a value or a list of values");
            else if (v is YamlScalarNode) values.AddRange(Scalar(v, $"grid.{key}") is { } one ? [Written(key, k, v, one)] : []);
            else foreach (var node in ((YamlSequenceNode)v).Children)
                if (Scalar(node, $"grid.{key} entries") is { } value) values.Add(Written(key, k, node, value));
            if (values.Count == 0 && v is YamlSequenceNode { Children.Count: 0 }) Report(CompilerDiagnostics.SweepBadValue, v, null, $"grid.{key}", "a list of one value or more", "[]");
            if (values.Count > 0) grid.Add(new(key, values));
        }
        return grid;
    }

    private List<long> Seeds(YamlNode n)
    {
        var seeds = new List<long>();
        var nodes = n is YamlSequenceNode seq ? seq.Children.ToList() : [n];
        var seen = new HashSet<long>();
        foreach (var node in nodes)
        {
            if (Scalar(node, "seeds entries") is not { } s) continue;
            if (!long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seed))
                Report(CompilerDiagnostics.SweepBadValue, node, null, "seeds", "integers", s);
            else if (!seen.Add(seed))
                Report(CompilerDiagnostics.SweepBadValue, node, "each seed is one run; give it once", "seeds", "different from each other", s);
            else seeds.Add(seed);
        }
        return seeds.Count == 0 ? [0] : seeds;
    }

    private int? PositiveInt(YamlNode? n, string key)
    {
        if (n is null || Scalar(n, key) is not { } s) return null;
        if (int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v >= 1) return v;
        Report(CompilerDiagnostics.SweepBadValue, n, null, key, "a positive integer", s);
        return null;
    }
}
