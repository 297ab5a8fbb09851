namespace ArchDsl.Compiler;

// The IR: the contract between the compiler and any runtime. A runtime never sees syntax; the
// compiler never sees torch. A graph is a flat list of nodes in execution (topological) order; each
// node names the nodes it reads. Shapes are per sample (no batch dimension).
//
// The ops — each IR op name with its attributes, parameters and buffers (names as the runtime must expose
// them, "<node.Name>.<tensor name>") — are defined once each in Compiler/Ops/ (OpDef); `archc ops` lists them.
// The compiler also makes "input" (the graph's input) and "add" (a residual sum of two equal shapes).
//
// Attribute values are long, double, bool or string.

public enum Layout { Image, Tokens, Vector }

/// <summary>A per-sample shape: image[C,H,W], tokens[N,D] or vector[D].</summary>
public sealed record Shape(Layout Layout, IReadOnlyList<int> Dims)
{
    public static Shape Image(int c, int h, int w) => new(Layout.Image, new[] { c, h, w });
    public static Shape Tokens(int n, int d) => new(Layout.Tokens, new[] { n, d });
    public static Shape Vector(int d) => new(Layout.Vector, new[] { d });

    public long Elements => Dims.Aggregate(1L, (a, b) => a * b);

    public bool Equals(Shape? other) => other is not null && Layout == other.Layout && Dims.SequenceEqual(other.Dims);
    public override int GetHashCode() => HashCode.Combine(Layout, string.Join(",", Dims));
    public override string ToString() => $"{Layout.ToString().ToLowerInvariant()}[{string.Join(", ", Dims)}]";
}

/// <summary>A parameter or buffer of a node: its local name (<c>weight</c>, <c>qkv.bias</c>) and shape.</summary>
public sealed record TensorSpec(string Name, IReadOnlyList<long> Shape)
{
    public long Elements => Shape.Aggregate(1L, (a, b) => a * b);
    public bool Equals(TensorSpec? other) => other is not null && Name == other.Name && Shape.SequenceEqual(other.Shape);
    public override int GetHashCode() => HashCode.Combine(Name, Shape.Count);
}

/// <summary>Where a node came from in the source, as text (so the IR survives YAML without the source).</summary>
public sealed record SourceLocation(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>
/// One op of the graph. <c>Name</c> is its hierarchical path (<c>stem.0</c>, <c>blocks.3.token.0</c>),
/// unique in the graph, and the prefix of its parameters' names.
/// </summary>
public sealed record IrNode(
    int Id,
    string Name,
    string Op,
    IReadOnlyDictionary<string, object> Attrs,
    IReadOnlyList<int> Inputs,
    IReadOnlyList<Shape> InputShapes,
    Shape OutputShape,
    IReadOnlyList<TensorSpec> Params,
    IReadOnlyList<TensorSpec> Buffers,
    long MultAdds,
    SourceLocation? Origin)
{
    public long ParamCount => Params.Sum(p => p.Elements);
    public long BufferCount => Buffers.Sum(p => p.Elements);

    public T Attr<T>(string key) => (T)Convert.ChangeType(Attrs[key], typeof(T));
    public T Attr<T>(string key, T fallback) => Attrs.TryGetValue(key, out var v) ? (T)Convert.ChangeType(v, typeof(T)) : fallback;
}

/// <summary>A compiled architecture: nodes in execution order, the output node, and the resolved train config.</summary>
public sealed record IrGraph(string Arch, Shape Input, IReadOnlyList<IrNode> Nodes, int Output, TrainConfig Train)
{
    public IrNode OutputNode => Nodes[Output];
    public long ParamCount => Nodes.Sum(n => n.ParamCount);
    public long BufferCount => Nodes.Sum(n => n.BufferCount);
    public long MultAdds => Nodes.Sum(n => n.MultAdds);

    /// <summary>Activation memory per sample: every node's output elements (input included) × 4 bytes (float32);
    /// see the convention on <c>OpCatalog</c>.</summary>
    public long ActivationBytes => Nodes.Sum(n => n.OutputShape.Elements) * 4;
}

/// <summary>
/// The resolved <c>train { }</c> section: every key with its value (long, double, bool, string, a
/// <see cref="TrainCall"/> such as <c>adamw(lr: 0.01)</c>, or a list of those), defaults filled in.
/// </summary>
public sealed partial record TrainConfig(IReadOnlyDictionary<string, object> Values)
{
    public object? this[string key] => Values.TryGetValue(key, out var v) ? v : null;
}

/// <summary>A call-shaped train value: <c>adamw(lr: 0.01, weight_decay: 0.05)</c>, <c>crop(pad: 2)</c>.</summary>
public sealed record TrainCall(string Name, IReadOnlyDictionary<string, object> Args)
{
    public override string ToString() =>
        Args.Count == 0 ? Name : $"{Name}({string.Join(", ", Args.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => $"{a.Key}: {a.Value}"))})";
}
