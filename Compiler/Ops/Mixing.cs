using static ArchDsl.Compiler.ArgKind;

namespace ArchDsl.Compiler;

/// <summary>Token mixers with their own rule: <c>attention</c> (ViT) and <c>fourier</c> (FNet).</summary>
internal static class MixingOps
{
    public static readonly OpDef Attention = new(OpId.Attention, "attention", "attention",
        [new("heads", PosInt, null), new("bias", Bool, true)],
        [Layout.Tokens], "tokens[N,D] → tokens[N,D]",
        "multi-head self-attention as timm's ViT Attention (one qkv linear, softmax(q·kᵀ/√(D/heads))·v, proj). " +
        "params qkv.weight[3D, D], qkv.bias[3D] (if bias), proj.weight[D, D], proj.bias[D]; mult-adds N·D·3D + 2·N·N·D + N·D·D",
        c =>
        {
            long n = c.D[0], dim = c.D[1], heads = c.L("heads");
            if (dim % heads != 0)
            {
                var near = Suggest.NearDivisors(dim, heads, 3);
                return c.Error(CompilerCodes.HeadsDoNotDivide, $"heads {heads} does not divide width {dim} (attention on {c.X})",
                    c.Arg("heads").Span, near.Count > 0 ? $"try {Suggest.OrList(near)}" : null);
            }
            c.Attrs("heads", "bias");
            c.Param("qkv.weight", 3 * dim, dim);
            if (c.B("bias")) c.Param("qkv.bias", 3 * dim);
            c.Param("proj.weight", dim, dim);
            c.Param("proj.bias", dim);
            return c.Done(c.X, checked(n * dim * 3 * dim + 2 * n * n * dim + n * dim * dim));
        });

    public static readonly OpDef Fourier = new(OpId.Fourier, "fourier", "fourier", [],
        [Layout.Tokens], "tokens[N,D] → tokens[N,D]",
        "FNet's mixing (Lee-Thorp et al.): Re(FFT2(x)) over the token and feature dims",
        c => c.Done(c.X));
}
