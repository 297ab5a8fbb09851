using ArchDsl.Compiler;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Model;

/// <summary>
/// The computation of one IR node over a batch: values are <c>[B, ...per-sample shape]</c> — image
/// <c>[B, C, H, W]</c>, tokens <c>[B, N, D]</c>, vector <c>[B, D]</c>. A kernel holds references to its node's
/// parameters and buffers (owned by the <see cref="IrModel"/>); it never returns one of its inputs itself
/// (identity ops return a new handle), so the caller may free every value independently.
/// </summary>
internal abstract class NodeKernel
{
    public abstract Tensor Forward(Tensor x, Tensor? y, bool training);

    /// <summary>The kernel of <paramref name="node"/>, or null for the graph's <c>input</c> node (the model feeds the batch itself).</summary>
    public static NodeKernel? Create(IrNode node, IReadOnlyDictionary<string, Tensor> t)
    {
        Tensor P(string name) => t.TryGetValue(name, out var v) ? v
            : throw new ArgumentException($"IR node '{node.Name}' ({node.Op}) lacks its tensor '{name}'");
        Tensor? Opt(string name) => t.TryGetValue(name, out var v) ? v : null;
        var input = node.InputShapes.Count > 0 ? node.InputShapes[0] : null;
        Layout In() => input?.Layout ?? throw new ArgumentException($"IR node '{node.Name}' ({node.Op}) has no input shape");
        void Expect(params Layout[] ok)
        {
            if (!ok.Contains(In()))
                throw new ArgumentException($"IR node '{node.Name}': {node.Op} does not apply to {input} (expects {string.Join(" or ", ok.Select(l => l.ToString().ToLowerInvariant()))})");
        }
        void Arity(int n)
        {
            if (node.Inputs.Count != n) throw new ArgumentException($"IR node '{node.Name}' ({node.Op}) has {node.Inputs.Count} inputs; it takes {n}");
        }

        if (node.Op == "input") return null;
        Arity(node.Op == "add" ? 2 : 1);
        switch (node.Op)
        {
            case "conv2d":
                Expect(Layout.Image);
                return new Conv(P("weight"), Opt("bias"), node.Attr<long>("stride", 1), node.Attr<long>("padding", 0), node.Attr<long>("groups", 1));
            case "batchnorm":
                Expect(Layout.Image, Layout.Tokens);
                return new BatchNorm(P("weight"), P("bias"), P("running_mean"), P("running_var"), P("num_batches_tracked"),
                    node.Attr<double>("momentum", 0.1), node.Attr<double>("eps", 1e-5), In() == Layout.Tokens, input!.Dims[^1]);
            case "layernorm":
                return new LayerNorm(P("weight"), P("bias"), node.Attr<double>("eps", 1e-5), In() == Layout.Image, In() == Layout.Image ? input!.Dims[0] : input!.Dims[^1]);
            case "linear":
                Expect(Layout.Tokens, Layout.Vector);
                return new Linear(P("weight"), Opt("bias"));
            case "gelu": return new Pointwise(x => x.gelu());
            case "relu": return new Pointwise(x => x.relu());
            case "silu": return new Pointwise(x => x.silu());
            case "tanh": return new Pointwise(x => x.tanh());
            case "sigmoid": return new Pointwise(x => x.sigmoid());
            case "identity": return new Unary(x => x.alias());
            case "patches":
                Expect(Layout.Image);
                return new Patches(node.Attr<long>("size"), input!.Dims[0], input.Dims[1], input.Dims[2]);
            case "flatten":
                Expect(Layout.Image);
                return new Unary(x => { using var f = x.flatten(2); return f.transpose(1, 2); });
            case "transpose":
                Expect(Layout.Tokens);
                return new Unary(x => x.transpose(1, 2));
            case "cls_token":
                Expect(Layout.Tokens);
                return new ClsToken(P("token"));
            case "pos_embed":
                Expect(Layout.Tokens);
                return new PosEmbed(P("weight"));
            case "attention":
                Expect(Layout.Tokens);
                return new Attention(P("qkv.weight"), Opt("qkv.bias"), P("proj.weight"), Opt("proj.bias"), node.Attr<long>("heads"), input!.Dims[1]);
            case "fourier":
                Expect(Layout.Tokens);
                return new Fourier();
            case "pool":
                Expect(Layout.Image);
                return new Pool(node.Attr<long>("kernel"), node.Attr<long>("stride", 1), node.Attr<long>("padding", 0));
            case "avgpool":
                Expect(Layout.Image, Layout.Tokens);
                return new GlobalMean(In() == Layout.Image ? new long[] { 2, 3 } : new long[] { 1 });
            case "cls":
                Expect(Layout.Tokens);
                return new Unary(x => x.select(1, 0));
            case "dropout":
                return new Dropout(node.Attr<double>("p"));
            case "droppath":
                return new DropPath(node.Attr<double>("p"));
            case "add":
                return new Add();
            default:
                throw new NotSupportedException($"IR op '{node.Op}' (node '{node.Name}') is not implemented by the runtime");
        }
    }

    sealed class Unary(Func<Tensor, Tensor> f) : NodeKernel
    {
        public override Tensor Forward(Tensor x, Tensor? y, bool training) => f(x);
    }

    /// <summary>
    /// An element-wise function. A channels-last image is handed to it as its NHWC view (a plain contiguous tensor)
    /// and permuted back: libtorch 1.13's CPU GELU takes a slow path on channels-last NCHW tensors (measured on
    /// [128, 128, 14, 14], 2 threads: 6.0 ms forward and 7.2 ms backward, against 1.0 and 2.8 ms on the NHWC view).
    /// </summary>
    sealed class Pointwise(Func<Tensor, Tensor> f) : NodeKernel
    {
        public override Tensor Forward(Tensor x, Tensor? y, bool training)
        {
            if (x.dim() != 4 || x.is_contiguous() || !x.is_contiguous(memory_format.ChannelsLast)) return f(x);
            using var nhwc = x.permute(0, 2, 3, 1);
            using var r = f(nhwc);
            return r.permute(0, 3, 1, 2);
        }
    }

    sealed class Add : NodeKernel
    {
        public override Tensor Forward(Tensor x, Tensor? y, bool training) => x.add(y!);
    }

    /// <summary>
    /// 2-D convolution. A depthwise one on the CPU adds its bias after the convolution rather than inside it: libtorch
    /// 1.13's CPU depthwise backward with a bias takes ~5 ms more than without one plus a separate bias add, whose
    /// gradient is one sum (measured on [128, 128, 14, 14], 5×5, channels-last, 2 threads: 23.5 against 18.7 ms
    /// forward + backward). The value is the same.
    /// </summary>
    sealed class Conv(Tensor w, Tensor? b, long stride, long padding, long groups) : NodeKernel
    {
        readonly long[] _stride = { stride, stride }, _padding = { padding, padding }, _dilation = { 1, 1 };
        readonly long[] _biasShape = { 1, -1, 1, 1 };
        readonly bool _depthwise = groups > 1 && w.size(1) == 1;

        public override Tensor Forward(Tensor x, Tensor? y, bool training)
        {
            if (b is null || !_depthwise || w.device_type != DeviceType.CPU)
                return F.conv2d(x, w, b, _stride, _padding, _dilation, groups);
            var o = F.conv2d(x, w, null, _stride, _padding, _dilation, groups);
            using var bias = b.view(_biasShape);
            return o.add_(bias);
        }
    }

    sealed class Linear(Tensor w, Tensor? b) : NodeKernel
    {
        public override Tensor Forward(Tensor x, Tensor? y, bool training) => F.linear(x, w, b);
    }

    /// <summary>
    /// Batch norm over C of an image, or over D of tokens: tokens <c>[B, N, D]</c> are normalised as the rows of
    /// <c>[B·N, D]</c> — the same statistics (over B and N) as BatchNorm1d on <c>[B, D, N]</c>, without transposes.
    /// Training uses batch statistics and updates the running ones (unbiased variance) and num_batches_tracked.
    /// </summary>
    sealed class BatchNorm(Tensor w, Tensor b, Tensor mean, Tensor var, Tensor tracked, double momentum, double eps, bool tokens, long features) : NodeKernel
    {
        readonly long[] _rows = { -1, features };
        public override Tensor Forward(Tensor x, Tensor? y, bool training)
        {
            if (training)
                using (no_grad()) tracked.add_(1L);
            if (!tokens) return F.batch_norm(x, mean, var, w, b, training, momentum, eps);
            var s = x.shape;
            using var rows = x.reshape(_rows);
            using var n = F.batch_norm(rows, mean, var, w, b, training, momentum, eps);
            return n.view(s);
        }
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

    /// <summary>Prepends the learned token <c>[1, D]</c> to every sample's tokens.</summary>
    sealed class ClsToken(Tensor token) : NodeKernel
    {
        public override Tensor Forward(Tensor x, Tensor? y, bool training)
        {
            using var t = token.expand(x.size(0), 1, token.size(1));
            return cat(new[] { t, x }, 1);
        }
    }

    sealed class PosEmbed(Tensor weight) : NodeKernel
    {
        public override Tensor Forward(Tensor x, Tensor? y, bool training) => x.add(weight);
    }

    /// <summary>
    /// Multi-head self-attention as timm's ViT <c>Attention</c>: <c>qkv = x Wᵀ + b</c> with <c>W [3D, D]</c> holding the
    /// q, k and v blocks of D rows each; each block split into heads of D/heads consecutive features;
    /// <c>softmax(q kᵀ / √(D/heads)) v</c> per head; heads concatenated back in order; then <c>proj</c>.
    /// </summary>
    sealed class Attention(Tensor wqkv, Tensor? bqkv, Tensor wproj, Tensor? bproj, long heads, long dim) : NodeKernel
    {
        public override Tensor Forward(Tensor x, Tensor? y, bool training)
        {
            long b = x.size(0), n = x.size(1);
            using var qkv = F.linear(x, wqkv, bqkv);
            using var split = qkv.view(b, n, 3, heads, dim / heads);
            using var perm = split.permute(2, 0, 3, 1, 4); // [3, B, heads, N, d]
            // chunk + squeeze rather than three selects: the backward of a split is one cat, while each select's
            // backward would zero-fill a tensor of the full qkv size and the three would then be summed.
            var parts = perm.chunk(3, 0);
            try
            {
                using var q = parts[0].squeeze(0);
                using var k = parts[1].squeeze(0);
                using var v = parts[2].squeeze(0);
                using var o = F.scaled_dot_product_attention(q, k, v); // [B, heads, N, d]
                using var t = o.transpose(1, 2);                      // [B, N, heads, d]
                using var merged = t.reshape(b, n, dim);
                return F.linear(merged, wproj, bproj);
            }
            finally
            {
                foreach (var p in parts) p.Dispose();
            }
        }
    }

    /// <summary>FNet's mixing: the real part of the 2-D FFT over the token and feature dims.</summary>
    sealed class Fourier : NodeKernel
    {
        static readonly long[] Dims = { -2, -1 };
        public override Tensor Forward(Tensor x, Tensor? y, bool training)
        {
            using var f = fft.fft2(x, Dims);
            return f.real;
        }
    }

    sealed class Pool(long kernel, long stride, long padding) : NodeKernel
    {
        readonly long[] _k = { kernel, kernel }, _s = { stride, stride }, _p = { padding, padding };
        public override Tensor Forward(Tensor x, Tensor? y, bool training) => F.avg_pool2d(x, _k, _s, _p, ceil_mode: false, count_include_pad: false);
    }

    sealed class GlobalMean(long[] dims) : NodeKernel
    {
        public override Tensor Forward(Tensor x, Tensor? y, bool training) => x.mean(dims);
    }

    sealed class Dropout(double p) : NodeKernel
    {
        public override Tensor Forward(Tensor x, Tensor? y, bool training) =>
            training && p > 0 ? F.dropout(x, p, true) : x.alias();
    }

    /// <summary>Stochastic depth (timm's drop_path): in training each sample is kept with probability 1-p and scaled by 1/(1-p), else zeroed.</summary>
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
