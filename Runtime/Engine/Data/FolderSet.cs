using System.Collections.Concurrent;
using ArchDsl.Compiler;

namespace ArchDsl.Runtime.Data;

/// <summary>
/// An image folder decoded on demand: only the file list and labels are held; each <see cref="Fill"/> decodes its
/// samples on <see cref="Workers"/> threads (<see cref="ImageDecoder"/>), cropping and resizing each by the per-sample
/// <see cref="Transform"/> to C×H×W and normalising. A random transform of sample i in epoch e draws from a stream
/// seeded by (seed, e, i) alone, so a batch is the same whatever the worker count, batch order or resume point.
/// Bad data (policy): an image that cannot be decoded (corrupt, truncated, not an image, no read permission) stops the
/// run with its path when <see cref="Strict"/>; otherwise the sample is replaced by the next readable one of the set
/// (its label with it), the path is remembered in <see cref="Skipped"/>, and the first few are reported through <see cref="Warn"/>.
/// </summary>
public sealed class FolderSet : ImageSet
{
    private const ulong TransformStream = 0xF01D_E125UL;
    private const int Reported = 5, MaxSubstitutes = 64;

    private readonly string[] _files;
    private readonly int[] _labels;
    private readonly ConcurrentDictionary<string, string> _skipped;
    private float[][] _tables;

    /// <param name="transform">The per-sample transform (its size, when given, must be the output's).</param>
    /// <exception cref="DataException">a transform size other than the output size.</exception>
    public FolderSet(string[] files, int[] labels, IReadOnlyList<string> classes, int channels, int height, int width,
                     SampleTransformConfig transform, ulong seed, int workers, bool strict, string name)
    {
        if (files.Length != labels.Length) throw new ArgumentException("one label per file");
        if (transform.Size is int size && (size != height || size != width))
            throw new DataException($"transform size {size} differs from the model's input {height}×{width}; drop size or make them equal");
        if (workers < 1) throw new DataException($"workers must be at least 1, got {workers}");
        _files = files;
        _labels = labels;
        ClassNames = classes;
        Channels = channels;
        Height = height;
        Width = width;
        Transform = transform;
        Seed = seed;
        Workers = workers;
        Strict = strict;
        Name = name;
        _tables = ImageDecoder.Tables(channels, null);
        _skipped = new ConcurrentDictionary<string, string>(StringComparer.Ordinal);
    }

    public override int Count => _files.Length;
    public override int Channels { get; }
    public override int Height { get; }
    public override int Width { get; }
    public override IReadOnlyList<string> ClassNames { get; }
    public override string Name { get; }
    public override int[] Labels => _labels;
    public override bool Streams => true;

    public IReadOnlyList<string> Files => _files;
    public SampleTransformConfig Transform { get; }
    public ulong Seed { get; }
    public int Workers { get; }
    public bool Strict { get; }
    public Normalization? Normalization { get; private set; }
    /// <summary>Receives one line per reported skip (the first few unreadable images, then one summary line).</summary>
    public Action<string>? Warn { get; set; }
    /// <summary>The unreadable images met so far, with the reason.</summary>
    public IReadOnlyDictionary<string, string> Skipped => _skipped;

    /// <summary>The same files with another transform (the evaluation view of a training folder, or a different worker count).</summary>
    public FolderSet With(SampleTransformConfig? transform = null, int? workers = null, string? name = null)
    {
        var set = new FolderSet(_files, _labels, ClassNames, Channels, Height, Width, transform ?? Transform, Seed, workers ?? Workers, Strict, name ?? Name);
        if (Normalization is { } n) set.Normalize(n);
        set.Warn = Warn;
        return set;
    }

    public override unsafe void Fill(ReadOnlySpan<int> indices, Span<float> images, Span<long> labels, int epoch = 0)
    {
        int s = SampleSize, n = indices.Length;
        if (images.Length < n * s || labels.Length < n) throw new ArgumentException("destination buffers are smaller than the batch");
        var order = indices.ToArray();
        foreach (int i in order)
            if ((uint)i >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), i, $"sample index outside 0..{Count - 1}");
        var got = new int[n];
        Exception? failure = null;
        fixed (float* dst = images)
        {
            var p = (IntPtr)dst;
            Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = Workers }, (k, state) =>
            {
                try { got[k] = Produce(order[k], epoch, new Span<float>((float*)p + (long)k * s, s)); }
                catch (DataException e) { Interlocked.CompareExchange(ref failure, e, null); state.Stop(); }
            });
        }
        if (failure is not null) throw failure;
        for (int k = 0; k < n; k++) labels[k] = _labels[got[k]];
    }

    /// <summary>Decodes sample <paramref name="index"/> (or, not strict, the next readable one) into <paramref name="dst"/>; returns the sample used.</summary>
    private int Produce(int index, int epoch, Span<float> dst)
    {
        for (int t = 0; t < MaxSubstitutes; t++)
        {
            int i = (index + t) % Count;
            if (_skipped.ContainsKey(_files[i])) continue;
            try
            {
                var random = new DeterministicRandom(DeterministicRandom.Derive(DeterministicRandom.Derive(Seed ^ TransformStream, (ulong)epoch), (ulong)i));
                ImageDecoder.Decode(_files[i], (w, h) => CropBoxes.For(Transform, w, h, Height, Width, random), Height, Width, _tables, dst);
                return i;
            }
            catch (DataException e)
            {
                if (Strict) throw new DataException($"{Name}: {e.Message} (folder(strict: true) stops at an unreadable image)", e);
                if (_skipped.TryAdd(_files[i], e.Message))
                {
                    int count = _skipped.Count;
                    if (count <= Reported) Warn?.Invoke($"warning: skipping an unreadable image: {e.Message}");
                    if (count == Reported + 1) Warn?.Invoke($"warning: more unreadable images are being skipped; `archc data inspect {Path.GetDirectoryName(Path.GetDirectoryName(_files[i]))}` lists them all");
                }
            }
        }
        throw new DataException($"{Name}: {MaxSubstitutes} images in a row from '{_files[index]}' cannot be read; the folder is not usable");
    }

    public override FolderSet Select(ReadOnlySpan<int> indices, string? name = null)
    {
        var files = new string[indices.Length];
        var labels = new int[indices.Length];
        for (int k = 0; k < indices.Length; k++) { files[k] = _files[indices[k]]; labels[k] = _labels[indices[k]]; }
        var set = new FolderSet(files, labels, ClassNames, Channels, Height, Width, Transform, Seed, Workers, Strict, name ?? Name);
        if (Normalization is { } norm) set.Normalize(norm);
        set.Warn = Warn;
        return set;
    }

    /// <summary>Samples used by <see cref="ChannelStatistics"/>: a seeded choice of this many (all when fewer).</summary>
    public const int StatisticsSamples = 1000;

    /// <summary>Per-channel statistics estimated from up to <see cref="StatisticsSamples"/> images (a seeded choice) under the evaluation crop, unnormalised.</summary>
    public override Normalization ChannelStatistics()
    {
        var pick = new DeterministicRandom(DeterministicRandom.Derive(Seed, 0x57A7UL)).Permutation(Count).Take(Math.Min(Count, StatisticsSamples)).Order().ToArray();
        var view = With(Transform is ResizeConfig ? Transform : new CenterCropConfig(null, DataCatalog.DefaultCropPct));
        view._tables = ImageDecoder.Tables(Channels, null);
        var sample = new Dataset(new float[(long)pick.Length * SampleSize], new int[pick.Length], Channels, Height, Width, ClassNames, Name);
        view.Fill(pick, sample.Images, new long[pick.Length]);
        return sample.ChannelStatistics();
    }

    public override void Normalize(Normalization norm)
    {
        norm.Validate(Channels);
        Normalization = norm;
        _tables = ImageDecoder.Tables(Channels, norm);
    }
}
