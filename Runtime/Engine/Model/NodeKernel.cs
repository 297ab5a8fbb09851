using ArchDsl.Compiler;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Model;

/// <summary>
/// The computation of one IR node over a batch: values are <c>[B, ...per-sample shape]</c> — image
/// <c>[B, C, H, W]</c>, tokens <c>[B, N, D]</c>, vector <c>[B, D]</c>. A kernel holds references to its node's
/// parameters and buffers (owned by the <see cref="IrModel"/>); it never returns one of its inputs itself
/// (identity ops return a new handle), so the caller may free every value independently.
/// Each op's kernel lives with its <see cref="OpModule"/> in Ops/.
/// </summary>
internal abstract class NodeKernel
{
    public abstract Tensor Forward(Tensor x, Tensor? y, bool training);

    /// <summary>The kernel of <paramref name="node"/>, or null for the graph's <c>input</c> node (the model feeds the batch itself).</summary>
    public static NodeKernel? Create(IrNode node, IReadOnlyDictionary<string, Tensor> t) =>
        OpModules.For(node)?.Create(OpModules.Tensors(node, t));
}

/// <summary>A kernel that is one function of its input.</summary>
internal sealed class Unary(Func<Tensor, Tensor> f) : NodeKernel
{
    public override Tensor Forward(Tensor x, Tensor? y, bool training) => f(x);
}

/// <summary>
/// A kernel that can also compute its output for the first token alone (<c>[B, 1, D]</c>) from its whole input
/// (<c>[B, N, D]</c>): used where only the class token of its output is read (<see cref="FirstTokenPlan"/>).
/// </summary>
internal interface IFirstTokenKernel
{
    /// <summary>The kernel computing token 0 of this kernel's output, with the same parameters.</summary>
    NodeKernel FirstTokenOnly();
}
