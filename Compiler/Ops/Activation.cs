namespace ArchDsl.Compiler;

/// <summary>The element-wise activations and <c>identity</c>: any layout, output = input shape, no parameters.</summary>
internal static class ActivationOps
{
    public static readonly OpDef Gelu = Pointwise(OpId.Gelu, "gelu",
        "GELU (torch.nn.GELU): x·Φ(x); approximate: tanh uses the tanh approximation (Hendrycks & Gimpel)",
        [ArgSig.Choice("approximate", "none", "tanh")]);
    public static readonly OpDef Relu = Pointwise(OpId.Relu, "relu", "ReLU (torch.nn.ReLU): max(x, 0)");
    public static readonly OpDef Silu = Pointwise(OpId.Silu, "silu", "SiLU / swish (torch.nn.SiLU): x·σ(x)");
    public static readonly OpDef Tanh = Pointwise(OpId.Tanh, "tanh", "tanh (torch.nn.Tanh)");
    public static readonly OpDef Sigmoid = Pointwise(OpId.Sigmoid, "sigmoid", "logistic sigmoid (torch.nn.Sigmoid)");
    public static readonly OpDef Identity = Pointwise(OpId.Identity, "identity", "the input unchanged (torch.nn.Identity); a mixer's norm: none", [], "none");

    private static OpDef Pointwise(OpId id, string name, string doc, ArgSig[]? args = null, params string[] aliases) =>
        new(id, name, name, args ?? [], null, "any → same", doc, c =>
        {
            // A choice is recorded only when it is not the default, so graphs written before the argument existed are unchanged.
            foreach (var a in c.Op.Args)
                if (!Equals(c.Arg(a.Name).Value, a.Default)) c.Attrs(a.Name);
            return c.Done(c.X);
        }, aliases);
}
