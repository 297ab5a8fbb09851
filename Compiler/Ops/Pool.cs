using static ArchDsl.Compiler.ArgKind;

namespace ArchDsl.Compiler;

/// <summary>
/// Pooling, named as the field names it: <c>avg_pool</c> (local, PyTorch's avg_pool2d) and the readouts to a vector,
/// <c>global_pool</c> (the mean, timm's global_pool='avg') and <c>cls_pool</c> (the class token, timm's
/// global_pool='token'). The old spellings <c>pool</c>, <c>avgpool</c> and <c>cls</c> stay as aliases.
/// </summary>
internal static class PoolOps
{
    public static readonly OpDef AvgPool = new(OpId.AvgPool, "avg_pool", "pool",
        [new("kernel", PosInt, 3L), new("stride", PosInt, 1L), new("padding", Padding, "same")],
        [Layout.Image], "image[C,H,W] → image[C,H',W']",
        "local average pooling (torch.nn.AvgPool2d, count_include_pad=False; PoolFormer's token mixer)",
        c =>
        {
            long k = c.L("kernel"), s = c.L("stride");
            if (c.Padding(k, s) is not { } p) return null;
            if (p * 2 > k) return c.Error(CompilerCodes.InvalidArgument, $"{c.Op.Name} padding {p} is more than half the kernel {k}", c.Arg("padding").Span);
            var ho = OpContext.OutSize(c.D[1], k, s, p);
            var wo = OpContext.OutSize(c.D[2], k, s, p);
            if (ho < 1 || wo < 1)
                return c.Error(CompilerCodes.InvalidShape, $"{c.Op.Name} kernel {k} is larger than the padded input (input {c.X}, padding {p})");
            c.Attrs("kernel", "stride"); c.Attr("padding", p);
            return c.Done(Shape.Image(c.D[0], (int)ho, (int)wo));
        },
        "pool");

    public static readonly OpDef GlobalPool = new(OpId.GlobalPool, "global_pool", "avgpool", [],
        [Layout.Image, Layout.Tokens], "image[C,H,W] → vector[C]; tokens[N,D] → vector[D]",
        "global average pooling, the mean over all pixels or tokens (timm's global_pool='avg')",
        c => c.Done(Shape.Vector(c.X.Layout == Layout.Image ? c.D[0] : c.D[1])),
        "avgpool");

    public static readonly OpDef ClsPool = new(OpId.ClsPool, "cls_pool", "cls", [],
        [Layout.Tokens], "tokens[N,D] → vector[D]",
        "the first (class) token, as ViT reads out its classifier input (timm's global_pool='token')",
        c => c.Done(Shape.Vector(c.D[1])),
        "cls");
}
