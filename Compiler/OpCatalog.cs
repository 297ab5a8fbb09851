using System.Reflection;
using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>
/// The built-in ops: every <see cref="OpDef"/> declared in Compiler/Ops/ (found by reflection, so an op is added by
/// writing its definition and nothing else), looked up by name, alias or IR op. <c>archc ops</c> lists them.
/// <para><b>Mult-add convention</b> (the one place it is defined): a node's mult-adds count the
/// multiply-accumulates of its matrix products, windows and transforms, per sample, biases not counted —
/// conv2d: output elements × (in channels / groups) × k × k; linear: N × in × out on tokens[N, in]
/// (in × out on a vector); attention: N·D·3D (qkv) + N·N·D (scores) + N·N·D (weighted sum) + N·D·D
/// (projection); avg_pool and max_pool: output elements × k × k (one add or comparison per window element,
/// as ptflops counts pooling by the elements it reads); fourier: 2.5·M·log2 M for M = N·D (FFTW's 5·M·log2 M
/// flops of an M-point FFT, two flops a mult-add). Norms, affine and layer_scale, activations, global readouts,
/// position embeddings, residual adds, dropout and layout changes count 0. (torchinfo counts the bias adds too;
/// this does not.)</para>
/// <para><b>Activation memory</b> (<see cref="IrGraph.ActivationBytes"/>): the sum of every node's output
/// elements (the input node included) × 4 bytes (float32), per sample — what a forward pass keeps for backward,
/// ignoring in-place reuse.</para>
/// <para><b>IR names</b> of the structural ops the expander makes itself: <c>input</c> (the graph's input, no
/// attributes) and <c>add</c> (two inputs of equal shape → their sum, for residual connections).</para>
/// </summary>
public static class OpCatalog
{
    /// <summary>IR name of the graph's input node.</summary>
    public const string InputOp = "input";
    /// <summary>IR name of a residual sum (two inputs of equal shape).</summary>
    public const string AddOp = "add";
    /// <summary>IR name of <c>residual(sub) { body }</c>'s difference body(x) − x: inputs [body(x), x], equal shapes.</summary>
    public const string SubOp = "sub";
    /// <summary>IR name of <c>residual(mul) { body }</c>'s product x · body(x): inputs [x, body(x)], equal shapes.</summary>
    public const string MulOp = "mul";

    /// <summary>The two-input elementwise ops the expander makes (<see cref="AddOp"/>, <see cref="SubOp"/>, <see cref="MulOp"/>), by the word
    /// <c>residual(…)</c> takes. <c>gate</c> is a <see cref="MulOp"/> too, of the channel halves: u · body(v) with u, v =
    /// <c>chunk(0)</c>, <c>chunk(1)</c> of the input (<see cref="GateCombine"/>).</summary>
    public static IReadOnlyDictionary<string, string> ResidualCombines { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["add"] = AddOp, ["sub"] = SubOp, ["mul"] = MulOp, [GateCombine] = MulOp,
    };

    /// <summary><c>residual(gate) { body }</c>: the input's channels split in halves u, v (<c>x.chunk(2, dim)</c>), the body on v, then
    /// u · body(v) — the GLU family's gate (<c>residual(gate) { sigmoid }</c> is <c>F.glu</c>; timm's GluMlp, gMLP's SpatialGatingUnit).</summary>
    public const string GateCombine = "gate";

    /// <summary><c>linear(…, init: gate)</c>: gMLP's gate projection starts at weight N(0, 1e-6²), bias 1 (timm's <c>SpatialGatingUnit.init_weights</c>),
    /// so u · body(v) starts near u.</summary>
    public const string LinearGateInit = "gate";

    /// <summary>Every op of the language, in <see cref="OpId"/> order.</summary>
    public static IReadOnlyList<OpDef> All { get; } = typeof(OpDef).Assembly.GetTypes()
        .SelectMany(t => t.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
        .Where(f => f.FieldType == typeof(OpDef))
        .Select(f => (OpDef)f.GetValue(null)!)
        .OrderBy(d => d.Id)
        .ToArray();

    private static readonly Dictionary<string, OpDef> ByName = All
        .SelectMany(d => d.Aliases.Prepend(d.Name).Select(n => (n, d)))
        .ToDictionary(x => x.n, x => x.d, StringComparer.Ordinal);

    private static readonly Dictionary<string, OpDef> ByIr = All.ToDictionary(d => d.IrOp, StringComparer.Ordinal);

    /// <summary>Every op name and alias, for "did you mean" hints.</summary>
    public static IEnumerable<string> AllNames => ByName.Keys;

    /// <summary>The op a spec names (by its name or an alias).</summary>
    public static bool TryGet(string name, out OpDef op) => ByName.TryGetValue(name, out op!);

    /// <summary>The op of IR op name <paramref name="irOp"/> (<see cref="IrNode.Op"/>); null for <c>input</c>, <c>add</c> and unknown names.</summary>
    public static OpDef? ForIr(string irOp) => ByIr.GetValueOrDefault(irOp);

    /// <summary>The typed identity of IR op <paramref name="irOp"/>, structural ops included; null for an unknown name.</summary>
    public static OpId? IdOf(string irOp) => irOp switch
    {
        InputOp => OpId.Input,
        AddOp => OpId.Add,
        SubOp => OpId.Sub,
        MulOp => OpId.Mul,
        _ => ForIr(irOp)?.Id,
    };

    /// <summary>True for the norm ops a mixer's <c>norm:</c> entry accepts.</summary>
    internal static bool IsNorm(OpDef op) => NormOps.IsNorm(op);

    /// <summary>Every name and alias of those norms, for "did you mean" hints.</summary>
    internal static IReadOnlyList<string> NormNames { get; } = ByName.Where(kv => IsNorm(kv.Value)).Select(kv => kv.Key).Order(StringComparer.Ordinal).ToList();

    /// <summary>Every word a choice argument accepts (<c>tanh</c>, <c>none</c>): words the language knows.</summary>
    internal static IReadOnlySet<string> ChoiceWords { get; } = All.SelectMany(d => d.Args).SelectMany(a => a.Choices ?? []).ToHashSet(StringComparer.Ordinal);

    /// <summary>Infers the node for <paramref name="op"/> on input <paramref name="x"/>; reports and returns null on a shape error.</summary>
    internal static NodeSpec? Infer(OpDef op, IReadOnlyDictionary<string, BoundArg> args, Shape x, Span at, DiagnosticBag diags)
    {
        if (op.Accepts is { } ok && !ok.Contains(x.Layout))
        {
            diags.Report(CompilerDiagnostics.WrongLayout, at, LayoutHint(ok, x), op.Name, string.Join(" or ", ok.Select(LayoutName)), x);
            return null;
        }
        try
        {
            return op.Infer(new OpContext(op, args, x, at, diags));
        }
        catch (OverflowException)
        {
            diags.Report(CompilerDiagnostics.SizesOverflow, at, null, op.Name, x);
            return null;
        }
    }

    private static string LayoutName(Layout l) => l switch
    {
        Layout.Image => "image[C,H,W]",
        Layout.Tokens => "tokens[N,D]",
        _ => "vector[D]",
    };

    private static string? LayoutHint(IReadOnlyList<Layout> accepts, Shape x) => x.Layout switch
    {
        Layout.Vector => "the input is already pooled to a vector; move this op before global_pool/cls_pool",
        Layout.Tokens when accepts.Contains(Layout.Image) => "this op works on images; it must come before the image becomes tokens (patches/flatten)",
        Layout.Image when accepts.Contains(Layout.Vector) => "a classifier pools the image first: global_pool (global average pooling) -> linear(classes); to keep positions, turn it into tokens: patches(p) or flatten",
        Layout.Image => "turn the image into tokens first: patches(p) or flatten",
        _ => null,
    };
}
