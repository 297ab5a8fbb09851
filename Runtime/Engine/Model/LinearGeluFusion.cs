using ArchDsl.Compiler;
using ArchDsl.Torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Model;

/// <summary>
/// Where a linear with a bias feeds an exact GELU and nothing else reads the linear's value (the first half of every ViT
/// and MLP-Mixer MLP: linear(dim·mlp) → gelu → linear(dim)), the linear runs without its bias and the GELU node computes
/// <c>gelu(x + bias)</c> with the linear's bias (<see cref="F.bias_gelu"/>: on the CPU one pass that keeps GELU's
/// derivative, so the backward computes no erf and sums the bias gradient in the same pass). Values and gradients are
/// those of the two ops up to float rounding; under amp the bias is added in float32 to the bf16 product and the sum is
/// rounded once (autocast's bf16 linear adds a bf16 bias and rounds, then GELU rounds again). Parameters, names and
/// weight files are unchanged. Measured on the default ViT and MLP-Mixer (batch 128): see src/bias_gelu.cpp and the
/// README's speed section.
/// </summary>
internal static class LinearGeluFusion
{
    /// <summary>Fuses every such pair in <paramref name="kernels"/> (indexed by node id); returns the GELU nodes that now add their linear's bias.</summary>
    public static IReadOnlyList<string> Apply(IrGraph graph, NodeKernel?[] kernels)
    {
        var readers = GeluBatchNormFusion.Readers(graph);
        var fused = new List<string>();
        foreach (var node in graph.Nodes)
        {
            if (kernels[node.Id] is not PointwiseModule.Pointwise { ExactGelu: true } || node.Inputs.Count != 1) continue;
            var l = node.Inputs[0];
            if (kernels[l] is not LinearModule.Linear { Bias: { } bias } linear || readers[l] != 1 || l == graph.Output) continue;
            kernels[l] = new LinearModule.Linear(linear.Weight, null);
            kernels[node.Id] = new Unary(x => F.bias_gelu(x, bias));
            fused.Add(node.Name);
        }
        return fused;
    }
}
