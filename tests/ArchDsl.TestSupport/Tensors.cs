using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.TestSupport;

/// <summary>Tensors for comparisons with PyTorch: inputs made in C# (so every side sees the same numbers) and distances.</summary>
public static class Tensors
{
    /// <summary>Uniform(-1, 1) float32 values from <see cref="Random"/>(<paramref name="seed"/>), not libtorch's RNG.</summary>
    public static Tensor Uniform(int seed, params long[] shape)
    {
        var rng = new Random(seed);
        var n = shape.Aggregate(1L, (a, b) => a * b);
        var v = new float[n];
        for (var i = 0; i < n; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return tensor(v, shape);
    }

    /// <summary><paramref name="count"/> int64 class labels in [0, <paramref name="classes"/>) from <see cref="Random"/>(<paramref name="seed"/>).</summary>
    public static Tensor Labels(int seed, int count, int classes)
    {
        var rng = new Random(seed);
        return tensor(Enumerable.Range(0, count).Select(_ => (long)rng.Next(classes)).ToArray());
    }

    /// <summary>max |a − b| over all elements, in float64; the shapes must be equal.</summary>
    public static double MaxAbsDiff(Tensor a, Tensor b)
    {
        Assert.Equal(b.shape, a.shape);
        using var scope = NewDisposeScope();
        var x = a.detach().cpu().to(ScalarType.Float64).data<double>();
        var y = b.detach().cpu().to(ScalarType.Float64).data<double>();
        var m = 0.0;
        for (var i = 0; i < x.Length; i++) m = Math.Max(m, Math.Abs(x[i] - y[i]));
        return m;
    }
}
