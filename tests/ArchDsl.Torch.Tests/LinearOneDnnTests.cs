using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Torch.Tests;

/// <summary>
/// <see cref="F.linear"/>'s oneDNN path (src/linear.cpp: forward, input and weight gradient on oneDNN's sgemm) against
/// libtorch's own linear (the path switched off) on the same values, for odd shapes and layouts; where it applies and
/// where it hands over to libtorch's linear. Against PyTorch itself: <see cref="OpsVsPyTorchTests"/> runs F.linear with
/// the path on (this class's first test says it is on here).
/// </summary>
public class LinearOneDnnTests : TorchTest
{
    const string OwnNode = "OneDnnLinear";

    [Fact]
    public void Linear_runs_on_oneDNN_exactly_where_libtorch_loaded_it_as_a_shared_library()
    {
        var loaded = File.ReadAllText("/proc/self/maps").Contains("/libdnnl.so");
        Assert.Equal(loaded, F.linear_onednn);
        // Debian's libtorch (scripts/setup.sh installs it; the tests run on it) links libdnnl.so.2.
        Assert.True(loaded, "libtorch here loaded no libdnnl.so: not Debian's libtorch-dev?");
    }

    public static TheoryData<long[], long, long, bool, string> Shapes() => new()
    {
        // leading dims, in, out, bias, layout of the input or weight
        { new long[] { 37 }, 19, 23, true, "contiguous" },
        { new long[] { 1 }, 5, 7, true, "contiguous" },          // one row
        { new long[] { 9 }, 1, 4, true, "contiguous" },          // K = 1
        { new long[] { 9 }, 6, 1, true, "contiguous" },          // one output
        { new long[] { 4, 9 }, 16, 8, false, "contiguous" },     // 3-D input, no bias
        { new long[] { 2, 3, 5 }, 7, 6, true, "contiguous" },    // 4-D input
        { new long[] { 8, 16 }, 49, 64, true, "transposed" },    // the Mixer's token MLP: a transposed [B, C, N] input
        { new long[] { 6, 5 }, 12, 10, true, "weight transposed" },
        { new long[] { 50 }, 192, 576, true, "contiguous" },     // a ViT qkv's width
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float32_values_and_gradients_equal_libtorchs_linear(long[] lead, long k, long n, bool bias, string layout)
    {
        using var scope = NewDisposeScope();
        var (x, w, b, gy) = Inputs(ScalarType.Float32, lead, k, n, bias, layout);
        Tensor?[] inputs = [x, w, b];
        var before = inputs.Select(t => t?.clone()).ToArray();
        var ours = Run(x, w, b, gy, onednn: true);
        for (var i = 0; i < inputs.Length; i++) // the product adds into its output: never into an input (a bias of one row once)
            if (inputs[i] is { } t) Assert.Equal(0.0, MaxAbsDiff(before[i]!, t));
        var theirs = Run(x, w, b, gy, onednn: false);
        Assert.Contains(OwnNode, ours.Node);
        Assert.DoesNotContain(OwnNode, theirs.Node);
        string[] names = ["output", "input gradient", "weight gradient", "bias gradient"];
        for (var i = 0; i < names.Length; i++)
        {
            if (theirs.Values[i] is null) { Assert.Null(ours.Values[i]); continue; }
            Assert.Equal(theirs.Values[i]!.shape, ours.Values[i]!.shape);
            // float32 sums of up to 192 products in another order: a few units in the last place of the largest value
            var scale = Math.Max(1.0, MaxAbs(theirs.Values[i]!));
            var rel = MaxAbsDiff(ours.Values[i]!, theirs.Values[i]!) / scale;
            Assert.True(rel <= 1e-6, $"{names[i]}: max |Δ| / max |ref| = {rel:E2} > 1E-06");
        }
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float64_goes_to_libtorchs_linear_and_equals_it_exactly(long[] lead, long k, long n, bool bias, string layout)
    {
        using var scope = NewDisposeScope();
        var (x, w, b, gy) = Inputs(ScalarType.Float64, lead, k, n, bias, layout);
        var on = Run(x, w, b, gy, onednn: true);
        var off = Run(x, w, b, gy, onednn: false);
        Assert.DoesNotContain(OwnNode, on.Node);
        for (var i = 0; i < on.Values.Length; i++)
            if (off.Values[i] is { } expected) Assert.Equal(0.0, MaxAbsDiff(on.Values[i]!, expected));
    }

    [Fact]
    public void The_same_bits_on_every_run()
    {
        using var scope = NewDisposeScope();
        var (x, w, b, gy) = Inputs(ScalarType.Float32, [64, 50], 192, 768, true, "contiguous");
        var first = Run(x, w, b, gy, onednn: true);
        var again = Run(x, w, b, gy, onednn: true);
        for (var i = 0; i < first.Values.Length; i++) Assert.Equal(0.0, MaxAbsDiff(first.Values[i]!, again.Values[i]!));
    }

    /// <summary>With create_graph the backward records its products (ATen's then) on the saved input and weight
    /// themselves, so a gradient of a gradient (a gradient penalty's) is libtorch's linear's: of the input gradient
    /// (reaching x and w) and of the weight gradient (reaching x), for a 3-D input and a non-contiguous weight too.</summary>
    [Theory]
    [InlineData(new long[] { 3 }, "contiguous")]
    [InlineData(new long[] { 2, 3 }, "contiguous")]
    [InlineData(new long[] { 2, 3 }, "weight transposed")]
    [InlineData(new long[] { 4, 3 }, "transposed")]
    public void A_gradient_of_a_gradient_equals_libtorchs_linears(long[] lead, string layout)
    {
        using var scope = NewDisposeScope();
        var (x0, w0, b0, gy) = Inputs(ScalarType.Float32, lead, 7, 5, true, layout);
        Tensor?[] Twice(bool onednn, bool ofWeight)
        {
            var was = F.linear_onednn;
            try
            {
                F.switch_linear_onednn(onednn);
                var x = x0.detach().requires_grad_(true);
                var w = w0.detach().requires_grad_(true);
                (F.linear(x, w, b0) * gy).sum().backward(create_graph: true);
                var first = ofWeight ? w.grad! : x.grad!;
                Assert.True(first.requires_grad, "the first gradient was recorded");
                x.grad = null;
                w.grad = null;
                (first * first).sum().backward();
                return [first.detach(), x.grad?.detach(), w.grad?.detach()];
            }
            finally { F.switch_linear_onednn(was); }
        }
        foreach (var ofWeight in new[] { false, true })
        {
            var ours = Twice(onednn: true, ofWeight);
            var theirs = Twice(onednn: false, ofWeight);
            for (var i = 0; i < ours.Length; i++)
            {
                var what = $"{(ofWeight ? "d(dw)" : "d(dx)")} tensor {i}";
                if (theirs[i] is null) { Assert.True(ours[i] is null, $"{what}: libtorch gives none"); continue; }
                Assert.True(ours[i] is not null, $"{what}: libtorch gives a gradient, ours none");
                Assert.True(MaxAbsDiff(ours[i]!, theirs[i]!) <= 1e-6 * Math.Max(1.0, MaxAbs(theirs[i]!)), what);
            }
            if (ofWeight) Assert.NotNull(ours[1]); // d(|dw|²)/dx: the case a view made inside forward lost
        }
    }

    /// <summary>The output is no view (libtorch forbids in-place ops on a custom function's view output): add_ and clamp_ (relu_)
    /// on it, then backward, equal libtorch's linear, for a 2-D and a 3-D input.</summary>
    [Theory]
    [InlineData(new long[] { 6 })]
    [InlineData(new long[] { 2, 3 })]
    public void In_place_ops_on_the_output_then_backward_equal_libtorchs_linear(long[] lead)
    {
        using var scope = NewDisposeScope();
        var (x0, w0, b0, gy) = Inputs(ScalarType.Float32, lead, 7, 5, true, "contiguous");
        Tensor[] Run(bool onednn)
        {
            var was = F.linear_onednn;
            try
            {
                F.switch_linear_onednn(onednn);
                var x = x0.detach().requires_grad_(true);
                var w = w0.detach().requires_grad_(true);
                var y = F.linear(x, w, b0);
                Assert.Equal(onednn, y.grad_fn_name?.Contains(OwnNode) ?? false);
                y.add_(1.0).clamp_(min: 0); // relu_
                (y * gy).sum().backward();
                return [y.detach(), x.grad!.detach(), w.grad!.detach()];
            }
            finally { F.switch_linear_onednn(was); }
        }
        var ours = Run(onednn: true);
        var theirs = Run(onednn: false);
        for (var i = 0; i < ours.Length; i++)
            Assert.True(MaxAbsDiff(ours[i], theirs[i]) <= 1e-6 * Math.Max(1.0, MaxAbs(theirs[i])), $"tensor {i}");
    }

    [Fact]
    public void Autocast_bfloat16_and_empty_inputs_go_to_libtorchs_linear()
    {
        using var scope = NewDisposeScope();
        var x = Data(1, 4, 8).requires_grad_(true);
        var w = Data(2, 3, 8).requires_grad_(true);
        Assert.Contains(OwnNode, F.linear(x, w).grad_fn_name);
        using (amp.autocast(DeviceType.CPU, ScalarType.BFloat16))
        {
            var y = F.linear(x, w);
            Assert.Equal(ScalarType.BFloat16, y.dtype);
            Assert.DoesNotContain(OwnNode, y.grad_fn_name);
        }
        Assert.DoesNotContain(OwnNode, F.linear(x.to(ScalarType.BFloat16), w.to(ScalarType.BFloat16)).grad_fn_name);
        var empty = F.linear(zeros(0, 8).requires_grad_(true), w);
        Assert.Equal(new long[] { 0, 3 }, empty.shape);
        Assert.DoesNotContain(OwnNode, empty.grad_fn_name);
    }

    [Fact]
    public void Shapes_that_do_not_fit_get_libtorchs_error()
    {
        using var scope = NewDisposeScope();
        var e = Assert.Throws<TorchException>(() => F.linear(Data(1, 4, 8), Data(2, 3, 7)));
        Assert.Contains("shapes cannot be multiplied", e.Message);
        Assert.Throws<TorchException>(() => F.linear(Data(1, 4, 8), Data(2, 3, 8), Data(3, 4)));
    }

    [Fact]
    public void Without_gradients_it_records_nothing()
    {
        using var scope = NewDisposeScope();
        var y = F.linear(Data(1, 5, 8), Data(2, 3, 8), Data(3, 3));
        Assert.Null(y.grad_fn_name);
        Assert.False(y.requires_grad);
    }

    static (Tensor x, Tensor w, Tensor? b, Tensor gy) Inputs(ScalarType dtype, long[] lead, long k, long n, bool bias, string layout)
    {
        var x = layout == "transposed"
            ? Data(1, [.. lead[..^1], k, lead[^1]]).to(dtype).transpose(-1, -2)
            : Data(1, [.. lead, k]).to(dtype);
        var w = layout == "weight transposed" ? Data(2, k, n).to(dtype).t() : Data(2, n, k).to(dtype);
        var b = bias ? Data(3, n).to(dtype) : null;
        return (x, w, b, Data(4, [.. lead, n]).to(dtype));
    }

    /// <summary>[output, dx, dw, db (null without a bias)] and the output's autograd node, with the oneDNN path on or off.</summary>
    static (Tensor?[] Values, string? Node) Run(Tensor x0, Tensor w0, Tensor? b0, Tensor gy, bool onednn)
    {
        var was = F.linear_onednn;
        try
        {
            Assert.Equal(onednn, F.switch_linear_onednn(onednn));
            var x = x0.detach().requires_grad_(true);
            var w = w0.detach().requires_grad_(true);
            var b = b0?.detach().requires_grad_(true);
            var y = F.linear(x, w, b);
            var node = y.grad_fn_name;
            y.backward(gy);
            return ([y.detach(), x.grad!.detach(), w.grad!.detach(), b?.grad!.detach()], node);
        }
        finally { F.switch_linear_onednn(was); }
    }

    static double MaxAbs(Tensor t) => t.abs().max().to(ScalarType.Float64).item<double>();
}
