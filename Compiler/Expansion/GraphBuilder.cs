using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>The value flowing along a chain: the node that produced it and its shape. A null flow is an unknown value after an error.</summary>
internal sealed record Flow(int Id, Shape Shape);

/// <summary>
/// Node emission: appends the graph's nodes in order under their hierarchical names (see <see cref="Expander"/>
/// for the naming scheme), keeps each node's source span for the checks on the whole graph, and enforces the
/// size limits of <see cref="Limits"/>. After an abort (a limit crossed) it emits nothing more.
/// </summary>
internal sealed class GraphBuilder(DiagnosticBag diags)
{
    private readonly DiagnosticBag _diags = diags;
    private readonly List<IrNode> _nodes = new();
    private readonly List<Span> _spans = new(); // each node's source span, for the checks on the whole graph
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>The nodes so far, in id order.</summary>
    public IReadOnlyList<IrNode> Nodes => _nodes;

    /// <summary>Each node's source span, by node id.</summary>
    public IReadOnlyList<Span> Spans => _spans;

    /// <summary>True once a limit was crossed (reported once); the expansion then stops.</summary>
    public bool Aborted { get; private set; }

    /// <summary>Marks the expansion as stopped after an error that is not a size limit (reported by the caller).</summary>
    public void StopExpansion() => Aborted = true;

    /// <summary>The graph input node.</summary>
    public Flow? Input(Shape shape, Span at) => new(AddNode("input", OpCatalog.InputOp, [], [], [], shape, [], [], 0, at)!.Id, shape);

    /// <summary>One op node on <paramref name="x"/>, its output shape, attributes and counts from <see cref="OpCatalog.Infer"/>.</summary>
    public Flow? EmitOp(OpDef sig, IReadOnlyDictionary<string, BoundArg> args, Flow? x, string name, Span at)
    {
        if (x is null || Aborted) return null;
        var spec = OpCatalog.Infer(sig, args, x.Shape, at, _diags);
        if (spec is null) return null;
        var node = AddNode(name, sig.IrOp, spec.Attrs, [x.Id], [x.Shape], spec.Output, spec.Params, spec.Buffers, spec.MultAdds, at);
        return node is null ? null : new Flow(node.Id, node.OutputShape);
    }

    /// <summary>A residual add of two flows of equal shape (the caller checks the shapes).</summary>
    public Flow? Add(Flow a, Flow b, string name, Span at) => Elementwise(OpCatalog.AddOp, a, b, name, at);

    /// <summary>An elementwise <paramref name="op"/> (add, sub: a − b, mul) of two flows of equal shape (the caller checks the shapes);
    /// no parameters, mult-adds 0 (the convention on <see cref="OpCatalog"/>).</summary>
    public Flow? Elementwise(string op, Flow a, Flow b, string name, Span at)
    {
        var node = AddNode(name, op, new Dictionary<string, object>(), [a.Id, b.Id], [a.Shape, b.Shape], a.Shape, [], [], 0, at);
        return node is null ? null : new Flow(node.Id, node.OutputShape);
    }

    private IrNode? AddNode(string name, string op, Dictionary<string, object> attrs, int[] inputs, Shape[] inputShapes, Shape output,
                            List<TensorSpec> ps, List<TensorSpec> bs, long multAdds, Span at)
    {
        if (Aborted) return null;
        if (_nodes.Count >= Limits.MaxNodes)
        {
            Abort(CompilerDiagnostics.TooManyNodes, at, Limits.MaxNodes);
            return null;
        }
        if (multAdds > Limits.MaxElements)
        {
            _diags.Report(CompilerDiagnostics.MultAddsTooLarge, at, null, op, inputShapes.FirstOrDefault(), multAdds, Limits.MaxElements);
            return null;
        }
        if (!_names.Add(name)) throw new InvalidOperationException($"node name '{name}' made twice");
        var node = new IrNode(_nodes.Count, name, op, attrs, inputs, inputShapes, output, ps, bs, multAdds,
            new SourceLocation(at.File, at.Line, at.Column));
        _nodes.Add(node);
        _spans.Add(at);
        return node;
    }

    /// <summary>After the first of n identical expansions: would the rest go over the node limit? Then stop now, not after a million nodes.</summary>
    public bool FitsLimit(long perCopy, long moreCopies, string what, Span at)
    {
        if (perCopy == 0 || _nodes.Count + perCopy * moreCopies <= Limits.MaxNodes) return true;
        Abort(CompilerDiagnostics.WouldMakeTooManyNodes, at, what, _nodes.Count + perCopy * moreCopies, Limits.MaxNodes);
        return false;
    }

    /// <summary>Stops the expansion after a size limit was crossed: <paramref name="limit"/> (one of AD0170's descriptors) reported once with
    /// <paramref name="args"/>, later calls do nothing.</summary>
    public void Abort(DiagnosticDescriptor limit, Span at, params object?[] args)
    {
        if (Aborted) return;
        Aborted = true;
        _diags.Report(limit, at, "lower the repeat / mixer counts", args);
    }
}
