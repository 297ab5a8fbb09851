using static ArchDsl.Compiler.ArgKind;

namespace ArchDsl.Compiler;

/// <summary><c>linear</c>: torch.nn.Linear on the last dim.</summary>
internal static class LinearOp
{
    public static readonly OpDef Def = new(OpId.Linear, "linear", "linear",
        [new("out", PosInt, null), new("bias", Bool, true)],
        [Layout.Tokens, Layout.Vector], "tokens[N,D] → tokens[N,out]; vector[D] → vector[out]",
        "affine map of the last dim (torch.nn.Linear). params weight[out, D], bias[out] (if bias); mult-adds N·D·out",
        c =>
        {
            long inF = c.D[^1], outF = c.L("out");
            c.Attrs("out", "bias");
            c.Param("weight", outF, inF);
            if (c.B("bias")) c.Param("bias", outF);
            var tokens = c.X.Layout == Layout.Tokens;
            return c.Done(tokens ? c.Tok(c.D[0], outF) : c.Vec(outF), checked((tokens ? c.D[0] : 1L) * inF * outF));
        });
}
