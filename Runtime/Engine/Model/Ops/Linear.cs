using ArchDsl.Compiler;
using ArchDsl.Runtime.Export;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Model;

/// <summary><c>linear</c>: PyTorch's Linear init (kaiming_uniform_(a=√5), bias U(±1/√fan_in)); with <c>init: gate</c> gMLP's gate
/// projection's, weight N(0, 1e-6²) and bias 1 (timm's <c>SpatialGatingUnit.init_weights</c>).</summary>
internal sealed class LinearModule : OpModule
{
    public override OpId Op => OpId.Linear;
    public override bool RowWise => true;
    public override PyTorchForm PyTorch { get; } =
        new(n => $"nn.Linear({n.Input.Dims[^1]}, {n.Attr<long>("out")}, bias={ExportNode.Py(n.Has("bias"))})");
    public override TorchSharpForm TorchSharp { get; } =
        new(n => $"nn.Linear({n.Input.Dims[^1]}, {n.Attr<long>("out")}, hasBias: {Cs.Literal(n.Has("bias"))})");
    public override OnnxForm Onnx { get; } = new((g, n, x) => g.Linear(x[0], n));
    public override void Init(NodeTensors t)
    {
        if (t.Attr<string>("init") != OpCatalog.LinearGateInit) { nn.init.layer_default_(t.P("weight"), t.Opt("bias")); return; }
        nn.init.normal_(t.P("weight"), 0, 1e-6);
        if (t.Opt("bias") is { } b) nn.init.ones_(b);
    }
    public override AmpPolicy Amp(NodeTensors t) => AmpPolicy.Product(t.P("weight").size(1), t.P("weight").size(0));
    public override NodeKernel Create(NodeTensors t) => new Linear(t.P("weight"), t.Opt("bias"));

    /// <summary>x·wᵀ + b (<see cref="F.linear"/>); <see cref="LinearGeluFusion"/> makes one without its bias.</summary>
    internal sealed class Linear(Tensor w, Tensor? b) : NodeKernel
    {
        public Tensor Weight => w;
        public Tensor? Bias => b;
        public override Tensor Forward(Tensor x, Tensor? y, bool training) => F.linear(x, w, b);
    }
}
