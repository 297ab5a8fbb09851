using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Torch.Tests;

/// <summary>
/// <see cref="F.pointwise_conv2d"/> (src/linear.cpp: a 1×1 convolution of a channels-last image as oneDNN's linear over
/// its pixels) against libtorch's own conv2d on the same values: output and the gradients of input, weight and bias, a
/// gradient of a gradient, the layouts it returns; and the inputs it hands to conv2d unchanged.
/// </summary>
public class PointwiseConvTests : TorchTest
{
    public static TheoryData<long, long, long, long, long, bool> Shapes() => new()
    {
        // N, C, H, W, out channels, bias
        { 8, 128, 14, 14, 128, true },  // the default ConvMixer's channel mixer (batch 8)
        { 3, 5, 7, 9, 6, true },        // odd sizes
        { 2, 17, 3, 4, 33, false },     // no bias
        { 2, 16, 1, 1, 8, true },       // one pixel per image
        { 1, 1, 6, 5, 4, true },        // one input channel
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float32_values_and_gradients_equal_libtorchs_conv2d(long n, long c, long h, long w, long o, bool bias)
    {
        using var scope = NewDisposeScope();
        var (x, wt, b, gy) = Inputs(ScalarType.Float32, n, c, h, w, o, bias);
        // Without oneDNN's linear both sides would be conv2d: fail rather than compare it with itself.
        Assert.True(F.linear_onednn, "oneDNN's linear is off or not loaded here (LinearOneDnnTests): pointwise_conv2d would be conv2d");
        Assert.Equal("PermuteBackward0", F.pointwise_conv2d(x.detach().requires_grad_(true), wt, b).grad_fn_name); // linear's rows seen as NCHW
        var ours = Run(x, wt, b, gy, pointwise: true);
        var theirs = Run(x, wt, b, gy, pointwise: false);
        string[] names = ["output", "input gradient", "weight gradient", "bias gradient"];
        for (var i = 0; i < names.Length; i++)
        {
            if (theirs[i] is null) { Assert.Null(ours[i]); continue; }
            Assert.Equal(theirs[i]!.shape, ours[i]!.shape);
            // float32 sums of up to N·H·W products in another order: a few units in the last place of the largest value
            var rel = MaxAbsDiff(ours[i]!, theirs[i]!) / Math.Max(1.0, MaxAbs(theirs[i]!));
            Assert.True(rel <= 2e-6, $"{names[i]}: max |Δ| / max |ref| = {rel:E2} > 2E-06");
        }
        Assert.True(ours[0]!.is_contiguous(memory_format.ChannelsLast), "the output is channels-last, as the input");
        Assert.True(ours[1]!.is_contiguous(memory_format.ChannelsLast), "the input gradient is channels-last, as the input");
        // It is F.linear over the pixels (oneDNN's sgemm here, LinearOneDnnTests), to the bit.
        using var rows = F.linear(x.permute(0, 2, 3, 1), wt.reshape(o, c), b);
        Assert.Equal(0.0, MaxAbsDiff(ours[0]!, rows.permute(0, 3, 1, 2)));
    }

    [Fact]
    public void The_same_bits_on_every_run_and_thread_count()
    {
        using var scope = NewDisposeScope();
        var (x, wt, b, gy) = Inputs(ScalarType.Float32, 16, 64, 14, 14, 64, bias: true);
        var threads = get_num_threads();
        try
        {
            set_num_threads(1);
            var one = Run(x, wt, b, gy, pointwise: true);
            set_num_threads(2);
            var two = Run(x, wt, b, gy, pointwise: true);
            var again = Run(x, wt, b, gy, pointwise: true);
            for (var i = 0; i < one.Length; i++)
            {
                Assert.Equal(0.0, MaxAbsDiff(one[i]!, two[i]!));
                Assert.Equal(0.0, MaxAbsDiff(two[i]!, again[i]!));
            }
        }
        finally { set_num_threads(threads); }
    }

    /// <summary>A gradient penalty's second derivative reaches x and w as through libtorch's conv2d (linear's backward
    /// records its products under create_graph).</summary>
    [Fact]
    public void A_gradient_of_a_gradient_equals_libtorchs_conv2ds()
    {
        using var scope = NewDisposeScope();
        var (x0, w0, b0, gy) = Inputs(ScalarType.Float32, 2, 6, 3, 5, 4, bias: true);
        Tensor[] Twice(bool pointwise)
        {
            var x = x0.detach().requires_grad_(true);
            var w = w0.detach().requires_grad_(true);
            (Conv(x, w, b0, pointwise) * gy).sum().backward(create_graph: true);
            var first = x.grad!;
            Assert.True(first.requires_grad, "the first gradient was recorded");
            x.grad = null;
            w.grad = null;
            (first * first).sum().backward();
            return [first.detach(), w.grad!.detach()];
        }
        var ours = Twice(pointwise: true);
        var theirs = Twice(pointwise: false);
        for (var i = 0; i < ours.Length; i++)
            Assert.True(MaxAbsDiff(ours[i], theirs[i]) <= 2e-6 * Math.Max(1.0, MaxAbs(theirs[i])), $"tensor {i}");
    }

    /// <summary>A contiguous (NCHW) input, float64, bfloat16, a kernel that is not 1×1, and the oneDNN linear switched off:
    /// conv2d itself, to the bit.</summary>
    [Fact]
    public void Inputs_it_does_not_take_go_to_conv2d()
    {
        using var scope = NewDisposeScope();
        var (x, wt, b, _) = Inputs(ScalarType.Float32, 2, 8, 6, 6, 5, bias: true);
        var cases = new (Tensor x, Tensor w, Tensor b)[]
        {
            (x.contiguous(), wt, b!),
            (x.to(ScalarType.Float64), wt.to(ScalarType.Float64), b!.to(ScalarType.Float64)),
            (x.to(ScalarType.BFloat16), wt.to(ScalarType.BFloat16), b!.to(ScalarType.BFloat16)),
            (x, Data(5, 5, 8, 3, 3), b!),
        };
        foreach (var (xi, wi, bi) in cases)
            Assert.Equal(0.0, MaxAbsDiff(F.pointwise_conv2d(xi, wi, bi).to(ScalarType.Float64), F.conv2d(xi, wi, bi).to(ScalarType.Float64)));
        var was = F.linear_onednn;
        try
        {
            F.switch_linear_onednn(false);
            Assert.Equal(0.0, MaxAbsDiff(F.pointwise_conv2d(x, wt, b), F.conv2d(x, wt, b)));
        }
        finally { F.switch_linear_onednn(was); }
    }

    [Fact]
    public void A_weight_of_other_channels_gets_conv2ds_error()
    {
        using var scope = NewDisposeScope();
        var x = Data(1, 2, 8, 4, 4).contiguous(memory_format.ChannelsLast);
        var e = Assert.Throws<TorchException>(() => F.pointwise_conv2d(x, Data(2, 3, 7, 1, 1), null));
        Assert.Contains("channels", e.Message);
    }

    static Tensor Conv(Tensor x, Tensor w, Tensor? b, bool pointwise) => pointwise ? F.pointwise_conv2d(x, w, b) : F.conv2d(x, w, b);

    static (Tensor x, Tensor w, Tensor? b, Tensor gy) Inputs(ScalarType dtype, long n, long c, long h, long w, long o, bool bias)
    {
        var x = Data(1, n, c, h, w).to(dtype).contiguous(memory_format.ChannelsLast);
        var wt = Data(2, o, c, 1, 1).to(dtype);
        var b = bias ? Data(3, o).to(dtype) : null;
        return (x, wt, b, Data(4, n, o, h, w).to(dtype));
    }

    /// <summary>[output, dx, dw, db (null without a bias)] of pointwise_conv2d, or of conv2d on the NCHW copy.</summary>
    static Tensor?[] Run(Tensor x0, Tensor w0, Tensor? b0, Tensor gy, bool pointwise)
    {
        var x = (pointwise ? x0 : x0.contiguous()).detach().requires_grad_(true);
        var w = w0.detach().requires_grad_(true);
        var b = b0?.detach().requires_grad_(true);
        var y = Conv(x, w, b, pointwise);
        y.backward(gy);
        return [y.detach(), x.grad!.detach(), w.grad!.detach(), b?.grad!.detach()];
    }

    static double MaxAbs(Tensor t) => t.abs().max().to(ScalarType.Float64).item<double>();
}
