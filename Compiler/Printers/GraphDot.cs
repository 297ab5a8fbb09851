using System.Text;

namespace ArchDsl.Compiler.Printers;

/// <summary>
/// The graph for Graphviz: one box per node labelled name / op / output shape, an edge per input,
/// nested <c>subgraph cluster_…</c> per name prefix (<c>cluster_stem</c>, <c>cluster_blocks</c> ⊃
/// <c>cluster_blocks_0</c> ⊃ <c>cluster_blocks_0_token</c>), and skip edges — an input that is not the
/// node just before, as a residual add's shortcut — drawn dashed and coloured. Every identifier is a
/// quoted string, so names with dots or any other character are safe. Each node's label is its name, its op with
/// its attributes (<see cref="GraphPrinter.OpWithAttrs"/>: a 9×9 depthwise conv reads <c>kernel=9, groups=256</c>, a
/// pointwise one <c>kernel=1, groups=1</c>) and its output shape. With <c>collapse</c> (the default), a run of identical
/// blocks (<see cref="Analysis.RepeatedBlocks"/>) is drawn once: its first copy, in a cluster labelled
/// <c>blocks.{0..11} ×12</c>; reads of a later copy are drawn from the first's node of the same place.
/// </summary>
public static class GraphDot
{
    private const string SkipColor = "#d62728";

    public static string ToDot(IrGraph graph, bool collapse = true)
    {
        var runs = collapse ? Analysis.RepeatedBlocks.Find(graph) : [];
        var shown = Representatives(graph, runs);
        var patterns = runs.ToDictionary(r => r.First, r => $"{r.Pattern} ×{r.Count}", StringComparer.Ordinal);
        var sb = new StringBuilder();
        sb.Append("digraph ").Append(Q(graph.Arch)).Append(" {\n");
        sb.Append("  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=11, label=")
          .Append(Q($"{graph.Arch}  input {graph.Input}  params {ValueFormat.Count(graph.ParamCount)}"))
          .Append(", labelloc=t];\n");
        sb.Append("  node [shape=box, style=\"rounded,filled\", fillcolor=\"#f7f7f7\", fontname=\"Helvetica\", fontsize=10];\n");
        sb.Append("  edge [fontname=\"Helvetica\", fontsize=9];\n");

        // The tree of name prefixes: each node sits in the cluster of its full group path.
        var root = new Group("", "");
        foreach (var node in graph.Nodes.Where(n => shown[n.Name] == n.Name))
        {
            var g = root;
            var path = GraphPrinter.GroupOf(node.Name);
            for (var i = 0; i < path.Length; i++)
            {
                var prefix = string.Join('.', path[..(i + 1)]);
                if (!g.Children.TryGetValue(path[i], out var child))
                {
                    child = new Group(prefix, path[i]);
                    g.Children.Add(path[i], child);
                    g.Order.Add(child);
                }
                g = child;
            }
            g.Nodes.Add(node);
        }
        var clusterIds = new HashSet<string>(StringComparer.Ordinal);
        EmitGroup(sb, root, graph.OutputNode.Id, 1, clusterIds, patterns);

        var byId = graph.Nodes.ToDictionary(n => n.Id);
        var drawn = new HashSet<(string, string)>();
        for (var i = 0; i < graph.Nodes.Count; i++)
        {
            var node = graph.Nodes[i];
            if (shown[node.Name] != node.Name) continue; // a later copy of a repeated block
            var previous = i > 0 ? shown[graph.Nodes[i - 1].Name] : null;
            foreach (var input in node.Inputs)
            {
                var from = byId.TryGetValue(input, out var src) ? shown[src.Name] : $"#{input}";
                if (!drawn.Add((from, node.Name))) continue;
                sb.Append("  ").Append(Q(from)).Append(" -> ").Append(Q(node.Name));
                if (from != previous)
                    sb.Append(" [style=dashed, color=").Append(Q(SkipColor)).Append(", penwidth=1.5")
                      .Append(node.Op == OpCatalog.AddOp ? ", label=\"residual\", fontcolor=" + Q(SkipColor) : "").Append(']');
                sb.Append(";\n");
            }
        }
        sb.Append("}\n");
        return sb.ToString();
    }

    /// <summary>Each node's name → the node drawn for it: itself, or for a node of a later copy in <paramref name="runs"/> its place in the first copy.</summary>
    private static Dictionary<string, string> Representatives(IrGraph graph, IReadOnlyList<Analysis.RepeatedBlocks.Run> runs)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var node in graph.Nodes)
        {
            var name = node.Name;
            for (var changed = true; changed;)
            {
                changed = false;
                foreach (var run in runs)
                    foreach (var index in run.Indices.Skip(1))
                    {
                        var member = run.Member(index);
                        if (!GraphPrinter.IsUnder(name, member)) continue;
                        name = run.First + name[member.Length..];
                        changed = true;
                    }
            }
            map[node.Name] = name;
        }
        return map;
    }

    private sealed record Group(string Prefix, string Segment)
    {
        public Dictionary<string, Group> Children { get; } = new(StringComparer.Ordinal);
        public List<Group> Order { get; } = new();
        public List<IrNode> Nodes { get; } = new();
    }

    private static void EmitGroup(StringBuilder sb, Group g, int outputId, int depth, HashSet<string> clusterIds, Dictionary<string, string> patterns)
    {
        var pad = new string(' ', depth * 2);
        foreach (var node in g.Nodes)
        {
            var label = $"{node.Name}\n{GraphPrinter.OpWithAttrs(node)}\n{node.OutputShape}";
            sb.Append(pad).Append(Q(node.Name)).Append(" [label=").Append(Q(label));
            if (node.Op == OpCatalog.InputOp) sb.Append(", shape=ellipse, fillcolor=\"#dbe9f6\"");
            else if (node.Id == outputId) sb.Append(", fillcolor=\"#dff0d8\", penwidth=2");
            else if (node.Op == OpCatalog.AddOp) sb.Append(", shape=ellipse, fillcolor=\"#fde0dd\"");
            sb.Append("];\n");
        }
        foreach (var child in g.Order)
        {
            var id = "cluster_" + Sanitize(child.Prefix);
            var unique = id;
            for (var k = 2; !clusterIds.Add(unique); k++) unique = $"{id}_{k}";
            sb.Append(pad).Append("subgraph ").Append(Q(unique)).Append(" {\n");
            sb.Append(pad).Append("  label=").Append(Q(patterns.GetValueOrDefault(child.Prefix, child.Prefix))).Append(";\n");
            sb.Append(pad).Append("  style=\"rounded,dashed\"; color=\"#999999\";\n");
            EmitGroup(sb, child, outputId, depth + 1, clusterIds, patterns);
            sb.Append(pad).Append("}\n");
        }
    }

    private static string Sanitize(string prefix)
    {
        var sb = new StringBuilder(prefix.Length);
        foreach (var ch in prefix) sb.Append(char.IsAsciiLetterOrDigit(ch) ? ch : '_');
        return sb.ToString();
    }

    /// <summary>A DOT double-quoted string: backslash and quote escaped, a line break as the label escape <c>\n</c>.</summary>
    public static string Q(string s)
    {
        var sb = new StringBuilder(s.Length + 2).Append('"');
        foreach (var ch in s)
        {
            switch (ch)
            {
                case '\\': sb.Append("\\\\"); break;
                case '"': sb.Append("\\\""); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': break;
                default: sb.Append(ch); break;
            }
        }
        return sb.Append('"').ToString();
    }
}
