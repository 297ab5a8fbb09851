using ArchDsl.Compiler;
using ArchDsl.Runtime.Export;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Model;

/// <summary><c>avg_pool</c> (IR <c>pool</c>): local average pooling, count_include_pad = false.</summary>
internal sealed class AvgPoolModule : OpModule
{
    public override OpId Op => OpId.AvgPool;
    public override OnnxForm Onnx { get; } = new((g, n, x) =>
    {
        long k = n.Attr<long>("kernel"), s = n.Attr<long>("stride"), p = n.Attr<long>("padding");
        return g.Node("AveragePool", x, ("kernel_shape", new[] { k, k }), ("strides", new[] { s, s }), ("pads", new[] { p, p, p, p }), ("count_include_pad", 0L));
    });
    public override PyTorchForm PyTorch { get; } = new(n =>
        $"nn.AvgPool2d({n.Attr<long>("kernel")}, stride={n.Attr<long>("stride")}, padding={n.Attr<long>("padding")}, count_include_pad=False)");
    public override TorchSharpForm TorchSharp { get; } = new(n =>
        $"nn.AvgPool2d({n.Attr<long>("kernel")}, stride: {n.Attr<long>("stride")}, padding: {n.Attr<long>("padding")}, count_include_pad: false)");
    public override void Init(NodeTensors t) => NoTensors(t);
    public override AmpPolicy Amp(NodeTensors t) => AmpPolicy.Float32; // a reduction (torch.autocast: avg_pool in float32)
    public override NodeKernel Create(NodeTensors t) => new Pool(t.Attr<long>("kernel"), t.Attr<long>("stride"), t.Attr<long>("padding"));

    sealed class Pool(long kernel, long stride, long padding) : NodeKernel
    {
        readonly long[] _k = { kernel, kernel }, _s = { stride, stride }, _p = { padding, padding };
        public override Tensor Forward(Tensor x, Tensor? y, bool training) => F.avg_pool2d(x, _k, _s, _p, ceil_mode: false, count_include_pad: false);
    }
}

/// <summary><c>max_pool</c>: local max pooling (F.max_pool2d, floor mode).</summary>
internal sealed class MaxPoolModule : OpModule
{
    public override OpId Op => OpId.MaxPool;
    public override OnnxForm Onnx { get; } = new((g, n, x) =>
    {
        long k = n.Attr<long>("kernel"), s = n.Attr<long>("stride"), p = n.Attr<long>("padding");
        return g.Node("MaxPool", x, ("kernel_shape", new[] { k, k }), ("strides", new[] { s, s }), ("pads", new[] { p, p, p, p }));
    });
    public override PyTorchForm PyTorch { get; } = new(n =>
        $"nn.MaxPool2d({n.Attr<long>("kernel")}, stride={n.Attr<long>("stride")}, padding={n.Attr<long>("padding")})");
    public override TorchSharpForm TorchSharp { get; } = new(n =>
        $"nn.MaxPool2d({n.Attr<long>("kernel")}, stride: {n.Attr<long>("stride")}, padding: {n.Attr<long>("padding")})");
    public override void Init(NodeTensors t) => NoTensors(t);
    public override NodeKernel Create(NodeTensors t)
    {
        long k = t.Attr<long>("kernel"), s = t.Attr<long>("stride"), p = t.Attr<long>("padding");
        long[] kk = { k, k }, ss = { s, s }, pp = { p, p };
        return new Unary(x => F.max_pool2d(x, kk, ss, pp));
    }
}

/// <summary><c>global_pool</c> (IR <c>avgpool</c>): the mean over the pixels of an image or the tokens, leaving out the
/// first prefix_tokens tokens (timm: <c>x[:, num_prefix_tokens:].mean(dim=1)</c>).</summary>
internal sealed class GlobalPoolModule : OpModule
{
    public override OpId Op => OpId.GlobalPool;
    public override OnnxForm Onnx { get; } = new((g, n, x) =>
    {
        var prefix = n.Attr<long>("prefix_tokens");
        var kept = prefix == 0 ? x : [g.Node("Slice", [x[0], g.Ints([prefix], 1), g.Ints([n.Input.Dims[0]], 1), g.Ints([1], 1)])];
        return g.Node("ReduceMean", kept, ("axes", n.Image ? new long[] { 2, 3 } : new long[] { 1 }), ("keepdims", 0L));
    });
    public override PyTorchForm PyTorch { get; } = new(n => n.Image ? "GlobalPool((2, 3))"
        : n.Attr<long>("prefix_tokens") is > 0 and var prefix ? $"GlobalPool(1, prefix_tokens={prefix})" : "GlobalPool(1)", new PyHelper("GlobalPool", """"
        class GlobalPool(nn.Module):
            """Global average pooling (timm's global_pool='avg'): the mean over dims (pixels (2, 3) or tokens 1), leaving
            out the first prefix_tokens tokens (timm's num_prefix_tokens: x[:, prefix_tokens:])."""

            def __init__(self, dim, prefix_tokens=0):
                super().__init__()
                self.dim = dim
                self.prefix_tokens = prefix_tokens

            def forward(self, x):
                return x[:, self.prefix_tokens:].mean(self.dim)
        """"));
    public override TorchSharpForm TorchSharp { get; } = new(n => n.Image ? "new GlobalPool(new long[] { 2, 3 })"
        : $"new GlobalPool(new long[] {{ 1 }}, prefixTokens: {n.Attr<long>("prefix_tokens")})", new CsHelper("GlobalPool", """"
        /// <summary>Global average pooling (timm's global_pool='avg'): the mean over dims (pixels { 2, 3 } or tokens { 1 }),
        /// leaving out the first prefixTokens tokens (timm's num_prefix_tokens: x[:, prefix_tokens:]).</summary>
        public sealed class GlobalPool(long[] dims, long prefixTokens = 0) : nn.Module<Tensor, Tensor>(nameof(GlobalPool))
        {
            public override Tensor forward(Tensor x) => (prefixTokens == 0 ? x : x.narrow(1, prefixTokens, x.shape[1] - prefixTokens)).mean(dims);
        }
        """"));
    public override void Init(NodeTensors t) => NoTensors(t);
    public override AmpPolicy Amp(NodeTensors t) => AmpPolicy.Float32; // a reduction
    public override NodeKernel Create(NodeTensors t)
    {
        var dims = t.Layout == Layout.Image ? new long[] { 2, 3 } : new long[] { 1 };
        var prefix = t.Attr<long>("prefix_tokens");
        if (prefix == 0) return new Unary(x => x.mean(dims));
        var n = t.Input.Dims[0];
        return new Unary(x => { using var kept = x.narrow(1, prefix, n - prefix); return kept.mean(dims); });
    }
}

/// <summary><c>cls_pool</c> (IR <c>cls</c>): the first token.</summary>
internal sealed class ClsPoolModule : OpModule
{
    public override OpId Op => OpId.ClsPool;
    public override OnnxForm Onnx { get; } = new((g, _, x) => g.Node("Gather", [x[0], g.Ints([0])], ("axis", 1L)));
    public override PyTorchForm PyTorch { get; } = new(_ => "ClsPool()", new PyHelper("ClsPool", """"
        class ClsPool(nn.Module):
            """The class token as the classifier's input (timm's global_pool='token'): [B, N, D] -> [B, D]."""

            def forward(self, x):
                return x[:, 0]
        """"));
    public override TorchSharpForm TorchSharp { get; } = new(_ => "new ClsPool()", new CsHelper("ClsPool", """"
        /// <summary>The class token as the classifier's input (timm's global_pool='token'): [B, N, D] → [B, D].</summary>
        public sealed class ClsPool() : nn.Module<Tensor, Tensor>(nameof(ClsPool))
        {
            public override Tensor forward(Tensor x) => x.select(1, 0);
        }
        """"));
    public override void Init(NodeTensors t) => NoTensors(t);
    public override NodeKernel Create(NodeTensors t) => new Unary(x => x.select(1, 0));
}
