using System.Globalization;
using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>
/// The typed identity of an IR op. Every op of the language has one <see cref="OpDef"/> (Compiler/Ops/) and one
/// runtime module (Runtime/Engine/Model/Ops/) keyed by it; <see cref="Input"/> and <see cref="Add"/> are the two
/// structural ops the expander makes itself (the graph's input and a residual sum), as are <see cref="Sub"/> and
/// <see cref="Mul"/> (<c>residual(sub) { }</c>, <c>residual(mul) { }</c>).
/// </summary>
public enum OpId
{
    Input, Add,
    Conv2d, BatchNorm, LayerNorm, Linear,
    GroupNorm, Affine, LayerScale,
    Gelu, Relu, Silu, Tanh, Sigmoid, Identity,
    Patches, Flatten, Transpose, ClsToken, PosEmbed,
    Attention, Fourier,
    AvgPool, GlobalPool, ClsPool, MaxPool,
    Dropout, DropPath,
    Sub, Mul,
    Chunk,
}

/// <summary>What an op argument accepts; <see cref="Choice"/> takes one of <see cref="ArgSig.Choices"/>.</summary>
public enum ArgKind { PosInt, NonNegInt, Float, PositiveFloat, Prob, Bool, Padding, Choice }

/// <summary>One argument of an op: its name, kind and default (null: required); a <c>Choice</c> lists its words.</summary>
public sealed record ArgSig(string Name, ArgKind Kind, object? Default, IReadOnlyList<string>? Choices = null)
{
    public bool Required => Default is null;

    /// <summary>A choice argument: <paramref name="choices"/>[0] is the default.</summary>
    public static ArgSig Choice(string name, params string[] choices) => new(name, ArgKind.Choice, choices[0], choices);

    /// <summary>The default as a spec would write it (<c>1e-05</c>, <c>true</c>, <c>same</c>).</summary>
    public static string Show(object v) => v switch
    {
        bool b => b ? "true" : "false",
        double d => FloatText.Format(d),
        _ => v.ToString() ?? "",
    };
}

/// <summary>What shape inference makes of one op applied to one input.</summary>
internal sealed record NodeSpec(Dictionary<string, object> Attrs, Shape Output, List<TensorSpec> Params, List<TensorSpec> Buffers, long MultAdds);

/// <summary>An argument after binding: its value, where it was written (for errors), and where that value came from
/// when it came through a name (a <c>--set</c>, a sweep file, a parameter's default: <see cref="Val.Origins"/>).</summary>
internal readonly record struct BoundArg(object Value, Span Span, IReadOnlyList<Span>? Origins = null);

/// <summary>
/// One op of the language, whole: its name and aliases, the IR op it becomes, its arguments in positional order
/// with their defaults, the layouts it accepts, what it does (<see cref="Doc"/>, shown by <c>archc ops</c>) and its
/// shape rule, which also names its parameters and buffers and counts its mult-adds (convention on
/// <see cref="OpCatalog"/>). The runtime reads the same defaults (<see cref="Default"/>), so each is stated once.
/// </summary>
public sealed class OpDef
{
    internal OpDef(OpId id, string name, string irOp, ArgSig[] args, Layout[]? accepts, string layouts, string doc,
        Func<OpContext, NodeSpec?> infer, params string[] aliases)
    {
        Id = id; Name = name; IrOp = irOp; Args = args; ArgArray = args; Accepts = accepts; Layouts = layouts; Doc = doc; Infer = infer; Aliases = aliases;
        ArgNames = args.Select(a => a.Name).ToArray();
        BinderWords = ArgBinder.WordsFor(this);
    }

    public OpId Id { get; }
    /// <summary>The name specs write (<c>conv</c>, <c>global_pool</c>).</summary>
    public string Name { get; }
    /// <summary>The IR op name (<see cref="IrNode.Op"/>): stable, it is what graphs, snapshots and weights files record.</summary>
    public string IrOp { get; }
    /// <summary>Other spellings specs may use (older names, short forms).</summary>
    public IReadOnlyList<string> Aliases { get; }
    public IReadOnlyList<ArgSig> Args { get; }
    /// <summary>The input layouts the op accepts, in the order its errors name them; null: any layout.</summary>
    public IReadOnlyList<Layout>? Accepts { get; }
    /// <summary>Input → output layouts, for the listing (<c>image[C,H,W] → tokens[(H/p)(W/p), C·p·p]</c>).</summary>
    public string Layouts { get; }
    /// <summary>What the op computes, its parameters and the source of its definition.</summary>
    public string Doc { get; }
    internal Func<OpContext, NodeSpec?> Infer { get; }
    /// <summary>The argument names in positional order, and the wording of binding errors (both made once).</summary>
    internal IReadOnlyList<string> ArgNames { get; }
    internal ArgSig[] ArgArray { get; }
    internal BinderWords BinderWords { get; }
    /// <summary>Its parameters are token parameters that timm's <c>no_weight_decay()</c> names (<c>cls_token</c>,
    /// <c>pos_embed</c>): the weight-decay rule <c>timm</c> leaves them undecayed (<see cref="Analysis.WeightDecay"/>).</summary>
    public bool TokenParameters { get; internal init; }
    /// <summary>timm stores its per-channel parameters with extra unit dimensions (resmlp's Affine: <c>[1, 1, dim]</c>), so
    /// timm's "≤ 1 dimension" test does not exempt them and the rule <c>timm</c> decays them too.</summary>
    public bool TimmDecaysParameters { get; internal init; }

    public ArgSig? Arg(string name) => Args.FirstOrDefault(a => a.Name == name);

    /// <summary>The default of argument <paramref name="arg"/> — the one value the compiler fills in and the runtime falls back to.</summary>
    public T Default<T>(string arg) =>
        (T)Convert.ChangeType(Arg(arg)?.Default ?? throw new ArgumentException($"{Name} has no default for '{arg}'"), typeof(T), CultureInfo.InvariantCulture);

    /// <summary><c>conv(out, kernel, stride: 1, padding: 0, groups: 1, bias: true)</c>.</summary>
    public string Usage => Args.Count == 0 ? Name
        : $"{Name}({string.Join(", ", Args.Select(a => a.Required ? a.Name : $"{a.Name}: {ArgSig.Show(a.Default!)}"))})";

    public override string ToString() => Name;
}
