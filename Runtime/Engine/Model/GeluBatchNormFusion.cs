using ArchDsl.Compiler;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Model;

/// <summary>
/// Where an exact GELU feeds a batch norm and nothing else reads the GELU's value (every ConvMixer layer:
/// conv → gelu → batchnorm), the batch norm's kernel takes the GELU in (<see cref="BatchNormModule.BatchNorm.GeluFirst"/>:
/// one fused CPU kernel, <see cref="torch.nn.functional.gelu_batch_norm"/>) and the GELU node passes its input on
/// unchanged. Where that batch norm's only reader is a residual <c>add</c> (a ConvMixer block's token mixer), the add's kernel
/// runs the fused kernel with the residual summed in its normalising pass, and the batch-norm node passes its input on too
/// (where both inputs of one add are such norms, only the first is summed in; the other runs as its own node).
/// Values and gradients are those of the two ops up to float rounding; parameters, names and weight files are
/// unchanged (GELU has none). Under amp the fused GELU runs in float32 (the batch norm's input is cast to float32 before it,
/// <see cref="AmpPolicy"/>), where the unfused model's GELU runs on its bfloat16 input. Measured on the default ConvMixer (batch 128, one thread, process CPU time): see the README's
/// speed section.
/// </summary>
internal static class GeluBatchNormFusion
{
    /// <summary>Fuses every such pair in <paramref name="kernels"/> (indexed by node id); returns the batch-norm nodes that now
    /// apply their GELU, and the residual adds that now compute their batch norm.</summary>
    /// <param name="keep">nodes not to touch (the class-token plan's)</param>
    public static (IReadOnlyList<string> Norms, IReadOnlyList<string> Adds) Apply(IrGraph graph, NodeKernel?[] kernels, Func<int, bool> keep)
    {
        var adds = new List<string>();
        var nodes = graph.Nodes;
        var readers = Readers(graph);
        var fused = new List<string>();
        foreach (var node in nodes)
        {
            if (kernels[node.Id] is not BatchNormModule.BatchNorm bn || node.Inputs.Count != 1) continue;
            var g = node.Inputs[0];
            if (kernels[g] is not PointwiseModule.Pointwise { ExactGelu: true } || readers[g] != 1 || g == graph.Output || keep(g) || keep(node.Id))
                continue;
            bn.GeluFirst = true;
            kernels[g] = new Unary(x => x.alias());
            fused.Add(node.Name);
            // One add takes one norm: where its other input is a norm it already took, that one stays its own node's.
            if (ResidualReader(graph, readers, node.Id) is { } add && !keep(add) && kernels[add] is not AddInto)
            {
                bn.InResidual = true;
                kernels[add] = new AddInto(bn, nodes[add].Inputs[0] == node.Id);
                adds.Add(nodes[add].Name);
            }
        }
        return (fused, adds);
    }

    /// <summary>The <c>add</c> node that is <paramref name="bn"/>'s only reader, with another node as its other input (a
    /// ConvMixer block's residual after its token mixer), or null.</summary>
    static int? ResidualReader(IrGraph graph, int[] readers, int bn)
    {
        if (readers[bn] != 1 || bn == graph.Output) return null;
        foreach (var n in graph.Nodes)
            if (n.Inputs.Contains(bn))
                return OpCatalog.IdOf(n.Op) == OpId.Add && n.Inputs.Count == 2 && n.Inputs[0] != n.Inputs[1] ? n.Id : null;
        return null;
    }

    /// <summary>The residual sum with the batch norm's value made in its kernel (<see cref="BatchNormModule.BatchNorm.ForwardAdd"/>);
    /// the batch-norm node passes its input on. Addition commutes, so the value is the add's whichever input the norm is.</summary>
    sealed class AddInto(BatchNormModule.BatchNorm bn, bool normFirst) : NodeKernel
    {
        public override Tensor Forward(Tensor x, Tensor? y, bool training) =>
            normFirst ? bn.ForwardAdd(x, y!, training) : bn.ForwardAdd(y!, x, training);
    }

    /// <summary>How many nodes read each node's value (a node reading it twice counts twice), indexed by node id.</summary>
    internal static int[] Readers(IrGraph graph)
    {
        var readers = new int[graph.Nodes.Count];
        foreach (var node in graph.Nodes)
            foreach (var j in node.Inputs) readers[j]++;
        return readers;
    }
}
