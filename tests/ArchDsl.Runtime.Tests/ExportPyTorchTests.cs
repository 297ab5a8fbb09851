using ArchDsl.Compiler;
using ArchDsl.Runtime.Data;
using ArchDsl.Runtime.Export;
using ArchDsl.Runtime.Model;
using ArchDsl.Runtime.Training;
using ArchDsl.Torch;
using Xunit.Abstractions;
using static ArchDsl.Runtime.Tests.ModelTestKit;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The exported PyTorch file, run by its real consumer (Debian's python3-torch, reference/run_export.py): for every
/// equivalence case (every op of the catalogue; ConvMixer, ViT, MLP-Mixer, FNet, PoolFormer among them) plus dropout and
/// drop-path and a model named as a helper class, <c>create_model(weights)</c> loads with strict=True and its logits on [0, 1] pixels equal ArchDsl's
/// (eval mode, same pixels normalised by the card's mean and std, weights moved off their init by <see cref="Model"/>) within 1e-5.
/// </summary>
[Collection(TorchModelCollection.Name)]
public sealed class ExportPyTorchTests(ITestOutputHelper output)
{
    const double LogitTol = 1e-5;

    internal static readonly Dictionary<string, Func<IrGraph>> Models = EquivalenceTests.Cases
        .ToDictionary(kv => kv.Key, kv => kv.Value.Graph)
        .Append(new("dropout", () => CompileText("""
            arch Drops(classes = 5)
            input image[2, 8, 8]
            stem conv(6, kernel: 2, stride: 2) -> dropout(0.3) -> droppath(0.2)
            head global_pool -> linear(classes)
            """)))
        // The model class would take the name of the helper class Patches: it must become Patches2.
        .Append(new("name-clash", () => CompileText("""
            arch Patches(classes = 3)
            input image[1, 8, 8]
            stem patches(4) -> linear(8)
            head global_pool -> linear(classes)
            """)))
        .ToDictionary();

    /// <summary>A card with a normalisation that is not the identity, so the exported file must apply it.</summary>
    internal static ModelCard Card(IrGraph g)
    {
        int c = g.Input.Dims[0];
        return new ModelCard
        {
            Arch = g.Arch,
            Input = new ModelCard.ModelInput { Channels = c, Height = g.Input.Dims[1], Width = g.Input.Dims[2] },
            Normalization = new Normalization(Enumerable.Range(0, c).Select(i => 0.2 + 0.1 * i).ToArray(), Enumerable.Range(0, c).Select(i => 0.3 + 0.05 * i).ToArray()),
            Classes = ModelCard.ClassNames(["zero", "one"], g.OutputNode.OutputShape.Dims[0]),
        };
    }

    /// <summary>
    /// The model of <paramref name="g"/> with its initial weights moved off their init values: every float tensor scaled
    /// by a factor in [0.75, 1.25] and every one but running_var shifted by up to ±0.1, so a tensor that starts constant
    /// (norm weights 1, biases 0, affine α and β, layer_scale γ) cannot hide a form that ignores or swaps it.
    /// </summary>
    internal static IrModel Model(IrGraph g)
    {
        var m = new IrModel(g, seed: 11);
        using var noGrad = no_grad();
        var seed = 100;
        foreach (var (name, t) in m.state_dict().Where(kv => kv.Value.dtype == ScalarType.Float32))
        {
            using (var u = Rand(seed++, t.shape)) t.mul_(u.mul(0.25).add_(1));
            if (!name.EndsWith("running_var", StringComparison.Ordinal))
                using (var u = Rand(seed++, t.shape)) t.add_(u.mul(0.1));
        }
        return m;
    }

    /// <summary>ArchDsl's eval-mode logits on [0, 1] pixels <paramref name="x"/>, normalised with the card's statistics.</summary>
    internal static Tensor Logits(IrModel m, ModelCard card, Tensor x)
    {
        var n = card.Normalization!;
        using var mean = tensor(n.Mean.Select(v => (float)v).ToArray(), new long[] { 1, n.Mean.Count, 1, 1 });
        using var std = tensor(n.Std.Select(v => (float)v).ToArray(), new long[] { 1, n.Std.Count, 1, 1 });
        m.eval();
        using var noGrad = no_grad();
        using var normalised = x.sub(mean).div(std);
        return m.forward(normalised);
    }

    /// <summary>[0, 1] pixels made in C#.</summary>
    internal static Tensor Pixels(IrGraph g, int batch, int seed)
    {
        using var r = Rand(seed, batch, g.Input.Dims[0], g.Input.Dims[1], g.Input.Dims[2]);
        return r.add(1).div(2);
    }

    /// <summary>The exported file's literals are Python's: a float as repr writes it (<c>eps=1e-05</c>, what
    /// <c>nn.LayerNorm</c>'s repr and timm's source show, not .NET's <c>1E-05</c>), a non-finite one as <c>float('nan')</c>.</summary>
    [Theory]
    [InlineData(1e-5, "1e-05")]
    [InlineData(1e-6, "1e-06")]
    [InlineData(0.1, "0.1")]
    [InlineData(1.0, "1.0")]
    [InlineData(double.NaN, "float('nan')")]
    [InlineData(double.NegativeInfinity, "float('-inf')")]
    public void Python_literals_of_floats_are_as_python_writes_them(double value, string expected) => Assert.Equal(expected, ExportNode.Py(value));

    [Fact]
    public void Exported_modules_load_strictly_in_PyTorch_and_give_ArchDsls_logits()
    {
        var root = Directory.CreateTempSubdirectory("archdsl-export-py-").FullName;
        try
        {
            using var scope = NewDisposeScope();
            var expected = new Dictionary<string, Tensor>();
            foreach (var (name, graph) in Models)
            {
                var g = graph();
                var dir = Path.Combine(root, name);
                Directory.CreateDirectory(dir);
                var card = Card(g);
                using var source = ExportSource.Of(Model(g), card, "<test>");
                var x = Pixels(g, 4, 5);
                expected[name] = Logits(source.Model, card, x);
                var stem = PyTorchExporter.FileStem(g.Arch);
                var files = PyTorchExporter.Write(source, dir);
                Assert.Equal([Path.Combine(dir, stem + ".py"), Path.Combine(dir, stem + ".safetensors")], files);
                Safetensors.Save(Path.Combine(dir, "input.safetensors"), new Dictionary<string, Tensor> { ["x"] = x });
                File.WriteAllText(Path.Combine(dir, "module.txt"), stem);
            }
            Python("run_export.py", [.. Models.Keys.Select(k => Path.Combine(root, k))]);
            foreach (var name in Models.Keys)
            {
                var got = Safetensors.Load(Path.Combine(root, name, "logits.safetensors"))["logits"];
                var d = MaxAbsDiff(got, expected[name]);
                output.WriteLine($"{name}: logits max |Δ| {d:g3} (max |logit| {MaxAbs(expected[name]):g3})");
                Assert.True(d <= LogitTol, $"{name}: the exported module's logits differ from ArchDsl's by {d:g4} > {LogitTol}");
            }
        }
        finally { if (Environment.GetEnvironmentVariable("ARCHDSL_KEEP_EXPORT") is null) Directory.Delete(root, recursive: true); else output.WriteLine(root); }
    }
}
