using ArchDsl.Compiler;

namespace ArchDsl.Runtime.Model;

/// <summary>
/// Which nodes of a graph need compute only the first (class) token. A head that reads the class token
/// (<c>cls</c>, timm's <c>global_pool='token'</c>) reads one of the last block's N tokens; everything after the last
/// token-mixing op that is row-wise (<see cref="OpModule.RowWise"/>: the last norm, MLP, residual adds, drop path) then
/// matters only at token 0, and the last attention only for token 0's query. Those nodes run on <c>[B, 1, D]</c>:
/// a ViT of depth 6 skips about 5/6 of its last block's products. The values the model returns, and every gradient,
/// are those of the whole computation (the skipped tokens' outputs are never read, so they contribute nothing to the
/// loss); they differ only by the rounding of products of another size.
/// </summary>
internal sealed class FirstTokenPlan
{
    /// <summary>Node i computes token 0 only (its value is <c>[B, 1, ...]</c>).</summary>
    public bool[] FirstOnly { get; }

    /// <summary>For a first-token node that reads a whole value: which of its inputs are cut to token 0 (null: none).</summary>
    public bool[]?[] Narrow { get; }

    FirstTokenPlan(bool[] firstOnly, bool[]?[] narrow) => (FirstOnly, Narrow) = (firstOnly, narrow);

    /// <param name="modules">each node's op module (null for the input node)</param>
    /// <param name="kernels">each node's kernel; a first-token node that is not row-wise must implement <see cref="IFirstTokenKernel"/></param>
    public static FirstTokenPlan Make(IrGraph graph, IReadOnlyList<OpModule?> modules, IReadOnlyList<NodeKernel?> kernels)
    {
        var nodes = graph.Nodes;
        var consumers = new List<int>[nodes.Count];
        for (var i = 0; i < nodes.Count; i++) consumers[i] = new List<int>();
        foreach (var node in nodes)
            foreach (var j in node.Inputs) consumers[j].Add(node.Id);

        bool RowWise(int i) => modules[i] is { RowWise: true } && nodes[i].OutputShape.Layout == Layout.Tokens &&
                               nodes[i].InputShapes.All(s => s.Layout == Layout.Tokens && s.Dims[0] == nodes[i].OutputShape.Dims[0]);

        var first = new bool[nodes.Count];
        for (var i = nodes.Count - 1; i >= 0; i--)
        {
            if (i == graph.Output || consumers[i].Count == 0 || nodes[i].OutputShape.Layout != Layout.Tokens) continue;
            // Every reader takes token 0 only: the class-token readout, or a row-wise node that itself computes token 0 only.
            var readFirst = consumers[i].All(c => OpCatalog.IdOf(nodes[c].Op) == OpId.ClsPool || (first[c] && RowWise(c)));
            first[i] = readFirst && (RowWise(i) || kernels[i] is IFirstTokenKernel);
        }

        var narrow = new bool[]?[nodes.Count];
        for (var i = 0; i < nodes.Count; i++)
            if (first[i] && RowWise(i) && nodes[i].Inputs.Any(j => !first[j]))
                narrow[i] = nodes[i].Inputs.Select(j => !first[j]).ToArray();
        return new FirstTokenPlan(first, narrow);
    }
}
