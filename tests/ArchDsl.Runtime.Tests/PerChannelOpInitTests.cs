using ArchDsl.Runtime.Model;
using static ArchDsl.Runtime.Tests.ModelTestKit;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The starting values of the per-channel ops, which the equivalence cases cannot check (they copy ArchDsl's initial
/// weights into the reference): layer_scale's γ = init (timm's LayerScale, init_values · ones), affine's α = 1 and β = 0
/// (timm's resmlp Affine), group_norm's weight 1 and bias 0 (torch.nn.GroupNorm), and gMLP's gate projection
/// <c>linear(…, init: gate)</c>: weight N(0, 1e-6²) and bias 1 (timm's SpatialGatingUnit.init_weights).
/// </summary>
[Collection(TorchModelCollection.Name)]
public sealed class PerChannelOpInitTests
{
    [Theory]
    [InlineData("init=0.25", 0.25f)]
    [InlineData("init=1e-6", 1e-6f)]
    public void Layer_scale_starts_at_init_and_affine_at_the_identity(string init, float gamma)
    {
        var g = CompileSpec("resmlp.arch", "dim=16", "depth=1", init);
        using var m = new IrModel(g, seed: 3);
        using var scope = NewDisposeScope();
        var s = m.state_dict();
        foreach (var name in new[] { "blocks.0.token.3.gamma", "blocks.0.channel.3.gamma" })
        {
            Assert.Equal(gamma, s[name].min().item<float>());
            Assert.Equal(gamma, s[name].max().item<float>());
        }
        foreach (var norm in new[] { "blocks.0.token_norm", "blocks.0.channel_norm", "head.0" })
        {
            Assert.Equal(1f, s[$"{norm}.alpha"].min().item<float>());
            Assert.Equal(1f, s[$"{norm}.alpha"].max().item<float>());
            Assert.Equal(0.0, MaxAbs(s[$"{norm}.beta"]));
        }
    }

    [Fact]
    public void Group_norm_starts_as_PyTorchs()
    {
        var g = CompileText("""
            arch G(classes = 10)
            input image[3, 8, 8]
            stem conv(4, kernel: 1) -> group_norm(2)
            head global_pool -> linear(classes)
            """);
        using var m = new IrModel(g, seed: 3);
        using var scope = NewDisposeScope();
        var s = m.state_dict();
        Assert.Equal(1f, s["stem.1.weight"].min().item<float>());
        Assert.Equal(1f, s["stem.1.weight"].max().item<float>());
        Assert.Equal(0.0, MaxAbs(s["stem.1.bias"]));
    }

    [Fact]
    public void A_gate_projection_starts_near_zero_with_bias_one_and_a_plain_linear_as_PyTorchs()
    {
        var g = CompileSpec("gmlp.arch", "dim=64", "depth=1", "size=32", "patch=2"); // 256 tokens: proj weight [256, 256]
        using var m = new IrModel(g, seed: 3);
        using var scope = NewDisposeScope();
        var s = m.state_dict();
        var w = s["blocks.0.channel.2.2.weight"];
        Assert.Equal(1f, s["blocks.0.channel.2.2.bias"].min().item<float>());
        Assert.Equal(1f, s["blocks.0.channel.2.2.bias"].max().item<float>());
        Assert.InRange(Math.Sqrt(w.mul(w).mean().item<float>()), 0.95e-6, 1.05e-6); // RMS of 65,536 draws of N(0, 1e-6²)
        Assert.InRange(w.mean().item<float>(), -2e-8f, 2e-8f);
        // fc1 without init: gate keeps PyTorch's kaiming_uniform_(a=√5): U(±1/√fan_in), std 1/√(3·fan_in)
        var fc1 = s["blocks.0.channel.0.weight"];
        Assert.InRange(fc1.abs().max().item<float>(), 0.9f / 8, 1f / 8);
    }
}
