using System.Globalization;
using System.Text;
using ArchDsl.Compiler.Printers;

namespace ArchDsl.Compiler.Analysis;

/// <summary>
/// Runs of identical sibling groups — <c>blocks.0</c> … <c>blocks.11</c> of a ViT — found from node names (the
/// compiler names a mixer's or repeat's i-th copy <c>prefix.i</c>) and node contents. Two groups are identical when
/// their nodes, in order, have the same names relative to the group, ops, attributes, input and output shapes, tensors,
/// mult-adds, and reads inside the group (a read from outside, like block i's read of block i-1, is not compared).
/// <c>archc summary</c> and <c>archc graph --format dot</c> show each run once, as <c>blocks.{0..11}</c> ×12.
/// </summary>
public static class RepeatedBlocks
{
    /// <summary>Consecutive identical groups <c>Prefix.i</c> for i in <see cref="Indices"/>, at least two.</summary>
    public sealed record Run(string Prefix, IReadOnlyList<int> Indices)
    {
        public int Count => Indices.Count;
        /// <summary>The group shown for the run: its first copy (<c>blocks.0</c>).</summary>
        public string First => Member(Indices[0]);
        public string Member(int index) => $"{Prefix}.{index.ToString(CultureInfo.InvariantCulture)}";
        /// <summary><c>blocks.{0..11}</c>.</summary>
        public string Pattern => $"{Prefix}.{IndexSet(Indices)}";
    }

    /// <summary>Every run of identical groups in <paramref name="graph"/>, outermost first (a run inside a repeated group is found in each copy).</summary>
    public static IReadOnlyList<Run> Find(IrGraph graph)
    {
        var groups = new Dictionary<string, List<IrNode>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var node in graph.Nodes)
        {
            var parts = node.Name.Split('.');
            for (var i = 1; i < parts.Length; i++)
            {
                if (!IsIndex(parts[i])) continue;
                var group = string.Join('.', parts[..(i + 1)]);
                if (!groups.TryGetValue(group, out var list)) { groups[group] = list = []; order.Add(group); }
                list.Add(node);
            }
        }
        var byId = graph.Nodes.ToDictionary(n => n.Id);
        var runs = new List<Run>();
        foreach (var parent in order.Select(g => g[..g.LastIndexOf('.')]).Distinct(StringComparer.Ordinal))
        {
            var members = order.Where(g => g[..g.LastIndexOf('.')] == parent)
                               .Select(g => (Index: int.Parse(g[(g.LastIndexOf('.') + 1)..], CultureInfo.InvariantCulture), Group: g))
                               .OrderBy(m => m.Index).ToList();
            for (var start = 0; start < members.Count;)
            {
                var signature = Signature(members[start].Group, groups[members[start].Group], byId);
                var end = start + 1;
                while (end < members.Count && members[end].Index == members[end - 1].Index + 1
                       && Signature(members[end].Group, groups[members[end].Group], byId) == signature) end++;
                if (end - start >= 2) runs.Add(new Run(parent, members[start..end].Select(m => m.Index).ToList()));
                start = end;
            }
        }
        return runs;
    }

    /// <summary>What must be equal for two groups to be the same: each node relative to <paramref name="prefix"/> (see the class summary).</summary>
    public static string Signature(string prefix, IEnumerable<IrNode> nodes, IReadOnlyDictionary<int, IrNode> byId)
    {
        var sb = new StringBuilder();
        foreach (var n in nodes)
        {
            sb.Append(Relative(n.Name, prefix)).Append('|').Append(GraphPrinter.OpWithAttrs(n)).Append('|')
              .Append(string.Join(",", n.InputShapes)).Append("->").Append(n.OutputShape).Append('|')
              .Append(string.Join(",", n.Params.Select(t => $"{t.Name}{t.Shape}"))).Append('|')
              .Append(string.Join(",", n.Buffers.Select(t => $"{t.Name}{t.Shape}"))).Append('|').Append(n.MultAdds).Append('|');
            foreach (var input in n.Inputs)
                sb.Append(byId.TryGetValue(input, out var src) && GraphPrinter.IsUnder(src.Name, prefix) ? Relative(src.Name, prefix) : "<outside>").Append(',');
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static string Relative(string name, string prefix) => name.Length > prefix.Length ? name[(prefix.Length + 1)..] : "";

    internal static bool IsIndex(string segment) => segment.Length > 0 && segment.All(char.IsAsciiDigit);

    /// <summary><c>{0..11}</c>, <c>{0,2,5..7}</c>; one index as itself.</summary>
    public static string IndexSet(IReadOnlyCollection<int> indices)
    {
        var sorted = indices.Order().ToList();
        if (sorted.Count == 1) return sorted[0].ToString(CultureInfo.InvariantCulture);
        var parts = new List<string>();
        for (var i = 0; i < sorted.Count;)
        {
            var j = i;
            while (j + 1 < sorted.Count && sorted[j + 1] == sorted[j] + 1) j++;
            parts.Add(j == i ? $"{sorted[i]}" : j == i + 1 ? $"{sorted[i]},{sorted[j]}" : $"{sorted[i]}..{sorted[j]}");
            i = j + 1;
        }
        return "{" + string.Join(",", parts) + "}";
    }
}
