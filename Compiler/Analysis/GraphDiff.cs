using System.Globalization;
using System.Text;
using System.Text.Json;
using ArchDsl.Compiler.Printers;

namespace ArchDsl.Compiler.Analysis;

/// <summary>One field of a node that differs: <c>attrs.kernel</c> 5 → 9. Values are IR values (attrs), shapes, tensor lists or counts; null = absent.</summary>
public sealed record FieldChange(string Field, object? Before, object? After);

/// <summary>A node present in both graphs (matched by name) whose op, attributes, wiring, shapes, tensors or costs differ.</summary>
public sealed record NodeChange(string Name, IrNode Before, IrNode After, IReadOnlyList<FieldChange> Fields);

/// <summary>A graph total before → after: params, buffers, mult-adds, activation bytes, nodes.</summary>
public sealed record TotalChange(string Name, long Before, long After)
{
    public long Delta => After - Before;

    /// <summary>The change relative to <see cref="Before"/> in percent; null when before is 0.</summary>
    public double? Percent => Before == 0 ? null : 100.0 * Delta / Before;
}

/// <summary>A <c>train { }</c> key whose resolved value differs (null = absent on that side).</summary>
public sealed record TrainChange(string Key, object? Before, object? After);

/// <summary>
/// Changes of one kind (added / removed / changed) that read the same, collapsed into one line: the
/// pattern names every node (<c>blocks.{0..7}.token.0</c>), the description is what they share
/// (<c>conv2d kernel 5 → 9, padding 2 → 4</c>). Inside a description, <c>{i}</c>, <c>{i-1}</c> name a
/// node relative to the index the pattern ranges over (block i reads block i-1's output).
/// </summary>
public sealed record DiffGroup(string Kind, string Pattern, IReadOnlyList<string> Nodes, string Summary, IReadOnlyList<string> Details);

/// <summary>
/// The difference between two compiled graphs (not their texts): nodes are matched by their
/// hierarchical names, which the compiler keeps stable across edits (<c>blocks.3.token.0</c> is the
/// first step of block 3's token mixer whatever the kernel, width or norm). Compared per node: op,
/// attributes, inputs (by the names of the nodes read), input and output shapes, parameter and buffer
/// tensors, mult-adds. Node ids and source locations are not compared (they move when unrelated lines
/// of a spec move). Also compared: arch name, input shape, output node, every resolved train key.
/// </summary>
public sealed record GraphDiffResult(
    string BeforeLabel,
    string AfterLabel,
    IrGraph Before,
    IrGraph After,
    IReadOnlyList<IrNode> Added,
    IReadOnlyList<IrNode> Removed,
    IReadOnlyList<NodeChange> Changed,
    IReadOnlyList<TotalChange> Totals,
    IReadOnlyList<TrainChange> Train,
    IReadOnlyList<DiffGroup> Groups)
{
    public bool ArchChanged => Before.Arch != After.Arch;
    public bool InputChanged => !Before.Input.Equals(After.Input);
    public bool OutputChanged => Before.OutputNode.Name != After.OutputNode.Name;

    /// <summary>True when the compiled graphs (and train configs) are the same in every compared respect.</summary>
    public bool IsEmpty => Added.Count == 0 && Removed.Count == 0 && Changed.Count == 0 && Train.Count == 0
                           && !ArchChanged && !InputChanged && !OutputChanged;

    public TotalChange Total(string name) => Totals.Single(t => t.Name == name);

    /// <summary>The terminal form: header, totals before → after with deltas, then collapsed groups of changed / added / removed nodes and train keys.</summary>
    public string ToText() => GraphDiff.RenderText(this);

    /// <summary>Indented JSON ('\n' line ends): labels, totals, every added / removed / changed node in full, the collapsed groups, train changes.</summary>
    public string ToJson() => GraphDiff.RenderJson(this);
}

public static class GraphDiff
{
    public static readonly string[] TotalNames = ["params", "buffers", "mult-adds", "activation-bytes", "nodes"];

    /// <summary>Compares two compiled graphs; the labels name them in the output (a file, a file with overrides).</summary>
    public static GraphDiffResult Compare(IrGraph before, IrGraph after, string beforeLabel = "a", string afterLabel = "b")
    {
        var aById = before.Nodes.ToDictionary(n => n.Id);
        var bById = after.Nodes.ToDictionary(n => n.Id);
        var aByName = before.Nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
        var bByName = after.Nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);

        var removed = before.Nodes.Where(n => !bByName.ContainsKey(n.Name)).ToList();
        var added = after.Nodes.Where(n => !aByName.ContainsKey(n.Name)).ToList();
        var changed = new List<NodeChange>();
        foreach (var b in after.Nodes)
        {
            if (!aByName.TryGetValue(b.Name, out var a)) continue;
            var fields = CompareNodes(a, b, aById, bById);
            if (fields.Count > 0) changed.Add(new NodeChange(b.Name, a, b, fields));
        }

        var totals = new List<TotalChange>
        {
            new("params", before.ParamCount, after.ParamCount),
            new("buffers", before.BufferCount, after.BufferCount),
            new("mult-adds", before.MultAdds, after.MultAdds),
            new("activation-bytes", before.ActivationBytes, after.ActivationBytes),
            new("nodes", before.Nodes.Count, after.Nodes.Count),
        };

        var train = new List<TrainChange>();
        foreach (var key in before.Train.Values.Keys.Union(after.Train.Values.Keys).OrderBy(k => k, StringComparer.Ordinal))
        {
            before.Train.Values.TryGetValue(key, out var x);
            after.Train.Values.TryGetValue(key, out var y);
            if (!IrEquality.ValueEqual(x, y)) train.Add(new TrainChange(key, x, y));
        }

        var groups = Collapse(changed, added, removed, aById, bById, before, after);
        return new GraphDiffResult(beforeLabel, afterLabel, before, after, added, removed, changed, totals, train, groups);
    }

    // ---- node comparison ---------------------------------------------------------------------------

    private static List<FieldChange> CompareNodes(IrNode a, IrNode b, Dictionary<int, IrNode> aById, Dictionary<int, IrNode> bById)
    {
        var fields = new List<FieldChange>();
        if (a.Op != b.Op) fields.Add(new FieldChange("op", a.Op, b.Op));
        foreach (var key in a.Attrs.Keys.Union(b.Attrs.Keys).OrderBy(k => k, StringComparer.Ordinal))
        {
            a.Attrs.TryGetValue(key, out var x);
            b.Attrs.TryGetValue(key, out var y);
            if (!IrEquality.ValueEqual(x, y)) fields.Add(new FieldChange("attrs." + key, x, y));
        }
        var ia = a.Inputs.Select(id => NameOf(id, aById)).ToList();
        var ib = b.Inputs.Select(id => NameOf(id, bById)).ToList();
        if (!ia.SequenceEqual(ib, StringComparer.Ordinal)) fields.Add(new FieldChange("inputs", ia, ib));
        if (!a.InputShapes.SequenceEqual(b.InputShapes)) fields.Add(new FieldChange("input_shapes", a.InputShapes, b.InputShapes));
        if (!a.OutputShape.Equals(b.OutputShape)) fields.Add(new FieldChange("output_shape", a.OutputShape, b.OutputShape));
        CompareTensors("params", a.Params, b.Params, fields);
        CompareTensors("buffers", a.Buffers, b.Buffers, fields);
        if (a.MultAdds != b.MultAdds) fields.Add(new FieldChange("mult_adds", a.MultAdds, b.MultAdds));
        return fields;
    }

    private static void CompareTensors(string kind, IReadOnlyList<TensorSpec> a, IReadOnlyList<TensorSpec> b, List<FieldChange> fields)
    {
        var names = a.Select(t => t.Name).Concat(b.Select(t => t.Name)).Distinct(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var x = a.FirstOrDefault(t => t.Name == name);
            var y = b.FirstOrDefault(t => t.Name == name);
            if (x is null || y is null || !x.Equals(y)) fields.Add(new FieldChange($"{kind}.{name}", x?.Shape, y?.Shape));
        }
    }

    private static string NameOf(int id, Dictionary<int, IrNode> byId) => byId.TryGetValue(id, out var n) ? n.Name : $"#{id}";

    // ---- descriptions ------------------------------------------------------------------------------

    private const string Arrow = " → ";

    /// <summary>Summary line and detail lines of a changed node; node names it reads go through <paramref name="rel"/>.</summary>
    private static (string Summary, List<string> Details) DescribeChange(NodeChange c, Func<string, string> rel)
    {
        var a = c.Before;
        var b = c.After;
        var head = new StringBuilder();
        var byField = c.Fields.ToDictionary(f => f.Field);
        if (byField.ContainsKey("op"))
            head.Append(GraphPrinter.OpWithAttrs(a)).Append(Arrow).Append(GraphPrinter.OpWithAttrs(b));
        else
        {
            head.Append(b.Op);
            var attrs = c.Fields.Where(f => f.Field.StartsWith("attrs.", StringComparison.Ordinal))
                .Select(f => $"{f.Field["attrs.".Length..]} {Show(f.Before)}{Arrow}{Show(f.After)}").ToList();
            if (attrs.Count > 0) head.Append(' ').Append(string.Join(", ", attrs));
        }

        var details = new List<string>();
        if (byField.TryGetValue("inputs", out var inputs))
            details.Add($"from {string.Join(", ", ((List<string>)inputs.Before!).Select(rel))}{Arrow}{string.Join(", ", ((List<string>)inputs.After!).Select(rel))}");
        var inChanged = byField.ContainsKey("input_shapes");
        var outChanged = byField.ContainsKey("output_shape");
        if (inChanged && outChanged && a.InputShapes.All(s => s.Equals(a.OutputShape)) && b.InputShapes.All(s => s.Equals(b.OutputShape)))
            details.Add($"shape {a.OutputShape}{Arrow}{b.OutputShape}"); // shape-preserving ops (activations, norms, adds)
        else
        {
            if (inChanged) details.Add($"in {string.Join(", ", a.InputShapes)}{Arrow}{string.Join(", ", b.InputShapes)}");
            if (outChanged) details.Add($"out {a.OutputShape}{Arrow}{b.OutputShape}");
        }
        AddTensorDetail("params", a.ParamCount, b.ParamCount, c.Fields, details);
        AddTensorDetail("buffers", a.BufferCount, b.BufferCount, c.Fields, details);
        if (byField.ContainsKey("mult_adds"))
            details.Add($"mult-adds {ValueFormat.Count(a.MultAdds)}{Arrow}{ValueFormat.Count(b.MultAdds)} ({Signed(b.MultAdds - a.MultAdds)})");
        if (head.ToString() == b.Op && details.Count > 0)
        {
            // Nothing about the op itself changed: lead with the first detail on the same line.
            head.Append(' ').Append(details[0]);
            details.RemoveAt(0);
        }
        return (head.ToString(), details);
    }

    private static void AddTensorDetail(string kind, long before, long after, IReadOnlyList<FieldChange> fields, List<string> details)
    {
        var tensors = fields.Where(f => f.Field.StartsWith(kind + ".", StringComparison.Ordinal)).Select(f =>
        {
            var name = f.Field[(kind.Length + 1)..];
            return f.Before is null ? $"+{name}{Dims(f.After)}"
                : f.After is null ? $"-{name}{Dims(f.Before)}"
                : $"{name} {Dims(f.Before)}{Arrow}{Dims(f.After)}";
        }).ToList();
        if (tensors.Count == 0 && before == after) return;
        var line = $"{kind} {ValueFormat.Count(before)}{Arrow}{ValueFormat.Count(after)}";
        if (before != after) line += $" ({Signed(after - before)})";
        if (tensors.Count > 0) line += ": " + string.Join(", ", tensors);
        details.Add(line);
    }

    private static (string Summary, List<string> Details) DescribeNode(IrNode n, Dictionary<int, IrNode> byId, Func<string, string> rel)
    {
        var sb = new StringBuilder(GraphPrinter.OpWithAttrs(n)).Append("  ");
        if (n.InputShapes.Count > 0) sb.Append(string.Join(", ", n.InputShapes)).Append(' ');
        sb.Append("-> ").Append(n.OutputShape);
        if (n.Inputs.Count > 0) sb.Append("  from ").Append(string.Join(", ", n.Inputs.Select(id => rel(NameOf(id, byId)))));
        if (n.ParamCount != 0) sb.Append("  params ").Append(ValueFormat.Count(n.ParamCount));
        if (n.BufferCount != 0) sb.Append("  buffers ").Append(ValueFormat.Count(n.BufferCount));
        if (n.MultAdds != 0) sb.Append("  mult-adds ").Append(ValueFormat.Count(n.MultAdds));
        return (sb.ToString(), []);
    }

    private static string Show(object? v) => v is null ? "(none)" : ValueFormat.Value(v);

    private static string Dims(object? shape) => shape is IEnumerable<long> dims ? "[" + string.Join(", ", dims) + "]" : "(none)";

    private static string Signed(long n) => (n > 0 ? "+" : n < 0 ? "-" : "±") + ValueFormat.Count(Math.Abs(n));

    // ---- collapsing repeated changes --------------------------------------------------------------

    /// <summary>A line in the making: name segments (a string, or a set of indices), and how to describe it.</summary>
    private sealed class Item
    {
        public required string Kind;
        public required List<object> Segs; // string | SortedSet<int>
        public required List<string> Nodes;
        public required int Order;
        public required Func<Func<string, string>, (string Summary, List<string> Details)> Describe;
        public (string Summary, List<string> Details)? Fixed; // set once merged
        public int Tag = -1; // the position the description is relative to, or -1

        public (string Summary, List<string> Details, int Tag) At(int p)
        {
            if (Fixed is { } f) return (f.Summary, f.Details, Tag);
            var plain = Describe(s => s);
            if (Segs[p] is not SortedSet<int> { Count: 1 } set) return (plain.Summary, plain.Details, -1);
            var k = set.Min;
            var prefix = Segs.Take(p).Select(SegText).ToList();
            string Rel(string name)
            {
                var parts = name.Split('.');
                if (parts.Length <= p || !parts.Take(p).SequenceEqual(prefix, StringComparer.Ordinal) || !TryIndex(parts[p], out var m)) return name;
                parts[p] = m == k ? "{i}" : m < k ? $"{{i-{k - m}}}" : $"{{i+{m - k}}}";
                return string.Join('.', parts);
            }
            var rel = Describe(Rel);
            var same = rel.Summary == plain.Summary && rel.Details.SequenceEqual(plain.Details);
            return same ? (plain.Summary, plain.Details, -1) : (rel.Summary, rel.Details, p);
        }
    }

    private static bool TryIndex(string s, out int i)
    {
        i = 0;
        return s.Length is > 0 and < 10 && s.All(char.IsAsciiDigit) && (s.Length == 1 || s[0] != '0') && int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out i);
    }

    private static string SegText(object seg) => seg switch
    {
        string s => s,
        SortedSet<int> { Count: 1 } one => one.Min.ToString(CultureInfo.InvariantCulture),
        SortedSet<int> set => "{" + Ranges(set) + "}",
        _ => seg.ToString()!,
    };

    /// <summary><c>0..7</c>, <c>0,2</c>, <c>0..3,5,7..9</c>.</summary>
    private static string Ranges(SortedSet<int> set)
    {
        var parts = new List<string>();
        var list = set.ToList();
        for (var i = 0; i < list.Count;)
        {
            var j = i;
            while (j + 1 < list.Count && list[j + 1] == list[j] + 1) j++;
            parts.Add(j - i >= 2 ? $"{list[i]}..{list[j]}" : j == i ? $"{list[i]}" : $"{list[i]},{list[j]}");
            i = j + 1;
        }
        return string.Join(",", parts);
    }

    private static List<object> Segments(string name) =>
        name.Split('.').Select(s => TryIndex(s, out var i) ? (object)new SortedSet<int> { i } : s).ToList();

    private static List<DiffGroup> Collapse(
        IReadOnlyList<NodeChange> changed, IReadOnlyList<IrNode> added, IReadOnlyList<IrNode> removed,
        Dictionary<int, IrNode> aById, Dictionary<int, IrNode> bById, IrGraph before, IrGraph after)
    {
        var bOrder = after.Nodes.Select((n, i) => (n.Name, i)).ToDictionary(t => t.Name, t => t.i, StringComparer.Ordinal);
        var aOrder = before.Nodes.Select((n, i) => (n.Name, i)).ToDictionary(t => t.Name, t => t.i, StringComparer.Ordinal);
        var items = new List<Item>();
        foreach (var c in changed)
            items.Add(new Item { Kind = "changed", Segs = Segments(c.Name), Nodes = [c.Name], Order = bOrder[c.Name], Describe = rel => DescribeChange(c, rel) });
        foreach (var n in added)
            items.Add(new Item { Kind = "added", Segs = Segments(n.Name), Nodes = [n.Name], Order = bOrder[n.Name], Describe = rel => DescribeNode(n, bById, rel) });
        foreach (var n in removed)
            items.Add(new Item { Kind = "removed", Segs = Segments(n.Name), Nodes = [n.Name], Order = aOrder[n.Name], Describe = rel => DescribeNode(n, aById, rel) });

        // Merge, outermost index first, until nothing merges: items of a kind whose names differ only in
        // one index segment and whose descriptions (relative to that index) read the same become one.
        for (var merged = true; merged;)
        {
            merged = false;
            var maxLen = items.Count == 0 ? 0 : items.Max(i => i.Segs.Count);
            for (var p = 0; p < maxLen; p++)
            {
                var keyed = items.Where(i => i.Segs.Count > p && i.Segs[p] is SortedSet<int>)
                    .Select(i => (Item: i, D: i.At(p)))
                    .GroupBy(t => string.Join("\u0001",
                        new[] { t.Item.Kind, t.Item.Segs.Count.ToString(CultureInfo.InvariantCulture), t.D.Tag.ToString(CultureInfo.InvariantCulture), t.D.Summary }
                            .Concat(t.D.Details)
                            .Append("\u0002")
                            .Concat(t.Item.Segs.Select((s, idx) => idx == p ? "*" : SegText(s)))))
                    .Where(g => g.Count() > 1)
                    .ToList();
                foreach (var g in keyed)
                {
                    var members = g.OrderBy(t => t.Item.Order).ToList();
                    var first = members[0];
                    var set = new SortedSet<int>(members.SelectMany(t => (SortedSet<int>)t.Item.Segs[p]));
                    var segs = first.Item.Segs.ToList();
                    segs[p] = set;
                    var combined = new Item
                    {
                        Kind = first.Item.Kind,
                        Segs = segs,
                        Nodes = members.SelectMany(t => t.Item.Nodes).ToList(),
                        Order = first.Item.Order,
                        Describe = first.Item.Describe,
                        Fixed = (first.D.Summary, first.D.Details),
                        Tag = first.D.Tag,
                    };
                    foreach (var t in members) items.Remove(t.Item);
                    items.Add(combined);
                    merged = true;
                }
            }
        }

        var kindOrder = new Dictionary<string, int> { ["changed"] = 0, ["added"] = 1, ["removed"] = 2 };
        return items.OrderBy(i => kindOrder[i.Kind]).ThenBy(i => i.Order).Select(i =>
        {
            var d = i.Fixed ?? i.Describe(s => s);
            var nodes = i.Kind == "removed" ? i.Nodes.OrderBy(n => aOrder[n]).ToList() : i.Nodes.OrderBy(n => bOrder[n]).ToList();
            return new DiffGroup(i.Kind, string.Join('.', i.Segs.Select(SegText)), nodes, d.Summary, d.Details);
        }).ToList();
    }

    // ---- text ----------------------------------------------------------------------------------------

    internal static string RenderText(GraphDiffResult r)
    {
        var sb = new StringBuilder();
        sb.Append("--- ").Append(r.BeforeLabel).Append('\n');
        sb.Append("+++ ").Append(r.AfterLabel).Append('\n');
        if (r.ArchChanged) sb.Append("arch ").Append(r.Before.Arch).Append(Arrow).Append(r.After.Arch).Append('\n');
        if (r.InputChanged) sb.Append("input ").Append(r.Before.Input).Append(Arrow).Append(r.After.Input).Append('\n');
        if (r.OutputChanged) sb.Append("output ").Append(r.Before.OutputNode.Name).Append(Arrow).Append(r.After.OutputNode.Name).Append('\n');
        if (r.IsEmpty)
        {
            sb.Append("no differences: the compiled graphs and train settings are identical\n");
            sb.Append("params ").Append(ValueFormat.Count(r.After.ParamCount))
              .Append(", mult-adds ").Append(ValueFormat.Count(r.After.MultAdds)).Append('\n');
            return sb.ToString();
        }

        sb.Append('\n');
        string[] header = ["", "before", "after", "delta", ""];
        var rows = r.Totals.Select(t => new[]
        {
            t.Name, ValueFormat.Count(t.Before), ValueFormat.Count(t.After), Signed(t.Delta), PercentText(t),
        }).ToList();
        var widths = Enumerable.Range(0, header.Length).Select(c => rows.Select(x => x[c].Length).Append(header[c].Length).Max()).ToArray();
        string Row(string[] cells) => string.Join("  ", cells.Select((s, c) => c == 0 ? s.PadRight(widths[c]) : c == 4 ? s : s.PadLeft(widths[c]))).TrimEnd();
        sb.Append(Row(header)).Append('\n');
        foreach (var row in rows) sb.Append(Row(row)).Append('\n');

        foreach (var kind in new[] { "changed", "added", "removed" })
        {
            var groups = r.Groups.Where(g => g.Kind == kind).ToList();
            if (groups.Count == 0) continue;
            var count = groups.Sum(g => g.Nodes.Count);
            sb.Append('\n').Append(kind).Append(": ").Append(count).Append(count == 1 ? " node" : " nodes");
            if (groups.Count != count) sb.Append(", ").Append(groups.Count).Append(groups.Count == 1 ? " line" : " lines");
            sb.Append('\n');
            var sign = kind switch { "added" => "+ ", "removed" => "- ", _ => "~ " };
            foreach (var g in groups)
            {
                sb.Append("  ").Append(sign).Append(g.Pattern).Append(": ").Append(g.Summary);
                if (g.Nodes.Count > 1) sb.Append("   (×").Append(g.Nodes.Count).Append(g.Details.Count > 0 || kind != "changed" ? ", each)" : ")");
                sb.Append('\n');
                foreach (var d in g.Details) sb.Append("      ").Append(d).Append('\n');
            }
        }

        if (r.Train.Count > 0)
        {
            sb.Append("\ntrain: ").Append(r.Train.Count).Append(r.Train.Count == 1 ? " key\n" : " keys\n");
            foreach (var t in r.Train)
                sb.Append("  ~ ").Append(t.Key).Append(": ").Append(Show(t.Before)).Append(Arrow).Append(Show(t.After)).Append('\n');
        }
        return sb.ToString();
    }

    private static string PercentText(TotalChange t) =>
        t.Delta == 0 ? "" : t.Percent is { } p ? "(" + (p >= 0 ? "+" : "") + p.ToString("0.0", CultureInfo.InvariantCulture) + "%)" : "(new)";

    // ---- JSON ----------------------------------------------------------------------------------------

    internal static string RenderJson(GraphDiffResult r)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, NewLine = "\n" }))
        {
            w.WriteStartObject();
            w.WriteString("before", r.BeforeLabel);
            w.WriteString("after", r.AfterLabel);
            w.WriteBoolean("identical", r.IsEmpty);
            w.WriteStartObject("arch");
            w.WriteString("before", r.Before.Arch);
            w.WriteString("after", r.After.Arch);
            w.WriteEndObject();
            w.WriteStartObject("input");
            w.WriteString("before", r.Before.Input.ToString());
            w.WriteString("after", r.After.Input.ToString());
            w.WriteEndObject();
            w.WriteStartObject("output");
            w.WriteString("before", r.Before.OutputNode.Name);
            w.WriteString("after", r.After.OutputNode.Name);
            w.WriteEndObject();

            w.WriteStartObject("totals");
            foreach (var t in r.Totals)
            {
                w.WriteStartObject(t.Name.Replace('-', '_'));
                w.WriteNumber("before", t.Before);
                w.WriteNumber("after", t.After);
                w.WriteNumber("delta", t.Delta);
                if (t.Percent is { } p) w.WriteNumber("percent", Math.Round(p, 4));
                else w.WriteNull("percent");
                w.WriteEndObject();
            }
            w.WriteEndObject();

            w.WriteStartArray("added");
            foreach (var n in r.Added) WriteNode(w, n, r.After);
            w.WriteEndArray();
            w.WriteStartArray("removed");
            foreach (var n in r.Removed) WriteNode(w, n, r.Before);
            w.WriteEndArray();
            w.WriteStartArray("changed");
            foreach (var c in r.Changed)
            {
                w.WriteStartObject();
                w.WriteString("name", c.Name);
                w.WriteStartArray("fields");
                foreach (var f in c.Fields)
                {
                    w.WriteStartObject();
                    w.WriteString("field", f.Field);
                    w.WritePropertyName("before");
                    WriteValue(w, f.Before);
                    w.WritePropertyName("after");
                    WriteValue(w, f.After);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartArray("groups");
            foreach (var g in r.Groups)
            {
                w.WriteStartObject();
                w.WriteString("kind", g.Kind);
                w.WriteString("pattern", g.Pattern);
                w.WriteString("summary", g.Summary);
                w.WriteStartArray("details");
                foreach (var d in g.Details) w.WriteStringValue(d);
                w.WriteEndArray();
                w.WriteStartArray("nodes");
                foreach (var n in g.Nodes) w.WriteStringValue(n);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartArray("train");
            foreach (var t in r.Train)
            {
                w.WriteStartObject();
                w.WriteString("key", t.Key);
                w.WritePropertyName("before");
                WriteValue(w, t.Before);
                w.WritePropertyName("after");
                WriteValue(w, t.After);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static void WriteNode(Utf8JsonWriter w, IrNode n, IrGraph g)
    {
        var byId = g.Nodes.ToDictionary(x => x.Id);
        w.WriteStartObject();
        w.WriteString("name", n.Name);
        w.WriteString("op", n.Op);
        w.WriteStartObject("attrs");
        foreach (var (k, v) in n.Attrs.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            w.WritePropertyName(k);
            WriteValue(w, v);
        }
        w.WriteEndObject();
        w.WriteStartArray("inputs");
        foreach (var id in n.Inputs) w.WriteStringValue(NameOf(id, byId));
        w.WriteEndArray();
        w.WriteStartArray("input_shapes");
        foreach (var s in n.InputShapes) w.WriteStringValue(s.ToString());
        w.WriteEndArray();
        w.WriteString("output_shape", n.OutputShape.ToString());
        w.WriteNumber("params", n.ParamCount);
        w.WriteNumber("buffers", n.BufferCount);
        w.WriteNumber("mult_adds", n.MultAdds);
        w.WriteEndObject();
    }

    /// <summary>IR values as JSON: numbers, booleans, strings; shapes and calls as their text; tensor shapes and name lists as arrays.</summary>
    private static void WriteValue(Utf8JsonWriter w, object? v)
    {
        switch (v)
        {
            case null: w.WriteNullValue(); break;
            case long l: w.WriteNumberValue(l); break;
            case double d when double.IsFinite(d): w.WriteNumberValue(d); break;
            case bool b: w.WriteBooleanValue(b); break;
            case string s: w.WriteStringValue(s); break;
            case Shape s: w.WriteStringValue(s.ToString()); break;
            case IEnumerable<long> dims:
                w.WriteStartArray();
                foreach (var x in dims) w.WriteNumberValue(x);
                w.WriteEndArray();
                break;
            case IEnumerable<string> names:
                w.WriteStartArray();
                foreach (var x in names) w.WriteStringValue(x);
                w.WriteEndArray();
                break;
            case IEnumerable<Shape> shapes:
                w.WriteStartArray();
                foreach (var x in shapes) w.WriteStringValue(x.ToString());
                w.WriteEndArray();
                break;
            default: w.WriteStringValue(ValueFormat.Value(v)); break;
        }
    }
}
