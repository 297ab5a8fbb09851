using ArchDsl.Compiler;
using ArchDsl.Runtime.Model;
using ArchDsl.Torch;
using static ArchDsl.Runtime.Tests.ModelTestKit;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The shim's fused <c>gelu(x + bias)</c> (<see cref="F.bias_gelu"/>, src/bias_gelu.cpp) against libtorch's own ops on
/// the same values: the output and the gradients of x and of the bias. Float32 is held to libtorch's
/// <c>gelu(x + b)</c> in float64 within 1e-5 of the largest magnitude (float rounding, erf's 1.5e-7, the bias sums in
/// another order). bfloat16 is held (a) to the exact float64 result of the same bf16 inputs within 2⁻⁸ of the largest
/// magnitude (one rounding to bf16 is at most 2⁻⁹ relative) and (b) to what autocast computes, libtorch's bf16
/// <c>gelu(x + b.to(bf16))</c> and its backward, within 2⁻⁷ (two roundings of bf16 apart at most). And the lowering:
/// each ViT and MLP-Mixer MLP's GELU takes its linear's bias, a linear whose value is also read elsewhere does not lend it.
/// </summary>
[Collection(TorchModelCollection.Name)] // sets the thread count, which is process-wide
public sealed class BiasGeluTests
{
    public static TheoryData<long[], bool> Cases() => new()
    {
        // shape [..., C], with a bias
        { [8, 50, 192], true },   // ViT tokens: 400 rows, two blocks of 256 for the bias sums
        { [300, 40], true },      // C = 2·16 + 8: a pair of vectors and a part vector
        { [7, 33], true },        // a pair and a part of 1
        { [5, 16], true },        // one vector
        { [2, 3, 5, 48], true },  // 4-D: a pair and one vector
        { [3, 7], true },         // fewer columns than a vector
        { [1, 1], true },
        { [300, 40], false },     // no bias: gelu(x)
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Float32_matches_gelu_of_x_plus_bias(long[] shape, bool bias)
    {
        using var scope = NewDisposeScope();
        var p = Inputs(ScalarType.Float32, shape, bias);
        Assert.Contains("BiasGelu", F.bias_gelu(p.X.detach().requires_grad_(true), p.B).grad_fn_name); // the kernel's node, not GeluBackward0
        var ours = Run(p, fused: true);
        var theirs = Run(p.To(ScalarType.Float64), fused: false);
        AssertClose(ours, theirs, ScalarType.Float32, 1e-5);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bfloat16_is_within_one_rounding_of_the_exact_result(long[] shape, bool bias)
    {
        using var scope = NewDisposeScope();
        var p = Inputs(ScalarType.BFloat16, shape, bias);
        var ours = Run(p, fused: true);
        var exact = Run(p.To(ScalarType.Float64), fused: false);
        AssertClose(ours, exact, ScalarType.BFloat16, Math.Pow(2, -8), biasTolerance: 1e-5);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Bfloat16_is_within_two_roundings_of_autocasts_ops(long[] shape, bool bias)
    {
        using var scope = NewDisposeScope();
        var p = Inputs(ScalarType.BFloat16, shape, bias);
        var ours = Run(p, fused: true);
        var autocast = Run(p, fused: false); // bf16 x + the bias rounded to bf16, GELU in bf16, as autocast's linear → GELU
        AssertClose(ours, autocast, ScalarType.BFloat16, Math.Pow(2, -7));
    }

    /// <summary>The key cases at every instruction-set level (<see cref="KernelLevels"/>): the AVX2 and baseline kernels,
    /// which an AVX-512 processor never chooses, held to the same references in float32 and bfloat16.</summary>
    public static IEnumerable<object[]> CasesAtEachLevel() => KernelLevels.Each(new TheoryData<long[], bool>
    {
        { [8, 50, 192], true },
        { [300, 40], true },
        { [7, 33], true },
        { [3, 7], true },
        { [300, 40], false },
    });

    [Theory]
    [MemberData(nameof(CasesAtEachLevel))]
    public void Every_levels_kernels_match_gelu_of_x_plus_bias(int level, long[] shape, bool bias) =>
        KernelLevels.At(level, () =>
        {
            Float32_matches_gelu_of_x_plus_bias(shape, bias);
            Bfloat16_is_within_one_rounding_of_the_exact_result(shape, bias);
            Bfloat16_is_within_two_roundings_of_autocasts_ops(shape, bias);
        });

    /// <summary>
    /// The bfloat16 kernels' arithmetic is the float32 kernels' on the widened values, rounded once to bf16: so their
    /// output and input gradient are the float32 kernel's on the same values converted by ATen (<c>.to(bf16)</c>), bit for
    /// bit (compared as bits; a NaN must be c10's 0x7FC0: see DifferingBits), at every level — including the values a faster rounding
    /// instruction (AVX-512 BF16's vcvtneps2bf16, measured and not taken: bias_gelu.cpp) would get wrong: a NaN result
    /// (it keeps the sign and payload), infinities, a finite float32 result that rounds up to infinity (with a bias: the
    /// largest bfloat16 plus 1e36), subnormal inputs (read as zero by it) and subnormal results (flushed). 64 columns:
    /// whole vectors.
    /// </summary>
    [Theory]
    [MemberData(nameof(LevelsWithAndWithoutBias))]
    public void Bfloat16_rounds_as_ATen_rounds_the_float32_result(int level, bool bias) =>
        KernelLevels.At(level, () =>
        {
            using var scope = NewDisposeScope();
            var rng = new Random(5);
            var x = Enumerable.Range(0, 4 * 64).Select(_ => (float)(rng.NextDouble() * 8 - 4)).ToArray();
            var gy = Enumerable.Range(0, 4 * 64).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
            float[] special = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 3.4e38f, 1e-39f, -1e-39f];
            for (var i = 0; i < special.Length; i++) x[i * 17] = special[i];
            for (var i = 0; i < 8; i++) (x[70 + i * 3], gy[70 + i * 3]) = (-13.1f - 0.02f * i, 1e-3f); // GELU'(x)·gy subnormal
            var b = (Rand(2, 64) * 0.01).data<float>();
            if (bias) (x[64 + 5], b[5]) = (3.3895314e38f, 1e36f); // the largest bfloat16 + 1e36: finite, rounds up to +inf
            var p = new Values(tensor(x, [4, 64]).to(ScalarType.BFloat16), bias ? tensor(b, [64]) : null, tensor(gy, [4, 64]).to(ScalarType.BFloat16));
            var ours = Run(p, fused: true);
            if (bias) Assert.True(float.IsPositiveInfinity(ours[0][1, 5].to(ScalarType.Float32).item<float>()), "no result rounded up to infinity");
            var wide = Run(p with { X = p.X.to(ScalarType.Float32), Gy = p.Gy.to(ScalarType.Float32) }, fused: true);
            var gx = wide[1].to(ScalarType.Float64).abs();
            Assert.True(gx.lt(1.1754944e-38).logical_and(gx.ne(0.0)).sum().item<long>() > 0, "no subnormal input gradient to round");
            Assert.Equal(0, DifferingBits(ours[0], wide[0].to(ScalarType.BFloat16)));
            Assert.Equal(0, DifferingBits(ours[1], wide[1].to(ScalarType.BFloat16)));
            Assert.Equal(0, DifferingBits(ours[2], wide[2]));
        });

    public static IEnumerable<object[]> LevelsWithAndWithoutBias() => KernelLevels.Each(new TheoryData<bool> { true, false });

    /// <summary>How many elements of <paramref name="ours"/> differ from <paramref name="reference"/> (same dtype) in their
    /// bits. Where the reference is NaN, a bfloat16 of ours must be c10's quiet NaN 0x7FC0 (c10::BFloat16's
    /// round_to_nearest_even; ATen's vectorised <c>.to(bf16)</c> writes 0xFFFF, so its bits are no reference there), a
    /// float32 any NaN.</summary>
    static long DifferingBits(Tensor ours, Tensor reference)
    {
        Assert.Equal(reference.dtype, ours.dtype);
        var (a, b) = (ours.contiguous().bytes(), reference.contiguous().bytes());
        Assert.Equal(b.Length, a.Length);
        var n = (int)ours.numel();
        var size = a.Length / Math.Max(1, n);
        var nan = reference.isnan().contiguous().data<bool>();
        var oursNan = ours.isnan().contiguous().data<bool>();
        bool C10Nan(int i) => ours.dtype != ScalarType.BFloat16 ? oursNan[i] : a[2 * i] == 0xC0 && a[2 * i + 1] == 0x7F;
        return Enumerable.Range(0, n).Count(i => nan[i] ? !C10Nan(i) : !a.AsSpan(i * size, size).SequenceEqual(b.AsSpan(i * size, size)));
    }

    [Fact]
    public void A_transposed_input_gives_what_its_contiguous_copy_does()
    {
        using var scope = NewDisposeScope();
        var p = Inputs(ScalarType.Float32, [40, 300], true);
        var t = p with { X = p.X.t().contiguous().t(), Gy = p.Gy };
        Assert.False(t.X.is_contiguous());
        var ours = Run(t, fused: true);
        var plain = Run(p with { X = t.X.contiguous() }, fused: true);
        for (var i = 0; i < ours.Length; i++) Assert.Equal(0.0, MaxAbsDiff(ours[i], plain[i]));
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void The_same_bits_on_every_run_and_thread_count(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var p = Inputs(dtype, [1100, 72], true); // five blocks of rows for the bias sums
        var threads = get_num_threads();
        try
        {
            set_num_threads(1);
            var one = Run(p, fused: true);
            set_num_threads(2);
            var two = Run(p, fused: true);
            var again = Run(p, fused: true);
            for (var i = 0; i < one.Length; i++)
            {
                Assert.Equal(0.0, MaxAbsDiff(one[i], two[i]));
                Assert.Equal(0.0, MaxAbsDiff(two[i], again[i]));
            }
        }
        finally { set_num_threads(threads); }
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void Without_gradients_the_output_is_the_same_bits(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var p = Inputs(dtype, [9, 80], true);
        var withGrad = Run(p, fused: true);
        Tensor y;
        using (no_grad()) y = F.bias_gelu(p.X, p.B);
        Assert.False(y.requires_grad);
        Assert.Equal(0.0, MaxAbsDiff(y, withGrad[0]));
    }

    /// <summary>The backward multiplies on raw pointers, so its gradients could not be differentiated again: with
    /// create_graph it is an error naming the op (as PyTorch's @once_differentiable), never gradients silently missing.</summary>
    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void A_double_backward_through_the_fused_kernel_is_an_error(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var p = Inputs(dtype, [4, 24], true);
        var x = p.X.detach().requires_grad_(true);
        var y = F.bias_gelu(x, p.B);
        var e = Assert.Throws<TorchException>(() => (y * p.Gy).sum().backward(create_graph: true));
        Assert.Contains("bias_gelu: double backward (create_graph=True) is not supported", e.Message);
        (y * p.Gy).sum().backward(); // without create_graph the same graph still runs
        Assert.NotNull(x.grad);
    }

    [Fact]
    public void Inputs_the_fused_kernel_does_not_take_are_libtorchs_gelu_of_x_plus_bias()
    {
        using var scope = NewDisposeScope();
        var p = Inputs(ScalarType.Float64, [6, 20], true);
        var b = p.B!;
        Assert.Equal(0.0, MaxAbsDiff(F.bias_gelu(p.X, b), (p.X + b).gelu()));                  // a float64 input
        Assert.Equal("GeluBackward0", F.bias_gelu(p.X.detach().requires_grad_(true), b).grad_fn_name); // libtorch's ops
        var (x32, b64) = (p.X.to(ScalarType.Float32), b.to(ScalarType.Float64));
        Assert.Equal(0.0, MaxAbsDiff(F.bias_gelu(x32, b64), (x32 + b).gelu()));               // a float64 bias
        var e = Assert.Throws<TorchException>(() => F.bias_gelu(x32, Rand(9, 21)));                      // a bias of another width
        Assert.Contains("must match the size of tensor", e.Message);
    }

    [Fact]
    public void The_lowering_gives_each_ViT_and_Mixer_MLP_gelu_its_linears_bias()
    {
        using var scope = NewDisposeScope();
        using var vit = new IrModel(CompileSpec("vit.arch", "depth=2"));
        Assert.Equal(["blocks.0.channel.1", "blocks.1.channel.1"], vit.LinearGeluNodes);
        using var mixer = new IrModel(CompileSpec("mlp-mixer.arch", "depth=2"));
        Assert.Equal(["blocks.0.token.2", "blocks.0.channel.1", "blocks.1.token.2", "blocks.1.channel.1"], mixer.LinearGeluNodes);
    }

    [Fact]
    public void A_linear_read_elsewhere_without_a_bias_or_before_a_tanh_gelu_is_not_fused()
    {
        using var scope = NewDisposeScope();
        using var model = new IrModel(CompileText(Chain));
        // stem.2's value is also read by the residual add, stem.4 has no bias, stem.7 is tanh GELU
        Assert.Equal(["stem.1"], model.LinearGeluNodes);
    }

    [Theory]
    [InlineData("vit.arch", false)]
    [InlineData("vit.arch", true)]
    [InlineData("mlp-mixer.arch", false)]
    [InlineData("mlp-mixer.arch", true)]
    public void A_fused_model_computes_what_the_unfused_one_does(string spec, bool bf16)
    {
        using var scope = NewDisposeScope();
        // width 128: the MLP's products run in bf16 under amp (AmpPolicy.CpuMinSize)
        var graph = spec == "vit.arch" ? CompileSpec(spec, "depth=2", "dim=128", "heads=4") : CompileSpec(spec, "depth=2", "dim=128");
        var x = Rand(7, 6, 1, 28, 28);
        var labels = Labels(8, 6, 10);
        var results = new List<(Tensor logits, Dictionary<string, Tensor> grads)>();
        foreach (var fuse in new[] { true, false })
        {
            using var model = new IrModel(graph, 0, null, null, firstToken: true, fuse) { Amp = bf16 ? AmpMode.Bf16 : AmpMode.Off };
            Assert.Equal(fuse, model.LinearGeluNodes.Count > 0);
            model.train();
            var logits = model.forward(x);
            F.cross_entropy(logits, labels).backward();
            results.Add((logits.detach(), model.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!.detach().clone())));
        }
        var (a, b) = (results[0], results[1]);
        // float32: rounding only; bf16: the two sides round the MLP's sum differently (see the class summary), within
        // AmpEquivalenceTests' bf16 tolerance of each other. The absolute floor covers gradients that are zero up to
        // rounding (the Mixer's token-mixing output bias: ~5e-9, before a per-sample mean over tokens).
        double rel = bf16 ? 0.05 : 2e-5, abs = bf16 ? 1e-6 : 1e-7;
        Assert.True(MaxAbsDiff(a.logits, b.logits) <= rel * MaxAbs(b.logits) + abs, "logits");
        foreach (var (name, g) in b.grads)
            Assert.True(MaxAbsDiff(a.grads[name], g) <= rel * MaxAbs(g) + abs, $"gradient of {name}: {MaxAbsDiff(a.grads[name], g):E2}, max {MaxAbs(g):E2}");
    }

    const string Chain = """
        arch T(dim = 8)
        input tokens[5, 8]
        stem linear(16) -> gelu -> linear(8) -> residual { gelu } -> linear(8, bias: false) -> gelu -> linear(8) -> gelu(approximate: tanh)
        head global_pool -> linear(10)
        """;

    sealed record Values(Tensor X, Tensor? B, Tensor Gy)
    {
        public Values To(ScalarType t) => new(X.to(t), B?.to(t), Gy.to(t));
    }

    /// <summary>x in [−4, 4) (GELU's bend and both tails), a float32 bias in [−1, 1) (or none), an output gradient in [−1, 1).</summary>
    static Values Inputs(ScalarType dtype, long[] shape, bool bias) =>
        new((Rand(1, shape) * 4).to(dtype), bias ? Rand(2, shape[^1]) : null, Rand(3, shape).to(dtype));

    /// <summary>[output, dx, db (or an empty tensor)] of the fused kernel, or of libtorch's gelu(x + b) with the bias in x's dtype.</summary>
    static Tensor[] Run(Values p, bool fused)
    {
        var x = p.X.detach().requires_grad_(true);
        var b = p.B?.detach().requires_grad_(true);
        var y = fused ? F.bias_gelu(x, b) : (b is null ? x : x + b.to(x.dtype)).gelu();
        y.backward(p.Gy);
        return [y.detach(), x.grad!.detach(), b?.grad?.detach() ?? zeros(0)];
    }

    /// <summary>Each of ours within <paramref name="tolerance"/> · max(1, max |ref|) of the reference (the bias gradient within
    /// <paramref name="biasTolerance"/> where given), in the dtypes expected (the bias gradient float32).</summary>
    static void AssertClose(Tensor[] ours, Tensor[] reference, ScalarType dtype, double tolerance, double? biasTolerance = null)
    {
        string[] names = ["output", "input gradient", "bias gradient"];
        for (var i = 0; i < ours.Length; i++)
        {
            Assert.Equal(i == 2 ? ScalarType.Float32 : dtype, ours[i].dtype);
            Assert.Equal(reference[i].shape, ours[i].shape);
            if (ours[i].numel() == 0) continue; // no bias
            var rel = MaxAbsDiff(ours[i].to(ScalarType.Float64), reference[i].to(ScalarType.Float64)) / Math.Max(1.0, MaxAbs(reference[i].to(ScalarType.Float64)));
            var tol = i == 2 && biasTolerance is { } t ? t : tolerance;
            Assert.True(rel <= tol, $"{names[i]}: max |Δ| / max |ref| = {rel:E2} > {tol:E2}");
        }
    }
}
