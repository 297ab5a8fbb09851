using ArchDsl.Compiler;
namespace ArchDsl.Runtime.Data;

/// <summary>
/// Deterministic synthetic images for smoke runs: each class has a smooth random pattern (a sum of a
/// few low-frequency sinusoids per channel, drawn from the seed alone), and each image is its class's
/// pattern plus Gaussian noise. A model that learns anything gets well above chance; a linear model can
/// get close to 100% at the default noise. Train and test sets made with the same seed share the
/// patterns and differ in their noise (different streams).
/// </summary>
public static class SyntheticData
{
    public const int DefaultTrain = DataCatalog.SyntheticTrain, DefaultTest = DataCatalog.SyntheticTest;
    public const double DefaultNoise = DataCatalog.SyntheticNoise;

    public static Dataset Generate(int count, int channels, int height, int width, int classes, ulong seed,
                                   int stream = 0, double noise = DefaultNoise, string? name = null)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count));
        if (classes <= 0) throw new DataException($"synthetic data needs at least one class, got {classes}");
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new DataException($"synthetic data needs a positive image size, got [{channels}, {height}, {width}]");
        if (!(noise >= 0)) throw new DataException($"synthetic noise must be ≥ 0, got {noise}");

        int plane = height * width, size = channels * plane;
        var patterns = Patterns(classes, channels, height, width, seed);

        var rng = new DeterministicRandom(DeterministicRandom.Derive(seed, 1000UL + (ulong)stream));
        var labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = i % classes;
        rng.Shuffle<int>(labels);

        var images = new float[(long)count * size];
        for (int n = 0; n < count; n++)
        {
            var dst = images.AsSpan(n * size, size);
            var pattern = patterns.AsSpan(labels[n] * size, size);
            for (int i = 0; i < size; i++) dst[i] = (float)(pattern[i] + noise * rng.NextGaussian());
        }
        var classNames = Enumerable.Range(0, classes).Select(k => $"class{k}").ToArray();
        return new Dataset(images, labels, channels, height, width, classNames, name ?? "synthetic");
    }

    /// <summary>The classes' mean images (K×C×H×W), a pure function of the seed and the sizes.</summary>
    public static float[] Patterns(int classes, int channels, int height, int width, ulong seed)
    {
        int plane = height * width, size = channels * plane;
        var rng = new DeterministicRandom(DeterministicRandom.Derive(seed, 999UL));
        var patterns = new float[(long)classes * size];
        const int waves = 3;
        for (int k = 0; k < classes; k++)
            for (int c = 0; c < channels; c++)
            {
                var p = patterns.AsSpan(k * size + c * plane, plane);
                for (int w = 0; w < waves; w++)
                {
                    double fx = rng.NextInt(4), fy = rng.NextInt(4), phase = 2 * Math.PI * rng.NextDouble();
                    double amp = 0.5 / Math.Sqrt(waves) * Math.Sqrt(2);
                    for (int y = 0; y < height; y++)
                        for (int x = 0; x < width; x++)
                            p[y * width + x] += (float)(amp * Math.Sin(2 * Math.PI * (fx * x / width + fy * y / height) + phase));
                }
            }
        return patterns;
    }
}
