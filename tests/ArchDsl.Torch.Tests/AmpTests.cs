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
        Assert.Equal((s.Scale, s.GrowthTracker, s.SkippedSteps), (copy.Scale, copy.GrowthTracker, copy.SkippedSteps));
        copy.Load(new Dictionary<string, string> { ["scale"] = "8", ["growth_tracker"] = "1" }); // a checkpoint from before skipped steps were counted
        Assert.Equal((8.0, 1, 0L), (copy.Scale, copy.GrowthTracker, copy.SkippedSteps));
        Assert.Throws<FormatException>(() => copy.Load(new Dictionary<string, string> { ["scale"] = "2", ["growth_tracker"] = "0", ["skipped_steps"] = "-3" }));
        Assert.Throws<FormatException>(() => copy.Load(new Dictionary<string, string> { ["scale"] = "-1", ["growth_tracker"] = "0" }));
        Assert.Throws<FormatException>(() => copy.Load(new Dictionary<string, string> { ["scale"] = "2" }));
    }

    /// <summary>
    /// Forced overflow against PyTorch 1.13's own <c>torch.cuda.amp.GradScaler</c> class: the same parameters, optimizer
    /// (SGD, lr 0.1) and losses <c>sum(w · x_t)</c>, where some x_t hold values that overflow float32 once scaled (1e35,
    /// 6e33 at scale 65536 but not at 32768) or a NaN. Per step the scale after <c>update()</c> and whether the optimizer
    /// stepped must be equal, and so must the weights after the last step. 1.13 has no CPU kernels for GradScaler's two
    /// CUDA ops, so the reference replaces them with line-for-line ports of aten/src/ATen/native/cuda/AmpKernels.cu
    /// (the found-inf check with unscaling, and the scale update with its float32 rounding and its refusal to grow to
    /// inf), and its CUDA-only guards are lifted (the "CUDA is not available" switch-off and _MultiDeviceReplicator's
    /// is_cuda assertion); everything else — when to unscale, when to skip <c>optimizer.step()</c>, the growth
    /// tracker — is GradScaler's Python. The scaled loss is <c>loss * scaler._scale</c>, GradScaler.scale's body
    /// without its is_cuda assertion. A second case starts at 2¹²⁷ with growth_interval 1: growing would give inf, so the scale stays.
    /// </summary>
    [Theory]
    [InlineData(65536.0, 3)]
    [InlineData(1.7014118346046923e38, 1)]
    public void The_scaler_matches_PyTorchs_GradScaler_on_a_forced_overflow(double initScale, int growthInterval)
    {
        using var scope = NewDisposeScope();
        float nan = float.NaN;
        float[][] rows =
        [
            [1, 2, 3, 4], [1, 1e35f, 0, 0], [0.5f, -1, 2, 0], [1, 1, 1, 1], [2, 0, -1, 3], [6e33f, 0, 0, 1], [6e33f, 0, 0, 1],
            [nan, 1, 1, 1], [1, 2, 3, 4], [1e-30f, 0, 0, 0], [4, 3, 2, 1], [-1, -1, 1, 1], [1, 0.5f, -1, 0.25f], [-1, 1, 0.5f, 0.5f],
        ];
        var xs = tensor(rows.SelectMany(r => r).ToArray()).reshape(rows.Length, 4);
        var w0 = tensor(new[] { 0.25f, -0.5f, 1.5f, 2f });
        var py = PyTorch.Run($$"""
            import torch.cuda.amp.grad_scaler as gs
            from torch.cuda.amp import GradScaler
            def unscale_port(grads, found_inf, inv_scale):      # _amp_foreach_non_finite_check_and_unscale_cuda_
                for g in grads:
                    if not bool(torch.isfinite(g).all()):
                        found_inf.fill_(1.0)
                    g.mul_(inv_scale)
            def update_port(scale, tracker, found_inf, growth, backoff, interval):   # amp_update_scale_cuda_kernel
                if found_inf.item():
                    scale.fill_(scale.item() * backoff)
                    tracker.fill_(0)
                else:
                    successful = int(tracker.item()) + 1
                    if successful == interval:
                        grown = torch.tensor(scale.item() * growth, dtype=torch.float32)
                        if bool(torch.isfinite(grown)):
                            scale.copy_(grown)
                        tracker.fill_(0)
                    else:
                        tracker.fill_(successful)
                return scale
            def replicator_init(self, master):                  # _MultiDeviceReplicator without its is_cuda assertion
                self.master, self._per_device_tensors = master, {}
            torch._amp_foreach_non_finite_check_and_unscale_ = unscale_port
            torch._amp_update_scale_ = update_port
            gs._MultiDeviceReplicator.__init__ = replicator_init
            gs.amp_definitely_not_available = lambda: False     # else GradScaler disables itself without CUDA
            scaler = GradScaler(init_scale={{initScale:R}}, growth_interval={{growthInterval}})
            scaler._lazy_init_scale_growth_tracker(torch.device('cpu'))
            w = torch.nn.Parameter(x['w0'].clone())
            opt = torch.optim.SGD([w], lr=0.1)
            scales, stepped = [], []
            for t in range(x['xs'].shape[0]):
                opt.zero_grad()
                (torch.sum(w * x['xs'][t]) * scaler._scale).backward()
                scaler.step(opt)
                found = sum(v.item() for v in scaler._per_optimizer_states[id(opt)]['found_inf_per_device'].values())  # _maybe_opt_step's test
                scaler.update()
                scales.append(scaler.get_scale())
                stepped.append(0.0 if found else 1.0)
            out['scales'] = torch.tensor(scales, dtype=torch.float64)
            out['stepped'] = torch.tensor(stepped, dtype=torch.float64)
            out['w'] = w.detach()
            """, new Dictionary<string, Tensor> { ["xs"] = xs, ["w0"] = w0 });

        var w = new nn.Parameter(w0.clone());
        using var sgd = optim.SGD([w], lr: 0.1);
        var s = new GradScaler(initScale: initScale, growthInterval: growthInterval);
        var scales = new List<double>();
        var stepped = new List<double>();
        for (var t = 0; t < rows.Length; t++)
        {
            sgd.zero_grad();
            s.ScaleLoss((w * xs[t]).sum()).backward();
            stepped.Add(s.Step([w], () => sgd.step()) ? 1 : 0);
            s.Update();
            scales.Add(s.Scale);
        }
        Assert.Equal(py["scales"].data<double>().ToArray(), scales);
        Assert.Equal(py["stepped"].data<double>().ToArray(), stepped);
        Assert.Equal(py["w"].data<float>().ToArray(), w.data<float>().ToArray());
        Assert.Equal(stepped.Count(x => x == 0), s.SkippedSteps);
        Assert.Contains(0.0, stepped); // the overflow was forced
        if (growthInterval == 1) Assert.Equal([initScale, initScale], scales[^2..]); // at 2^127 a growth would be inf: refused
    }

    [Fact]
    public void The_scale_backs_off_below_the_minimum_only_after_fairseqs_thirty_skips_from_GradScalers_default()
    {
        using var scope = NewDisposeScope();
        var p = new nn.Parameter(ones(1));
        var s = new GradScaler();
        for (var i = 1; i <= 30; i++)
        {
            Assert.False(s.BelowMinimum);
            p.grad = tensor(new[] { float.PositiveInfinity });
            Assert.False(s.Step([p], () => { }));
            s.Update();
            Assert.Equal(Math.ScaleB(1, 16 - i), s.Scale);
        }
        Assert.True(s.BelowMinimum); // 2^-14 = 6.1e-5 <= 1e-4; after 29 skips 2^-13 = 1.2e-4 was not
        Assert.Equal(30, s.SkippedSteps);
    }

    [Fact]
    public void A_non_finite_loss_skips_the_step_even_with_finite_gradients()
    {
        using var scope = NewDisposeScope();
        var p = new nn.Parameter(ones(2));
        var s = new GradScaler(initScale: 4);
        p.grad = tensor(new[] { 4f, 8f });
        var stepped = false;
        Assert.False(s.Step([p], () => stepped = true, lossIsFinite: false));
        Assert.False(stepped);
        s.Update();
        Assert.Equal((2.0, 1L), (s.Scale, s.SkippedSteps));
    }
}
