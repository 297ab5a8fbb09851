using ArchDsl.Compiler;
using ArchDsl.Runtime.Export;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Model;

/// <summary><c>patches</c>: image → tokens, features in (c, i, j) order.</summary>
internal sealed class PatchesModule : OpModule
{
    public override OpId Op => OpId.Patches;
    public override OnnxForm Onnx { get; } = new((g, n, x) =>
    {
        long p = n.Attr<long>("size"), c = n.Input.Dims[0], h = n.Input.Dims[1], w = n.Input.Dims[2];
        var split = g.Node("Reshape", [x[0], g.Ints([-1, c, h / p, p, w / p, p], 6)]);
        var perm = g.Node("Transpose", [split], ("perm", new long[] { 0, 2, 4, 1, 3, 5 }));
        return g.Node("Reshape", [perm, g.Ints([-1, h / p * (w / p), c * p * p], 3)]);
    });
    public override PyTorchForm PyTorch { get; } = new(n => $"Patches({n.Attr<long>("size")})", new PyHelper("Patches", """"
        class Patches(nn.Module):
            """Non-overlapping p x p patches: [B, C, H, W] -> [B, (H/p)(W/p), C*p*p], row-major, features in (c, i, j) order."""

            def __init__(self, size):
                super().__init__()
                self.size = size

            def forward(self, x):
                B, C, H, W = x.shape
                p = self.size
                x = x.reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 1, 3, 5)
                return x.reshape(B, (H // p) * (W // p), C * p * p)
        """"));
    public override TorchSharpForm TorchSharp { get; } = new(n => $"new Patches({n.Attr<long>("size")})", new CsHelper("Patches", """"
        /// <summary>Non-overlapping p x p patches: [B, C, H, W] → [B, (H/p)(W/p), C*p*p], row-major, features in (c, i, j) order.</summary>
        public sealed class Patches(long size) : nn.Module<Tensor, Tensor>(nameof(Patches))
        {
            public override Tensor forward(Tensor x)
            {
                long b = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3], p = size;
                return x.reshape(b, c, h / p, p, w / p, p).permute(0, 2, 4, 1, 3, 5).reshape(b, h / p * (w / p), c * p * p);
            }
        }
        """"));
    public override void Init(NodeTensors t) => NoTensors(t);
    public override NodeKernel Create(NodeTensors t) => new Patches(t.Attr<long>("size"), t.Input.Dims[0], t.Input.Dims[1], t.Input.Dims[2]);

    /// <summary>
    /// image <c>[B, C, H, W]</c> → tokens <c>[B, (H/p)(W/p), C·p·p]</c>: tokens in row-major patch order, features in
    /// (c, i, j) order — so a following linear's weight <c>[D, C·p·p]</c> reshaped to <c>[D, C, p, p]</c> is the
    /// equivalent stride-p convolution (timm's PatchEmbed).
    /// </summary>
    sealed class Patches(long p, long c, long h, long w) : NodeKernel
    {
        public override Tensor Forward(Tensor x, Tensor? y, bool training)
        {
            var b = x.size(0);
            using var split = x.view(b, c, h / p, p, w / p, p);
            using var perm = split.permute(0, 2, 4, 1, 3, 5);
            return perm.reshape(b, h / p * (w / p), c * p * p);
        }
    }
}

/// <summary><c>flatten</c>: image <c>[B, C, H, W]</c> → tokens <c>[B, H·W, C]</c>.</summary>
internal sealed class FlattenModule : OpModule
{
    public override OpId Op => OpId.Flatten;
    public override OnnxForm Onnx { get; } = new((g, n, x) =>
        g.Node("Transpose", [g.Node("Reshape", [x[0], g.Ints([-1, n.Input.Dims[0], (long)n.Input.Dims[1] * n.Input.Dims[2]], 3)])], ("perm", new long[] { 0, 2, 1 })));
    public override PyTorchForm PyTorch { get; } = new(_ => "PixelTokens()", new PyHelper("PixelTokens", """"
        class PixelTokens(nn.Module):
            """Pixels as tokens, row-major: [B, C, H, W] -> [B, H*W, C]."""

            def forward(self, x):
                return x.flatten(2).transpose(1, 2)
        """"));
    public override TorchSharpForm TorchSharp { get; } = new(_ => "new PixelTokens()", new CsHelper("PixelTokens", """"
        /// <summary>Pixels as tokens, row-major: [B, C, H, W] → [B, H*W, C].</summary>
        public sealed class PixelTokens() : nn.Module<Tensor, Tensor>(nameof(PixelTokens))
        {
            public override Tensor forward(Tensor x) => x.flatten(2).transpose(1, 2);
        }
        """"));
    public override void Init(NodeTensors t) => NoTensors(t);
    public override NodeKernel Create(NodeTensors t) => new Unary(x => { using var f = x.flatten(2); return f.transpose(1, 2); });
}

/// <summary><c>transpose</c>: tokens <c>[B, N, D]</c> → <c>[B, D, N]</c>.</summary>
internal sealed class TransposeModule : OpModule
{
    public override OpId Op => OpId.Transpose;
    public override OnnxForm Onnx { get; } = new((g, _, x) => g.Node("Transpose", x, ("perm", new long[] { 0, 2, 1 })));
    public override PyTorchForm PyTorch { get; } = new(_ => "Transpose()", new PyHelper("Transpose", """"
        class Transpose(nn.Module):
            """Swaps tokens and features: [B, N, D] -> [B, D, N] (MLP-Mixer's token mixing)."""

            def forward(self, x):
                return x.transpose(1, 2)
        """"));
    public override TorchSharpForm TorchSharp { get; } = new(_ => "new Transpose()", new CsHelper("Transpose", """"
        /// <summary>Swaps tokens and features: [B, N, D] → [B, D, N] (MLP-Mixer's token mixing).</summary>
        public sealed class Transpose() : nn.Module<Tensor, Tensor>(nameof(Transpose))
        {
            public override Tensor forward(Tensor x) => x.transpose(1, 2);
        }
        """"));
    public override void Init(NodeTensors t) => NoTensors(t);
    public override NodeKernel Create(NodeTensors t) => new Unary(x => x.transpose(1, 2));
}

/// <summary><c>cls_token</c>: prepends the learned token <c>[1, D]</c>; init trunc_normal_(std=0.02, a=-2, b=2) as timm's ViT/DeiT.</summary>
internal sealed class ClsTokenModule : OpModule
{
    public override OpId Op => OpId.ClsToken;
    public override OnnxForm Onnx { get; } = new((g, n, x) =>
    {
        long dim = n.Input.Dims[1];
        var token = g.Node("Reshape", [g.Weight("token"), g.Ints([1, 1, dim], 3)]);
        var batch = g.Node("Slice", [g.Node("Shape", x), g.Ints([0], 1), g.Ints([1], 1)]);
        var shape = g.Node("Concat", [batch, g.Ints([1, dim], 2)], ("axis", 0L));
        return g.Node("Concat", [g.Node("Expand", [token, shape]), x[0]], ("axis", 1L));
    });
    public override PyTorchForm PyTorch { get; } = new(n => $"ClsToken({n.Input.Dims[1]})", new PyHelper("ClsToken", """"
        class ClsToken(nn.Module):
            """Prepends a learned class token (ViT's cls_token): [B, N, D] -> [B, N+1, D]."""

            def __init__(self, dim):
                super().__init__()
                self.token = nn.Parameter(torch.zeros(1, dim))

            def forward(self, x):
                return torch.cat([self.token.expand(x.shape[0], 1, -1), x], dim=1)
        """"));
    public override TorchSharpForm TorchSharp { get; } = new(n => $"new ClsToken({n.Input.Dims[1]})", new CsHelper("ClsToken", """"
        /// <summary>Prepends a learned class token (ViT's cls_token): [B, N, D] → [B, N+1, D].</summary>
        public sealed class ClsToken : nn.Module<Tensor, Tensor>
        {
            private readonly Parameter token;

            public ClsToken(long dim) : base(nameof(ClsToken)) => register_parameter("token", token = nn.Parameter(zeros(1, dim)));

            public override Tensor forward(Tensor x) => cat(new[] { token.expand(x.shape[0], 1, -1), x }, 1);
        }
        """"));
    public override void Init(NodeTensors t) => nn.init.trunc_normal_(t.P("token"), 0, 0.02);
    public override NodeKernel Create(NodeTensors t) => new ClsToken(t.P("token"));

    sealed class ClsToken(Tensor token) : NodeKernel
    {
        public override Tensor Forward(Tensor x, Tensor? y, bool training)
        {
            using var t = token.expand(x.size(0), 1, token.size(1));
            return cat(new[] { t, x }, 1);
        }
    }
}

/// <summary><c>pos_embed</c>: adds the learned <c>[N, D]</c>; init trunc_normal_(std=0.02, a=-2, b=2) as timm's ViT/DeiT.</summary>
internal sealed class PosEmbedModule : OpModule
{
    public override OpId Op => OpId.PosEmbed;
    public override OnnxForm Onnx { get; } = new((g, _, x) => g.Node("Add", [x[0], g.Weight("weight")]));
    public override PyTorchForm PyTorch { get; } = new(n => $"PosEmbed({n.Input.Dims[0]}, {n.Input.Dims[1]})", new PyHelper("PosEmbed", """"
        class PosEmbed(nn.Module):
            """Adds a learned position embedding (ViT's pos_embed) to [B, N, D]."""

            def __init__(self, tokens, dim):
                super().__init__()
                self.weight = nn.Parameter(torch.zeros(tokens, dim))

            def forward(self, x):
                return x + self.weight
        """"));
    public override TorchSharpForm TorchSharp { get; } = new(n => $"new PosEmbed({n.Input.Dims[0]}, {n.Input.Dims[1]})", new CsHelper("PosEmbed", """"
        /// <summary>Adds a learned position embedding (ViT's pos_embed) to [B, N, D].</summary>
        public sealed class PosEmbed : nn.Module<Tensor, Tensor>
        {
            private readonly Parameter weight;

            public PosEmbed(long tokens, long dim) : base(nameof(PosEmbed)) => register_parameter("weight", weight = nn.Parameter(zeros(tokens, dim)));

            public override Tensor forward(Tensor x) => x + weight;
        }
        """"));
    public override void Init(NodeTensors t) => nn.init.trunc_normal_(t.P("weight"), 0, 0.02);
    public override NodeKernel Create(NodeTensors t)
    {
        var weight = t.P("weight");
        return new Unary(x => x.add(weight));
    }
}
