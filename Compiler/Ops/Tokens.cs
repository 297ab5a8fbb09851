using static ArchDsl.Compiler.ArgKind;

namespace ArchDsl.Compiler;

/// <summary>Ops that make or reshape tokens: <c>patches</c>, <c>flatten</c>, <c>transpose</c>, <c>cls_token</c>, <c>pos_embed</c>.</summary>
internal static class TokenOps
{
    public static readonly OpDef Patches = new(OpId.Patches, "patches", "patches",
        [new("size", PosInt, null)],
        [Layout.Image], "image[C,H,W] → tokens[(H/p)(W/p), C·p·p]",
        "non-overlapping p×p patches, row-major, features in (c, i, j) order — so a following linear's weight reshapes " +
        "to a conv's [D, C, p, p] (timm's PatchEmbed)",
        c =>
        {
            long p = c.L("size"), ch = c.D[0], h = c.D[1], w = c.D[2];
            if (h % p != 0 || w % p != 0)
            {
                var (what, size) = h % p != 0 ? ("height", h) : ("width", w);
                var near = Suggest.NearCommonDivisors([h, w], p, 2);
                return c.ArgError(CompilerDiagnostics.PatchDoesNotDivide, "size", near.Count > 0 ? $"try {Suggest.OrList(near)}" : null,
                    p, what, size, c.X);
            }
            c.Attrs("size");
            return c.Done(c.Tok(checked(h / p * (w / p)), checked(ch * p * p)));
        });

    public static readonly OpDef Flatten = new(OpId.Flatten, "flatten", "flatten", [],
        [Layout.Image], "image[C,H,W] → tokens[H·W, C]",
        "pixels as tokens, row-major (x.flatten(2).transpose(1, 2))",
        c => c.Done(c.Tok(checked((long)c.D[1] * c.D[2]), c.D[0])));

    public static readonly OpDef Transpose = new(OpId.Transpose, "transpose", "transpose", [],
        [Layout.Tokens], "tokens[N,D] → tokens[D,N]",
        "swaps tokens and features (MLP-Mixer's token mixing)",
        c => c.Done(Shape.Tokens(c.D[1], c.D[0])));

    public static readonly OpDef ClsToken = new(OpId.ClsToken, "cls_token", "cls_token", [],
        [Layout.Tokens], "tokens[N,D] → tokens[N+1,D]",
        "prepends a learned class token (ViT; timm's cls_token, init trunc_normal(std 0.02)). params token[1, D]",
        c =>
        {
            c.Param("token", 1, c.D[1]);
            return c.Done(c.Tok(c.D[0] + 1L, c.D[1]));
        }) { TokenParameters = true };

    public static readonly OpDef PosEmbed = new(OpId.PosEmbed, "pos_embed", "pos_embed", [],
        [Layout.Tokens], "tokens[N,D] → tokens[N,D]",
        "adds a learned position embedding (ViT; timm's pos_embed, init trunc_normal(std 0.02)). params weight[N, D]",
        c =>
        {
            c.Param("weight", c.D[0], c.D[1]);
            return c.Done(c.X);
        }) { TokenParameters = true };
}
