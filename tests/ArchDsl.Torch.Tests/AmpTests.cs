using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Torch.Tests;

/// <summary>The binding's mixed precision: libtorch's autocast switch, and the loss scaler with GradScaler's semantics.</summary>
public class AmpTests : TorchTest
{
    [Fact]
    public void Autocast_runs_a_linear_in_bf16_and_is_restored()
    {
        using var scope = NewDisposeScope();
        var x = randn(4, 8);
        var w = randn(3, 8);
        using (amp.autocast(DeviceType.CPU, ScalarType.BFloat16))
        {
            Assert.Equal(ScalarType.BFloat16, F.linear(x, w).dtype);
            using (amp.autocast(DeviceType.CPU, ScalarType.BFloat16, enabled: false))
                Assert.Equal(ScalarType.Float32, F.linear(x, w).dtype);
            Assert.Equal(ScalarType.BFloat16, F.linear(x, w).dtype);
        }
        Assert.Equal(ScalarType.Float32, F.linear(x, w).dtype);
    }

    [Fact]
    public void The_scaler_starts_as_GradScaler_and_scales_the_loss()
    {
        var s = new GradScaler();
        Assert.Equal((65536.0, 2.0, 0.5, 2000), (s.Scale, s.GrowthFactor, s.BackoffFactor, s.GrowthInterval));
        using var scope = NewDisposeScope();
        Assert.Equal(3.0 * 65536, s.ScaleLoss(tensor(new[] { 3f })).item<double>());
    }

    [Fact]
    public void An_overflowing_gradient_skips_the_step_and_halves_the_scale()
    {
        using var scope = NewDisposeScope();
        var p = new nn.Parameter(ones(3));
        var s = new GradScaler(initScale: 1024);
        // Forced overflow: the scaled loss's gradient is inf in one element.
        p.grad = tensor(new[] { 1f, float.PositiveInfinity, 2f });
        var stepped = false;
        Assert.False(s.Step([p], () => stepped = true));
        Assert.False(stepped);
        Assert.True(s.LastStepSkipped);
        s.Update();
        Assert.Equal((512.0, 0), (s.Scale, s.GrowthTracker));
        // NaN too.
        p.grad = tensor(new[] { float.NaN, 0f, 0f });
        Assert.False(s.Step([p], () => stepped = true));
        s.Update();
        Assert.Equal(256.0, s.Scale);
    }

    [Fact]
    public void Finite_gradients_are_unscaled_and_the_scale_grows_after_the_interval()
    {
        using var scope = NewDisposeScope();
        var p = new nn.Parameter(ones(2));
        var s = new GradScaler(initScale: 8, growthInterval: 3);
        for (var i = 1; i <= 3; i++)
        {
            p.grad = tensor(new[] { 8f, -16f });
            float[]? seen = null;
            Assert.True(s.Step([p], () => seen = p.grad!.data<float>()));
            Assert.Equal(new[] { 1f, -2f }, seen); // the optimizer sees unscaled gradients
            s.Update();
            Assert.Equal(i < 3 ? (8.0, i) : (16.0, 0), (s.Scale, s.GrowthTracker));
        }
    }

    [Fact]
    public void The_scaler_state_round_trips_exactly_and_bad_state_is_refused()
    {
        var s = new GradScaler(initScale: 3.0 / 7, growthInterval: 5);
        using (NewDisposeScope())
        {
            var p = new nn.Parameter(ones(1));
            p.grad = ones(1);
            s.Step([p], () => { });
            s.Update();
        }
        var copy = new GradScaler(growthInterval: 5);
        copy.Load(s.State);
        Assert.Equal((s.Scale, s.GrowthTracker), (copy.Scale, copy.GrowthTracker));
        Assert.Throws<FormatException>(() => copy.Load(new Dictionary<string, string> { ["scale"] = "-1", ["growth_tracker"] = "0" }));
        Assert.Throws<FormatException>(() => copy.Load(new Dictionary<string, string> { ["scale"] = "2" }));
    }
}
