using ArchDsl.Compiler;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Model;

/// <summary><c>attention</c>: qkv and proj initialised as PyTorch's Linear (qkv first).</summary>
internal sealed class AttentionModule : OpModule
{
    public override OpId Op => OpId.Attention;
    public override void Init(NodeTensors t)
    {
        nn.init.layer_default_(t.P("qkv.weight"), t.Opt("qkv.bias"));
        nn.init.layer_default_(t.P("proj.weight"), t.Opt("proj.bias"));
    }
    public override NodeKernel Create(NodeTensors t) =>
        new Attention(t.P("qkv.weight"), t.Opt("qkv.bias"), t.P("proj.weight"), t.Opt("proj.bias"), t.Attr<long>("heads"), t.Input.Dims[1]);

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
}

/// <summary><c>fourier</c>: FNet's mixing, the real part of the 2-D FFT over the token and feature dims.</summary>
internal sealed class FourierModule : OpModule
{
    public override OpId Op => OpId.Fourier;
    public override void Init(NodeTensors t) => NoTensors(t);
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
