using static ArchDsl.Compiler.ArgKind;

namespace ArchDsl.Compiler;

/// <summary>
/// Per-channel learned scales: <c>layer_scale</c> (CaiT's LayerScale, timm's <c>LayerScale</c>; DeiT-III, ResMLP) and
/// <c>affine</c> (ResMLP's Affine, timm's <c>resmlp.Affine</c>: a scale and a shift, the norm of ResMLP's blocks).
/// Any layout; the channel is C of an image and the last dim of tokens or a vector. Element-wise, so mult-adds 0
/// (the convention on <see cref="OpCatalog"/>).
/// </summary>
internal static class ScaleOps
{
    public static readonly OpDef LayerScale = new(OpId.LayerScale, "layer_scale", "layer_scale",
        [new("init", Float, 1e-5)],
        null, "image (over C), tokens or vector (over the last dim) → same",
        "x·γ with a learned per-channel γ, initialised to init (CaiT's LayerScale, Touvron et al. 2021; timm's LayerScale, " +
        "init_values 1e-5 by default). params gamma[C]",
        c =>
        {
            c.Attrs("init");
            c.Param("gamma", Channels(c));
            return c.Done(c.X);
        },
        "layerscale");

    public static readonly OpDef Affine = new(OpId.Affine, "affine", "affine", [],
        null, "image (over C), tokens or vector (over the last dim) → same",
        "α·x + β with learned per-channel α (init 1) and β (init 0): ResMLP's Affine (Touvron et al. 2021; timm's " +
        "resmlp Affine, torch.addcmul(beta, alpha, x)), the norm of ResMLP's blocks. params alpha[C], beta[C]",
        c =>
        {
            var f = Channels(c);
            c.Param("alpha", f); c.Param("beta", f);
            return c.Done(c.X);
        }) { TimmDecaysParameters = true };

    /// <summary>The channel count a per-channel op scales: C of an image, the last dim otherwise.</summary>
    internal static long Channels(OpContext c) => c.X.Layout == Layout.Image ? c.D[0] : c.D[^1];
}
