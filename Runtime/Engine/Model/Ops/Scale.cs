using ArchDsl.Compiler;
using ArchDsl.Runtime.Export;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Model;

/// <summary>
/// A per-channel op's view of its <c>[C]</c> parameters: as they are for tokens and vectors (the channel is the last
/// dim), as <c>[C, 1, 1]</c> for an image <c>[B, C, H, W]</c>.
/// </summary>
internal static class PerChannel
{
    public static Tensor View(NodeTensors t, Tensor p) => t.Layout == Layout.Image ? p.view(-1, 1, 1) : p.alias();

    /// <summary>The same view in an exported ONNX graph: the node's tensor <paramref name="local"/>, reshaped to <c>[C, 1, 1]</c> for an image.</summary>
    public static string Onnx(OnnxGraph g, ExportNode n, string local) =>
        n.Image ? g.Node("Reshape", [g.Weight(local), g.Ints([-1, 1, 1], 3)]) : g.Weight(local);

    /// <summary>The arguments of a per-channel module in an exported PyTorch file: the channel count (C of an image, the
    /// last dim otherwise), and <c>channels_first=True</c> for an image.</summary>
    public static string Py(ExportNode n) => n.Image ? $"{n.Input.Dims[0]}, channels_first=True" : $"{n.Input.Dims[^1]}";

    /// <summary>The same arguments in an exported TorchSharp file (<c>channelsFirst: true</c> for an image).</summary>
    public static string Cs(ExportNode n) => n.Image ? $"{n.Input.Dims[0]}, channelsFirst: true" : $"{n.Input.Dims[^1]}";
}

/// <summary><c>layer_scale</c>: x·γ, γ initialised to the node's init (timm's LayerScale: init_values * torch.ones(dim)).</summary>
internal sealed class LayerScaleModule : OpModule
{
    public override OpId Op => OpId.LayerScale;
    public override bool RowWise => true;
    public override OnnxForm Onnx { get; } = new((g, n, x) => g.Node("Mul", [x[0], PerChannel.Onnx(g, n, "gamma")]));
    public override PyTorchForm PyTorch { get; } = new(n => $"LayerScale({PerChannel.Py(n)})", new PyHelper("LayerScale", """"
        class LayerScale(nn.Module):
            """x * gamma with a learned per-channel gamma (timm's LayerScale; CaiT, DeiT-III): over the last dim, or over C
            of [B, C, H, W] with channels_first=True (timm's LayerScale2d)."""

            def __init__(self, dim, channels_first=False):
                super().__init__()
                self.shape = (-1, 1, 1) if channels_first else (-1,)
                self.gamma = nn.Parameter(torch.ones(dim))

            def forward(self, x):
                return x * self.gamma.view(self.shape)
        """"));
    public override TorchSharpForm TorchSharp { get; } = new(n => $"new LayerScale({PerChannel.Cs(n)})", new CsHelper("LayerScale", """"
        /// <summary>x * gamma with a learned per-channel gamma (timm's LayerScale; CaiT, DeiT-III): over the last dim, or over C
        /// of [B, C, H, W] with channelsFirst (timm's LayerScale2d).</summary>
        public sealed class LayerScale : nn.Module<Tensor, Tensor>
        {
            private readonly Parameter gamma;
            private readonly long[] shape;

            public LayerScale(long dim, bool channelsFirst = false) : base(nameof(LayerScale))
            {
                shape = channelsFirst ? new long[] { -1, 1, 1 } : new long[] { -1 };
                register_parameter("gamma", gamma = nn.Parameter(ones(dim)));
            }

            public override Tensor forward(Tensor x) => x * gamma.view(shape);
        }
        """"));
    public override void Init(NodeTensors t) => nn.init.constant_(t.P("gamma"), t.Attr<double>("init"));
    public override NodeKernel Create(NodeTensors t)
    {
        var gamma = t.P("gamma");
        var image = t.Layout == Layout.Image;
        return new Unary(x =>
        {
            if (!image) return x.mul(gamma);
            using var g = PerChannel.View(t, gamma);
            return x.mul(g);
        });
    }
}

/// <summary><c>affine</c>: α·x + β, α initialised to 1 and β to 0 (timm's resmlp Affine: torch.addcmul(beta, alpha, x)).</summary>
internal sealed class AffineModule : OpModule
{
    public override OpId Op => OpId.Affine;
    public override bool RowWise => true;
    public override OnnxForm Onnx { get; } = new((g, n, x) =>
        g.Node("Add", [g.Node("Mul", [x[0], PerChannel.Onnx(g, n, "alpha")]), PerChannel.Onnx(g, n, "beta")]));
    public override PyTorchForm PyTorch { get; } = new(n => $"Affine({PerChannel.Py(n)})", new PyHelper("Affine", """"
        class Affine(nn.Module):
            """alpha * x + beta with learned per-channel alpha and beta (timm's resmlp Affine): over the last dim, or over C
            of [B, C, H, W] with channels_first=True."""

            def __init__(self, dim, channels_first=False):
                super().__init__()
                self.shape = (-1, 1, 1) if channels_first else (-1,)
                self.alpha = nn.Parameter(torch.ones(dim))
                self.beta = nn.Parameter(torch.zeros(dim))

            def forward(self, x):
                return torch.addcmul(self.beta.view(self.shape), self.alpha.view(self.shape), x)
        """"));
    public override TorchSharpForm TorchSharp { get; } = new(n => $"new Affine({PerChannel.Cs(n)})", new CsHelper("Affine", """"
        /// <summary>alpha * x + beta with learned per-channel alpha and beta (timm's resmlp Affine): over the last dim, or over C
        /// of [B, C, H, W] with channelsFirst.</summary>
        public sealed class Affine : nn.Module<Tensor, Tensor>
        {
            private readonly Parameter alpha, beta;
            private readonly long[] shape;

            public Affine(long dim, bool channelsFirst = false) : base(nameof(Affine))
            {
                shape = channelsFirst ? new long[] { -1, 1, 1 } : new long[] { -1 };
                register_parameter("alpha", alpha = nn.Parameter(ones(dim)));
                register_parameter("beta", beta = nn.Parameter(zeros(dim)));
            }

            public override Tensor forward(Tensor x) => addcmul(beta.view(shape), alpha.view(shape), x, 1);
        }
        """"));
    public override void Init(NodeTensors t)
    {
        nn.init.ones_(t.P("alpha"));
        nn.init.zeros_(t.P("beta"));
    }
    public override NodeKernel Create(NodeTensors t)
    {
        Tensor alpha = t.P("alpha"), beta = t.P("beta");
        return new Unary(x =>
        {
            using var a = PerChannel.View(t, alpha);
            using var b = PerChannel.View(t, beta);
            using var scaled = x.mul(a);
            return scaled.add(b);
        });
    }
}
