using ArchDsl.Compiler;
using ArchDsl.Runtime.Model;
using ArchDsl.Torch;
using Xunit.Abstractions;
using static ArchDsl.Runtime.Tests.ModelTestKit;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// <c>amp: bf16</c> against PyTorch's own mixed precision: ArchDsl's model with <see cref="IrModel.Amp"/> = bf16 and the
/// independent reference (reference/models.py) run under <c>torch.autocast('cpu', dtype=torch.bfloat16)</c>, same
/// weights and batch; in train and eval mode the logits and every parameter gradient must agree within bf16's
/// tolerance, stated relative to the reference's largest value: max |Δ| ≤ <see cref="RelTol"/> · max |ref| + <see cref="AbsTol"/>
/// (bfloat16 keeps 8 significant bits, a relative step of 2⁻⁸ ≈ 0.4% per rounding; the two sides round different
/// ops — ArchDsl keeps small products and norms in float32 where PyTorch 1.13's CPU autocast does not). Widths are
/// 128 so that the products do run in bf16 under <see cref="AmpPolicy.CpuMinSize"/>; a test also proves amp was in
/// effect (the bf16 logits differ from float32's by more than float32's own tolerance, 1e-5). The absolute floor covers
/// gradients that are zero up to rounding (a token-mixing bias's is ~1e-8). MLP-Mixer, where PyTorch 1.13's
/// CPU autocast fails (layer_norm after a transpose: "expected scalar type BFloat16 but found Float"), is compared
/// against the float32 reference within the same tolerance.
/// </summary>
[Collection(TorchModelCollection.Name)]
public sealed class AmpEquivalenceTests(ITestOutputHelper output)
{
    const double RelTol = 0.05, AbsTol = 1e-6;

    static readonly Dictionary<string, EquivalenceTests.Case> Cases = new()
    {
        ["convmixer"] = new("convmixer",
            () => CompileSpec("convmixer.arch", "dim=128", "depth=2", "kernel=5", "patch=2", "channels=3", "size=16"),
            new { dim = 128, depth = 2, kernel = 5, patch = 2, classes = 10, channels = 3 }),
        ["vit"] = new("vit",
            () => CompileSpec("vit.arch", "dim=128", "depth=2", "heads=4", "patch=4", "channels=3", "size=16"),
            new { dim = 128, depth = 2, heads = 4, patch = 4, mlp = 4, classes = 10, channels = 3, size = 16 }),
        ["mlp-mixer"] = new("mixer",
            () => CompileSpec("mlp-mixer.arch", "dim=128", "depth=2", "patch=4", "channels=3", "size=16"),
            new { dim = 128, depth = 2, patch = 4, tokens_hidden = 64, channels_hidden = 512, classes = 10, channels = 3, size = 16 }),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Bf16_matches_PyTorch_autocast_within_bf16_tolerance(string name)
    {
        var c = Cases[name];
        var dir = Directory.CreateTempSubdirectory("archdsl-amp-").FullName;
        try
        {
            using var m = new IrModel(c.Graph(), seed: 11) { Amp = AmpMode.Bf16 };
            using var scope = NewDisposeScope();
            // PyTorch's CPU autocast cannot run the Mixer (see above): its float32 run is the reference there.
            var (x, y, r) = EquivalenceTests.RunReference(m, c.Kind, c.Config, batch: 8, 1, dir, amp: name == "mlp-mixer" ? null : "bf16");
            foreach (var mode in new[] { "train", "eval" })
            {
                m.train(mode == "train");
                m.zero_grad();
                var logits = m.forward(x);
                Assert.Equal(ScalarType.Float32, logits.dtype);
                F.cross_entropy(logits, y).backward();
                Within($"{name} {mode} logits", logits, r[$"{mode}.logits"]);
                foreach (var (pn, p) in m.named_parameters())
                {
                    Assert.Equal(ScalarType.Float32, p.grad!.dtype); // fp32 master weights get fp32 gradients
                    Within($"{name} {mode} gradient of {pn}", p.grad!, r[$"{mode}.grad.{pn}"]);
                }
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Theory]
    [InlineData("convmixer")]
    [InlineData("vit")]
    public void Bf16_is_in_effect(string name)
    {
        var g = Cases[name].Graph();
        using var fp32 = new IrModel(g, seed: 11);
        using var bf16 = new IrModel(g, seed: 11) { Amp = AmpMode.Bf16 };
        using var scope = NewDisposeScope();
        var x = Rand(21, new[] { 8L }.Concat(g.Input.Dims.Select(d => (long)d)).ToArray());
        fp32.eval();
        bf16.eval();
        var d = MaxAbsDiff(fp32.forward(x), bf16.forward(x));
        output.WriteLine($"{name}: bf16 vs fp32 logits max |Δ| {d:g3}");
        Assert.True(d > 1e-5, $"{name}: amp bf16 gave float32's logits (max |Δ| {d:g3}): autocast did not run");
    }

    [Fact]
    public void Amp_leaves_libtorch_autocast_as_it_found_it()
    {
        var g = Cases["vit"].Graph();
        using var m = new IrModel(g, seed: 11) { Amp = AmpMode.Bf16 };
        using var scope = NewDisposeScope();
        m.forward(Rand(21, new[] { 2L }.Concat(g.Input.Dims.Select(d => (long)d)).ToArray()));
        // After the forward, a plain linear outside the model is float32 again.
        var y = F.linear(Rand(1, 4, 128), Rand(2, 8, 128));
        Assert.Equal(ScalarType.Float32, y.dtype);
    }

    void Within(string what, Tensor ours, Tensor reference)
    {
        double d = MaxAbsDiff(ours, reference), scale = MaxAbs(reference);
        if (what.EndsWith("logits", StringComparison.Ordinal)) output.WriteLine($"{what}: max |Δ| {d:g3}, max |ref| {scale:g3}");
        Assert.True(d <= RelTol * scale + AbsTol, $"{what}: max |Δ| {d:g3} > {RelTol} · max |ref| {scale:g3} + {AbsTol}");
    }
}
