using System.Text.Json;
using ArchDsl.Compiler;
using ArchDsl.Runtime.Model;
using ArchDsl.Torch;
using Xunit.Abstractions;
using static ArchDsl.Runtime.Tests.ModelTestKit;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The proof that a compiled model computes what the published architecture computes: ArchDsl's model and an
/// independently written PyTorch model (reference/models.py, from the papers and timm, not from the IR) get the same
/// weights (ArchDsl's initial weights, through IrModel.SaveWeights and an explicit name map) and the same batch; in
/// train mode (batch-statistics BN) and then eval mode, logits must agree to 1e-5 and every parameter gradient of the
/// cross-entropy loss to 1e-4; the state after the train step (BN running statistics) to 1e-5; parameter counts exactly.
/// One case per family and per token mixer: depthwise conv (ConvMixer), attention (ViT), token MLP (MLP-Mixer),
/// Fourier (FNet), pooling (PoolFormer-style); plus layer norm on images and batch norm on tokens; plus one case per
/// op or variant no family uses (OneOp: silu, tanh, sigmoid, identity, flatten, gelu with approximate: tanh, max_pool,
/// an even kernel with padding: same, group_norm, layer_scale and affine on images, residual(gate) as nn.GLU); ResMLP covers
/// affine and layer_scale on tokens, PoolFormer with group_norm(1) the paper's norm, ViT with global_pool(prefix_tokens: 1)
/// timm's 'avg' readout, gMLP chunk on tokens and linear(init: gate) (timm's SpatialGatingUnit).
/// </summary>
[Collection(TorchModelCollection.Name)]
public sealed class EquivalenceTests(ITestOutputHelper output)
{
    const double LogitTol = 1e-5, GradTol = 1e-4, StateTol = 1e-5;

    /// <param name="InputScale">the batch is uniform in ±InputScale: the single-op cases use 4 so the activations reach the
    /// range where near variants differ (exact and tanh GELU: logits ~5e-5 apart at 4, ~1e-5 at 1)</param>
    internal sealed record Case(string Kind, Func<IrGraph> Graph, object Config, double InputScale = 1);

    /// <summary>One op between a 1×1 conv and a mean-pooled linear head (reference/models.py's OneOp; an op's parameters are node stem.1's).</summary>
    static Case OneOp(string step, string reference) => new("one_op",
        () => CompileText($"""
            arch OneOp(classes = 10)
            input image[3, 8, 8]
            stem conv(4, kernel: 1) -> {step}
            head global_pool -> linear(classes)
            """),
        new { op = reference, channels = 3, width = 4, classes = 10 }, InputScale: 4);

    /// <summary><see cref="OneOp"/> for an op that halves the channels (4 → 2): the reference's head reads 2 features.</summary>
    static Case OneOpHalving(string step, string reference) => OneOp(step, reference) with
    {
        Config = new { op = reference, channels = 3, width = 4, classes = 10, head_width = 2 },
    };

    /// <summary>gMLP (specs/gmlp.arch) with the gate projection at PyTorch's Linear init instead of init: gate (weights ≈ 0, bias 1),
    /// so v's path (the chunk, the norm, the token projection) moves the logits well beyond the tolerance.</summary>
    const string GMlpDefaultInitSpec = """
        arch gMLP(dim = 32, depth = 2, patch = 4, mlp = 6, channels = 3, size = 16, classes = 10)
        input image[channels, size, size]
        stem patches(patch) -> linear(dim)
        mixer * depth {
          channel:  linear(dim * mlp) -> gelu -> residual(gate) { layer -> transpose -> linear(N) -> transpose } -> linear(dim)
          norm:     layer(eps: 1e-6), pre
          residual: channel
        }
        head layer(eps: 1e-6) -> global_pool -> linear(classes)
        """;

    const string FNetSpec = """
        arch FNet(dim = 32, depth = 2, patch = 4, hidden = 64, channels = 3, size = 16, classes = 10)
        input image[channels, size, size]
        stem patches(patch) -> linear(dim)
        mixer * depth {
          token:    fourier
          channel:  linear(hidden) -> gelu -> linear(dim)
          norm:     layer, post
          residual: both
        }
        head avgpool -> linear(classes)
        """;

    const string PoolFormerSpec = """
        arch PoolFormer(dim = 32, depth = 2, patch = 4, hidden = 64, channels = 3, size = 16, classes = 10)
        input image[channels, size, size]
        stem conv(dim, kernel: patch, stride: patch)
        mixer * depth {
          token:    pool(3)
          channel:  conv(hidden, kernel: 1) -> gelu -> conv(dim, kernel: 1)
          norm:     batch, pre
          residual: both
        }
        head avgpool -> linear(classes)
        """;

    const string PoolFormerGroupNormSpec = """
        arch PoolFormer(dim = 32, depth = 2, patch = 4, hidden = 64, channels = 3, size = 16, classes = 10)
        input image[channels, size, size]
        stem conv(dim, kernel: patch, stride: patch)
        mixer * depth {
          token:    avg_pool(3)
          channel:  conv(hidden, kernel: 1) -> gelu -> conv(dim, kernel: 1)
          norm:     group_norm(1), pre
          residual: both
        }
        head global_pool -> linear(classes)
        """;

    /// <summary>PoolFormer as published (Yu et al. 2022; timm's Pooling): the token mixer is pool(x) − x, residual(sub).</summary>
    const string PoolFormerSubSpec = """
        arch PoolFormer(dim = 32, depth = 2, patch = 4, hidden = 64, channels = 3, size = 16, classes = 10)
        input image[channels, size, size]
        stem conv(dim, kernel: patch, stride: patch)
        mixer * depth {
          token:    residual(sub) { avg_pool(3) }
          channel:  conv(hidden, kernel: 1) -> gelu -> conv(dim, kernel: 1)
          norm:     group_norm(1), pre
          residual: both
        }
        head global_pool -> linear(classes)
        """;

    /// <summary>ViT with timm's global_pool='avg': the mean over the tokens after the class token.</summary>
    const string VitAvgSpec = """
        arch ViT(dim = 48, depth = 2, heads = 3, patch = 4, channels = 3, size = 16, classes = 10)
        input image[channels, size, size]
        stem patches(patch) -> linear(dim) -> cls_token -> pos_embed
        mixer * depth {
          token:    attention(heads)
          channel:  linear(dim * 4) -> gelu -> linear(dim)
          norm:     layer(eps: 1e-6), pre
          residual: both
        }
        head layer(eps: 1e-6) -> global_pool(prefix_tokens: 1) -> linear(classes)
        """;

    /// <summary>Every case by name; <see cref="OpCatalogTests"/> checks they cover every op of the catalogue.</summary>
    internal static readonly Dictionary<string, Case> Cases = new()
    {
        ["convmixer"] = new("convmixer",
            () => CompileSpec("convmixer.arch", "dim=32", "depth=2", "kernel=5", "patch=2", "channels=3", "size=16"),
            new { dim = 32, depth = 2, kernel = 5, patch = 2, classes = 10, channels = 3 }),
        ["convmixer-layernorm-relu"] = new("convmixer",
            () => CompileSpec("convmixer.arch", "dim=24", "depth=2", "kernel=3", "patch=4", "channels=2", "size=16", "norm=layer", "act=relu"),
            new { dim = 24, depth = 2, kernel = 3, patch = 4, classes = 10, channels = 2, norm = "layer", act = "relu" }),
        ["vit"] = new("vit",
            () => CompileSpec("vit.arch", "dim=48", "depth=2", "heads=3", "patch=4", "channels=3", "size=16"),
            new { dim = 48, depth = 2, heads = 3, patch = 4, mlp = 4, classes = 10, channels = 3, size = 16 }),
        ["vit-batchnorm-tokens"] = new("vit",
            () => CompileSpec("vit.arch", "dim=32", "depth=1", "heads=4", "patch=4", "channels=1", "size=16", "norm=batch"),
            new { dim = 32, depth = 1, heads = 4, patch = 4, mlp = 4, classes = 10, channels = 1, size = 16, norm = "batch", eps = 1e-5 }),
        ["mlp-mixer"] = new("mixer",
            () => CompileSpec("mlp-mixer.arch", "dim=32", "depth=2", "patch=4", "channels=3", "size=16"),
            new { dim = 32, depth = 2, patch = 4, tokens_hidden = 16, channels_hidden = 128, classes = 10, channels = 3, size = 16 }),
        ["fnet"] = new("fnet", () => CompileText(FNetSpec),
            new { dim = 32, depth = 2, patch = 4, hidden = 64, classes = 10, channels = 3 }),
        ["poolformer"] = new("poolformer", () => CompileText(PoolFormerSpec),
            new { dim = 32, depth = 2, patch = 4, hidden = 64, classes = 10, channels = 3 }),
        ["poolformer-groupnorm"] = new("poolformer", () => CompileText(PoolFormerGroupNormSpec),
            new { dim = 32, depth = 2, patch = 4, hidden = 64, classes = 10, channels = 3, norm = "group" }),
        ["poolformer-sub"] = new("poolformer", () => CompileText(PoolFormerSubSpec),
            new { dim = 32, depth = 2, patch = 4, hidden = 64, classes = 10, channels = 3, norm = "group", subtract = true }),
        // x · sigmoid(x) is SiLU: the gate against PyTorch's nn.SiLU
        ["residual-mul"] = OneOp("residual(mul) { sigmoid }", "silu"),
        ["vit-avg-pool"] = new("vit", () => CompileText(VitAvgSpec),
            new { dim = 48, depth = 2, heads = 3, patch = 4, mlp = 4, classes = 10, channels = 3, size = 16, global_pool = "avg" }),
        // init 0.5 rather than timm's 1e-4 so the token and channel branches move the logits well beyond the tolerance
        ["resmlp"] = new("resmlp",
            () => CompileSpec("resmlp.arch", "dim=32", "depth=2", "patch=4", "channels=3", "size=16", "init=0.5"),
            new { dim = 32, depth = 2, patch = 4, mlp = 4, init = 0.5, classes = 10, channels = 3, size = 16 }),
        ["max_pool"] = OneOp("max_pool(3, 2, padding: 1)", "max_pool"),
        ["conv-same-even"] = OneOp("conv(4, kernel: 4, padding: same)", "conv_same_even"),
        ["group_norm"] = OneOp("group_norm(2)", "group_norm"),
        ["layer_scale-image"] = OneOp("layer_scale(init: 0.5)", "layer_scale"),
        ["affine-image"] = OneOp("affine", "affine"),
        ["silu"] = OneOp("silu", "silu"),
        ["tanh"] = OneOp("tanh", "tanh"),
        ["sigmoid"] = OneOp("sigmoid", "sigmoid"),
        ["identity"] = OneOp("identity", "identity"),
        ["flatten"] = OneOp("flatten", "flatten"),
        ["gelu-tanh"] = OneOp("gelu(approximate: tanh)", "gelu_tanh"),
        // u · sigmoid(v) of the channel halves is the GLU: residual(gate) on an image against PyTorch's nn.GLU(dim=1)
        ["residual-gate"] = OneOpHalving("residual(gate) { sigmoid }", "glu"),
        // timm's SpatialGatingBlock/GatedMlp/SpatialGatingUnit: chunk on tokens, the gate as published (init: gate) ...
        ["gmlp"] = new("gmlp",
            () => CompileSpec("gmlp.arch", "dim=32", "depth=2", "patch=4", "channels=3", "size=16"),
            new { dim = 32, depth = 2, patch = 4, mlp = 6, classes = 10, channels = 3, size = 16 }),
        // ... and with the gate projection at PyTorch's init, so a wrong half or norm in v's path shows in the logits
        ["gmlp-default-init"] = new("gmlp", () => CompileText(GMlpDefaultInitSpec),
            new { dim = 32, depth = 2, patch = 4, mlp = 6, classes = 10, channels = 3, size = 16 }),
    };

    public static TheoryData<string> CaseNames => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void Matches_the_independent_PyTorch_reference(string name)
    {
        var c = Cases[name];
        var g = c.Graph();
        var dir = Directory.CreateTempSubdirectory("archdsl-equiv-").FullName;
        try
        {
            using var m = new IrModel(g, seed: 11);
            using var scope = NewDisposeScope();
            var (x, y, r) = RunReference(m, c.Kind, c.Config, batch: 8, c.InputScale, dir);

            Assert.Equal(g.ParamCount, m.ParameterCount);
            Assert.Equal(g.ParamCount, r["params"].item<long>());

            foreach (var mode in new[] { "train", "eval" })
            {
                m.train(mode == "train");
                m.zero_grad();
                var logits = m.forward(x);
                var loss = F.cross_entropy(logits, y);
                loss.backward();
                var dl = MaxAbsDiff(logits, r[$"{mode}.logits"]);
                output.WriteLine($"{name} {mode}: logits max |Δ| {dl:g3} (max |logit| {MaxAbs(logits):g3}), loss {loss.item<double>():g6} vs {r[$"{mode}.loss"].item<double>():g6}");
                Assert.True(dl <= LogitTol, $"{name} {mode}: logits differ by {dl:g4} > {LogitTol}");
                var worst = (name: "", diff: 0.0);
                foreach (var (pn, p) in m.named_parameters())
                {
                    Assert.True(r.ContainsKey($"{mode}.grad.{pn}"), $"the reference has no gradient for {pn}");
                    var d = MaxAbsDiff(p.grad!, r[$"{mode}.grad.{pn}"]);
                    if (d >= worst.diff) worst = (pn, d);
                    Assert.True(d <= GradTol, $"{name} {mode}: gradient of {pn} differs by {d:g4} > {GradTol} (max |grad| {MaxAbs(p.grad!):g3})");
                }
                output.WriteLine($"{name} {mode}: worst gradient max |Δ| {worst.diff:g3} ({worst.name}) over {m.named_parameters().Count()} parameters");
            }
            foreach (var (sn, t) in m.state_dict())
            {
                var d = MaxAbsDiff(t, r[$"state.{sn}"]);
                Assert.True(d <= StateTol, $"{name}: {sn} after the train step differs by {d:g4}");
            }
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void The_reference_comparison_can_fail_a_wrong_model()
    {
        // Guard against a vacuous comparison: the same weights with one attention head-split convention changed
        // (heads=1 instead of 3 in ArchDsl's graph, same parameter shapes) must not match the timm reference.
        var g = CompileSpec("vit.arch", "dim=48", "depth=1", "heads=1", "patch=4", "channels=3", "size=16");
        var dir = Directory.CreateTempSubdirectory("archdsl-equiv-").FullName;
        try
        {
            using var m = new IrModel(g, seed: 11);
            using var scope = NewDisposeScope();
            var cfg = new { dim = 48, depth = 1, heads = 3, patch = 4, mlp = 4, classes = 10, channels = 3, size = 16 };
            var (x, _, r) = RunReference(m, "vit", cfg, batch: 4, inputScale: 1, dir);
            m.train();
            var d = MaxAbsDiff(m.forward(x), r["train.logits"]);
            Assert.True(d > 1e-3, $"a 1-head model matched the 3-head reference (max |Δ| {d:g3})");
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void The_gelu_tanh_case_tells_the_approximations_apart()
    {
        // Exact GELU against the tanh reference must fail the logit tolerance, or the gelu-tanh case would pass vacuously.
        var c = Cases["gelu-tanh"];
        var g = CompileText("""
            arch OneOp(classes = 10)
            input image[3, 8, 8]
            stem conv(4, kernel: 1) -> gelu
            head global_pool -> linear(classes)
            """);
        var dir = Directory.CreateTempSubdirectory("archdsl-equiv-").FullName;
        try
        {
            using var m = new IrModel(g, seed: 11);
            using var scope = NewDisposeScope();
            var (x, _, r) = RunReference(m, c.Kind, c.Config, batch: 8, c.InputScale, dir);
            m.train();
            var d = MaxAbsDiff(m.forward(x), r["train.logits"]);
            output.WriteLine($"exact gelu vs the tanh reference: logits max |Δ| {d:g3}");
            Assert.True(d > 2 * LogitTol, $"exact GELU matched the tanh-approximation reference (max |Δ| {d:g3})");
        }
        finally { Directory.Delete(dir, true); }
    }

    /// <summary>
    /// Saves <paramref name="m"/>'s weights and a batch (uniform in ±<paramref name="inputScale"/>, labels of 10 classes)
    /// to <paramref name="dir"/>, runs reference/compare.py on them, and returns the batch and the reference's results.
    /// </summary>
    internal static (Tensor X, Tensor Y, Dictionary<string, Tensor> Reference) RunReference(IrModel m, string kind, object config, int batch,
        double inputScale, string dir, string? amp = null)
    {
        var weights = Path.Combine(dir, "weights.safetensors");
        var inputs = Path.Combine(dir, "inputs.safetensors");
        var outPath = Path.Combine(dir, "reference.safetensors");
        m.SaveWeights(weights);
        var x = Rand(21, new[] { (long)batch }.Concat(m.Graph.Input.Dims.Select(d => (long)d)).ToArray()).mul(inputScale);
        var y = Labels(22, batch, 10);
        Safetensors.Save(inputs, new Dictionary<string, Tensor> { ["x"] = x, ["y"] = y });
        if (amp is null) Python("compare.py", kind, JsonSerializer.Serialize(config), weights, inputs, outPath);
        else Python("compare.py", kind, JsonSerializer.Serialize(config), weights, inputs, outPath, amp);
        return (x, y, Safetensors.Load(outPath));
    }
}
