namespace ArchDsl.Runtime.Data;

/// <summary>
/// xoshiro256** seeded through SplitMix64: the project's own generator, so a seed gives the same
/// shuffles, splits and synthetic images on every run, .NET version and machine (System.Random's
/// seeded algorithm is an implementation detail we do not want to depend on).
/// </summary>
public sealed class DeterministicRandom
{
    private ulong _s0, _s1, _s2, _s3;

    public DeterministicRandom(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
    }

    /// <summary>A seed for an independent stream derived from <paramref name="seed"/> and a stream number
    /// (for example the epoch), so that epoch k's order does not depend on how many numbers epoch k-1 drew.</summary>
    public static ulong Derive(ulong seed, ulong stream)
    {
        ulong x = seed ^ (stream * 0xD1B54A32D192ED03UL + 0x8CB92BA72F3D8DD7UL);
        SplitMix64(ref x);
        return SplitMix64(ref x);
    }

    private static ulong SplitMix64(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform integer in [0, bound), unbiased (Lemire's multiply-and-reject).</summary>
    public int NextInt(int bound)
    {
        if (bound <= 0) throw new ArgumentOutOfRangeException(nameof(bound), bound, "bound must be positive");
        ulong b = (ulong)bound;
        ulong hi = Math.BigMul(NextUInt64(), b, out ulong lo);
        if (lo < b)
        {
            ulong threshold = (0UL - b) % b;
            while (lo < threshold)
                hi = Math.BigMul(NextUInt64(), b, out lo);
        }
        return (int)hi;
    }

    /// <summary>Uniform double in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Standard normal sample (Box–Muller; one value per call, deterministic).</summary>
    public double NextGaussian()
    {
        double u1 = 1.0 - NextDouble(); // (0, 1]
        double u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>Fisher–Yates shuffle in place.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>A permutation of 0..count-1.</summary>
    public int[] Permutation(int count)
    {
        var p = new int[count];
        for (int i = 0; i < count; i++) p[i] = i;
        Shuffle<int>(p);
        return p;
    }
}
