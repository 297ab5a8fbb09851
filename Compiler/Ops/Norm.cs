using static ArchDsl.Compiler.ArgKind;

namespace ArchDsl.Compiler;

/// <summary><c>batchnorm</c>, <c>layernorm</c> and <c>group_norm</c> (PyTorch's defaults: eps 1e-5, momentum 0.1).</summary>
internal static class NormOps
{
    public static readonly OpDef BatchNorm = new(OpId.BatchNorm, "batchnorm", "batchnorm",
        [new("eps", PositiveFloat, 1e-5), new("momentum", Prob, 0.1)],
        [Layout.Image, Layout.Tokens], "image[C,H,W] (over C) or tokens[N,D] (over D) → same",
        "batch normalisation (torch.nn.BatchNorm2d; on tokens BatchNorm1d over D). " +
        "params weight, bias; buffers running_mean, running_var, num_batches_tracked[]",
        c =>
        {
            var f = ScaleOps.Channels(c);
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
            var f = ScaleOps.Channels(c);
            c.Attrs("eps");
            c.Param("weight", f); c.Param("bias", f);
            return c.Done(c.X);
        },
        "layer");

    public static readonly OpDef GroupNorm = new(OpId.GroupNorm, "group_norm", "group_norm",
        [new("groups", PosInt, null), new("eps", PositiveFloat, 1e-5)],
        [Layout.Image], "image[C,H,W] → same",
        "group normalisation (torch.nn.GroupNorm(groups, C, eps), Wu & He 2018): each sample's C channels in `groups` " +
        "groups, each normalised over its channels and all pixels; group_norm(1) is PoolFormer's norm. params weight[C], bias[C]",
        c =>
        {
            long ch = c.D[0], g = c.L("groups");
            if (ch % g != 0)
            {
                var near = Suggest.NearDivisors(ch, g, 3);
                return c.ArgError(CompilerDiagnostics.NormGroups, "groups", near.Count > 0 ? $"try groups {Suggest.OrList(near)}" : null,
                    g, ch, c.X);
            }
            c.Attrs("groups", "eps");
            c.Param("weight", ch); c.Param("bias", ch);
            return c.Done(c.X);
        },
        "groupnorm", "group");

    /// <summary>True for the ops a mixer's <c>norm:</c> entry accepts (identity is "none"; affine is ResMLP's).</summary>
    public static bool IsNorm(OpDef op) => op.Id is OpId.BatchNorm or OpId.LayerNorm or OpId.GroupNorm or OpId.Affine or OpId.Identity;
}
