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
    public override PyTorchForm PyTorch { get; } = new(_ => "FourierMix()", new PyHelper("FourierMix", """"
        class FourierMix(nn.Module):
            """FNet's token mixing (Lee-Thorp et al.): Re(FFT2(x)) over the token and feature dims of [B, N, D]."""

            def forward(self, x):
                return torch.fft.fft2(x, dim=(-2, -1)).real
        """"));
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
