using ArchDsl.Compiler;
using ArchDsl.Runtime.Model;
using ArchDsl.Torch;
using static ArchDsl.Runtime.Tests.ModelTestKit;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// Iterates the op catalogue (<see cref="OpCatalog.All"/>, what <c>archc ops</c> lists) and fails when an op lacks any of
/// its parts: a runtime module, an initialisation of its tensors, an entry in the PyTorch bench companion
/// (Runtime/Engine/Model/reference/bench_pytorch.py), an equivalence case against PyTorch (<see cref="EquivalenceTests"/>)
/// or PyTorch, ONNX and TorchSharp export forms run by <see cref="ExportPyTorchTests"/>, <see cref="ExportOnnxTests"/> and
/// <see cref="ExportTorchSharpTests"/>.
/// A choice argument's every value counts as its own op for the equivalence check (gelu with approximate: tanh).
/// </summary>
[Collection(TorchModelCollection.Name)]
public sealed class OpCatalogTests
{
    /// <summary>
    /// Ops whose training output is random, so no sample-exact reference exists; what tests them instead.
    /// </summary>
    static readonly Dictionary<string, string> NotComparable = new()
    {
        ["dropout"] = "F.dropout itself (libtorch's); identity in eval — ModelTests.Droppath_zeroes_or_rescales_whole_samples_in_training_and_is_identity_in_eval",
        ["droppath"] = "ModelTests.Droppath_zeroes_or_rescales_whole_samples_in_training_and_is_identity_in_eval (whole samples, 1/keep, eval identity)",
    };

    static IEnumerable<OpId> CatalogueIds => OpCatalog.All.Select(d => d.Id).Concat(OpCatalog.ResidualCombines.Values.Select(op => OpCatalog.IdOf(op)!.Value));

    [Fact]
    public void Every_op_has_a_runtime_module()
    {
        var missing = CatalogueIds.Where(id => !OpModules.All.ContainsKey(id)).ToList();
        Assert.True(missing.Count == 0, $"ops without a runtime module (Runtime/Engine/Model/Ops/): {string.Join(", ", missing)}");
        Assert.DoesNotContain(OpId.Input, OpModules.All.Keys);
    }

    [Fact]
    public void Every_op_with_tensors_initialises_all_of_them()
    {
        // Each covered node's tensors start as NaN; its module's Init must overwrite every element (the buffers that
        // start at zero — running_mean, num_batches_tracked — are zero-filled by the model, so they start at zero here).
        using var scope = NewDisposeScope();
        var seen = new HashSet<string>();
        foreach (var node in CoveredNodes().Where(n => n.Params.Count > 0))
        {
            if (!seen.Add(node.Op)) continue;
            var tensors = node.Params.ToDictionary(p => p.Name, p => NaNs(p.Shape));
            foreach (var b in node.Buffers)
                tensors[b.Name] = b.Name is "running_mean" or "num_batches_tracked" ? zeros(b.Shape.ToArray()) : NaNs(b.Shape);
            OpModules.For(node)!.Init(OpModules.Tensors(node, tensors));
            foreach (var (name, t) in tensors)
                Assert.True(t.isnan().to(ScalarType.Float32).sum().item<float>() == 0, $"{node.Op}: Init left {name} uninitialised");
        }
        // Every op that has tensors is covered by an equivalence case (checked below), so this saw all of them.
        Assert.Superset(new HashSet<string> { "conv2d", "batchnorm", "layernorm", "group_norm", "affine", "layer_scale", "linear", "cls_token", "pos_embed", "attention" }, seen);
    }

    [Fact]
    public void Every_op_has_a_bench_companion_entry()
    {
        var dir = Path.Combine(RepoRoot, "Runtime", "Engine", "Model", "reference");
        var listed = PythonIn(dir, "-c", "import bench_pytorch; print(' '.join(bench_pytorch.OPS))").Split(' ', StringSplitOptions.TrimEntries).ToHashSet();
        var missing = OpCatalog.All.Select(d => d.IrOp).Concat(OpCatalog.ResidualCombines.Values).Where(op => !listed.Contains(op)).ToList();
        Assert.True(missing.Count == 0, $"ops the bench companion bench_pytorch.py cannot build: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Every_op_and_choice_has_an_equivalence_case_against_PyTorch()
    {
        var covered = CoveredNodes().Select(Variant).ToHashSet();
        var wanted = AllVariants();
        var missing = wanted.Where(v => !covered.Contains(v) && !NotComparable.ContainsKey(v)).ToList();
        Assert.True(missing.Count == 0, $"ops without an equivalence case in EquivalenceTests: {string.Join(", ", missing)}");
    }

    [Fact]
    public void Every_op_has_export_forms_run_by_the_export_tests()
    {
        var lacking = CatalogueIds.Where(id => OpModules.All.TryGetValue(id, out var m) && m.PyTorch is not ({ Module: not null } or { Binary: not null })).ToList();
        Assert.True(lacking.Count == 0, $"ops without a PyTorch export form (OpModule.PyTorch in Runtime/Engine/Model/Ops/): {string.Join(", ", lacking)}");
        lacking = CatalogueIds.Where(id => OpModules.All.TryGetValue(id, out var m) && m.Onnx?.Emit is null).ToList();
        Assert.True(lacking.Count == 0, $"ops without an ONNX export form (OpModule.Onnx in Runtime/Engine/Model/Ops/): {string.Join(", ", lacking)}");
        lacking = CatalogueIds.Where(id => OpModules.All.TryGetValue(id, out var m) && m.TorchSharp is not ({ Module: not null } or { Binary: not null })).ToList();
        Assert.True(lacking.Count == 0, $"ops without a TorchSharp export form (OpModule.TorchSharp in Runtime/Engine/Model/Ops/): {string.Join(", ", lacking)}");
        // ExportPyTorchTests, ExportOnnxTests and ExportTorchSharpTests all export every model below.
        var exported = ExportPyTorchTests.Models.Values.SelectMany(g => g().Nodes).Select(Variant).ToHashSet();
        var wanted = AllVariants();
        var missing = wanted.Where(v => !exported.Contains(v)).ToList();
        Assert.True(missing.Count == 0, $"ops no model of ExportPyTorchTests exports: {string.Join(", ", missing)}");
    }

    [Fact]
    public void The_exemptions_name_catalogue_ops()
    {
        foreach (var op in NotComparable.Keys) Assert.NotNull(OpCatalog.ForIr(op));
    }

    static Tensor NaNs(IReadOnlyList<long> shape) => zeros(shape.ToArray()).fill_(double.NaN);

    /// <summary>The nodes of every equivalence case's graph.</summary>
    static IEnumerable<IrNode> CoveredNodes() => EquivalenceTests.Cases.Values.SelectMany(c => c.Graph().Nodes);

    /// <summary>Every op of the catalogue and every non-default value of its choice arguments, as <see cref="Variant"/> names them.</summary>
    static IEnumerable<string> AllVariants() => OpCatalog.All.SelectMany(d => d.Args.Where(a => a.Choices is not null)
            .SelectMany(a => a.Choices!.Skip(1).Select(c => $"{d.IrOp}({a.Name}: {c})"))
            .Prepend(d.IrOp))
        .Concat(OpCatalog.ResidualCombines.Values); // the elementwise ops residual { } makes: add, sub, mul

    /// <summary>The node's op, with each non-default choice argument: <c>gelu(approximate: tanh)</c>.</summary>
    static string Variant(IrNode n)
    {
        var choices = OpCatalog.ForIr(n.Op)?.Args.Where(a => a.Choices is not null && n.Attrs.TryGetValue(a.Name, out var v) && !Equals(v, a.Default))
            .Select(a => $"{a.Name}: {n.Attrs[a.Name]}").ToList() ?? [];
        return choices.Count == 0 ? n.Op : $"{n.Op}({string.Join(", ", choices)})";
    }
}
