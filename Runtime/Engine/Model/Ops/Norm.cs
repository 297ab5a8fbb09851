using ArchDsl.Compiler;
using ArchDsl.Runtime.Export;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Model;

/// <summary>Norm init as PyTorch's: weight 1, bias 0; running_var 1 (running_mean and num_batches_tracked start at 0).</summary>
internal abstract class NormModule : OpModule
{
    public override AmpPolicy Amp(NodeTensors t) => AmpPolicy.Float32;

    public override void Init(NodeTensors t)
    {
        nn.init.ones_(t.P("weight"));
        nn.init.zeros_(t.P("bias"));
        if (t.Opt("running_var") is { } rv) nn.init.ones_(rv);
    }
}

/// <summary><c>batchnorm</c> over C of an image, or over D of tokens.</summary>
internal sealed class BatchNormModule : NormModule
{
    public override OpId Op => OpId.BatchNorm;
    public override OnnxForm Onnx { get; } = new((g, n, x) =>
    {
        // ONNX normalises over dim 1: tokens [B, N, D] are transposed to [B, D, N] and back.
        var input = n.Image ? x[0] : g.Node("Transpose", x, ("perm", new long[] { 0, 2, 1 }));
        var y = g.Node("BatchNormalization", [input, g.Weight("weight"), g.Weight("bias"), g.Weight("running_mean"), g.Weight("running_var")],
            ("epsilon", n.Attr<double>("eps")), ("momentum", 1 - n.Attr<double>("momentum")));
        return n.Image ? y : g.Node("Transpose", [y], ("perm", new long[] { 0, 2, 1 }));
    });
    public override PyTorchForm PyTorch { get; } = new(n =>
        $"{(n.Image ? "nn.BatchNorm2d" : "TokenBatchNorm")}({n.Input.Dims[n.Image ? 0 : ^1]}, eps={ExportNode.Py(n.Attr<double>("eps"))}, momentum={ExportNode.Py(n.Attr<double>("momentum"))})",
        new PyHelper("TokenBatchNorm", """"
        class TokenBatchNorm(nn.BatchNorm1d):
            """Batch norm of tokens [B, N, D] over D: the rows of [B*N, D] (the statistics of BatchNorm1d on [B, D, N])."""

            def forward(self, x):
                return super().forward(x.reshape(-1, x.shape[-1])).view(x.shape)
        """"));
    public override TorchSharpForm TorchSharp { get; } = new(n =>
        $"{(n.Image ? "nn.BatchNorm2d" : "new TokenBatchNorm")}({n.Input.Dims[n.Image ? 0 : ^1]}, eps: {Cs.Literal(n.Attr<double>("eps"))}, momentum: {Cs.Literal(n.Attr<double>("momentum"))})",
        new CsHelper("TokenBatchNorm", """"
        /// <summary>Batch norm of tokens [B, N, D] over D: the rows of [B*N, D] (the statistics of BatchNorm1d on [B, D, N]).</summary>
        public sealed class TokenBatchNorm : nn.Module<Tensor, Tensor>
        {
            private readonly Parameter weight, bias;
            private readonly Tensor running_mean, running_var, num_batches_tracked;
            private readonly double eps, momentum;

            public TokenBatchNorm(long features, double eps, double momentum) : base(nameof(TokenBatchNorm))
            {
                (this.eps, this.momentum) = (eps, momentum);
                register_parameter("weight", weight = nn.Parameter(ones(features)));
                register_parameter("bias", bias = nn.Parameter(zeros(features)));
                register_buffer("running_mean", running_mean = zeros(features));
                register_buffer("running_var", running_var = ones(features));
                register_buffer("num_batches_tracked", num_batches_tracked = tensor(0L));
            }

            public override Tensor forward(Tensor x)
            {
                if (training) using (no_grad()) num_batches_tracked.add_(1);
                var rows = x.reshape(-1, x.shape[^1]);
                return nn.functional.batch_norm(rows, running_mean, running_var, weight, bias, training, momentum, eps).view(x.shape);
            }
        }
        """"));
    public override NodeKernel Create(NodeTensors t) =>
        new BatchNorm(t.P("weight"), t.P("bias"), t.P("running_mean"), t.P("running_var"), t.P("num_batches_tracked"),
            t.Attr<double>("momentum"), t.Attr<double>("eps"), t.Layout == Layout.Tokens, t.Input.Dims[^1]);

    /// <summary>
    /// Batch norm over C of an image, or over D of tokens: tokens <c>[B, N, D]</c> are normalised as the rows of
    /// <c>[B·N, D]</c> — the same statistics (over B and N) as BatchNorm1d on <c>[B, D, N]</c>, without transposes.
    /// Training uses batch statistics and updates the running ones (unbiased variance) and num_batches_tracked.
    /// </summary>
    internal sealed class BatchNorm(Tensor w, Tensor b, Tensor mean, Tensor var, Tensor tracked, double momentum, double eps, bool tokens, long features) : NodeKernel
    {
        readonly long[] _rows = { -1, features };
        /// <summary>When set, training statistics are the global batch's over this group (<see cref="IrModel.SyncBatchNorm"/>).</summary>
        public torch.distributed.ProcessGroup? SyncGroup { get; set; }

        /// <summary>
        /// Whether this kernel also applies the exact GELU of the node before it (<see cref="GeluBatchNormFusion"/>): on
        /// the CPU one fused kernel, <see cref="F.gelu_batch_norm"/>; elsewhere, and with synchronised statistics, GELU then batch norm.
        /// </summary>
        public bool GeluFirst { get; set; }

        /// <summary>
        /// Whether the residual sum that reads this node's value computes it (<see cref="GeluBatchNormFusion"/>, with
        /// <see cref="ForwardAdd"/>): then this node passes its input on unchanged.
        /// </summary>
        public bool InResidual { get; set; }

        public override Tensor Forward(Tensor x, Tensor? y, bool training) => InResidual ? x.alias() : Normalize(x, training);

        /// <summary>
        /// This node's value on <paramref name="x"/> plus <paramref name="residual"/>: on the CPU, with the GELU fused, one
        /// kernel that adds the residual in its normalising pass (<see cref="F.gelu_batch_norm"/>); elsewhere the node's value, then the add.
        /// </summary>
        public Tensor ForwardAdd(Tensor x, Tensor residual, bool training)
        {
            if (GeluFirst && !tokens && x.device_type == DeviceType.CPU && !(training && SyncGroup is not null))
            {
                if (training)
                    using (no_grad()) tracked.add_(1L);
                return F.gelu_batch_norm(x, mean, var, w, b, training, momentum, eps, residual);
            }
            using var n = Normalize(x, training);
            return n.add(residual);
        }

        Tensor Normalize(Tensor x, bool training)
        {
            if (training)
                using (no_grad()) tracked.add_(1L);
            if (!tokens) return Rows(x, training);
            var s = x.shape;
            using var rows = x.reshape(_rows);
            using var n = Rows(rows, training);
            return n.view(s);
        }

        Tensor Rows(Tensor x, bool training)
        {
            if (GeluFirst && (training && SyncGroup is not null || x.device_type != DeviceType.CPU))
            {
                using var g = PointwiseModule.Pointwise.Apply(v => v.gelu(), x);
                return Plain(g, training);
            }
            return GeluFirst ? F.gelu_batch_norm(x, mean, var, w, b, training, momentum, eps) : Plain(x, training);
        }

        Tensor Plain(Tensor x, bool training) => training && SyncGroup is { } g
            ? Distributed.SyncBatchNorm.Forward(x, w, b, mean, var, momentum, eps, g)
            : F.batch_norm(x, mean, var, w, b, training, momentum, eps);
    }
}

/// <summary><c>layernorm</c> over the last dim, or over C at every pixel of an image.</summary>
internal sealed class LayerNormModule : NormModule
{
    public override OpId Op => OpId.LayerNorm;
    public override bool RowWise => true; // over D of each token (over C of each pixel on an image)
    public override OnnxForm Onnx { get; } = new((g, n, x) =>
    {
        var input = n.Image ? g.Node("Transpose", x, ("perm", new long[] { 0, 2, 3, 1 })) : x[0];
        var y = g.Node("LayerNormalization", [input, g.Weight("weight"), g.Weight("bias")], ("axis", -1L), ("epsilon", n.Attr<double>("eps")));
        return n.Image ? g.Node("Transpose", [y], ("perm", new long[] { 0, 3, 1, 2 })) : y;
    });
    public override PyTorchForm PyTorch { get; } = new(n =>
        $"{(n.Image ? "LayerNorm2d" : "nn.LayerNorm")}({n.Input.Dims[n.Image ? 0 : ^1]}, eps={ExportNode.Py(n.Attr<double>("eps"))})",
        new PyHelper("LayerNorm2d", """"
        class LayerNorm2d(nn.LayerNorm):
            """Layer norm over C at every pixel of [B, C, H, W] (timm's LayerNorm2d, ConvNeXt's channels-first norm)."""

            def forward(self, x):
                return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        """"));
    public override TorchSharpForm TorchSharp { get; } = new(n =>
        $"{(n.Image ? "new LayerNorm2d" : "nn.LayerNorm")}({n.Input.Dims[n.Image ? 0 : ^1]}, eps: {Cs.Literal(n.Attr<double>("eps"))})",
        new CsHelper("LayerNorm2d", """"
        /// <summary>Layer norm over C at every pixel of [B, C, H, W] (timm's LayerNorm2d, ConvNeXt's channels-first norm).</summary>
        public sealed class LayerNorm2d : nn.Module<Tensor, Tensor>
        {
            private readonly Parameter weight, bias;
            private readonly long[] shape;
            private readonly double eps;

            public LayerNorm2d(long channels, double eps) : base(nameof(LayerNorm2d))
            {
                (shape, this.eps) = (new[] { channels }, eps);
                register_parameter("weight", weight = nn.Parameter(ones(channels)));
                register_parameter("bias", bias = nn.Parameter(zeros(channels)));
            }

            public override Tensor forward(Tensor x) =>
                nn.functional.layer_norm(x.permute(0, 2, 3, 1), shape, weight, bias, eps).permute(0, 3, 1, 2);
        }
        """"));
    public override NodeKernel Create(NodeTensors t)
    {
        var image = t.Layout == Layout.Image;
        return new LayerNorm(t.P("weight"), t.P("bias"), t.Attr<double>("eps"), image, image ? t.Input.Dims[0] : t.Input.Dims[^1]);
    }

    /// <summary>Layer norm over the last dim (tokens, vector), or over C at every pixel of an image (permuted to channels-last and back).</summary>
    sealed class LayerNorm(Tensor w, Tensor b, double eps, bool image, long features) : NodeKernel
    {
        readonly long[] _shape = { features };
        public override Tensor Forward(Tensor x, Tensor? y, bool training)
        {
            if (!image) return F.layer_norm(x, _shape, w, b, eps);
            using var last = x.permute(0, 2, 3, 1);
            using var n = F.layer_norm(last, _shape, w, b, eps);
            return n.permute(0, 3, 1, 2);
        }
    }
}

/// <summary><c>group_norm</c> over the channels of an image in groups (F.group_norm).</summary>
internal sealed class GroupNormModule : NormModule
{
    public override OpId Op => OpId.GroupNorm;
    public override OnnxForm Onnx { get; } = new((g, n, x) =>
    {
        // GroupNormalization is opset 18 (and its scale was per group until 21): in 17, each sample's groups are the
        // channels of [B, G, C/G·H·W] for InstanceNormalization (scale 1, bias 0), then the per-channel affine on [B, C, H, W].
        long groups = n.Attr<long>("groups"), c = n.Input.Dims[0], h = n.Input.Dims[1], w = n.Input.Dims[2];
        var grouped = g.Node("Reshape", [x[0], g.Ints([-1, groups, c / groups * h * w], 3)]);
        var ones = Enumerable.Repeat(1f, (int)groups).ToArray();
        var normed = g.Node("InstanceNormalization", [grouped, g.Const(ones, groups), g.Const(new float[groups], groups)], ("epsilon", n.Attr<double>("eps")));
        var image = g.Node("Reshape", [normed, g.Ints([-1, c, h, w], 4)]);
        return g.Node("Add", [g.Node("Mul", [image, PerChannel.Onnx(g, n, "weight")]), PerChannel.Onnx(g, n, "bias")]);
    });
    public override PyTorchForm PyTorch { get; } = new(n =>
        $"nn.GroupNorm({n.Attr<long>("groups")}, {n.Input.Dims[0]}, eps={ExportNode.Py(n.Attr<double>("eps"))})");
    public override TorchSharpForm TorchSharp { get; } = new(n =>
        $"nn.GroupNorm({n.Attr<long>("groups")}, {n.Input.Dims[0]}, eps: {Cs.Literal(n.Attr<double>("eps"))})");
    public override NodeKernel Create(NodeTensors t)
    {
        Tensor w = t.P("weight"), b = t.P("bias");
        long groups = t.Attr<long>("groups");
        var eps = t.Attr<double>("eps");
        return new Unary(x => F.group_norm(x, groups, w, b, eps));
    }
}
