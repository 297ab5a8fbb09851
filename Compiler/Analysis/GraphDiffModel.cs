namespace ArchDsl.Compiler.Analysis;

// The diff model: what GraphDiff.Compare finds between two compiled graphs. The collapse into groups
// is DiffCollapse, the wording of a change DiffDescription, the renderers GraphDiffText and GraphDiffJson.

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

    /// <summary>How what the graphs were made from differs (spec texts, overrides), when both were given (<see cref="GraphDiff.CompareRuns"/>); else null.</summary>
    public SourceDiff? Sources { get; init; }

    /// <summary>
    /// How two runs were launched, where it differs and the graphs do not say it (world size, per-rank batch): given by
    /// the runtime for two run directories; empty otherwise. Not part of <see cref="IsEmpty"/>, which is about the graphs.
    /// </summary>
    public IReadOnlyList<TrainChange> Launch { get; init; } = [];

    /// <summary>The terminal form: header, totals before → after with deltas, then collapsed groups of changed / added / removed nodes and train keys.</summary>
    public string ToText() => GraphDiffText.Render(this);

    /// <summary>Indented JSON ('\n' line ends): labels, totals, every added / removed / changed node in full, the collapsed groups, train changes.</summary>
    public string ToJson() => GraphDiffJson.Render(this);
}

/// <summary>The three kinds of node difference, in the order the renderers list them.</summary>
internal enum DiffKind { Changed, Added, Removed }

internal static class DiffKindNames
{
    /// <summary>The kind as <see cref="DiffGroup.Kind"/> and the renderers spell it: <c>changed</c>, <c>added</c>, <c>removed</c>.</summary>
    public static string Name(this DiffKind kind) => kind switch
    {
        DiffKind.Changed => "changed",
        DiffKind.Added => "added",
        _ => "removed",
    };
}
