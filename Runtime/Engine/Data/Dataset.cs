using System.Runtime.InteropServices;

namespace ArchDsl.Runtime.Data;

/// <summary>Per-channel normalisation: x' = (x - mean[c]) / std[c].</summary>
public sealed record Normalization(IReadOnlyList<double> Mean, IReadOnlyList<double> Std)
{
    public int Channels => Mean.Count;

    public void Validate(int channels)
    {
        if (Mean.Count != Std.Count)
            throw new DataException($"normalisation has {Mean.Count} means but {Std.Count} standard deviations");
        if (Mean.Count != channels)
            throw new DataException($"normalisation has {Mean.Count} channel(s) but the images have {channels}");
        for (int c = 0; c < Std.Count; c++)
            if (!(Std[c] > 0) || double.IsInfinity(Std[c]))
                throw new DataException($"normalisation std of channel {c} is {Std[c]}; it must be positive");
    }

    public override string ToString() =>
        $"mean [{string.Join(", ", Mean.Select(m => ArchDsl.Dsl.FloatText.Significant(m)))}], std [{string.Join(", ", Std.Select(s => ArchDsl.Dsl.FloatText.Significant(s)))}]";
}

/// <summary>
/// An in-memory image classification set: <see cref="Count"/> images of C×H×W floats stored as one
/// contiguous array in N,C,H,W order (sample i occupies <c>Images[i*SampleSize .. (i+1)*SampleSize)</c>),
/// with one label per image and the class names. Loaders produce pixel values in [0, 1];
/// <see cref="NormalizeInPlace"/> turns them into normalised values once, before training.
/// </summary>
public sealed class Dataset : ImageSet
{
    public Dataset(float[] images, int[] labels, int channels, int height, int width,
                   IReadOnlyList<string> classNames, string name = "data")
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(classNames);
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new ArgumentException($"image size must be positive, got [{channels}, {height}, {width}]");
        long sample = (long)channels * height * width;
        if (images.LongLength != sample * labels.Length)
            throw new ArgumentException($"{labels.Length} labels of [{channels}, {height}, {width}] images need {sample * labels.Length} floats, got {images.LongLength}");
        if (classNames.Count == 0) throw new ArgumentException("a data set needs at least one class");
        foreach (int l in labels)
            if ((uint)l >= (uint)classNames.Count)
                throw new DataException($"{name}: label {l} is outside the {classNames.Count} classes");
        Images = images;
        Labels = labels;
        Channels = channels;
        Height = height;
        Width = width;
        ClassNames = classNames;
        Name = name;
    }

    public float[] Images { get; }
    public override int[] Labels { get; }
    public override int Channels { get; }
    public override int Height { get; }
    public override int Width { get; }
    public override IReadOnlyList<string> ClassNames { get; }
    public override string Name { get; }

    public override int Count => Labels.Length;

    /// <summary>The image of sample <paramref name="index"/> (C×H×W floats).</summary>
    public ReadOnlySpan<float> Sample(int index)
    {
        if ((uint)index >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(index));
        return Images.AsSpan(index * SampleSize, SampleSize);
    }

    /// <summary>Builds a data set from 8-bit pixels (N,C,H,W order), scaled to [0, 1].</summary>
    public static Dataset FromBytes(ReadOnlySpan<byte> pixels, int[] labels, int channels, int height, int width,
                                    IReadOnlyList<string> classNames, string name = "data")
    {
        var images = new float[pixels.Length];
        ConvertBytes(pixels, images);
        return new Dataset(images, labels, channels, height, width, classNames, name);
    }

    /// <summary>v / 255f for every byte value v (exactly rounded, unlike v * (1f/255f)).</summary>
    internal static readonly float[] ByteToUnit = Enumerable.Range(0, 256).Select(v => v / 255f).ToArray();

    /// <summary>byte → float in [0, 1] (v / 255); a one-off conversion at load time.</summary>
    internal static void ConvertBytes(ReadOnlySpan<byte> src, Span<float> dst)
    {
        var table = ByteToUnit;
        for (int i = 0; i < src.Length; i++) dst[i] = table[src[i]];
    }

    /// <summary>
    /// A new data set holding the given samples in the given order, copied one contiguous sample
    /// block at a time.
    /// </summary>
    public override Dataset Select(ReadOnlySpan<int> indices, string? name = null)
    {
        int s = SampleSize;
        var images = new float[(long)indices.Length * s];
        var labels = new int[indices.Length];
        var src = Images.AsSpan();
        for (int i = 0; i < indices.Length; i++)
        {
            int j = indices[i];
            if ((uint)j >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), j, $"sample index outside 0..{Count - 1}");
            src.Slice(j * s, s).CopyTo(images.AsSpan(i * s, s));
            labels[i] = Labels[j];
        }
        return new Dataset(images, labels, Channels, Height, Width, ClassNames, name ?? Name);
    }

    /// <summary>The first <paramref name="count"/> samples (one block copy).</summary>
    public Dataset Take(int count, string? name = null)
    {
        count = Math.Clamp(count, 0, Count);
        var images = Images.AsSpan(0, count * SampleSize).ToArray();
        return new Dataset(images, Labels.AsSpan(0, count).ToArray(), Channels, Height, Width, ClassNames, name ?? Name);
    }

    /// <summary>Per-channel mean and (population) standard deviation over all samples.</summary>
    public override Normalization ChannelStatistics()
    {
        if (Count == 0) throw new DataException($"{Name}: cannot compute channel statistics of an empty data set");
        var sums = new ChannelSums(Channels, Height * Width);
        for (int n = 0; n < Count; n++) sums.Add(Images.AsSpan(n * SampleSize, SampleSize));
        return sums.ToNormalization();
    }

    /// <summary>Applies (x - mean[c]) / std[c] to every pixel, in place (once, at load time).</summary>
    public override void Normalize(Normalization norm) => NormalizeInPlace(norm);

    /// <inheritdoc cref="Normalize"/>
    public void NormalizeInPlace(Normalization norm)
    {
        norm.Validate(Channels);
        int plane = Height * Width;
        var span = Images.AsSpan();
        for (int c = 0; c < Channels; c++)
        {
            float mean = (float)norm.Mean[c];
            float inv = (float)(1.0 / norm.Std[c]);
            for (int n = 0; n < Count; n++)
            {
                var p = span.Slice((n * Channels + c) * plane, plane);
                for (int i = 0; i < p.Length; i++) p[i] = (p[i] - mean) * inv;
            }
        }
    }

    /// <summary>Copies the given samples; runs of consecutive indices are copied as one block (the epoch plays no part).</summary>
    public override int Fill(ReadOnlySpan<int> indices, Span<float> images, Span<long> labels, int epoch = 0)
    {
        int s = SampleSize;
        if (images.Length < indices.Length * s || labels.Length < indices.Length)
            throw new ArgumentException("destination buffers are smaller than the batch");
        var src = Images.AsSpan();
        int i = 0;
        while (i < indices.Length)
        {
            int first = indices[i];
            int run = 1;
            while (i + run < indices.Length && indices[i + run] == first + run) run++;
            if ((uint)first >= (uint)Count || first + run > Count)
                throw new ArgumentOutOfRangeException(nameof(indices), first, $"sample index outside 0..{Count - 1}");
            src.Slice(first * s, run * s).CopyTo(images.Slice(i * s, run * s));
            for (int k = 0; k < run; k++) labels[i + k] = Labels[first + k];
            i += run;
        }
        return indices.Length;
    }
}
