using static ArchDsl.Compiler.ArgKind;

namespace ArchDsl.Compiler;

/// <summary><c>dropout</c> and <c>droppath</c>: regularisers active only in training; any layout, no parameters.</summary>
internal static class DropoutOps
{
    public static readonly OpDef Dropout = new(OpId.Dropout, "dropout", "dropout",
        [new("p", Prob, null)], null, "any → same",
        "zeroes each element with probability p in training and scales the rest by 1/(1-p) (torch.nn.Dropout)",
        Drop);

    public static readonly OpDef DropPath = new(OpId.DropPath, "droppath", "droppath",
        [new("p", Prob, null)], null, "any → same",
        "stochastic depth (timm's drop_path): in training drops a sample's whole residual branch with probability p, scales kept ones by 1/(1-p)",
        Drop, "drop_path");

    private static NodeSpec? Drop(OpContext c)
    {
        c.Attrs("p");
        return c.Done(c.X);
    }
}
