using ArchDsl.Torch;
using static ArchDsl.Runtime.Tests.ModelTestKit;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The shim's packed attention (<see cref="nn.functional.packed_attention(Tensor, long)"/>, src/attention.cpp) against
/// libtorch's math on the same values — timm's split of qkv into heads (view, permute), matmul, softmax, matmul, heads
/// merged: the output and the gradient of qkv (or of the queries and of the packed keys and values), for ViT's block, one
/// token, one head, odd head widths, more keys than queries, and saturated softmaxes; float32, float64 and bfloat16 on the
/// own blocks.
/// </summary>
[Collection(TorchModelCollection.Name)] // sets the thread count, which is process-wide
public sealed class PackedAttentionTests
{
    public static TheoryData<int, int, int, int> Shapes() => new()
    {
        // B, N, heads, head width d
        { 4, 50, 3, 64 },  // the default ViT's block (49 patches + the class token)
        { 2, 1, 2, 5 },    // one token: the softmax over one key is 1
        { 3, 7, 1, 3 },    // one head, an odd width
        { 2, 17, 4, 16 },
        { 2, 70, 2, 80 },  // more than one 64-column panel of scores (70 keys) and of head features (80)
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float32_values_and_gradients_are_the_math_paths(int b, int n, int heads, int d) =>
        Compare(ScalarType.Float32, ScalarType.Float32, b, n, n, heads, d, tolerance: 2e-5);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float64_values_and_gradients_are_the_math_paths(int b, int n, int heads, int d) =>
        Compare(ScalarType.Float64, ScalarType.Float64, b, n, n, heads, d, tolerance: 1e-12);

    /// <summary>bfloat16 on the own blocks against the float32 math on the same (bfloat16-rounded) values within 2⁻⁷ of the
    /// largest magnitude: on the float32 blocks one rounding to bfloat16's 8 bits of the output and of each gradient, with
    /// room; on the dot products (<see cref="F.packed_attention_bfloat16_dot"/>) the probabilities and the scores'
    /// gradient are rounded too, which these shapes keep within it.</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void BFloat16_values_and_gradients_are_the_float32_math_within_one_rounding(int b, int n, int heads, int d) =>
        Compare(ScalarType.BFloat16, ScalarType.Float32, b, n, n, heads, d, tolerance: 1.0 / 128);
    // Measured on the dot products (even widths; 2026-12-01): at most 3.6·10⁻³ (output, ViT's block), 3.4·10⁻³ (gradient);
    // on the float32 blocks (odd widths, or capped at avx2) at most 2.8·10⁻³.

    /// <summary>Where bfloat16 computes in float32 (no AVX512_BF16, or capped below avx512), its blocks are float32's on
    /// the same values, rounded once: the same bits as the float32 blocks' output and gradient converted with libtorch's
    /// <c>.to(bfloat16)</c> (round to nearest even). At avx2 on every processor, and at this one's level where it has no
    /// bfloat16 dot products.</summary>
    [Fact]
    public void The_bfloat16_fallback_is_the_float32_blocks_rounded_once()
    {
        KernelLevels.At(1, Float32BlocksRoundedOnce);
        if (!F.packed_attention_bfloat16_dot()) Float32BlocksRoundedOnce();
    }

    static void Float32BlocksRoundedOnce()
    {
        Assert.False(F.packed_attention_bfloat16_dot());
        using var scope = NewDisposeScope();
        var qkv = Rand(1, 3, 50, 3 * 2 * 64).to(ScalarType.BFloat16);
        var gy = Rand(3, 3, 50, 2 * 64).to(ScalarType.BFloat16);
        var ours = Run(qkv, null, gy, 2, own: true);
        var f32 = Run(qkv.to(ScalarType.Float32), null, gy.to(ScalarType.Float32), 2, own: true);
        for (var i = 0; i < 2; i++)
            Assert.Equal(0.0, MaxAbsDiff(ours[i]!.to(ScalarType.Float32), f32[i]!.to(ScalarType.BFloat16).to(ScalarType.Float32)));
    }

    /// <summary>The bfloat16 blocks against libtorch's own bfloat16 math (what PyTorch's autocast computes: its products on
    /// bfloat16 operands, its scores, probabilities and gradients rounded to bfloat16 on the way): output and gradients
    /// within 2⁻⁶ of the largest magnitude, on either path.</summary>
    [Theory]
    [MemberData(nameof(Shapes))]
    public void BFloat16_is_within_rounding_of_libtorchs_bfloat16_math(int b, int n, int heads, int d) =>
        Compare(ScalarType.BFloat16, ScalarType.BFloat16, b, n, n, heads, d, tolerance: 1.0 / 64);
    // Measured (2026-12-01): at most 7.2·10⁻³ on the dot products (the gradient, 70 tokens of width 80), 1.0·10⁻² on the
    // float32 blocks (the output, one head of width 3); the same figures on both paths where both run: libtorch's
    // bfloat16 math is the side further off.

    /// <summary>Scores far apart (q and k ×30: differences of hundreds within a row): the softmax saturates, its exponentials
    /// reach below float32's range (the shim's own exp clamps there), and it still equals libtorch's.</summary>
    [Theory]
    [InlineData(ScalarType.Float32, 2e-5)]
    [InlineData(ScalarType.Float64, 1e-12)]
    public void Saturated_softmaxes_are_the_math_paths(ScalarType dtype, double tolerance) =>
        Compare(dtype, dtype, 2, 20, 20, 2, 16, tolerance, magnitude: 30);

    /// <summary>bfloat16 with saturated softmaxes against the float32 math: within 2⁻⁷ on the float32 blocks; within 2⁻⁵ on
    /// the dot products, whose bfloat16 probabilities and scores' gradient lose more where a row's few large
    /// probabilities cancel in the softmax's backward (1.7·10⁻² measured on the gradient). libtorch's bfloat16 math (autocast's)
    /// is further off on these values (its scores rounded to bfloat16 before the softmax): 0.19 on the output and 0.05 on
    /// the gradient against float32, by PyTorch 1.13 on the same shape and magnitude.</summary>
    [Fact]
    public void Saturated_bfloat16_softmaxes_are_the_float32_math_within_rounding() =>
        Compare(ScalarType.BFloat16, ScalarType.Float32, 2, 20, 20, 2, 16, F.packed_attention_bfloat16_dot() ? 1.0 / 32 : 1.0 / 128,
            magnitude: 30);

    /// <summary>The dot products run exactly where the processor has AVX512_BF16 (Linux's <c>avx512_bf16</c> flag in
    /// /proc/cpuinfo) at the avx512 level, and not below it.</summary>
    [Fact]
    public void The_bfloat16_dot_products_run_where_the_processor_has_them()
    {
        KernelLevels.At(2, () => Assert.Equal(BlasKernel.CpuFeatures().Contains("avx512_bf16"), F.packed_attention_bfloat16_dot()));
        KernelLevels.At(1, () => Assert.False(F.packed_attention_bfloat16_dot()));
    }

    /// <summary><paramref name="body"/> at the avx512 level with the dot products on. A processor without them fails
    /// here, naming what it lacks, rather than passing tests that ran nothing of the dot products (as
    /// <see cref="KernelLevelTests.This_processor_runs_every_level_CI_runs"/> for AVX-512).</summary>
    static void AtTheDotProducts(Action body)
    {
        var bf16 = BlasKernel.CpuFeatures().Contains("avx512_bf16");
        Assert.True(CpuCapability.Processor == 2 && bf16,
            $"this processor's widest level is {CpuCapability.Name(CpuCapability.Processor)} and /proc/cpuinfo " +
            $"{(bf16 ? "lists" : "does not list")} avx512_bf16: the bfloat16 dot products' tests did not run here");
        KernelLevels.At(2, () =>
        {
            Assert.True(F.packed_attention_bfloat16_dot(), "AVX512_BF16 at avx512, yet the dot products are off");
            body();
        });
    }

    /// <summary>The dot products are taken where they are on: they round P and dS to bfloat16 for their products, so the
    /// output and gradient differ from the float32 blocks' rounded once — which the fallback is, bit for bit
    /// (<see cref="The_bfloat16_fallback_is_the_float32_blocks_rounded_once"/>). Fails if bfloat16 silently stops taking
    /// them (dot_blocks always false).</summary>
    [Fact]
    public void Where_the_dot_products_are_on_bfloat16_takes_them() =>
        AtTheDotProducts(() =>
        {
            using var scope = NewDisposeScope();
            var qkv = Rand(1, 3, 50, 3 * 2 * 64).to(ScalarType.BFloat16);
            var gy = Rand(3, 3, 50, 2 * 64).to(ScalarType.BFloat16);
            var ours = Run(qkv, null, gy, 2, own: true);
            var f32 = Run(qkv.to(ScalarType.Float32), null, gy.to(ScalarType.Float32), 2, own: true);
            Assert.True(Differing(ours[0]!, f32[0]!.to(ScalarType.BFloat16)) > 0, "output: the float32 blocks' bits");
            Assert.True(Differing(ours[1]!, f32[1]!.to(ScalarType.BFloat16)) > 0, "qkv gradient: the float32 blocks' bits");
        });

    /// <summary>The bfloat16 probabilities the dot products save, with the level capped at avx2 before the backward: the
    /// backward takes them on the float32 blocks (converted), and the gradients still match the float32 math. The
    /// forward must have taken the dot products (its output is not the float32 blocks' rounded once), else this tests
    /// nothing: on a processor without them it fails (<see cref="AtTheDotProducts"/>).</summary>
    [Fact]
    public void A_cap_between_forward_and_backward_takes_the_saved_bfloat16_probabilities()
    {
        using var scope = NewDisposeScope();
        var qkv = Rand(1, 2, 50, 3 * 2 * 64).to(ScalarType.BFloat16).requires_grad_(true);
        var gy = Rand(3, 2, 50, 2 * 64).to(ScalarType.BFloat16);
        Tensor? y = null;
        AtTheDotProducts(() =>
        {
            var output = F.packed_attention(qkv, 2);
            var f32 = F.packed_attention(qkv.detach().to(ScalarType.Float32), 2).to(ScalarType.BFloat16);
            Assert.True(Differing(output, f32) > 0, "the forward's output is the float32 blocks' rounded once: no dot products");
            y = output;
        });
        KernelLevels.At(1, () => y!.backward(gy));
        var reference = Run(qkv.to(ScalarType.Float32), null, gy.to(ScalarType.Float32), 2, own: false);
        var rel = MaxAbsDiff(qkv.grad!.to(ScalarType.Float32), reference[1]!) / MaxAbs(reference[1]!);
        Assert.True(rel <= 1.0 / 128, $"qkv gradient: max |Δ| / max |ref| = {rel:E2}"); // measured 3.6·10⁻³ (2026-12-01)
    }

    /// <summary>
    /// On the dot products the output and the gradients are rounded as the float32 blocks (the fallback) round them —
    /// c10::BFloat16's rounding: to nearest even, every NaN written as 0x7FC0 — not by vcvtneps2bf16, which keeps a
    /// NaN's sign and payload. Here v holds +∞ and −∞ in one feature of head 0: P·v is ∞ − ∞ there, the processor's
    /// default NaN (negative), and the scores' gradient of head 0 turns NaN the same way, so the output, dq and dk carry
    /// NaNs. They sit where the fallback's do, and every one is 0x7FC0. (Subnormal results, the other case where the
    /// two roundings part, cannot come out of vdpbf16ps: attention_dot.cpp's header.)
    /// </summary>
    [Fact]
    public void On_the_dot_products_output_and_gradients_round_as_the_float32_blocks_do()
    {
        using var scope = NewDisposeScope();
        const int heads = 2, d = 64, dim = heads * d;
        var values = Rand(1, 1, 50, 3 * dim).data<float>();
        (values[2 * dim], values[3 * dim + 2 * dim]) = (float.PositiveInfinity, float.NegativeInfinity); // v[0, 0], v[1, 0]
        var qkv = tensor(values, [1, 50, 3 * dim]).to(ScalarType.BFloat16);
        var gy = Rand(3, 1, 50, dim).to(ScalarType.BFloat16);
        Tensor?[] ours = [], fallback = [];
        AtTheDotProducts(() => ours = Run(qkv, null, gy, heads, own: true));
        KernelLevels.At(1, () => fallback = Run(qkv, null, gy, heads, own: true));
        string[] names = ["output", "qkv gradient"];
        for (var i = 0; i < 2; i++)
        {
            var nan = ours[i]!.isnan();
            Assert.True(nan.sum().item<long>() > 0, $"{names[i]}: no NaN to round");
            Assert.Equal(0L, nan.ne(fallback[i]!.isnan()).sum().item<long>());
            var bits = ours[i]!.to(ScalarType.Float32).data<float>().Select(x => BitConverter.SingleToUInt32Bits(x) >> 16);
            var other = bits.Where(b => (b & 0x7F80) == 0x7F80 && (b & 0x7F) != 0 && b != 0x7FC0).Distinct().ToArray();
            Assert.True(other.Length == 0, $"{names[i]}: NaNs as {string.Join(", ", other.Select(b => $"0x{b:X4}"))}, not 0x7FC0");
        }
    }

    [Theory]
    [InlineData(4, 50, 3, 64)]
    [InlineData(2, 9, 2, 5)]
    [InlineData(1, 1, 1, 4)]
    public void Queries_apart_from_keys_and_values_are_the_math_paths(int b, int n, int heads, int d)
    {
        Compare(ScalarType.Float32, ScalarType.Float32, b, 1, n, heads, d, tolerance: 2e-5);  // FirstTokenPlan's form
        Compare(ScalarType.Float64, ScalarType.Float64, b, 3, n, heads, d, tolerance: 1e-12);
        Compare(ScalarType.BFloat16, ScalarType.Float32, b, 2, n, heads, d, tolerance: 1.0 / 128); // measured ≤ 3.8·10⁻³
    }

    /// <summary>
    /// The key shapes at every instruction-set level (<see cref="KernelLevels"/>): the AVX2 products and softmax, which an
    /// AVX-512 processor never chooses, against the math path too. At the baseline there are no own products: float32's
    /// blocks multiply with oneDNN's sgemm and bfloat16 takes libtorch's math path.
    /// </summary>
    public static IEnumerable<object[]> ShapesAtEachLevel() => KernelLevels.Each(new TheoryData<int, int, int, int>
    {
        { 4, 50, 3, 64 },
        { 3, 7, 1, 3 },
        { 2, 70, 2, 80 },
    });

    [Theory]
    [MemberData(nameof(ShapesAtEachLevel))]
    public void Every_levels_blocks_are_the_math_paths(int level, int b, int n, int heads, int d) =>
        KernelLevels.At(level, () =>
        {
            Compare(ScalarType.Float32, ScalarType.Float32, b, n, n, heads, d, tolerance: 2e-5);
            Compare(ScalarType.Float32, ScalarType.Float32, b, 1, n, heads, d, tolerance: 2e-5);
            Compare(ScalarType.Float32, ScalarType.Float32, 2, 20, 20, 2, 16, 2e-5, magnitude: 30);
            Assert.Equal(level > 0, F.packed_attention_kernel(ScalarType.BFloat16));
            if (level < 2) Assert.False(F.packed_attention_bfloat16_dot());
            if (level == 0) return;
            // Measured at most 3.6·10⁻³, 3.8·10⁻³ and 1.0·10⁻² at either level (the figures beside the tests above).
            Compare(ScalarType.BFloat16, ScalarType.Float32, b, n, n, heads, d, tolerance: 1.0 / 128);
            Compare(ScalarType.BFloat16, ScalarType.Float32, b, 2, n, heads, d, tolerance: 1.0 / 128);
            Compare(ScalarType.BFloat16, ScalarType.BFloat16, b, n, n, heads, d, tolerance: 1.0 / 64);
            if (!F.packed_attention_bfloat16_dot()) Float32BlocksRoundedOnce();
        });

    /// <summary>Ours in <paramref name="dtype"/> against the math path in <paramref name="reference"/>: output and gradients,
    /// largest difference over the largest magnitude of the reference. queries ≠ keys: q apart from the packed k and v.</summary>
    static void Compare(ScalarType dtype, ScalarType reference, int b, int queries, int keys, int heads, int d, double tolerance,
        double magnitude = 1)
    {
        using var scope = NewDisposeScope();
        Assert.True(F.packed_attention_kernel(dtype), $"no own blocks for {dtype} here: the comparison would be the math path with itself");
        var packed = queries == keys;
        var dim = heads * d;
        var q0 = ((packed ? Rand(1, b, keys, 3 * dim) : Rand(1, b, queries, dim)) * magnitude).to(dtype);
        var kv0 = packed ? null : Rand(2, b, keys, 2 * dim).to(dtype);
        var gy = Rand(3, b, queries, dim).to(dtype);
        var ours = Run(q0, kv0, gy, heads, own: true);
        var theirs = Run(q0.to(reference), kv0?.to(reference), gy.to(reference), heads, own: false);
        string[] names = ["output", packed ? "qkv gradient" : "query gradient", "kv gradient"];
        for (var i = 0; i < ours.Length; i++)
        {
            if (theirs[i] is null) { Assert.Null(ours[i]); continue; }
            Assert.Equal(dtype, ours[i]!.dtype);
            Assert.Equal(theirs[i]!.shape, ours[i]!.shape);
            var exact = reference == ScalarType.BFloat16 ? ScalarType.Float32 : reference; // the difference unrounded
            var rel = MaxAbsDiff(ours[i]!.to(exact), theirs[i]!.to(exact)) / Math.Max(1e-30, MaxAbs(theirs[i]!.to(exact)));
            Assert.True(rel <= tolerance, $"{names[i]}: max |Δ| / max |ref| = {rel:E2} > {tolerance:E0}");
        }
    }

    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void The_same_bits_on_every_run_and_thread_count(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var qkv = Rand(1, 6, 50, 3 * 48).to(dtype);
        var gy = Rand(2, 6, 50, 48).to(dtype);
        var threads = get_num_threads();
        try
        {
            set_num_threads(1);
            var one = Run(qkv, null, gy, 3, own: true);
            set_num_threads(2);
            var two = Run(qkv, null, gy, 3, own: true);
            var again = Run(qkv, null, gy, 3, own: true);
            for (var i = 0; i < 2; i++)
            {
                Assert.Equal(0.0, MaxAbsDiff(one[i]!, two[i]!));
                Assert.Equal(0.0, MaxAbsDiff(two[i]!, again[i]!));
            }
        }
        finally { set_num_threads(threads); }
    }

    [Fact]
    public void A_non_contiguous_qkv_is_read_as_its_values()
    {
        using var scope = NewDisposeScope();
        var wide = Rand(1, 2, 5, 2 * 3 * 8);
        var qkv = wide.narrow(2, 0, 3 * 8); // rows of 48 values, 24 read
        Assert.False(qkv.is_contiguous());
        Assert.Equal(0.0, MaxAbsDiff(F.packed_attention(qkv, 2), F.packed_attention(qkv.contiguous(), 2)));
    }

    /// <summary>A transposed (non-contiguous) qkv in every dtype (the own blocks read a contiguous copy; bfloat16 then
    /// converts each sample's rows to float32) is read as its values.</summary>
    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.BFloat16)]
    public void A_transposed_qkv_is_read_as_its_values(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var qkv = Rand(1, 2, 3 * 8, 5).to(dtype).transpose(1, 2); // [2, 5, 24], strides (120, 1, 5)
        Assert.False(qkv.is_contiguous());
        Assert.Equal(0.0, MaxAbsDiff(F.packed_attention(qkv, 2), F.packed_attention(qkv.contiguous(), 2)));
    }

    /// <summary>A contiguous bfloat16 view that starts 2 bytes into its storage: the dot products read pairs as 32-bit
    /// words, so it takes the float32 blocks: the same bits as the float32 blocks on its values, rounded once.</summary>
    [Fact]
    public void A_bfloat16_view_at_an_odd_offset_is_read_as_its_values()
    {
        using var scope = NewDisposeScope();
        var qkv = Rand(1, 1 + 2 * 8 * 3 * 16).to(ScalarType.BFloat16).narrow(0, 1, 2 * 8 * 3 * 16).view(2, 8, 3 * 16);
        Assert.True(qkv.is_contiguous());
        var gy = Rand(3, 2, 8, 16).to(ScalarType.BFloat16);
        var ours = Run(qkv, null, gy, 2, own: true);
        var f32 = Run(qkv.to(ScalarType.Float32), null, gy.to(ScalarType.Float32), 2, own: true);
        for (var i = 0; i < 2; i++)
            Assert.Equal(0.0, MaxAbsDiff(ours[i]!.to(ScalarType.Float32), f32[i]!.to(ScalarType.BFloat16).to(ScalarType.Float32)));
    }

    /// <summary>The own blocks' backward computes on raw pointers, so its gradients could not be differentiated again:
    /// with create_graph it is an error naming the op (as PyTorch's @once_differentiable), never gradients silently
    /// missing from a double backward.</summary>
    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.BFloat16)]
    public void A_double_backward_through_the_own_blocks_is_an_error(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var qkv = Rand(1, 2, 5, 3 * 8).to(dtype).requires_grad_(true);
        var y = F.packed_attention(qkv, 2);
        var e = Assert.Throws<TorchException>(() => (y * y).sum().backward(create_graph: true));
        Assert.Contains("packed attention: double backward (create_graph=True) is not supported", e.Message);
        (y * y).sum().backward(); // without create_graph the same graph still runs
        Assert.NotNull(qkv.grad);
    }

    [Fact]
    public void Shapes_that_are_no_packed_qkv_are_refused_with_their_sizes()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<TorchException>(() => F.packed_attention(Rand(1, 2, 5, 20), 3));
        Assert.Contains("not 3 × heads (3)", e.Message);
        e = Assert.Throws<TorchException>(() => F.packed_attention(Rand(1, 2, 5, 12), Rand(2, 2, 5, 12), 2));
        Assert.Contains("do not match queries", e.Message);
        e = Assert.Throws<TorchException>(() => F.packed_attention(Rand(1, 10, 12), 2));
        Assert.Contains("expected [B, N, C]", e.Message);
    }

    /// <summary>With fewer samples than threads (batch-1 inference) float32 spreads single (sample, head) blocks over the
    /// threads: the same bits at 1 and 2 threads, and as the same sample's within a batch of 3 on one thread.</summary>
    [Theory]
    [InlineData(ScalarType.Float32)]
    [InlineData(ScalarType.BFloat16)]
    public void At_batch_one_the_same_bits_on_every_thread_count_and_as_in_a_batch(ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var qkv = Rand(1, 3, 50, 3 * 4 * 16).to(dtype);
        var gy = Rand(2, 3, 50, 4 * 16).to(dtype);
        var (qkv1, gy1) = (qkv.narrow(0, 0, 1), gy.narrow(0, 0, 1));
        var threads = get_num_threads();
        try
        {
            set_num_threads(1);
            var batch = Run(qkv, null, gy, 4, own: true);
            var one = Run(qkv1, null, gy1, 4, own: true);
            set_num_threads(2);
            var two = Run(qkv1, null, gy1, 4, own: true);
            for (var i = 0; i < 2; i++)
            {
                Assert.Equal(0.0, MaxAbsDiff(one[i]!, two[i]!));
                Assert.Equal(0.0, MaxAbsDiff(batch[i]!.narrow(0, 0, 1), two[i]!));
            }
        }
        finally { set_num_threads(threads); }
    }

    /// <summary>Products whose streamed operand (sequence length × head width) is over 512 KiB go to oneDNN's sgemm
    /// (src/attention.cpp, own_product): a long sequence's blocks still match the math path.</summary>
    [Fact]
    public void Long_sequences_take_oneDNNs_sgemm_and_match_the_math_path()
    {
        Assert.True(F.packed_attention_own_product(64, 50), "a ViT block's products are the own kernels'");
        Assert.True(F.packed_attention_own_product(64, 2048), "2,048 × 64 floats (512 KiB) are the own kernels'");
        Assert.False(F.packed_attention_own_product(64, 2049), "2,049 × 64 floats go to oneDNN's sgemm");
        Assert.False(F.packed_attention_own_product(2049, 64), "as the other operand too");
        Compare(ScalarType.Float32, ScalarType.Float32, 1, 2100, 2100, 1, 64, tolerance: 2e-5);
    }

    /// <summary>Queries apart from the packed keys and values (FirstTokenPlan's form) have their own buffers and gradient
    /// tensor: the same bits at 1 and 2 threads, split over samples (B = 6) and, for float32 at batch one, over single
    /// (sample, head) blocks.</summary>
    [Theory]
    [InlineData(ScalarType.Float32, 6)]
    [InlineData(ScalarType.Float32, 1)]
    [InlineData(ScalarType.BFloat16, 6)]
    public void Queries_apart_from_keys_and_values_the_same_bits_on_every_thread_count(ScalarType dtype, int b)
    {
        using var scope = NewDisposeScope();
        var q = Rand(1, b, 5, 4 * 16).to(dtype);
        var kv = Rand(3, b, 50, 2 * 4 * 16).to(dtype);
        var gy = Rand(2, b, 5, 4 * 16).to(dtype);
        var (one, two) = OnOneAndTwoThreads(() => Run(q, kv, gy, 4, own: true));
        for (var i = 0; i < 3; i++) Assert.Equal(0.0, MaxAbsDiff(one[i]!, two[i]!));
    }

    /// <summary>A long sequence at batch one and one head is one block on the calling thread, outside any parallel
    /// region, so its oneDNN sgemm products may thread themselves: still the same bits at 1 and 2 threads.</summary>
    [Fact]
    public void A_long_single_block_the_same_bits_on_every_thread_count()
    {
        using var scope = NewDisposeScope();
        var qkv = Rand(1, 1, 2100, 3 * 64);
        var gy = Rand(2, 1, 2100, 64);
        var (one, two) = OnOneAndTwoThreads(() => Run(qkv, null, gy, 1, own: true));
        for (var i = 0; i < 2; i++) Assert.Equal(0.0, MaxAbsDiff(one[i]!, two[i]!));
    }

    /// <summary><paramref name="run"/>'s results on 1 thread and on 2 (the thread count restored after).</summary>
    static (Tensor?[] One, Tensor?[] Two) OnOneAndTwoThreads(Func<Tensor?[]> run)
    {
        var threads = get_num_threads();
        try
        {
            set_num_threads(1);
            var one = run();
            set_num_threads(2);
            return (one, run());
        }
        finally { set_num_threads(threads); }
    }

    /// <summary>[output, gradient of q (or qkv), gradient of kv (null when packed)] of ours or of the math path.</summary>
    static Tensor?[] Run(Tensor q0, Tensor? kv0, Tensor gy, int heads, bool own)
    {
        var q = q0.detach().requires_grad_(true);
        var kv = kv0?.detach().requires_grad_(true);
        var y = own ? (kv is null ? F.packed_attention(q, heads) : F.packed_attention(q, kv, heads)) : MathPath(q, kv, heads);
        y.backward(gy);
        return [y.detach(), q.grad!.detach(), kv?.grad!.detach()];
    }

    /// <summary>timm's Attention between its projections: split into heads, softmax(q kᵀ/√d) v, heads merged.</summary>
    static Tensor MathPath(Tensor q, Tensor? kv, int heads)
    {
        long b = q.size(0), l = q.size(1), s = (kv ?? q).size(1), dim = kv is null ? q.size(2) / 3 : q.size(2), d = dim / heads;
        Tensor[] Split(Tensor t, long rows, int parts)
        {
            var perm = t.view(b, rows, parts, heads, d).permute(2, 0, 3, 1, 4); // [parts, B, heads, rows, d]
            return Enumerable.Range(0, parts).Select(i => perm.select(0, i)).ToArray();
        }
        var qs = Split(q, l, kv is null ? 3 : 1);
        var kvs = kv is null ? qs[1..] : Split(kv, s, 2);
        var attn = (qs[0].matmul(kvs[0].transpose(-2, -1)) / System.Math.Sqrt(d)).softmax(-1);
        return attn.matmul(kvs[1]).transpose(1, 2).reshape(b, l, dim);
    }
}
