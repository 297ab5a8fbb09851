using ArchDsl.Compiler;
using ArchDsl.Runtime.Export;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Model;

/// <summary><c>attention</c>: qkv and proj initialised as PyTorch's Linear (qkv first).</summary>
internal sealed class AttentionModule : OpModule
{
    public override OpId Op => OpId.Attention;
    public override OnnxForm Onnx { get; } = new((g, n, x) =>
    {
        long tokens = n.Input.Dims[0], dim = n.Input.Dims[1], heads = n.Attr<long>("heads");
        var qkv = g.Node("Reshape", [g.Linear(x[0], n, "qkv.weight", "qkv.bias"), g.Ints([0, tokens, 3, heads, dim / heads], 5)]);
        var split = g.Node("Transpose", [qkv], ("perm", new long[] { 2, 0, 3, 1, 4 }));   // [3, B, heads, N, d]
        string Part(long i) => g.Node("Gather", [split, g.Ints([i])], ("axis", 0L));
        var q = g.Node("Mul", [Part(0), g.Const([(float)(1 / Math.Sqrt(dim / heads))])]);
        var kT = g.Node("Transpose", [Part(1)], ("perm", new long[] { 0, 1, 3, 2 }));
        var attn = g.Node("Softmax", [g.Node("MatMul", [q, kT])], ("axis", -1L));
        var o = g.Node("Transpose", [g.Node("MatMul", [attn, Part(2)])], ("perm", new long[] { 0, 2, 1, 3 }));
        return g.Linear(g.Node("Reshape", [o, g.Ints([0, tokens, dim], 3)]), n, "proj.weight", "proj.bias");
    });
    public override PyTorchForm PyTorch { get; } = new(n =>
        $"Attention({n.Input.Dims[1]}, num_heads={n.Attr<long>("heads")}, qkv_bias={ExportNode.Py(n.Has("qkv.bias"))})", new PyHelper("Attention", """"
        class Attention(nn.Module):
            """Multi-head self-attention as timm's ViT Attention: [B, N, D] -> [B, N, D]."""

            def __init__(self, dim, num_heads, qkv_bias=True):
                super().__init__()
                self.num_heads = num_heads
                self.scale = (dim // num_heads) ** -0.5
                self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
                self.proj = nn.Linear(dim, dim)

            def forward(self, x):
                B, N, C = x.shape
                qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
                q, k, v = qkv.unbind(0)
                attn = ((q * self.scale) @ k.transpose(-2, -1)).softmax(dim=-1)
                x = (attn @ v).transpose(1, 2).reshape(B, N, C)
                return self.proj(x)
        """"));
    public override TorchSharpForm TorchSharp { get; } = new(n =>
        $"new Attention({n.Input.Dims[1]}, {n.Attr<long>("heads")}, qkvBias: {Cs.Literal(n.Has("qkv.bias"))})", new CsHelper("Attention", """"
        /// <summary>Multi-head self-attention as timm's ViT Attention: [B, N, D] → [B, N, D].</summary>
        public sealed class Attention : nn.Module<Tensor, Tensor>
        {
            private readonly Linear qkv, proj;
            private readonly long heads;
            private readonly double scale;

            public Attention(long dim, long heads, bool qkvBias = true) : base(nameof(Attention))
            {
                this.heads = heads;
                scale = Math.Pow(dim / heads, -0.5);
                register_module("qkv", qkv = nn.Linear(dim, dim * 3, hasBias: qkvBias));
                register_module("proj", proj = nn.Linear(dim, dim));
            }

            public override Tensor forward(Tensor x)
            {
                long b = x.shape[0], n = x.shape[1], c = x.shape[2];
                var qkvs = qkv.call(x).reshape(b, n, 3, heads, c / heads).permute(2, 0, 3, 1, 4).unbind(0);
                var attn = (qkvs[0] * scale).matmul(qkvs[1].transpose(-2, -1)).softmax(-1);
                return proj.call(attn.matmul(qkvs[2]).transpose(1, 2).reshape(b, n, c));
            }
        }
        """"));
    public override void Init(NodeTensors t)
    {
        nn.init.layer_default_(t.P("qkv.weight"), t.Opt("qkv.bias"));
        nn.init.layer_default_(t.P("proj.weight"), t.Opt("proj.bias"));
    }
    /// <summary>Its projections and batched products (D → 3D, D → D, the head products) as one product of width D.</summary>
    public override AmpPolicy Amp(NodeTensors t) => AmpPolicy.Product(t.Input.Dims[1], t.Input.Dims[1]);
    public override NodeKernel Create(NodeTensors t) =>
        new Attention(t.P("qkv.weight"), t.Opt("qkv.bias"), t.P("proj.weight"), t.Opt("proj.bias"), t.Attr<long>("heads"), t.Input.Dims[1]);

    /// <summary>
    /// Multi-head self-attention as timm's ViT <c>Attention</c>: <c>qkv = x Wᵀ + b</c> with <c>W [3D, D]</c> holding the
    /// q, k and v blocks of D rows each; each block split into heads of D/heads consecutive features;
    /// <c>softmax(q kᵀ / √(D/heads)) v</c> per head; heads concatenated back in order; then <c>proj</c>.
    /// </summary>
    sealed class Attention(Tensor wqkv, Tensor? bqkv, Tensor wproj, Tensor? bproj, long heads, long dim) : NodeKernel, IFirstTokenKernel
    {
        /// <summary>The heads on the packed qkv in place (<see cref="F.packed_attention(Tensor, long)"/>: no permuted copies
        /// of q, k and v, their gradients written into one tensor of qkv's shape), then proj.</summary>
        public override Tensor Forward(Tensor x, Tensor? y, bool training)
        {
            using var qkv = F.linear(x, wqkv, bqkv);           // [B, N, 3D]
            using var o = F.packed_attention(qkv, heads);      // [B, N, D], heads merged
            return F.linear(o, wproj, bproj);
        }

        public NodeKernel FirstTokenOnly() => new Unary(FirstToken);

        /// <summary>
        /// The output of token 0 alone, <c>[B, 1, D]</c>: its query from rows 0..D of qkv on token 0, keys and values
        /// from rows D..3D on every token — the same products as the whole kernel's, restricted to what token 0 reads.
        /// </summary>
        Tensor FirstToken(Tensor x)
        {
            using var wq = wqkv.narrow(0, 0, dim);
            using var bq = bqkv?.narrow(0, 0, dim);
            using var wkv = wqkv.narrow(0, dim, 2 * dim);
            using var bkv = bqkv?.narrow(0, dim, 2 * dim);
            using var first = x.narrow(1, 0, 1);
            using var q = F.linear(first, wq, bq);             // [B, 1, D]
            using var kv = F.linear(x, wkv, bkv);              // [B, N, 2D]
            using var o = F.packed_attention(q, kv, heads);    // [B, 1, D]
            return F.linear(o, wproj, bproj);
        }
    }
}

/// <summary><c>fourier</c>: FNet's mixing, the real part of the 2-D FFT over the token and feature dims.</summary>
internal sealed class FourierModule : OpModule
{
    public override OpId Op => OpId.Fourier;
    /// <summary>
    /// Opset 17 has DFT, but Re(FFT2(x)) of a real x is two matrix products with the DFT's cosine and sine matrices:
    /// Re(F_N x F_D) = C_N x C_D − S_N x S_D, where F[k, j] = exp(−2πi·kj/n) = C − iS.
    /// </summary>
    public override OnnxForm Onnx { get; } = new((g, n, x) =>
    {
        int tokens = n.Input.Dims[0], dim = n.Input.Dims[1];
        string Both(Func<double, double> f, int size) => g.Const(Dft(f, size), size, size);
        var cos = g.Node("MatMul", [g.Node("MatMul", [Both(Math.Cos, tokens), x[0]]), Both(Math.Cos, dim)]);
        var sin = g.Node("MatMul", [g.Node("MatMul", [Both(Math.Sin, tokens), x[0]]), Both(Math.Sin, dim)]);
        return g.Node("Sub", [cos, sin]);
    });

    /// <summary>f(2π·(k·j mod n)/n) for k, j in [0, n), row-major.</summary>
    static float[] Dft(Func<double, double> f, int n) =>
        Enumerable.Range(0, n * n).Select(i => (float)f(2 * Math.PI * ((long)(i / n) * (i % n) % n) / n)).ToArray();
    public override PyTorchForm PyTorch { get; } = new(_ => "FourierMix()", new PyHelper("FourierMix", """"
        class FourierMix(nn.Module):
            """FNet's token mixing (Lee-Thorp et al.): Re(FFT2(x)) over the token and feature dims of [B, N, D]."""

            def forward(self, x):
                return torch.fft.fft2(x, dim=(-2, -1)).real
        """"));
    public override TorchSharpForm TorchSharp { get; } = new(_ => "new FourierMix()", new CsHelper("FourierMix", """"
        /// <summary>FNet's token mixing (Lee-Thorp et al.): Re(FFT2(x)) over the token and feature dims of [B, N, D].</summary>
        public sealed class FourierMix() : nn.Module<Tensor, Tensor>(nameof(FourierMix))
        {
            public override Tensor forward(Tensor x) => fft.fft2(x, dim: new long[] { -2, -1 }).real;
        }
        """"));
    public override void Init(NodeTensors t) => NoTensors(t);
    public override AmpPolicy Amp(NodeTensors t) => AmpPolicy.Float32; // no bf16 FFT on the CPU; fp16 cuFFT only for powers of 2
    public override NodeKernel Create(NodeTensors t) => new Fourier();

    sealed class Fourier : NodeKernel
    {
        static readonly long[] Dims = { -2, -1 };
        public override Tensor Forward(Tensor x, Tensor? y, bool training)
        {
            using var f = fft.fft2(x, Dims);
            return f.real;
        }
    }
}
