using ArchDsl.Compiler;

namespace ArchDsl.Runtime.Export;

/// <summary>
/// An IR graph as nested modules, the shape an exported file takes: node names are paths (<c>blocks.3.token.0</c>), so
/// every prefix that holds other nodes (<c>blocks</c>, <c>blocks.3</c>, <c>blocks.3.token</c>) becomes a module and every
/// node a leaf in it — the tensor <c>blocks.3.token.0.weight</c> then lies where torch's <c>state_dict</c> puts it.
/// Each module takes one value and gives one: the nodes of a prefix read exactly one value from outside it, and only
/// its last node is read from outside. The expander's graphs satisfy this; a graph that does not is refused.
/// </summary>
public sealed class ModuleTree
{
    /// <summary>A module: a leaf (one IR node) or a container of children in execution order.</summary>
    public sealed class Item
    {
        public required string Segment { get; init; }
        public required string Path { get; init; }
        public IrNode? Node { get; init; }
        public List<Item> Children { get; } = [];
        /// <summary>The id of the value it reads (a container's one outside input; a leaf's first input).</summary>
        public int Input { get; set; }
        /// <summary>The id of the value it gives: its (last) node.</summary>
        public int Output { get; set; }
        /// <summary>The ids of every value it reads: a leaf's inputs; for a container, its <see cref="Input"/>.</summary>
        public IReadOnlyList<int> Reads => Node?.Inputs ?? [Input];
        public bool IsLeaf => Node is not null;
        internal readonly HashSet<int> Ids = [];
    }

    public Item Root { get; }

    /// <exception cref="ExportException">the graph does not nest into modules as described.</exception>
    public ModuleTree(IrGraph graph)
    {
        for (var i = 0; i < graph.Nodes.Count; i++)
            if (graph.Nodes[i].Id != i) throw new ExportException($"{graph.Arch}: node '{graph.Nodes[i].Name}' has id {graph.Nodes[i].Id} at position {i}");
        var input = graph.Nodes.Single(n => n.Op == "input");
        Root = new Item { Segment = "", Path = "", Input = input.Id, Output = graph.Output };
        foreach (var node in graph.Nodes.Where(n => n.Op != "input")) Insert(node);
        Resolve(Root, graph);
        if (Root.Output != graph.Output)
            throw new ExportException($"{graph.Arch}: the output node '{graph.OutputNode.Name}' is not the last node");
    }

    private void Insert(IrNode node)
    {
        var item = Root;
        var segments = node.Name.Split('.');
        for (var i = 0; i < segments.Length; i++)
        {
            item.Ids.Add(node.Id);
            var last = i == segments.Length - 1;
            var child = item.Children.FirstOrDefault(c => c.Segment == segments[i]);
            if (child is null)
            {
                child = new Item { Segment = segments[i], Path = string.Join('.', segments[..(i + 1)]), Node = last ? node : null };
                item.Children.Add(child);
            }
            else if (last || child.IsLeaf)
                throw new ExportException($"node '{node.Name}' and node '{(child.Node ?? node).Name}' cannot both be modules at '{child.Path}'");
            item = child;
        }
        item.Ids.Add(node.Id);
    }

    private static void Resolve(Item item, IrGraph graph)
    {
        if (item.IsLeaf) { item.Input = item.Node!.Inputs.FirstOrDefault(); item.Output = item.Node.Id; return; }
        foreach (var c in item.Children) Resolve(c, graph);
        item.Output = item.Ids.Max();
        if (item.Path == "") return;
        var outside = item.Ids.SelectMany(id => graph.Nodes[id].Inputs).Where(i => !item.Ids.Contains(i)).Distinct().ToList();
        if (outside.Count != 1)
            throw new ExportException($"{graph.Arch}: the nodes under '{item.Path}' read {outside.Count} values from outside it; an exported module takes one");
        item.Input = outside[0];
        var leak = graph.Nodes.FirstOrDefault(n => !item.Ids.Contains(n.Id) && n.Inputs.Any(i => item.Ids.Contains(i) && i != item.Output));
        if (leak is not null)
            throw new ExportException($"{graph.Arch}: node '{leak.Name}' reads from inside '{item.Path}' other than its last node; an exported module gives one value");
    }

    /// <summary>
    /// True when <paramref name="item"/> is a plain chain of children named 0, 1, 2, … each reading the one before
    /// (the first the module's input) — what <c>nn.Sequential</c> computes.
    /// </summary>
    public static bool IsSequential(Item item)
    {
        if (item.IsLeaf || item.Children.Count == 0) return false;
        var previous = item.Input;
        for (var i = 0; i < item.Children.Count; i++)
        {
            var c = item.Children[i];
            if (c.Segment != i.ToString(System.Globalization.CultureInfo.InvariantCulture) || c.Reads.Count != 1 || c.Reads[0] != previous) return false;
            previous = c.Output;
        }
        return true;
    }

    /// <summary>
    /// The variable each child of <paramref name="item"/> writes, reusing a name once its value is dead: the input is
    /// <c>x</c>, a branch that must keep it alive gets <c>h</c> (then <c>h2</c>, …) — so a residual block reads
    /// <c>h = self.token(x); x = x + h</c>.
    /// </summary>
    public static (string[] Inputs, string Output)[] Variables(Item item)
    {
        var lastUse = new Dictionary<int, int> { [item.Output] = item.Children.Count };
        for (var k = 0; k < item.Children.Count; k++)
            foreach (var r in item.Children[k].Reads) lastUse[r] = Math.Max(lastUse.GetValueOrDefault(r), k);
        var name = new Dictionary<int, string> { [item.Input] = "x" };
        var result = new (string[], string)[item.Children.Count];
        for (var k = 0; k < item.Children.Count; k++)
        {
            var c = item.Children[k];
            var inputs = c.Reads.Select(r => name[r]).ToArray();
            var dead = c.Reads.FirstOrDefault(r => lastUse[r] == k, -1);
            string output;
            if (dead >= 0) output = name[dead];
            else
            {
                var live = name.Where(kv => lastUse.GetValueOrDefault(kv.Key, -1) > k).Select(kv => kv.Value).ToHashSet();
                output = Enumerable.Range(1, int.MaxValue).Select(i => i == 1 ? "h" : $"h{i}").First(n => !live.Contains(n));
            }
            foreach (var r in c.Reads.Where(r => lastUse[r] == k)) name.Remove(r);
            name[c.Output] = output;
            result[k] = (inputs, output);
        }
        return result;
    }

    /// <summary>
    /// The one-line description of a module class: for the root, its pixels in and logits out; otherwise its path
    /// (numbered items as <c>blocks.N</c>) and its value's shape in and out. <paramref name="arrow"/> joins them.
    /// </summary>
    public static string Summary(IrGraph graph, Item item, bool isRoot, string arrow) => isRoot
        ? $"{graph.Arch}: [B, {graph.Input.Dims[0]}, {graph.Input.Dims[1]}, {graph.Input.Dims[2]}] pixels in [0, 1] {arrow} [B, {graph.OutputNode.OutputShape.Dims[0]}] logits."
        : $"{(int.TryParse(item.Segment, out _) ? item.Path[..^item.Segment.Length] + "N" : item.Path)}: {graph.Nodes[item.Input].OutputShape} {arrow} {graph.Nodes[item.Output].OutputShape}.";
}

/// <summary>The module classes of an exported file by their text: containers of identical text share one class; each
/// new one gets <paramref name="reserved"/>-free, unique name (<c>Block</c>, <c>Block2</c>, …).</summary>
internal sealed class ClassTable(ISet<string> reserved)
{
    private readonly Dictionary<string, string> _byBody = new(StringComparer.Ordinal);

    /// <summary>The class of <paramref name="body"/>: the existing one's name (New false), or a new unique name from <paramref name="name"/>.</summary>
    public (string Name, bool New) Name(string body, string name)
    {
        if (_byBody.TryGetValue(body, out var existing)) return (existing, false);
        var unique = name;
        for (var i = 2; _byBody.ContainsValue(unique) || reserved.Contains(unique); i++) unique = name + i.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _byBody[body] = unique;
        return (unique, true);
    }
}
