using static ArchDsl.Compiler.ArgKind;

namespace ArchDsl.Compiler;

/// <summary><c>conv</c>: 2-D convolution, torch.nn.Conv2d.</summary>
internal static class ConvOp
{
    public static readonly OpDef Def = new(OpId.Conv2d, "conv", "conv2d",
        [new("out", PosInt, null), new("kernel", PosInt, null), new("stride", PosInt, 1L), new("padding", Padding, 0L),
         new("groups", PosInt, 1L), new("bias", Bool, true)],
        [Layout.Image], "image[C,H,W] → image[out,H',W']",
        "2-D convolution (torch.nn.Conv2d); padding is a number, same or valid; same with an even kernel pads the extra " +
        "row and column at the bottom/right, as PyTorch's padding='same' (IR attribute padding_end). " +
        "params weight[out, C/groups, k, k], bias[out] (if bias); mult-adds out·H'·W'·(C/groups)·k·k",
        Infer);

    private static NodeSpec? Infer(OpContext c)
    {
        long cin = c.D[0], h = c.D[1], w = c.D[2];
        long k = c.L("kernel"), s = c.L("stride"), g = c.L("groups"), outC = c.L("out");
        if (c.PaddingSides(k, s, evenSame: true, _ => "use an explicit padding with stride > 1") is not var (p, pEnd)) return null;
        if (cin % g != 0 || outC % g != 0)
        {
            var which = cin % g != 0 ? $"input channels {cin}" : $"output channels {outC}";
            var near = Suggest.NearCommonDivisors([cin, outC], g, 3);
            return c.ArgError(CompilerDiagnostics.ConvGroups, "groups", near.Count > 0 ? $"try groups {Suggest.OrList(near)}" : null,
                g, which, c.X);
        }
        var ho = OpContext.OutSize(h, k, s, p, pEnd);
        var wo = OpContext.OutSize(w, k, s, p, pEnd);
        if (ho < 1 || wo < 1)
            return c.Error(CompilerDiagnostics.ConvKernelTooLarge, null, null, k, h + p + pEnd, w + p + pEnd, c.X, p == pEnd ? $"{p}" : $"{p}, {pEnd}");
        c.Attrs("out", "kernel", "stride"); c.Attr("padding", p);
        if (pEnd != p) c.Attr("padding_end", pEnd); // recorded only when asymmetric, so symmetric graphs are unchanged
        c.Attrs("groups", "bias");
        c.Param("weight", outC, cin / g, k, k);
        if (c.B("bias")) c.Param("bias", outC);
        return c.Done(c.Img(outC, ho, wo), checked(outC * ho * wo * (cin / g) * k * k));
    }
}
