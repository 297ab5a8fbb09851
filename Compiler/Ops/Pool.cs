using static ArchDsl.Compiler.ArgKind;

namespace ArchDsl.Compiler;

/// <summary>
/// Pooling, named as the field names it: <c>avg_pool</c> and <c>max_pool</c> (local, PyTorch's avg_pool2d and max_pool2d) and the readouts to a vector,
/// <c>global_pool</c> (the mean, timm's global_pool='avg') and <c>cls_pool</c> (the class token, timm's
/// global_pool='token'). The old spellings <c>pool</c>, <c>avgpool</c> and <c>cls</c> stay as aliases.
/// </summary>
internal static class PoolOps
{
    public static readonly OpDef AvgPool = new(OpId.AvgPool, "avg_pool", "pool",
        [new("kernel", PosInt, 3L), new("stride", PosInt, 1L), new("padding", Padding, "same")],
        [Layout.Image], "image[C,H,W] → image[C,H',W']",
        "local average pooling (torch.nn.AvgPool2d, count_include_pad=False; PoolFormer's token mixer); " +
        "mult-adds C·H'·W'·k·k (the adds of each window)",
        c => Window(c, c.L("stride")),
        "pool");

    public static readonly OpDef MaxPool = new(OpId.MaxPool, "max_pool", "max_pool",
        [new("kernel", PosInt, null), new("stride", PosInt, null), new("padding", Padding, 0L)],
        [Layout.Image], "image[C,H,W] → image[C,H',W']",
        "local max pooling (torch.nn.MaxPool2d: padding with -inf, at most half the kernel, floor of the output size); " +
        "mult-adds C·H'·W'·k·k (the comparisons of each window)",
        c => Window(c, c.L("stride")),
        "maxpool");

    /// <summary>The shape rule of a local pooling: PyTorch's, which refuses padding over half the kernel.</summary>
    private static NodeSpec? Window(OpContext c, long s)
    {
        var k = c.L("kernel");
        if (c.Padding(k, s) is not { } p) return null;
        if (p * 2 > k) return c.ArgError(CompilerDiagnostics.PoolPaddingOverHalfKernel, "padding", null, c.Op.Name, p, k);
        var ho = OpContext.OutSize(c.D[1], k, s, p);
        var wo = OpContext.OutSize(c.D[2], k, s, p);
        if (ho < 1 || wo < 1)
            return c.Error(CompilerDiagnostics.PoolKernelTooLarge, null, null, c.Op.Name, k, c.X, p);
        c.Attrs("kernel", "stride"); c.Attr("padding", p);
        return c.Done(Shape.Image(c.D[0], (int)ho, (int)wo), checked(c.D[0] * ho * wo * k * k));
    }

    public static readonly OpDef GlobalPool = new(OpId.GlobalPool, "global_pool", "avgpool",
        [new("prefix_tokens", NonNegInt, 0L)],
        [Layout.Image, Layout.Tokens], "image[C,H,W] → vector[C]; tokens[N,D] → vector[D]",
        "global average pooling, the mean over all pixels or tokens (timm's global_pool='avg'); prefix_tokens: n leaves " +
        "the first n tokens (a class token) out of the mean, as timm's ViT does with num_prefix_tokens",
        c =>
        {
            var prefix = c.L("prefix_tokens");
            if (prefix > 0 && c.X.Layout == Layout.Image)
                return c.ArgError(CompilerDiagnostics.PrefixTokensOnImage, "prefix_tokens", "an image has no prefix tokens; write global_pool", c.X);
            if (prefix >= (c.X.Layout == Layout.Tokens ? c.D[0] : long.MaxValue))
                return c.ArgError(CompilerDiagnostics.PrefixTokensLeaveNone, "prefix_tokens", $"prefix_tokens must be under {c.D[0]}",
                    prefix, c.D[0], c.X);
            if (prefix > 0) c.Attrs("prefix_tokens"); // recorded only when set, so graphs without it are unchanged
            return c.Done(c.Vec(ScaleOps.Channels(c)));
        },
        "avgpool");

    public static readonly OpDef ClsPool = new(OpId.ClsPool, "cls_pool", "cls", [],
        [Layout.Tokens], "tokens[N,D] → vector[D]",
        "the first (class) token, as ViT reads out its classifier input (timm's global_pool='token')",
        c => c.Done(Shape.Vector(c.D[1])),
        "cls");
}
