using System.Text;

namespace ArchDsl.Compiler.Printers;

/// <summary>
/// The snapshot format of a graph: a readable tree that follows the nodes' hierarchical names, one
/// line per node, like timm's <c>print(model)</c>. Deterministic: culture-invariant numbers, attributes
/// and train keys in ordinal order, no addresses, paths or timestamps, '\n' line ends. Source origins
/// are left out (they hold file paths, which differ between machines); the YAML form keeps them.
/// <code>
/// arch ConvMixer
/// input image[1, 28, 28]
/// output head.1
///
/// input             input  -> image[1, 28, 28]
/// stem  [params 640, mult-adds 125,440]
///   stem.0          conv2d(bias=true, groups=1, kernel=2, out=128, padding=0, stride=2)  image[1, 28, 28] -> image[128, 14, 14]  params 640  mult-adds 125,440
/// </code>
/// A node line: indented name (padded so the ops line up), <c>op(attrs)</c>, input shapes → output
/// shape, <c>from a, b</c> when the node does not simply read the node before it (residual adds, skips),
/// then params / buffers / mult-adds when not zero. Group header lines (<c>blocks</c>,
/// <c>blocks.0</c>, <c>blocks.0.token</c>) open where a run of nodes shares a name prefix and carry
/// that run's subtotals.
/// </summary>
public static class GraphPrinter
{
    private const string Indent = "  ";

    public static string ToText(IrGraph graph)
    {
        var sb = new StringBuilder();
        var nodes = graph.Nodes;
        var byId = nodes.ToDictionary(n => n.Id);

        sb.Append("arch ").Append(ValueFormat.Word(graph.Arch)).Append('\n');
        sb.Append("input ").Append(graph.Input).Append('\n');
        sb.Append("output ").Append(NodeRef(graph.Output, byId)).Append('\n');
        sb.Append('\n');

        // Names are padded to one width so that the op column lines up through the whole graph.
        var width = nodes.Count == 0 ? 0 : nodes.Max(n => Depth(n) * Indent.Length + n.Name.Length);

        var open = new List<string>(); // segments of the group path currently open
        for (var i = 0; i < nodes.Count; i++)
        {
            var node = nodes[i];
            var group = GroupOf(node.Name);
            var common = 0;
            while (common < open.Count && common < group.Length && open[common] == group[common]) common++;
            open.RemoveRange(common, open.Count - common);
            for (var depth = common; depth < group.Length; depth++)
            {
                open.Add(group[depth]);
                var prefix = string.Join('.', open);
                // The run of nodes from here on that lies under this prefix.
                var run = nodes.Skip(i).TakeWhile(n => IsUnder(n.Name, prefix)).ToList();
                sb.Append(Repeat(depth)).Append(prefix);
                var totals = Totals(run.Sum(n => n.ParamCount), run.Sum(n => n.BufferCount), run.Sum(n => n.MultAdds));
                if (totals.Length > 0) sb.Append("  [").Append(totals).Append(']');
                sb.Append('\n');
            }

            var head = Repeat(group.Length) + node.Name;
            sb.Append(head.PadRight(width)).Append("  ").Append(OpWithAttrs(node)).Append("  ");
            if (node.InputShapes.Count > 0) sb.Append(string.Join(", ", node.InputShapes)).Append(' ');
            sb.Append("-> ").Append(node.OutputShape);
            var previous = i > 0 ? nodes[i - 1].Id : (int?)null;
            var simpleChain = node.Inputs.Count == 0 || (node.Inputs.Count == 1 && node.Inputs[0] == previous);
            if (!simpleChain) sb.Append("  from ").Append(string.Join(", ", node.Inputs.Select(id => NodeRef(id, byId))));
            if (node.ParamCount != 0) sb.Append("  params ").Append(ValueFormat.Count(node.ParamCount));
            if (node.BufferCount != 0) sb.Append("  buffers ").Append(ValueFormat.Count(node.BufferCount));
            if (node.MultAdds != 0) sb.Append("  mult-adds ").Append(ValueFormat.Count(node.MultAdds));
            sb.Append('\n');
        }

        sb.Append('\n');
        sb.Append("totals\n");
        sb.Append(Indent).Append("params     ").Append(ValueFormat.Count(graph.ParamCount)).Append('\n');
        sb.Append(Indent).Append("buffers    ").Append(ValueFormat.Count(graph.BufferCount)).Append('\n');
        sb.Append(Indent).Append("mult-adds  ").Append(ValueFormat.Count(graph.MultAdds)).Append('\n');

        sb.Append('\n');
        sb.Append("train\n");
        foreach (var (key, value) in graph.Train.Values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            sb.Append(Indent).Append(ValueFormat.Word(key)).Append(": ").Append(ValueFormat.Value(value)).Append('\n');
        return sb.ToString();
    }

    /// <summary><c>conv2d(bias=true, kernel=3)</c>, or the bare op when it has no attributes.</summary>
    public static string OpWithAttrs(IrNode node) =>
        node.Attrs.Count == 0
            ? node.Op
            : $"{node.Op}({string.Join(", ", node.Attrs.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}={ValueFormat.Value(a.Value)}"))})";

    /// <summary>The group path of a node: its name's segments but the last (<c>blocks.0.token.1</c> → blocks, 0, token).</summary>
    internal static string[] GroupOf(string name)
    {
        var parts = name.Split('.');
        return parts[..^1];
    }

    internal static bool IsUnder(string name, string prefix) =>
        name.Length > prefix.Length && name.StartsWith(prefix, StringComparison.Ordinal) && name[prefix.Length] == '.';

    private static int Depth(IrNode n) => GroupOf(n.Name).Length;

    private static string Repeat(int depth) => string.Concat(Enumerable.Repeat(Indent, depth));

    private static string NodeRef(int id, Dictionary<int, IrNode> byId) =>
        byId.TryGetValue(id, out var n) ? n.Name : $"#{id}?";

    private static string Totals(long @params, long buffers, long multAdds)
    {
        var parts = new List<string>();
        if (@params != 0) parts.Add("params " + ValueFormat.Count(@params));
        if (buffers != 0) parts.Add("buffers " + ValueFormat.Count(buffers));
        if (multAdds != 0) parts.Add("mult-adds " + ValueFormat.Count(multAdds));
        return string.Join(", ", parts);
    }
}
