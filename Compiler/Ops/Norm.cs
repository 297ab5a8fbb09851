using static ArchDsl.Compiler.ArgKind;

namespace ArchDsl.Compiler;

/// <summary><c>batchnorm</c> and <c>layernorm</c> (PyTorch's defaults: eps 1e-5, momentum 0.1).</summary>
internal static class NormOps
{
    public static readonly OpDef BatchNorm = new(OpId.BatchNorm, "batchnorm", "batchnorm",
        [new("eps", PositiveFloat, 1e-5), new("momentum", Prob, 0.1)],
        [Layout.Image, Layout.Tokens], "image[C,H,W] (over C) or tokens[N,D] (over D) → same",
        "batch normalisation (torch.nn.BatchNorm2d; on tokens BatchNorm1d over D). " +
        "params weight, bias; buffers running_mean, running_var, num_batches_tracked[]",
        c =>
        {
            long f = c.X.Layout == Layout.Image ? c.D[0] : c.D[1];
            c.Attrs("eps", "momentum");
            c.Param("weight", f); c.Param("bias", f);
            c.Buffer("running_mean", f); c.Buffer("running_var", f); c.Buffer("num_batches_tracked");
            return c.Done(c.X);
        },
        "batch");

    public static readonly OpDef LayerNorm = new(OpId.LayerNorm, "layernorm", "layernorm",
        [new("eps", PositiveFloat, 1e-5)],
        null, "image (over C at each pixel), tokens or vector (over the last dim) → same",
        "layer normalisation (torch.nn.LayerNorm; on images ConvNeXt's channels-first LayerNorm). params weight, bias",
        c =>
        {
            long f = c.X.Layout == Layout.Image ? c.D[0] : c.D[^1];
            c.Attrs("eps");
            c.Param("weight", f); c.Param("bias", f);
            return c.Done(c.X);
        },
        "layer");

    /// <summary>True for the norm ops a mixer's <c>norm:</c> entry accepts (identity is "none").</summary>
    public static bool IsNorm(OpDef op) => op.Id is OpId.BatchNorm or OpId.LayerNorm or OpId.Identity;
}
