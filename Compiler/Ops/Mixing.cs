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
                return c.ArgError(CompilerDiagnostics.HeadsDoNotDivide, "heads", near.Count > 0 ? $"try {Suggest.OrList(near)}" : null,
                    heads, dim, c.X);
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
        "FNet's mixing (Lee-Thorp et al.): Re(FFT2(x)) over the token and feature dims; " +
        "mult-adds round(2.5·N·D·log2(N·D)) (an FFT of M points as 5·M·log2 M real flops, FFTW's convention, halved)",
        c => c.Done(c.X, FftMultAdds(c.D[0], c.D[1])));

    /// <summary>
    /// The mult-adds of a 2-D FFT over <c>[N, D]</c>: an FFT of M = N·D points is counted as 5·M·log2 M real floating-point
    /// operations — the convention FFTW's benchmarks use for complex transforms (fftw.org/speed/method.html; the
    /// operation count of radix-2 Cooley–Tukey), since fvcore and ptflops do not count FFTs — and two flops make one
    /// mult-add: 2.5·M·log2 M, rounded to the nearest integer. A 1-point transform counts 0.
    /// </summary>
    internal static long FftMultAdds(long n, long d)
    {
        var m = (double)n * d;
        return (long)Math.Round(2.5 * m * Math.Log2(m), MidpointRounding.AwayFromZero);
    }
}
