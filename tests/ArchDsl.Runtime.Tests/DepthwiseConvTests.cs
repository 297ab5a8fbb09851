using ArchDsl.Torch;
using static ArchDsl.Runtime.Tests.ModelTestKit;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The shim's depthwise convolution (<see cref="nn.functional.depthwise_conv2d"/>, src/depthwise.cpp) against libtorch's
/// own <c>conv2d(groups: C)</c> on the same values: output and the gradients of input, weight and bias, for kernel sizes
/// with and without a compiled-in size, channel counts past a whole vector, no padding and more padding than the image.
/// </summary>
[Collection(TorchModelCollection.Name)] // sets the thread count, which is process-wide
public sealed class DepthwiseConvTests
{
    public static TheoryData<int, int, int, int, int, int, bool> Shapes() => new()
    {
        // N, C, H, W, K, padding, bias
        { 8, 128, 14, 14, 5, 2, true },  // the default ConvMixer's block
        { 3, 20, 9, 11, 3, 1, true },    // channels past a vector (16 float32, 8 float64)
        { 2, 33, 11, 7, 7, 3, false },
        { 2, 16, 6, 6, 4, 1, true },     // an even kernel: the size read at run time
        { 2, 48, 10, 12, 9, 0, true },   // no padding: the output is smaller
        { 1, 32, 3, 3, 5, 2, true },     // every tap of every pixel at an edge
        { 2, 24, 12, 10, 17, 8, false }, // a kernel over the register-blocked size
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float32_values_and_gradients_are_conv2ds(int n, int c, int h, int w, int k, int pad, bool bias) =>
        Compare(ScalarType.Float32, n, c, h, w, k, pad, bias, tolerance: 2e-5);

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float64_values_and_gradients_are_conv2ds(int n, int c, int h, int w, int k, int pad, bool bias) =>
        Compare(ScalarType.Float64, n, c, h, w, k, pad, bias, tolerance: 1e-12);

    /// <summary>The key shapes at every instruction-set level (<see cref="KernelLevels"/>): the AVX2 and baseline kernels,
    /// which an AVX-512 processor never chooses, against conv2d too.</summary>
    public static IEnumerable<object[]> ShapesAtEachLevel() => KernelLevels.Each(new TheoryData<int, int, int, int, int, int, bool>
    {
        { 8, 128, 14, 14, 5, 2, true },
        { 3, 20, 9, 11, 3, 1, true },
        { 2, 16, 6, 6, 4, 1, true },
        { 2, 24, 12, 10, 17, 8, false },
    });

    [Theory]
    [MemberData(nameof(ShapesAtEachLevel))]
    public void Every_levels_kernels_are_conv2ds(int level, int n, int c, int h, int w, int k, int pad, bool bias) =>
        KernelLevels.At(level, () =>
        {
            Compare(ScalarType.Float32, n, c, h, w, k, pad, bias, tolerance: 2e-5);
            Compare(ScalarType.Float64, n, c, h, w, k, pad, bias, tolerance: 1e-12);
        });

    /// <summary>Largest difference relative to the largest magnitude of the reference, for each of output, dx, dw, db.</summary>
    static void Compare(ScalarType dtype, int n, int c, int h, int w, int k, int pad, bool bias, double tolerance)
    {
        using var scope = NewDisposeScope();
        var (x, wt, b, gy) = Inputs(dtype, n, c, h, w, k, bias);
        var ours = Run(x, wt, b, gy, pad, own: true);
        var theirs = Run(x, wt, b, gy, pad, own: false);
        string[] names = ["output", "input gradient", "weight gradient", "bias gradient"];
        for (var i = 0; i < ours.Length; i++)
        {
            if (theirs[i] is null) { Assert.Null(ours[i]); continue; }
            Assert.Equal(theirs[i]!.shape, ours[i]!.shape);
            var scale = Math.Max(1.0, MaxAbs(theirs[i]!));
            var rel = MaxAbsDiff(ours[i]!, theirs[i]!) / scale;
            Assert.True(rel <= tolerance, $"{names[i]}: max |Δ| / max |ref| = {rel:E2} > {tolerance:E0}");
        }
        Assert.True(ours[0]!.is_contiguous(memory_format.ChannelsLast), "the output is channels-last, as the input");
        Assert.True(ours[1]!.is_contiguous(memory_format.ChannelsLast), "the input gradient is channels-last, as the input");
    }

    /// <summary>The weight and bias gradients add up per-sample partials, [N, K·K·C + C]: the small case stays under
    /// libtorch's parallel grain (32,768 values); the large one (32 × 2,496 = 79,872) is past it. There libtorch's own
    /// sum(0), which the kernel used before, gave other bits on 2 threads than on 1 under its AVX-512 code
    /// (ATEN_CPU_CAPABILITY=avx512; its default AVX2 code on this project's machine did not).</summary>
    [Theory]
    [InlineData(6, 40, 9)]
    [InlineData(32, 96, 8)]
    public void The_same_bits_on_every_run_and_thread_count(int n, int c, int hw)
    {
        using var scope = NewDisposeScope();
        var (x, wt, b, gy) = Inputs(ScalarType.Float32, n, c, hw, hw, 5, bias: true);
        var threads = get_num_threads();
        try
        {
            set_num_threads(1);
            var one = Run(x, wt, b, gy, 2, own: true);
            set_num_threads(2);
            var two = Run(x, wt, b, gy, 2, own: true);
            var again = Run(x, wt, b, gy, 2, own: true);
            for (var i = 0; i < one.Length; i++)
            {
                var diff = MaxAbsDiff(one[i]!, two[i]!);
                Assert.True(diff == 0.0, $"result {i} (output, dx, dw, db): 1 and 2 threads differ by up to {diff:E2}");
                Assert.Equal(0.0, MaxAbsDiff(two[i]!, again[i]!));
            }
        }
        finally { set_num_threads(threads); }
    }

    /// <summary>The weight and bias gradients are the per-sample gradients (each the kernel's on a batch of one) added up
    /// over the samples in order, n = 0, 1, …, N − 1, in float64 and rounded once to float32: exactly, on 2 threads, past
    /// libtorch's parallel grain (32 × 2,496 partials). libtorch's sum(0), used before, summed in float32 and failed this
    /// at any of its instruction sets.</summary>
    [Fact]
    public void The_weight_and_bias_gradients_add_the_samples_in_order()
    {
        using var scope = NewDisposeScope();
        const int n = 32, pad = 2;
        var (x, wt, b, gy) = Inputs(ScalarType.Float32, n, 96, 8, 8, 5, bias: true);
        var threads = get_num_threads();
        try
        {
            set_num_threads(2);
            var batch = Run(x, wt, b, gy, pad, own: true);
            Tensor dw = zeros(wt.shape, ScalarType.Float64), db = zeros(b!.shape, ScalarType.Float64);
            for (var i = 0; i < n; i++)
            {
                var one = Run(x.narrow(0, i, 1).contiguous(memory_format.ChannelsLast), wt, b, gy.narrow(0, i, 1), pad, own: true);
                dw = dw + one[2]!.to(ScalarType.Float64);
                db = db + one[3]!.to(ScalarType.Float64);
            }
            Assert.Equal(0.0, MaxAbsDiff(batch[2]!, dw.to(ScalarType.Float32)));
            Assert.Equal(0.0, MaxAbsDiff(batch[3]!, db.to(ScalarType.Float32)));
        }
        finally { set_num_threads(threads); }
    }

    [Fact]
    public void Inputs_its_kernels_do_not_take_go_to_conv2d()
    {
        using var scope = NewDisposeScope();
        var (x, wt, b, _) = Inputs(ScalarType.Float32, 2, 8, 6, 6, 3, bias: true);
        foreach (var input in new[] { x.contiguous(), x.to(ScalarType.BFloat16) })
        {
            var wIn = wt.to(input.dtype);
            var bIn = b!.to(input.dtype);
            var ours = F.depthwise_conv2d(input, wIn, bIn, 1);
            var conv = F.conv2d(input, wIn, bIn, null, new[] { 1L }, null, 8);
            Assert.Equal(0.0, MaxAbsDiff(ours.to(ScalarType.Float32), conv.to(ScalarType.Float32)));
        }
    }

    [Fact]
    public void A_weight_that_is_not_depthwise_is_refused_with_conv2ds_message()
    {
        using var scope = NewDisposeScope();
        var x = Rand(1, 2, 8, 6, 6).contiguous(memory_format.ChannelsLast);
        var e = Assert.Throws<TorchException>(() => F.depthwise_conv2d(x, Rand(2, 8, 2, 3, 3), null, 1));
        Assert.Contains("weight", e.Message);
    }

    static (Tensor x, Tensor w, Tensor? b, Tensor gy) Inputs(ScalarType dtype, int n, int c, int h, int w, int k, bool bias)
    {
        var x = Rand(1, n, c, h, w).to(dtype).contiguous(memory_format.ChannelsLast);
        var wt = Rand(2, c, 1, k, k).to(dtype);
        var b = bias ? Rand(3, c).to(dtype) : null;
        return (x, wt, b, Rand(4, n, c, h, w).to(dtype)); // gy is cut to the output's size in Run
    }

    /// <summary>[output, dx, dw, db (null without a bias)] of the shim's kernels (own) or of conv2d on the NCHW copy.</summary>
    static Tensor?[] Run(Tensor x0, Tensor w0, Tensor? b0, Tensor gy0, int pad, bool own)
    {
        var x = (own ? x0 : x0.contiguous()).detach().requires_grad_(true);
        var w = w0.detach().requires_grad_(true);
        var b = b0?.detach().requires_grad_(true);
        var y = own ? F.depthwise_conv2d(x, w, b, pad) : F.conv2d(x, w, b, null, new long[] { pad }, null, x.size(1));
        var gy = gy0.narrow(2, 0, y.size(2)).narrow(3, 0, y.size(3));
        y.backward(gy);
        return [y.detach(), x.grad!.detach(), w.grad!.detach(), b?.grad!.detach()];
    }
}
