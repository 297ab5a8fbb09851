using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

internal enum ArgKind { PosInt, Float, PositiveFloat, Prob, Bool, Padding }

internal sealed record ArgSig(string Name, ArgKind Kind, object? Default)
{
    public bool Required => Default is null;
}

/// <summary>A built-in op of the language: its name, the IR op it becomes, its arguments in positional order.</summary>
internal sealed record OpSig(string Name, string IrOp, ArgSig[] Args)
{
    public ArgSig? Arg(string name) => Array.Find(Args, a => a.Name == name);
    public string Usage => Args.Length == 0 ? Name : $"{Name}({string.Join(", ", Args.Select(a => a.Required ? a.Name : $"{a.Name}: {OpCatalog.ShowDefault(a.Default!)}"))})";
}

/// <summary>What shape inference makes of one op applied to one input.</summary>
internal sealed record NodeSpec(Dictionary<string, object> Attrs, Shape Output, List<TensorSpec> Params, List<TensorSpec> Buffers, long MultAdds);

/// <summary>An argument after binding: its value and where it was written (for errors).</summary>
internal readonly record struct BoundArg(object Value, Span Span);

/// <summary>
/// The built-in ops: signatures, shape inference, parameters and buffers (as the IR catalogue in Ir.cs
/// names them) and mult-adds.
/// <para><b>Mult-add convention</b> (the one place it is defined): a node's mult-adds count the
/// multiply-accumulates of its matrix products only, per sample, biases not counted —
/// conv2d: output elements × (in channels / groups) × k × k; linear: N × in × out on tokens[N, in]
/// (in × out on a vector); attention: N·D·3D (qkv) + N·N·D (scores) + N·N·D (weighted sum) + N·D·D
/// (projection). Norms, activations, pooling, Fourier mixing, position embeddings, residual adds,
/// dropout and layout changes count 0. (torchinfo counts the bias adds too; this does not.)</para>
/// <para><b>Activation memory</b> (<see cref="IrGraph.ActivationBytes"/>): the sum of every node's output
/// elements (the input node included) × 4 bytes (float32), per sample — what a forward pass keeps for backward,
/// ignoring in-place reuse.</para>
/// </summary>
internal static class OpCatalog
{
    private static readonly ArgSig[] None = [];

    private static readonly OpSig[] Ops =
    [
        new("conv", "conv2d", [
            new("out", ArgKind.PosInt, null), new("kernel", ArgKind.PosInt, null), new("stride", ArgKind.PosInt, 1L),
            new("padding", ArgKind.Padding, 0L), new("groups", ArgKind.PosInt, 1L), new("bias", ArgKind.Bool, true)]),
        new("batchnorm", "batchnorm", [new("eps", ArgKind.PositiveFloat, 1e-5), new("momentum", ArgKind.Prob, 0.1)]),
        new("layernorm", "layernorm", [new("eps", ArgKind.PositiveFloat, 1e-5)]),
        new("identity", "identity", None),
        new("linear", "linear", [new("out", ArgKind.PosInt, null), new("bias", ArgKind.Bool, true)]),
        new("gelu", "gelu", None), new("relu", "relu", None), new("silu", "silu", None),
        new("tanh", "tanh", None), new("sigmoid", "sigmoid", None),
        new("patches", "patches", [new("size", ArgKind.PosInt, null)]),
        new("flatten", "flatten", None),
        new("transpose", "transpose", None),
        new("cls_token", "cls_token", None),
        new("pos_embed", "pos_embed", None),
        new("attention", "attention", [new("heads", ArgKind.PosInt, null), new("bias", ArgKind.Bool, true)]),
        new("fourier", "fourier", None),
        new("pool", "pool", [new("kernel", ArgKind.PosInt, 3L), new("stride", ArgKind.PosInt, 1L), new("padding", ArgKind.Padding, "same")]),
        new("avgpool", "avgpool", None),
        new("cls", "cls", None),
        new("dropout", "dropout", [new("p", ArgKind.Prob, null)]),
        new("droppath", "droppath", [new("p", ArgKind.Prob, null)]),
    ];

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal)
    {
        ["batch"] = "batchnorm", ["layer"] = "layernorm", ["none"] = "identity", ["drop_path"] = "droppath",
    };

    private static readonly Dictionary<string, OpSig> ByName = Ops.ToDictionary(o => o.Name, StringComparer.Ordinal);

    /// <summary>Every op name and alias, for "did you mean" hints.</summary>
    public static IEnumerable<string> AllNames => ByName.Keys.Concat(Aliases.Keys);

    public static bool TryGet(string name, out OpSig sig)
    {
        if (Aliases.TryGetValue(name, out var canonical)) name = canonical;
        return ByName.TryGetValue(name, out sig!);
    }

    /// <summary>True for the norm ops a mixer's <c>norm:</c> entry accepts.</summary>
    public static bool IsNorm(OpSig sig) => sig.IrOp is "batchnorm" or "layernorm" or "identity";

    public static string ShowDefault(object v) => v switch
    {
        bool b => b ? "true" : "false",
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    /// <summary>Infers the node for op <paramref name="sig"/> on input <paramref name="x"/>; reports and returns null on a shape error.</summary>
    public static NodeSpec? Infer(OpSig sig, IReadOnlyDictionary<string, BoundArg> a, Shape x, Span at, DiagnosticBag diags)
    {
        try
        {
            return InferCore(sig, a, x, at, diags);
        }
        catch (OverflowException)
        {
            diags.Error(CompilerCodes.TooLarge, $"{sig.Name} on {x}: sizes overflow", at);
            return null;
        }
    }

    private static NodeSpec? InferCore(OpSig sig, IReadOnlyDictionary<string, BoundArg> a, Shape x, Span at, DiagnosticBag diags)
    {
        long L(string k) => (long)a[k].Value;
        double Dbl(string k) => (double)a[k].Value;
        bool B(string k) => (bool)a[k].Value;
        var attrs = new Dictionary<string, object>(StringComparer.Ordinal);
        var ps = new List<TensorSpec>();
        var bs = new List<TensorSpec>();
        NodeSpec? Layout(string expected)
        {
            diags.Error(CompilerCodes.WrongLayout, $"{sig.Name} expects {expected} but got {x}", at, LayoutHint(sig.Name, x));
            return null;
        }
        NodeSpec Done(Shape output, long multAdds = 0) => new(attrs, output, ps, bs, multAdds);
        var d = x.Dims;

        switch (sig.IrOp)
        {
            case "conv2d":
            {
                if (x.Layout != Compiler.Layout.Image) return Layout("image[C,H,W]");
                long cin = d[0], h = d[1], w = d[2];
                long k = L("kernel"), s = L("stride"), g = L("groups"), outC = L("out");
                var pad = a["padding"];
                long p;
                if (pad.Value is string mode)
                {
                    if (mode == "valid") p = 0;
                    else if (s != 1 || k % 2 == 0)
                    {
                        diags.Error(CompilerCodes.InvalidArgument,
                            $"padding: same needs stride 1 and an odd kernel, but conv has kernel {k} and stride {s}", pad.Span,
                            k % 2 == 0 ? $"use kernel {k + 1} or {k - 1}, or an explicit padding" : "use an explicit padding with stride > 1");
                        return null;
                    }
                    else p = (k - 1) / 2;
                }
                else p = (long)pad.Value;
                if (cin % g != 0 || outC % g != 0)
                {
                    var which = cin % g != 0 ? $"input channels {cin}" : $"output channels {outC}";
                    var near = Suggest.NearCommonDivisors([cin, outC], g, 3);
                    diags.Error(CompilerCodes.InvalidShape, $"conv groups {g} does not divide the {which} (input {x})", a["groups"].Span,
                        near.Count > 0 ? $"try groups {Suggest.OrList(near)}" : null);
                    return null;
                }
                var ho = OutSize(h, k, s, p);
                var wo = OutSize(w, k, s, p);
                if (ho < 1 || wo < 1)
                {
                    diags.Error(CompilerCodes.InvalidShape,
                        $"conv kernel {k} is larger than the padded input {h + 2 * p}×{w + 2 * p} (input {x}, padding {p})", at);
                    return null;
                }
                attrs["out"] = outC; attrs["kernel"] = k; attrs["stride"] = s; attrs["padding"] = p; attrs["groups"] = g; attrs["bias"] = B("bias");
                ps.Add(T("weight", outC, cin / g, k, k));
                if (B("bias")) ps.Add(T("bias", outC));
                var output = Img(outC, ho, wo, sig, at, diags);
                if (output is null) return null;
                return Done(output, checked(outC * ho * wo * (cin / g) * k * k));
            }
            case "batchnorm":
            {
                if (x.Layout == Compiler.Layout.Vector) return Layout("image[C,H,W] or tokens[N,D]");
                long f = x.Layout == Compiler.Layout.Image ? d[0] : d[1];
                attrs["eps"] = Dbl("eps"); attrs["momentum"] = Dbl("momentum");
                ps.Add(T("weight", f)); ps.Add(T("bias", f));
                bs.Add(T("running_mean", f)); bs.Add(T("running_var", f)); bs.Add(new TensorSpec("num_batches_tracked", []));
                return Done(x);
            }
            case "layernorm":
            {
                long f = x.Layout == Compiler.Layout.Image ? d[0] : d[^1];
                attrs["eps"] = Dbl("eps");
                ps.Add(T("weight", f)); ps.Add(T("bias", f));
                return Done(x);
            }
            case "linear":
            {
                if (x.Layout == Compiler.Layout.Image) return Layout("tokens[N,D] or vector[D]");
                long inF = d[^1], outF = L("out");
                attrs["out"] = outF; attrs["bias"] = B("bias");
                ps.Add(T("weight", outF, inF));
                if (B("bias")) ps.Add(T("bias", outF));
                var rows = x.Layout == Compiler.Layout.Tokens ? d[0] : 1L;
                var output = x.Layout == Compiler.Layout.Tokens ? Tok(d[0], outF, sig, at, diags) : Vec(outF, sig, at, diags);
                return output is null ? null : Done(output, checked(rows * inF * outF));
            }
            case "gelu" or "relu" or "silu" or "tanh" or "sigmoid" or "identity":
                return Done(x);
            case "fourier":
                return x.Layout == Compiler.Layout.Tokens ? Done(x) : Layout("tokens[N,D]");
            case "patches":
            {
                if (x.Layout != Compiler.Layout.Image) return Layout("image[C,H,W]");
                long p = L("size"), c = d[0], h = d[1], w = d[2];
                if (h % p != 0 || w % p != 0)
                {
                    var (what, size) = h % p != 0 ? ("height", h) : ("width", w);
                    var near = Suggest.NearCommonDivisors([h, w], p, 2);
                    diags.Error(CompilerCodes.PatchDoesNotDivide, $"patch {p} does not divide image {what} {size} (patches on {x})", a["size"].Span,
                        near.Count > 0 ? $"try {Suggest.OrList(near)}" : null);
                    return null;
                }
                attrs["size"] = p;
                var output = Tok(checked(h / p * (w / p)), checked(c * p * p), sig, at, diags);
                return output is null ? null : Done(output);
            }
            case "flatten":
            {
                if (x.Layout != Compiler.Layout.Image) return Layout("image[C,H,W]");
                var output = Tok(checked((long)d[1] * d[2]), d[0], sig, at, diags);
                return output is null ? null : Done(output);
            }
            case "transpose":
                if (x.Layout != Compiler.Layout.Tokens) return Layout("tokens[N,D]");
                return Done(Shape.Tokens(d[1], d[0]));
            case "cls_token":
            {
                if (x.Layout != Compiler.Layout.Tokens) return Layout("tokens[N,D]");
                ps.Add(T("token", 1, d[1]));
                var output = Tok(d[0] + 1L, d[1], sig, at, diags);
                return output is null ? null : Done(output);
            }
            case "pos_embed":
                if (x.Layout != Compiler.Layout.Tokens) return Layout("tokens[N,D]");
                ps.Add(T("weight", d[0], d[1]));
                return Done(x);
            case "attention":
            {
                if (x.Layout != Compiler.Layout.Tokens) return Layout("tokens[N,D]");
                long n = d[0], dim = d[1], heads = L("heads");
                if (dim % heads != 0)
                {
                    var near = Suggest.NearDivisors(dim, heads, 3);
                    diags.Error(CompilerCodes.HeadsDoNotDivide, $"heads {heads} does not divide width {dim} (attention on {x})", a["heads"].Span,
                        near.Count > 0 ? $"try {Suggest.OrList(near)}" : null);
                    return null;
                }
                attrs["heads"] = heads; attrs["bias"] = B("bias");
                ps.Add(T("qkv.weight", 3 * dim, dim));
                if (B("bias")) ps.Add(T("qkv.bias", 3 * dim));
                ps.Add(T("proj.weight", dim, dim));
                ps.Add(T("proj.bias", dim));
                return Done(x, checked(n * dim * 3 * dim + 2 * n * n * dim + n * dim * dim));
            }
            case "pool":
            {
                if (x.Layout != Compiler.Layout.Image) return Layout("image[C,H,W]");
                long k = L("kernel"), s = L("stride");
                var pad = a["padding"];
                long p;
                if (pad.Value is string mode)
                {
                    if (mode == "valid") p = 0;
                    else if (s != 1 || k % 2 == 0)
                    {
                        diags.Error(CompilerCodes.InvalidArgument,
                            $"padding: same needs stride 1 and an odd kernel, but pool has kernel {k} and stride {s}", pad.Span);
                        return null;
                    }
                    else p = (k - 1) / 2;
                }
                else p = (long)pad.Value;
                if (p * 2 > k)
                {
                    diags.Error(CompilerCodes.InvalidArgument, $"pool padding {p} is more than half the kernel {k}", pad.Span);
                    return null;
                }
                var ho = OutSize(d[1], k, s, p);
                var wo = OutSize(d[2], k, s, p);
                if (ho < 1 || wo < 1)
                {
                    diags.Error(CompilerCodes.InvalidShape, $"pool kernel {k} is larger than the padded input (input {x}, padding {p})", at);
                    return null;
                }
                attrs["kernel"] = k; attrs["stride"] = s; attrs["padding"] = p;
                return Done(Shape.Image(d[0], (int)ho, (int)wo));
            }
            case "avgpool":
                if (x.Layout == Compiler.Layout.Vector) return Layout("image[C,H,W] or tokens[N,D]");
                return Done(Shape.Vector(x.Layout == Compiler.Layout.Image ? d[0] : d[1]));
            case "cls":
                if (x.Layout != Compiler.Layout.Tokens) return Layout("tokens[N,D]");
                return Done(Shape.Vector(d[1]));
            case "dropout" or "droppath":
                attrs["p"] = Dbl("p");
                return Done(x);
            default:
                throw new InvalidOperationException($"op {sig.IrOp} has no shape rule");
        }
    }

    private static long OutSize(long size, long k, long s, long p) => size + 2 * p < k ? 0 : (size + 2 * p - k) / s + 1;

    private static TensorSpec T(string name, params long[] shape)
    {
        var e = shape.Aggregate(1L, (x, y) => checked(x * y));
        if (e > Limits.MaxElements) throw new OverflowException();
        return new TensorSpec(name, shape);
    }

    private static Shape? Img(long c, long h, long w, OpSig sig, Span at, DiagnosticBag diags) =>
        Fits(sig, at, diags, c, h, w) ? Shape.Image((int)c, (int)h, (int)w) : null;

    private static Shape? Tok(long n, long d, OpSig sig, Span at, DiagnosticBag diags) =>
        Fits(sig, at, diags, n, d) ? Shape.Tokens((int)n, (int)d) : null;

    private static Shape? Vec(long d, OpSig sig, Span at, DiagnosticBag diags) =>
        Fits(sig, at, diags, d) ? Shape.Vector((int)d) : null;

    private static bool Fits(OpSig sig, Span at, DiagnosticBag diags, params long[] dims)
    {
        long e = 1;
        foreach (var x in dims)
        {
            e = x > 0 && e <= Limits.MaxElements / x ? e * x : long.MaxValue;
            if (x > int.MaxValue) e = long.MaxValue;
        }
        if (e <= Limits.MaxElements) return true;
        diags.Error(CompilerCodes.TooLarge, $"{sig.Name} output [{string.Join(", ", dims)}] is too large (limit {Limits.MaxElements:N0} elements)", at);
        return false;
    }

    private static string? LayoutHint(string op, Shape x) => (op, x.Layout) switch
    {
        ("conv" or "pool" or "patches" or "flatten", Layout.Tokens) => "this op works on images; it must come before the image becomes tokens (patches/flatten)",
        ("linear", Layout.Image) => "a classifier pools the image first: avgpool (global average pooling) -> linear(classes); to keep positions, turn it into tokens: patches(p) or flatten",
        ("attention" or "transpose" or "cls_token" or "pos_embed" or "cls" or "fourier", Layout.Image) => "turn the image into tokens first: patches(p) or flatten",
        (_, Layout.Vector) => "the input is already pooled to a vector; move this op before avgpool/cls",
        _ => null,
    };
}
