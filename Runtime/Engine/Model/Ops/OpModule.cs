using System.Reflection;
using ArchDsl.Compiler;
using ArchDsl.Runtime.Export;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Model;

/// <summary>
/// The runtime side of one IR op, in the manner of TorchSharp's layer files: how its parameters are initialised
/// (PyTorch's defaults) and the kernel that computes it. One subclass per op, in this folder, one file per op family;
/// <see cref="OpModules"/> finds them by reflection, keyed by <see cref="OpId"/> — the same identity the compiler's
/// <see cref="OpDef"/> carries. Parameters and buffers arrive already registered under their IR names and shapes.
/// <para>Adding an op: its <see cref="OpDef"/> in Compiler/Ops/, then here a subclass with <see cref="Init"/>,
/// <see cref="Create"/>, <see cref="Onnx"/> (its ONNX nodes), <see cref="TorchSharp"/> (its C# twin of the PyTorch form) and <see cref="PyTorch"/> — the torch.nn module an exported file builds for it (a standard
/// one such as <c>nn.Conv2d(…)</c>, or a small class given as a <see cref="PyHelper"/>), its tensors named as the
/// op's IR tensors. <c>OpCatalogTests</c> fails until the op has an equivalence case and is in a model
/// <c>ExportPyTorchTests</c> exports.</para>
/// </summary>
internal abstract class OpModule
{
    public abstract OpId Op { get; }

    /// <summary>
    /// Initialises the node's parameters (and buffers that do not start at zero) in place, drawing from libtorch's global
    /// generator in a fixed order. An op without tensors has nothing to do; one with tensors must say how.
    /// </summary>
    public abstract void Init(NodeTensors t);

    /// <summary>How the node computes under <c>amp</c> on each device (<see cref="AmpPolicy"/>); element-wise and shape ops follow their input.</summary>
    public virtual AmpPolicy Amp(NodeTensors t) => AmpPolicy.Follow;

    /// <summary>
    /// Whether, on token values <c>[B, N, D]</c>, output token t depends only on input token t (and the node's
    /// parameters), with no random draw per token: linear maps, layer norm over D, element-wise ops, per-channel scales,
    /// drop path (one draw per sample). <see cref="FirstTokenPlan"/> then runs the op on the class token alone where only
    /// that token is read downstream.
    /// </summary>
    public virtual bool RowWise => false;

    /// <summary>The kernel computing the node over a batch. Layout and arity were checked already.</summary>
    public abstract NodeKernel Create(NodeTensors t);

    /// <summary>
    /// The op in an exported PyTorch file: a torch.nn module whose tensors carry the op's IR names, and any class it
    /// needs (see <see cref="PyTorchForm"/>). A new op states it beside its kernel; the export test runs it in PyTorch.
    /// </summary>
    public abstract PyTorchForm PyTorch { get; }

    /// <summary>The op in an exported ONNX graph (opset 17): the nodes that compute it (see <see cref="OnnxForm"/>).</summary>
    public abstract OnnxForm Onnx { get; }

    /// <summary>
    /// The op in an exported TorchSharp file: a TorchSharp module whose tensors carry the op's IR names, and any class it
    /// needs (see <see cref="TorchSharpForm"/>); the export test runs it in TorchSharp.
    /// </summary>
    public abstract TorchSharpForm TorchSharp { get; }

    /// <summary>For ops without tensors: refuses tensors it would not know how to initialise.</summary>
    protected static void NoTensors(NodeTensors t)
    {
        if (t.Count > 0) throw new NotSupportedException($"IR node '{t.Node.Name}' ({t.Node.Op}) has tensors its op does not have");
    }
}

/// <summary>
/// One IR node with its parameters and buffers by local name (<c>weight</c>, <c>qkv.bias</c>); its attributes read with the
/// defaults of the op's definition (<see cref="OpDef.Default{T}"/>), so the runtime states none of its own.
/// </summary>
internal sealed class NodeTensors(IrNode node, OpDef? def, IReadOnlyDictionary<string, Tensor> tensors)
{
    public IrNode Node => node;
    public int Count => tensors.Count;
    public Shape Input => node.InputShapes.Count > 0 ? node.InputShapes[0] : throw new ArgumentException($"IR node '{node.Name}' ({node.Op}) has no input shape");
    public Layout Layout => Input.Layout;

    public Tensor P(string name) => tensors.TryGetValue(name, out var v) ? v
        : throw new ArgumentException($"IR node '{node.Name}' ({node.Op}) lacks its tensor '{name}'");
    public Tensor? Opt(string name) => tensors.TryGetValue(name, out var v) ? v : null;

    /// <summary>Attribute <paramref name="key"/>; when the node omits it, the op definition's default (an error if it has none).</summary>
    public T Attr<T>(string key) =>
        node.Attrs.ContainsKey(key) || def?.Arg(key)?.Default is not ({ } d and (T or not string)) ? node.Attr<T>(key) : def.Default<T>(key);
}

/// <summary>The runtime modules by op identity, and the kernel for an IR node.</summary>
internal static class OpModules
{
    /// <summary>Every op module of the runtime, by the op it implements.</summary>
    public static IReadOnlyDictionary<OpId, OpModule> All { get; } = typeof(OpModule).Assembly.GetTypes()
        .Where(t => t.IsSubclassOf(typeof(OpModule)) && !t.IsAbstract)
        .Select(t => (OpModule)Activator.CreateInstance(t, nonPublic: true)!)
        .ToDictionary(m => m.Op);

    /// <summary>The module of <paramref name="node"/>'s op; null for the graph's <c>input</c> node (the model feeds the batch itself).</summary>
    public static OpModule? For(IrNode node)
    {
        var id = OpCatalog.IdOf(node.Op);
        if (id == OpId.Input) return null;
        if (id is not { } op || !All.TryGetValue(op, out var module))
            throw new NotSupportedException($"IR op '{node.Op}' (node '{node.Name}') is not implemented by the runtime");
        var arity = op is OpId.Add or OpId.Sub or OpId.Mul ? 2 : 1;
        if (node.Inputs.Count != arity) throw new ArgumentException($"IR node '{node.Name}' ({node.Op}) has {node.Inputs.Count} inputs; it takes {arity}");
        if (OpCatalog.ForIr(node.Op)?.Accepts is { } ok)
        {
            var input = node.InputShapes.Count > 0 ? node.InputShapes[0] : throw new ArgumentException($"IR node '{node.Name}' ({node.Op}) has no input shape");
            if (!ok.Contains(input.Layout))
                throw new ArgumentException($"IR node '{node.Name}': {node.Op} does not apply to {input} (expects {string.Join(" or ", ok.Select(l => l.ToString().ToLowerInvariant()))})");
        }
        return module;
    }

    /// <summary>The tensors view of <paramref name="node"/> (attributes with the definition's defaults).</summary>
    public static NodeTensors Tensors(IrNode node, IReadOnlyDictionary<string, Tensor> tensors) => new(node, OpCatalog.ForIr(node.Op), tensors);
}
