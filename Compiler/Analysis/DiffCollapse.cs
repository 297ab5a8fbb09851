using System.Globalization;

namespace ArchDsl.Compiler.Analysis;

/// <summary>
/// Collapses node differences that read the same into one <see cref="DiffGroup"/>: items of one kind
/// whose names differ only in one index segment (<c>blocks.3.token.0</c>, <c>blocks.4.token.0</c>) and
/// whose descriptions, written relative to that index, are equal become one item whose segment is the
/// set of indices (<c>blocks.{3,4}.token.0</c>). Merging runs outermost index first and repeats until
/// nothing merges, so <c>blocks.{0..7}.heads.{0..3}</c> forms from both sides. Items are grouped by a
/// typed <see cref="MergeKey"/> (kind, description, the name with the ranging segment left out).
/// </summary>
internal static class DiffCollapse
{
    /// <summary>One dot-separated part of a node name: a fixed word or a set of indices.</summary>
    private abstract record Segment
    {
        public abstract string Text { get; }
    }

    private sealed record Word(string Value) : Segment
    {
        public override string Text => Value;
    }

    /// <summary>Indices (non-empty, sorted); equal when they hold the same indices.</summary>
    private sealed record Indices(SortedSet<int> Values) : Segment
    {
        public override string Text => RepeatedBlocks.IndexSet(Values);
        public bool Equals(Indices? other) => other is not null && Values.SetEquals(other.Values);
        public override int GetHashCode() => HashCode.Combine(Values.Count, Values.Min, Values.Max);
    }

    /// <summary>What items must share to merge at one segment position: the name is compared with that segment left out (null).</summary>
    private sealed record MergeKey(DiffKind Kind, int Tag, string Summary, ValueList<string> Details, ValueList<Segment?> Name);

    /// <summary>A list compared element by element, so it can be part of a key.</summary>
    private sealed class ValueList<T>(IReadOnlyList<T> items) : IEquatable<ValueList<T>>
    {
        public bool Equals(ValueList<T>? other) => other is not null && items.SequenceEqual(other.Items);
        public override bool Equals(object? obj) => Equals(obj as ValueList<T>);
        public override int GetHashCode()
        {
            var h = new HashCode();
            foreach (var x in items) h.Add(x);
            return h.ToHashCode();
        }
        private IReadOnlyList<T> Items => items;
    }

    /// <summary>A line in the making: name segments, the nodes it stands for, and how to describe it.</summary>
    private sealed class Item
    {
        public required DiffKind Kind;
        public required List<Segment> Segs;
        public required List<string> Nodes;
        public required int Order;
        public required Func<Func<string, string>, (string Summary, List<string> Details)> Describe;
        public (string Summary, List<string> Details)? Fixed; // set once merged
        public int Tag = -1; // the position the description is relative to, or -1

        /// <summary>The description relative to the index at position <paramref name="p"/> where that changes it (Tag = p), else the plain one (Tag = -1).</summary>
        public (string Summary, List<string> Details, int Tag) At(int p)
        {
            if (Fixed is { } f) return (f.Summary, f.Details, Tag);
            var plain = Describe(s => s);
            if (Segs[p] is not Indices { Values.Count: 1 } set) return (plain.Summary, plain.Details, -1);
            var k = set.Values.Min;
            var prefix = Segs.Take(p).Select(s => s.Text).ToList();
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

    /// <summary><c>0..7</c>, <c>0,2</c>, <c>0..3,5,7..9</c>.</summary>
    private static List<Segment> Segments(string name) =>
        name.Split('.').Select(s => TryIndex(s, out var i) ? (Segment)new Indices([i]) : new Word(s)).ToList();

    /// <summary>The groups of a diff: changed, then added, then removed, each in graph order (removed: the before graph's).</summary>
    public static List<DiffGroup> Collapse(
        IReadOnlyList<NodeChange> changed, IReadOnlyList<IrNode> added, IReadOnlyList<IrNode> removed,
        Dictionary<int, IrNode> aById, Dictionary<int, IrNode> bById, IrGraph before, IrGraph after)
    {
        var bOrder = after.Nodes.Select((n, i) => (n.Name, i)).ToDictionary(t => t.Name, t => t.i, StringComparer.Ordinal);
        var aOrder = before.Nodes.Select((n, i) => (n.Name, i)).ToDictionary(t => t.Name, t => t.i, StringComparer.Ordinal);
        var items = new List<Item>();
        foreach (var c in changed)
            items.Add(new Item { Kind = DiffKind.Changed, Segs = Segments(c.Name), Nodes = [c.Name], Order = bOrder[c.Name], Describe = rel => DiffDescription.Change(c, rel) });
        foreach (var n in added)
            items.Add(new Item { Kind = DiffKind.Added, Segs = Segments(n.Name), Nodes = [n.Name], Order = bOrder[n.Name], Describe = rel => DiffDescription.Node(n, bById, rel) });
        foreach (var n in removed)
            items.Add(new Item { Kind = DiffKind.Removed, Segs = Segments(n.Name), Nodes = [n.Name], Order = aOrder[n.Name], Describe = rel => DiffDescription.Node(n, aById, rel) });

        while (MergeOnce(items)) { }

        return items.OrderBy(i => i.Kind).ThenBy(i => i.Order).Select(i =>
        {
            var d = i.Fixed ?? i.Describe(s => s);
            var nodes = i.Kind == DiffKind.Removed ? i.Nodes.OrderBy(n => aOrder[n]).ToList() : i.Nodes.OrderBy(n => bOrder[n]).ToList();
            return new DiffGroup(i.Kind.Name(), string.Join('.', i.Segs.Select(s => s.Text)), nodes, d.Summary, d.Details);
        }).ToList();
    }

    /// <summary>One pass over every segment position, outermost first; true when anything merged.</summary>
    private static bool MergeOnce(List<Item> items)
    {
        var merged = false;
        var maxLen = items.Count == 0 ? 0 : items.Max(i => i.Segs.Count);
        for (var p = 0; p < maxLen; p++)
        {
            var groups = items.Where(i => i.Segs.Count > p && i.Segs[p] is Indices)
                .Select(i => (Item: i, D: i.At(p)))
                .GroupBy(t => new MergeKey(t.Item.Kind, t.D.Tag, t.D.Summary, new ValueList<string>(t.D.Details),
                    new ValueList<Segment?>(t.Item.Segs.Select((s, idx) => idx == p ? null : s).ToList())))
                .Where(g => g.Count() > 1)
                .ToList();
            foreach (var g in groups)
            {
                var members = g.OrderBy(t => t.Item.Order).ToList();
                var first = members[0];
                var segs = first.Item.Segs.ToList();
                segs[p] = new Indices(new SortedSet<int>(members.SelectMany(t => ((Indices)t.Item.Segs[p]).Values)));
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
        return merged;
    }
}
