using ArchDsl.Compiler;
using ArchDsl.Runtime.Export;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Model;

/// <summary><c>dropout</c>: F.dropout in training, a new handle on the input otherwise.</summary>
internal sealed class DropoutModule : OpModule
{
    public override OpId Op => OpId.Dropout;
    public override PyTorchForm PyTorch { get; } = new(n => $"nn.Dropout({ExportNode.Py(n.Attr<double>("p"))})");
    public override TorchSharpForm TorchSharp { get; } = new(n => $"nn.Dropout({Cs.Literal(n.Attr<double>("p"))})");
    /// <summary>An exported model is for inference: the identity.</summary>
    public override OnnxForm Onnx { get; } = new((g, _, x) => g.Node("Identity", x));
    public override void Init(NodeTensors t) => NoTensors(t);
    public override NodeKernel Create(NodeTensors t) => new Dropout(t.Attr<double>("p"));

    sealed class Dropout(double p) : NodeKernel
    {
        public override Tensor Forward(Tensor x, Tensor? y, bool training) =>
            training && p > 0 ? F.dropout(x, p, true) : x.alias();
    }
}

/// <summary><c>droppath</c>: stochastic depth (timm's drop_path).</summary>
internal sealed class DropPathModule : OpModule
{
    public override OpId Op => OpId.DropPath;
    public override bool RowWise => true; // one draw per sample, whatever the token count
    /// <summary>An exported model is for inference: the identity.</summary>
    public override OnnxForm Onnx { get; } = new((g, _, x) => g.Node("Identity", x));
    public override PyTorchForm PyTorch { get; } = new(n => $"DropPath({ExportNode.Py(n.Attr<double>("p"))})", new PyHelper("DropPath", """"
        class DropPath(nn.Module):
            """Stochastic depth (timm's drop_path): in training, drops a sample's whole branch with probability p."""

            def __init__(self, p):
                super().__init__()
                self.p = p

            def forward(self, x):
                if not self.training or self.p == 0:
                    return x
                keep = 1 - self.p
                mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
                return x * mask.div_(keep)
        """"));
    public override TorchSharpForm TorchSharp { get; } = new(n => $"new DropPath({Cs.Literal(n.Attr<double>("p"))})", new CsHelper("DropPath", """"
        /// <summary>Stochastic depth (timm's drop_path): in training, drops a sample's whole branch with probability p.</summary>
        public sealed class DropPath(double p) : nn.Module<Tensor, Tensor>(nameof(DropPath))
        {
            public override Tensor forward(Tensor x)
            {
                if (!training || p == 0) return x.alias();  // a new handle: nn.Sequential disposes what a module returns
                var keep = 1 - p;
                var shape = Enumerable.Repeat(1L, (int)x.dim()).ToArray();
                shape[0] = x.shape[0];
                var mask = empty(shape, x.dtype, x.device).bernoulli_(keep);
                return x * mask.div_(keep);
            }
        }
        """"));
    public override void Init(NodeTensors t) => NoTensors(t);
    public override NodeKernel Create(NodeTensors t) => new DropPath(t.Attr<double>("p"));

    /// <summary>In training each sample is kept with probability 1-p and scaled by 1/(1-p), else zeroed.</summary>
    sealed class DropPath(double p) : NodeKernel
    {
        public override Tensor Forward(Tensor x, Tensor? y, bool training)
        {
            if (!training || p <= 0) return x.alias();
            var keep = 1 - p;
            var shape = new long[x.dim()];
            Array.Fill(shape, 1L);
            shape[0] = x.size(0);
            using var mask = empty(shape, x.dtype, x.device);
            mask.bernoulli_(keep).div_(keep);
            return x.mul(mask);
        }
    }
}
