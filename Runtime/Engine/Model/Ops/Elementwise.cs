using ArchDsl.Compiler;
using ArchDsl.Runtime.Export;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Model;

/// <summary>
/// The two-input elementwise ops the expander makes for <c>residual { }</c> (<see cref="OpCatalog.ResidualCombines"/>):
/// the kernel <paramref name="apply"/>(a, b) on the node's inputs in order, exported as PyTorch's (and TorchSharp's) infix
/// <paramref name="python"/> operator and ONNX's <paramref name="onnx"/> node.
/// </summary>
internal abstract class ElementwiseModule(OpId op, string python, string onnx, Func<Tensor, Tensor, Tensor> apply) : OpModule
{
    public override OpId Op => op;
    public override bool RowWise => true;
    public override PyTorchForm PyTorch { get; } = new(null) { Binary = (a, b) => $"{a} {python} {b}" };
    /// <summary>TorchSharp's Tensor has the same infix operators.</summary>
    public override TorchSharpForm TorchSharp { get; } = new(null) { Binary = (a, b) => $"{a} {python} {b}" };
    public override OnnxForm Onnx { get; } = new((g, _, x) => g.Node(onnx, x));
    public override void Init(NodeTensors t) => NoTensors(t);
    public override NodeKernel Create(NodeTensors t) => new Kernel(apply);

    sealed class Kernel(Func<Tensor, Tensor, Tensor> f) : NodeKernel
    {
        public override Tensor Forward(Tensor x, Tensor? y, bool training) => f(x, y!);
    }
}

/// <summary><c>add</c>: the residual sum of two values of equal shape.</summary>
internal sealed class AddModule() : ElementwiseModule(OpId.Add, "+", "Add", (a, b) => a.add(b));

/// <summary><c>sub</c>: <c>residual(sub) { body }</c>'s body(x) − x (PoolFormer's <c>self.pool(x) - x</c>); inputs [body(x), x].</summary>
internal sealed class SubModule() : ElementwiseModule(OpId.Sub, "-", "Sub", (a, b) => a.sub(b));

/// <summary><c>mul</c>: <c>residual(mul) { body }</c>'s x · body(x), an elementwise gate; inputs [x, body(x)].</summary>
internal sealed class MulModule() : ElementwiseModule(OpId.Mul, "*", "Mul", (a, b) => a.mul(b));
