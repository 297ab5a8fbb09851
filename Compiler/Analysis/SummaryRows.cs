using ArchDsl.Compiler.Printers;

namespace ArchDsl.Compiler.Analysis;

/// <summary>The rows of a <see cref="SummaryTable"/>: nodes grouped at a depth of their names, then identical ones collapsed.</summary>
internal static class SummaryRows
{
    /// <summary>A row in the making: its name's segments (an index segment may hold several indices), its nodes' signature, the row.</summary>
    private sealed record Item(List<SortedSet<int>?> Indices, List<string> Words, string Signature, SummaryRow Row, int Order);

    /// <summary>One row per name prefix of <paramref name="depth"/> segments (per node when null), in execution order, with the group's totals.</summary>
    public static List<(SummaryRow Row, string Signature)> AtDepth(IrGraph graph, int? depth)
    {
        var byId = graph.Nodes.ToDictionary(n => n.Id);
        var groups = new List<(string Name, List<IrNode> Nodes)>();
        foreach (var node in graph.Nodes)
        {
            var parts = node.Name.Split('.');
            var name = string.Join('.', parts[..Math.Min(depth ?? parts.Length, parts.Length)]);
            if (groups.Count > 0 && groups[^1].Name == name) groups[^1].Nodes.Add(node);
            else groups.Add((name, [node]));
        }
        return groups.Select(g =>
        {
            var first = g.Nodes[0];
            var leaf = g.Nodes.Count == 1 && first.Name == g.Name;
            var row = new SummaryRow(g.Name, leaf ? first.Op : ValueFormat.Plural(g.Nodes.Count, "layer"), g.Nodes[^1].OutputShape,
                g.Nodes.Sum(n => n.ParamCount), g.Nodes.Sum(n => n.BufferCount), g.Nodes.Sum(n => n.MultAdds))
            {
                InputShape = first.InputShapes.Count > 0 ? first.InputShapes[0] : null,
                Kernel = leaf ? Kernel(first) : "",
            };
            return (row, RepeatedBlocks.Signature(g.Name, g.Nodes, byId));
        }).ToList();
    }

    /// <summary><c>9×9 / 1</c>: the kernel and stride attributes of a conv or pool; empty for other ops.</summary>
    public static string Kernel(IrNode node)
    {
        if (!node.Attrs.TryGetValue("kernel", out var k)) return "";
        static string Side(object v) => v is IEnumerable<object> list ? string.Join("×", list.Select(ValueFormat.Value)) : $"{ValueFormat.Value(v)}×{ValueFormat.Value(v)}";
        return node.Attrs.TryGetValue("stride", out var s) ? $"{Side(k)} / {ValueFormat.Value(s)}" : Side(k);
    }

    /// <summary>
    /// Merges rows whose names differ only at one index segment and whose signatures are equal (<c>blocks.3.token.0</c>,
    /// <c>blocks.4.token.0</c> → <c>blocks.{3,4}.token.0</c>), outermost segment first, until nothing merges; a merged
    /// row sits where its first member was and keeps one member's values, with <see cref="SummaryRow.Count"/> members.
    /// </summary>
    public static List<SummaryRow> Collapse(List<(SummaryRow Row, string Signature)> rows)
    {
        var items = rows.Select((r, i) =>
        {
            var parts = r.Row.Name.Split('.');
            return new Item(parts.Select(p => RepeatedBlocks.IsIndex(p) && int.TryParse(p, out var x) ? new SortedSet<int> { x } : null).ToList(),
                            parts.ToList(), r.Signature, r.Row, i);
        }).ToList();
        for (var changed = true; changed;)
        {
            changed = false;
            var maxLength = items.Max(x => x.Words.Count);
            for (var p = 0; p < maxLength && !changed; p++)
            {
                var position = p;
                var merged = new List<Item>();
                foreach (var group in items.GroupBy(x => Key(x, position)))
                {
                    var members = group.ToList();
                    if (members.Count == 1 || members.Any(m => m.Indices[position] is null)) { merged.AddRange(members); continue; }
                    var first = members.MinBy(m => m.Order)!;
                    var indices = first.Indices.ToList();
                    indices[position] = new SortedSet<int>(members.SelectMany(m => m.Indices[position]!));
                    merged.Add(first with { Indices = indices });
                    changed = true;
                }
                if (changed) items = merged;
            }
        }
        return items.OrderBy(x => x.Order).Select(x =>
        {
            var name = string.Join('.', x.Words.Select((w, i) => x.Indices[i] is { } set ? RepeatedBlocks.IndexSet(set) : w));
            var count = x.Indices.Where(s => s is not null).Aggregate(1, (c, s) => c * s!.Count);
            return x.Row with { Name = name, Count = count };
        }).ToList();
    }

    /// <summary>What items must share to merge at <paramref name="p"/>: the signature and every segment but the p-th.</summary>
    private static string Key(Item x, int p) =>
        x.Signature + "\u0001" + string.Join("\u0002", x.Words.Select((w, i) => i == p ? "*" : x.Indices[i] is { } s ? RepeatedBlocks.IndexSet(s) : w))
        + "\u0001" + x.Words.Count;
}
