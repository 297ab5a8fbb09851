using ArchDsl.Runtime.Model;
using ArchDsl.Torch;
using static ArchDsl.Runtime.Tests.ModelTestKit;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The shim's fused exact GELU + batch norm (<see cref="nn.functional.gelu_batch_norm"/>, src/gelu_batchnorm.cpp) against
/// libtorch's own <c>batch_norm(gelu(x))</c> on the same values, in training and eval: output, the gradients of input,
/// weight and bias, and the running statistics after the step. Float32 is held to libtorch in float64 within 2e-5 of the
/// largest magnitude (float rounding, erf's 1.5e-7, sums in another order), float64 within 1e-10. And the lowering: the
/// ConvMixer's GELU → batch norm pairs are fused, a GELU whose value is also read elsewhere is not.
/// </summary>
[Collection(TorchModelCollection.Name)] // sets the thread count, which is process-wide
public sealed class GeluBatchNormTests
{
    public static TheoryData<long[], double, bool> Cases() => new()
    {
        // shape (4-D: channels-last image, 2-D: rows [R, C]), offset added to the input, training
        { [8, 128, 14, 14], 0.0, true },  // the default ConvMixer's layer, 1,568 rows: several blocks of 256
        { [8, 128, 14, 14], 0.0, false },
        { [3, 20, 9, 11], 0.0, true },    // channels past a 16-wide vector, a part block
        { [3, 20, 9, 11], 0.0, false },
        { [2, 33, 1, 1], 0.0, true },     // 1×1 spatial: two values per channel
        { [5, 7, 3, 3], 0.0, true },      // fewer channels than a vector
        { [1, 24, 1, 1], 0.0, false },    // batch 1 in eval (training would refuse it)
        { [1, 17, 5, 5], 0.0, false },
        { [300, 40], 0.0, true },         // token rows
        { [4, 16, 8, 8], 40.0, true },    // GELU ≈ x + 40: mean² ≫ variance, where E[g²] − E[g]² would cancel
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float32_matches_gelu_then_batch_norm(long[] shape, double offset, bool training) =>
        Compare(ScalarType.Float32, shape, offset, training, tolerance: 2e-5);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float64_matches_gelu_then_batch_norm(long[] shape, double offset, bool training) =>
        Compare(ScalarType.Float64, shape, offset, training, tolerance: 1e-10);

    /// <summary>The key cases at every instruction-set level (<see cref="KernelLevels"/>): the AVX2 and baseline float32
    /// kernels, which an AVX-512 processor never chooses, with and without the residual (float64 is scalar code).</summary>
    public static IEnumerable<object[]> CasesAtEachLevel() => KernelLevels.Each(new TheoryData<long[], double, bool>
    {
        { [8, 128, 14, 14], 0.0, true },
        { [3, 20, 9, 11], 0.0, false },
        { [5, 7, 3, 3], 0.0, true },
        { [300, 40], 0.0, true },
        { [4, 16, 8, 8], 40.0, true },
    });

    [Theory]
    [MemberData(nameof(CasesAtEachLevel))]
    public void Every_levels_kernels_match_gelu_then_batch_norm(int level, long[] shape, double offset, bool training) =>
        KernelLevels.At(level, () =>
        {
            Compare(ScalarType.Float32, shape, offset, training, tolerance: 2e-5);
            if (offset == 0) A_residual_summed_in_the_kernel_matches_gelu_batch_norm_then_add(shape, training);
        });

    /// <summary>max |Δ| / max(1, max |ref|) of each result against libtorch's gelu + batch_norm in float64 on the same values.</summary>
    static void Compare(ScalarType dtype, long[] shape, double offset, bool training, double tolerance)
    {
        using var scope = NewDisposeScope();
        var inputs = Inputs(dtype, shape, offset);
        var ours = Run(inputs, training, fused: true);
        var theirs = Run(inputs.To(ScalarType.Float64), training, fused: false);
        string[] names = ["output", "input gradient", "weight gradient", "bias gradient", "running_mean", "running_var"];
        for (var i = 0; i < ours.Length; i++)
        {
            Assert.Equal(dtype, ours[i].dtype);
            Assert.Equal(theirs[i].shape, ours[i].shape);
            var rel = MaxAbsDiff(ours[i].to(ScalarType.Float64), theirs[i]) / Math.Max(1.0, MaxAbs(theirs[i]));
            Assert.True(rel <= tolerance, $"{names[i]}: max |Δ| / max |ref| = {rel:E2} > {tolerance:E0}");
        }
        if (shape.Length == 4)
        {
            Assert.True(ours[0].is_contiguous(memory_format.ChannelsLast), "the output is channels-last, as the input");
            Assert.True(ours[1].is_contiguous(memory_format.ChannelsLast), "the input gradient is channels-last, as the input");
        }
    }

    [Fact]
    public void The_same_bits_on_every_run_and_thread_count()
    {
        using var scope = NewDisposeScope();
        var inputs = Inputs(ScalarType.Float32, [6, 40, 9, 9], 0.0);
        var threads = get_num_threads();
        try
        {
            set_num_threads(1);
            var one = Run(inputs, training: true, fused: true);
            set_num_threads(2);
            var two = Run(inputs, training: true, fused: true);
            var again = Run(inputs, training: true, fused: true);
            for (var i = 0; i < one.Length; i++)
            {
                Assert.Equal(0.0, MaxAbsDiff(one[i], two[i]));
                Assert.Equal(0.0, MaxAbsDiff(two[i], again[i]));
            }
        }
        finally { set_num_threads(threads); }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Without_gradients_the_values_and_running_statistics_are_the_same_bits(bool training)
    {
        // no_grad takes the path that stores nothing and computes GELU in both passes
        using var scope = NewDisposeScope();
        var p = Inputs(ScalarType.Float32, [5, 40, 7, 7], 0.0);
        var withGrad = Run(p, training, fused: true);
        Tensor mean = p.Mean.clone(), var = p.Var.clone(), y;
        using (no_grad()) y = F.gelu_batch_norm(p.X, mean, var, p.W, p.B, training, 0.1, 1e-5);
        Assert.Equal(0.0, MaxAbsDiff(y, withGrad[0]));
        Assert.Equal(0.0, MaxAbsDiff(mean, withGrad[4]));
        Assert.Equal(0.0, MaxAbsDiff(var, withGrad[5]));
    }

    [Fact]
    public void Training_on_one_value_per_channel_is_refused_as_batch_norm_refuses_it()
    {
        using var scope = NewDisposeScope();
        var p = Inputs(ScalarType.Float32, [1, 8, 1, 1], 0.0);
        var ours = Assert.Throws<ArgumentException>(() => F.gelu_batch_norm(p.X, p.Mean, p.Var, p.W, p.B, true, 0.1, 1e-5));
        var theirs = Assert.Throws<ArgumentException>(() => F.batch_norm(p.X.gelu(), p.Mean, p.Var, p.W, p.B, true, 0.1, 1e-5));
        Assert.Equal(theirs.Message, ours.Message);
    }

    /// <summary>The fused backward computes on raw pointers, so its gradients could not be differentiated again: with
    /// create_graph it is an error naming the op (as PyTorch's @once_differentiable), never gradients silently missing
    /// from a double backward.</summary>
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_double_backward_through_the_fused_kernel_is_an_error(bool training)
    {
        using var scope = NewDisposeScope();
        var p = Inputs(ScalarType.Float32, [2, 8, 3, 3], 0.0);
        var x = p.X.detach().requires_grad_(true);
        var y = F.gelu_batch_norm(x, p.Mean.clone(), p.Var.clone(), p.W, p.B, training, 0.1, 1e-5);
        var e = Assert.Throws<TorchException>(() => (y * p.Gy).sum().backward(create_graph: true));
        Assert.Contains("gelu_batch_norm: double backward (create_graph=True) is not supported", e.Message);
        (y * p.Gy).sum().backward(); // without create_graph the same graph still runs
        Assert.NotNull(x.grad);
    }

    [Fact]
    public void Inputs_the_fused_kernel_does_not_take_are_gelu_then_batch_norm()
    {
        using var scope = NewDisposeScope();
        var p = Inputs(ScalarType.Float32, [3, 8, 5, 5], 0.0);
        foreach (var x in new[] { p.X.contiguous(), p.X.to(ScalarType.BFloat16).to(ScalarType.Float32).permute(0, 1, 3, 2) })
        {
            Tensor m1 = p.Mean.clone(), v1 = p.Var.clone(), m2 = p.Mean.clone(), v2 = p.Var.clone();
            var ours = F.gelu_batch_norm(x, m1, v1, p.W, p.B, true, 0.1, 1e-5);
            var theirs = F.batch_norm(x.gelu(), m2, v2, p.W, p.B, true, 0.1, 1e-5);
            Assert.Equal(0.0, MaxAbsDiff(ours, theirs));
            Assert.Equal(0.0, MaxAbsDiff(m1, m2));
            Assert.Equal(0.0, MaxAbsDiff(v1, v2));
        }
    }

    [Fact]
    public void The_lowering_fuses_each_ConvMixer_gelu_into_its_batch_norm()
    {
        using var scope = NewDisposeScope();
        var graph = CompileSpec("convmixer.arch", "depth=2");
        using var model = new IrModel(graph);
        var norms = graph.Nodes.Where(n => n.Op == "batchnorm").Select(n => n.Name).ToArray();
        Assert.Equal(5, norms.Length); // stem + 2 blocks × (token, channel)
        Assert.Equal(norms, model.GeluBatchNormNodes);
    }

    [Fact]
    public void The_lowering_sums_each_ConvMixer_token_mixers_residual_in_its_norm()
    {
        using var scope = NewDisposeScope();
        using var model = new IrModel(CompileSpec("convmixer.arch", "depth=2"));
        Assert.Equal(["blocks.0.token_add", "blocks.1.token_add"], model.GeluBatchNormAddNodes);
        using var chain = new IrModel(CompileText(Chain));
        Assert.Empty(chain.GeluBatchNormAddNodes); // the residual's norm there has no GELU before it
    }

    /// <summary>batch_norm(gelu(x)) + residual with the sum in the normalising pass, against libtorch's gelu, batch_norm and
    /// add in float64: output, the gradients of input, weight, bias and residual, the running statistics.</summary>
    [Theory]
    [InlineData(new long[] { 8, 128, 14, 14 }, true)]
    [InlineData(new long[] { 3, 20, 9, 11 }, false)]
    [InlineData(new long[] { 300, 40 }, true)]
    public void A_residual_summed_in_the_kernel_matches_gelu_batch_norm_then_add(long[] shape, bool training)
    {
        using var scope = NewDisposeScope();
        foreach (var (dtype, tolerance) in new[] { (ScalarType.Float32, 2e-5), (ScalarType.Float64, 1e-10) })
        {
            var p = Inputs(dtype, shape, 0.0);
            var res = Rand(9, shape).to(dtype);
            if (shape.Length == 4) res = res.contiguous(memory_format.ChannelsLast);
            // the sum is the kernel's (its autograd node), not an add after it (the fallback's floats are the same)
            Assert.Contains(OwnNode, FusedNode(p, training, res));
            var ours = Run(p, training, fused: true, res);
            var theirs = Run(p.To(ScalarType.Float64), training, fused: false, res.to(ScalarType.Float64));
            string[] names = ["output", "input gradient", "weight gradient", "bias gradient", "running_mean", "running_var", "residual gradient"];
            for (var i = 0; i < ours.Length; i++)
            {
                var rel = MaxAbsDiff(ours[i].to(ScalarType.Float64), theirs[i]) / Math.Max(1.0, MaxAbs(theirs[i]));
                Assert.True(rel <= tolerance, $"{dtype} {names[i]}: max |Δ| / max |ref| = {rel:E2} > {tolerance:E0}");
            }
        }
    }

    [Fact]
    public void A_residual_the_pass_does_not_take_is_added_after_the_kernel()
    {
        using var scope = NewDisposeScope();
        var p = Inputs(ScalarType.Float32, [3, 8, 5, 5], 0.0);
        var res = Rand(9, 3, 8, 5, 5);
        foreach (var r in new[] { res.contiguous(), res.to(ScalarType.Float64).contiguous(memory_format.ChannelsLast) })
        {
            Assert.Equal("AddBackward0", FusedNode(p, true, r));
            var ours = Run(p, true, fused: true, r);
            var kernelThenAdd = Run(p, true, fused: true);
            Assert.Equal(0.0, MaxAbsDiff(ours[0], kernelThenAdd[0].add(r)));
            Assert.Equal(0.0, MaxAbsDiff(ours[1], kernelThenAdd[1]));
        }
    }

    [Fact]
    public void A_gelu_whose_value_is_read_elsewhere_or_an_approximate_one_is_not_fused()
    {
        using var scope = NewDisposeScope();
        using var model = new IrModel(CompileText(Chain));
        Assert.Equal(["stem.2"], model.GeluBatchNormNodes); // stem.4 is also read by the residual add, stem.6 is tanh GELU
    }

    [Fact]
    public void A_fused_model_computes_what_the_unfused_one_does()
    {
        using var scope = NewDisposeScope();
        var graph = CompileSpec("convmixer.arch", "depth=2", "dim=24", "kernel=3");
        FusedEqualsUnfused(graph, Rand(7, 6, 1, 28, 28), model => model.GeluBatchNormNodes.Count == 5);
    }

    /// <summary>An add whose two inputs are both GELU + batch norms read only by it, add(bn(gelu(c)), bn(gelu(c))): it takes
    /// the first norm into its kernel, and the second stays its own node (taking both would drop the first's value).</summary>
    [Fact]
    public void An_add_of_two_fused_norms_sums_only_one_in_its_kernel()
    {
        using var scope = NewDisposeScope();
        // stem conv → gelu → bn(A) → residual { gelu → bn(B) } is add(A, B); the inner gelu is then rewired to read the conv.
        var graph = CompileText(TwoNorms);
        var add = graph.Nodes.Single(n => n.Op == "add");
        var (a, b) = (graph.Nodes[add.Inputs[0]], graph.Nodes[add.Inputs[1]]);
        var conv = graph.Nodes[graph.Nodes[a.Inputs[0]].Inputs[0]];
        var innerGelu = graph.Nodes[b.Inputs[0]];
        Assert.Equal(("batchnorm", "batchnorm", "conv2d", "gelu"), (a.Op, b.Op, conv.Op, innerGelu.Op));
        graph = graph with { Nodes = graph.Nodes.Select(n => n.Id == innerGelu.Id ? n with { Inputs = [conv.Id] } : n).ToList() };
        using (var model = new IrModel(graph))
        {
            Assert.Equal([a.Name, b.Name], model.GeluBatchNormNodes);
            Assert.Equal([add.Name], model.GeluBatchNormAddNodes);
        }
        FusedEqualsUnfused(graph, Rand(7, 6, 3, 8, 8), model => model.GeluBatchNormNodes.Count == 2);
    }

    const string TwoNorms = """
        arch T(dim = 8)
        input image[3, 8, 8]
        stem conv(dim, kernel: 2, stride: 2) -> gelu -> batchnorm -> residual { gelu -> batchnorm }
        head avgpool -> linear(10)
        """;

    /// <summary>Logits, parameter gradients and state after one training step of the fused and the unfused model of
    /// <paramref name="graph"/> on <paramref name="x"/> agree up to float rounding.</summary>
    static void FusedEqualsUnfused(ArchDsl.Compiler.IrGraph graph, Tensor x, Func<IrModel, bool> isFused)
    {
        var labels = Labels(8, (int)x.shape[0], 10);
        var results = new List<(Tensor logits, Dictionary<string, Tensor> grads, Dictionary<string, Tensor> state)>();
        foreach (var fuse in new[] { true, false })
        {
            using var model = new IrModel(graph, 0, null, null, firstToken: true, fuse);
            Assert.Equal(fuse, isFused(model));
            model.train();
            var logits = model.forward(x);
            F.cross_entropy(logits, labels).backward();
            results.Add((logits.detach(), model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.detach().clone()),
                model.state_dict().ToDictionary(e => e.Key, e => e.Value.detach().clone())));
        }
        var (a, b) = (results[0], results[1]);
        Assert.True(MaxAbsDiff(a.logits, b.logits) <= 1e-5 * Math.Max(1, MaxAbs(b.logits)), "logits");
        foreach (var (name, g) in b.grads)
            Assert.True(MaxAbsDiff(a.grads[name], g) <= 2e-5 * Math.Max(1, MaxAbs(g)), $"gradient of {name}");
        foreach (var (name, t) in b.state)
            Assert.True(MaxAbsDiff(a.state[name].to(ScalarType.Float64), t.to(ScalarType.Float64)) <= 1e-5 * Math.Max(1, MaxAbs(t.to(ScalarType.Float64))), name);
    }

    const string Chain = """
        arch T(dim = 8)
        input image[3, 8, 8]
        stem conv(dim, kernel: 2, stride: 2) -> gelu -> batchnorm -> conv(dim, kernel: 1) -> gelu -> residual { batchnorm } -> gelu(approximate: tanh) -> batchnorm
        head avgpool -> linear(10)
        """;

    sealed record Values(Tensor X, Tensor W, Tensor B, Tensor Mean, Tensor Var, Tensor Gy)
    {
        public Values To(ScalarType t) => new(X.to(t), W.to(t), B.to(t), Mean.to(t), Var.to(t), Gy.to(t));
    }

    static Values Inputs(ScalarType dtype, long[] shape, double offset)
    {
        var c = shape[1];
        var x = (Rand(1, shape) * 3 + offset).to(dtype);
        if (shape.Length == 4) x = x.contiguous(memory_format.ChannelsLast);
        return new Values(x, (Rand(2, c) + 1.5).to(dtype), Rand(3, c).to(dtype), Rand(4, c).to(dtype), (Rand(5, c) + 2).to(dtype),
            Rand(6, shape).to(dtype));
    }

    const string OwnNode = "GeluBatchNorm";

    /// <summary>The autograd node that made the fused kernel's output with <paramref name="residual"/> summed in.</summary>
    static string? FusedNode(Values p, bool training, Tensor residual) =>
        F.gelu_batch_norm(p.X.detach().requires_grad_(true), p.Mean.clone(), p.Var.clone(), p.W, p.B, training, 0.1, 1e-5, residual).grad_fn_name;

    /// <summary>[output, dx, dw, db, running_mean, running_var after the step (, d residual)] of the fused kernel or of
    /// libtorch's gelu then batch_norm (then + <paramref name="residual"/>).</summary>
    static Tensor[] Run(Values p, bool training, bool fused, Tensor? residual = null)
    {
        var x = p.X.detach().requires_grad_(true);
        var w = p.W.detach().requires_grad_(true);
        var b = p.B.detach().requires_grad_(true);
        var r = residual?.detach().requires_grad_(true);
        Tensor mean = p.Mean.clone(), var = p.Var.clone();
        var y = fused ? F.gelu_batch_norm(x, mean, var, w, b, training, 0.1, 1e-5, r) : F.batch_norm(x.gelu(), mean, var, w, b, training, 0.1, 1e-5);
        if (!fused && r is not null) y = y + r;
        y.backward(p.Gy);
        Tensor[] values = [y.detach(), x.grad!.detach(), w.grad!.detach(), b.grad!.detach(), mean, var];
        return r is null ? values : [.. values, r.grad!.detach()];
    }
}
