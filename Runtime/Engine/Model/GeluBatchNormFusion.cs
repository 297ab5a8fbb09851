using ArchDsl.Compiler;
using ArchDsl.Torch;

namespace ArchDsl.Runtime.Model;

/// <summary>
/// Where an exact GELU feeds a batch norm and nothing else reads the GELU's value (every ConvMixer layer:
/// conv → gelu → batchnorm), the batch norm's kernel takes the GELU in (<see cref="BatchNormModule.BatchNorm.GeluFirst"/>:
/// one fused CPU kernel, <see cref="torch.nn.functional.gelu_batch_norm"/>) and the GELU node passes its input on
/// unchanged. Values and gradients are those of the two ops up to float rounding; parameters, names and weight files are
/// unchanged (GELU has none). Under amp the fused GELU runs in float32 (the batch norm's input is cast to float32 before it,
/// <see cref="AmpPolicy"/>), where the unfused model's GELU runs on its bfloat16 input. Measured on the default ConvMixer (batch 128, one thread, process CPU time): see the README's
/// speed section.
/// </summary>
internal static class GeluBatchNormFusion
{
    /// <summary>Fuses every such pair in <paramref name="kernels"/> (indexed by node id); returns the batch-norm nodes that now apply their GELU.</summary>
    /// <param name="keep">nodes not to touch (the class-token plan's)</param>
    public static IReadOnlyList<string> Apply(IrGraph graph, NodeKernel?[] kernels, Func<int, bool> keep)
    {
        var readers = Readers(graph);
        var fused = new List<string>();
        foreach (var node in graph.Nodes)
        {
            if (kernels[node.Id] is not BatchNormModule.BatchNorm bn || node.Inputs.Count != 1) continue;
            var g = node.Inputs[0];
            if (kernels[g] is not PointwiseModule.Pointwise { ExactGelu: true } || readers[g] != 1 || g == graph.Output || keep(g) || keep(node.Id))
                continue;
            bn.GeluFirst = true;
            kernels[g] = new Unary(x => x.alias());
            fused.Add(node.Name);
        }
        return fused;
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
