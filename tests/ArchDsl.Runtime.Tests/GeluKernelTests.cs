using ArchDsl.Torch;
using static ArchDsl.Runtime.Tests.ModelTestKit;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The shim's exact GELU (src/gelu.cpp, taken by <c>gelu()</c> on contiguous float32 CPU tensors) against libtorch's
/// <c>at::gelu</c> in float64 (which the shim leaves to libtorch) on the same values: the value and the input gradient
/// within float32 rounding, over sizes with and without a remainder past the 16-value vectors, values from −12 to 12
/// (both tails of erf), and the bits the same on every run and thread count.
/// </summary>
[Collection(TorchModelCollection.Name)] // sets the thread count, which is process-wide
public sealed class GeluKernelTests
{
    [Theory]
    [InlineData(1L)]
    [InlineData(15L)]
    [InlineData(16L)]
    [InlineData(100_003L)] // several parallel chunks and a remainder
    public void Value_and_gradient_are_libtorchs_in_float64_to_float32_rounding(long n)
    {
        using var scope = NewDisposeScope();
        var x = (Rand(1, n) * 12).detach();
        var gy = Rand(2, n);
        var (y, dx) = Run(x, gy);
        var (yRef, dxRef) = Run(x.to(ScalarType.Float64), gy.to(ScalarType.Float64));
        // |Δ| relative to max(1, |ref|) elementwise: float32 rounding of the result plus erf's 1.5e-7
        Assert.True(RelErr(y, yRef) <= 1e-6, $"value: {RelErr(y, yRef):E2}");
        Assert.True(RelErr(dx, dxRef) <= 1e-6, $"gradient: {RelErr(dx, dxRef):E2}");
    }

    [Fact]
    public void Inputs_it_does_not_take_are_libtorchs_gelu()
    {
        using var scope = NewDisposeScope();
        var x = Rand(3, 64, 33).detach();
        var strided = x.t(); // not contiguous: at::gelu
        var viaStrided = strided.gelu();
        var viaOwn = strided.contiguous().gelu();
        Assert.True(MaxAbsDiff(viaStrided, viaOwn) <= 1e-6);
        Assert.Equal(ScalarType.BFloat16, x.to(ScalarType.BFloat16).gelu().dtype);
        Assert.True(MaxAbsDiff(x.gelu("tanh"), x.to(ScalarType.Float64).gelu("tanh").to(ScalarType.Float32)) <= 1e-6);
    }

    [Fact]
    public void The_same_bits_on_every_run_and_thread_count()
    {
        using var scope = NewDisposeScope();
        var x = (Rand(4, 200_000) * 6).detach();
        var gy = Rand(5, 200_000);
        var threads = get_num_threads();
        try
        {
            set_num_threads(1);
            var one = Run(x, gy);
            set_num_threads(2);
            var two = Run(x, gy);
            Assert.Equal(0.0, MaxAbsDiff(one.y, two.y));
            Assert.Equal(0.0, MaxAbsDiff(one.dx, two.dx));
        }
        finally { set_num_threads(threads); }
    }

    static (Tensor y, Tensor dx) Run(Tensor x0, Tensor gy)
    {
        var x = x0.detach().requires_grad_(true);
        var y = x.gelu();
        y.backward(gy);
        return (y.detach(), x.grad!.detach());
    }

    static double RelErr(Tensor a, Tensor reference)
    {
        using var scope = NewDisposeScope();
        var r = reference.to(ScalarType.Float64);
        return ((a.to(ScalarType.Float64) - r).abs() / r.abs().clamp(1.0, null)).max().item<double>();
    }
}
