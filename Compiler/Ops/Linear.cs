using static ArchDsl.Compiler.ArgKind;

namespace ArchDsl.Compiler;

/// <summary><c>linear</c>: torch.nn.Linear on the last dim; <c>init: gate</c> starts it as gMLP's spatial gate (weights ≈ 0, bias 1).</summary>
internal static class LinearOp
{
    public static readonly OpDef Def = new(OpId.Linear, "linear", "linear",
        [new("out", PosInt, null), new("bias", Bool, true), ArgSig.Choice("init", "default", OpCatalog.LinearGateInit)],
        [Layout.Tokens, Layout.Vector], "tokens[N,D] → tokens[N,out]; vector[D] → vector[out]",
        "affine map of the last dim (torch.nn.Linear). params weight[out, D], bias[out] (if bias); mult-adds N·D·out. " +
        "init: default is PyTorch's (kaiming_uniform_(a=√5), bias U(±1/√D)); init: gate starts the weight at N(0, 1e-6²) and the bias at 1, " +
        "so the map starts near 1 (gMLP's spatial gating unit, Liu et al. 2021; timm's SpatialGatingUnit.init_weights)",
        c =>
        {
            long inF = c.D[^1], outF = c.L("out");
            c.Attrs("out", "bias");
            if (c.Str("init") != "default") c.Attrs("init"); // recorded only when set, so graphs without it are unchanged
            c.Param("weight", outF, inF);
            if (c.B("bias")) c.Param("bias", outF);
            var tokens = c.X.Layout == Layout.Tokens;
            return c.Done(tokens ? c.Tok(c.D[0], outF) : c.Vec(outF), checked((tokens ? c.D[0] : 1L) * inF * outF));
        });
}
