using ArchDsl.Compiler;

namespace ArchDsl.Runtime.Data;

/// <summary>
/// An image folder decoded on demand: only the file list (compact, <see cref="FolderFiles"/>) and labels are held; each <see cref="Fill"/> decodes its
/// samples on <see cref="Workers"/> threads (<see cref="ImageDecoder"/>), cropping and resizing each by the per-sample
/// <see cref="Transform"/> to C×H×W and normalising. A random transform of sample i in epoch e draws from a stream
/// seeded by (seed, e, i) alone, so a batch is the same whatever the worker count, batch order or resume point.
/// Bad data (policy): an image that cannot be decoded (corrupt, truncated, zero bytes, not an image, no read permission)
/// stops the run with its path when <see cref="Strict"/>; otherwise it is skipped — left out of its batch (which
/// <see cref="Fill"/> returns shorter), not replaced — recorded in the folder's <see cref="UnreadableImages"/> (shared by
/// every view of the folder, so each file is reported once) and never decoded again.
/// </summary>
public sealed class FolderSet : ImageSet
{
    private const ulong TransformStream = 0xF01D_E125UL;

    private readonly FolderFiles _files;
    private readonly int[]? _rows; // sample i is file _rows[i] of _files; null: file i
    private readonly int[] _labels;
    private readonly UnreadableImages _unreadable;
    private float[][] _tables;

    /// <param name="files">The folder's files.</param>
    /// <param name="rows">Which of the files are this set's samples, in sample order (null: all, in file order).</param>
    /// <param name="transform">The per-sample transform (its size, when given, must be the output's).</param>
    /// <param name="unreadable">The folder's record of unreadable files, shared with its other views (null: a new one).</param>
    /// <exception cref="DataException">a transform size other than the output size.</exception>
    public FolderSet(FolderFiles files, int[]? rows, IReadOnlyList<string> classes, int channels, int height, int width,
                     SampleTransformConfig transform, ulong seed, int workers, bool strict, string name, UnreadableImages? unreadable = null)
    {
        if (transform.Size is int size && (size != height || size != width))
            throw new DataException($"transform size {size} differs from the model's input {height}×{width}; drop size or make them equal");
        if (workers < 1) throw new DataException($"workers must be at least 1, got {workers}");
        _files = files;
        _rows = rows;
        _labels = rows is null ? files.Labels : Array.ConvertAll(rows, r => files.Labels[r]);
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
        _unreadable = unreadable ?? new UnreadableImages(files.Root);
    }

    public override int Count => _labels.Length;
    public override int Channels { get; }
    public override int Height { get; }
    public override int Width { get; }
    public override IReadOnlyList<string> ClassNames { get; }
    public override string Name { get; }
    public override int[] Labels => _labels;
    public override bool Streams => true;

    /// <summary>The full path of sample <paramref name="index"/>'s file (made when asked for).</summary>
    public string FilePath(int index) => _files.Path(_rows is null ? index : _rows[index]);
    public SampleTransformConfig Transform { get; }
    public ulong Seed { get; }
    public int Workers { get; }
    public bool Strict { get; }
    public Normalization? Normalization { get; private set; }
    /// <summary>Receives the folder's skip reports (see <see cref="UnreadableImages"/>); shared by its views.</summary>
    public Action<string>? Warn { get => _unreadable.Warn; set => _unreadable.Warn = value; }
    /// <summary>The folder's record of unreadable files (shared by every view of it).</summary>
    public UnreadableImages UnreadableRecord => _unreadable;

    /// <summary>This set's files found unreadable so far, in sample order.</summary>
    public override IReadOnlyList<string> Unreadable =>
        _unreadable.Count == 0 ? [] : Enumerable.Range(0, Count).Select(FilePath).Where(_unreadable.Contains).ToList();

    public override bool IsUnreadable(int index) => _unreadable.Count > 0 && _unreadable.Contains(FilePath(index));

    /// <summary>The same files with another transform (the evaluation view of a training folder, or a different worker count).</summary>
    public FolderSet With(SampleTransformConfig? transform = null, int? workers = null, string? name = null) =>
        View(_rows, transform ?? Transform, workers ?? Workers, name ?? Name);

    private FolderSet View(int[]? rows, SampleTransformConfig transform, int workers, string name)
    {
        var set = new FolderSet(_files, rows, ClassNames, Channels, Height, Width, transform, Seed, workers, Strict, name, _unreadable);
        if (Normalization is { } n) set.Normalize(n);
        return set;
    }

    /// <summary>Decodes the samples; an unreadable one is left out (see the policy above), the rest moved up in order.</summary>
    /// <returns>How many samples were written: <paramref name="indices"/>' count less the unreadable ones.</returns>
    public override unsafe int Fill(ReadOnlySpan<int> indices, Span<float> images, Span<long> labels, int epoch = 0)
    {
        int s = SampleSize, n = indices.Length;
        if (images.Length < n * s || labels.Length < n) throw new ArgumentException("destination buffers are smaller than the batch");
        var order = indices.ToArray();
        foreach (int i in order)
            if ((uint)i >= (uint)Count) throw new ArgumentOutOfRangeException(nameof(indices), i, $"sample index outside 0..{Count - 1}");
        var read = new bool[n];
        Exception? failure = null;
        fixed (float* dst = images)
        {
            var p = (IntPtr)dst;
            Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = Workers }, (k, state) =>
            {
                try { read[k] = Produce(order[k], epoch, new Span<float>((float*)p + (long)k * s, s)); }
                catch (DataException e) { Interlocked.CompareExchange(ref failure, e, null); state.Stop(); }
            });
        }
        if (failure is not null) throw failure;
        int m = 0;
        for (int k = 0; k < n; k++)
        {
            if (!read[k]) continue;
            if (m != k) images.Slice(k * s, s).CopyTo(images.Slice(m * s, s));
            labels[m++] = _labels[order[k]];
        }
        return m;
    }

    /// <summary>Decodes sample <paramref name="index"/> into <paramref name="dst"/>; false when the file is unreadable (not strict).</summary>
    /// <exception cref="DataException">strict and the file is unreadable, or libvips itself cannot be loaded.</exception>
    private bool Produce(int index, int epoch, Span<float> dst)
    {
        string file = FilePath(index);
        if (_unreadable.Count > 0 && _unreadable.Contains(file)) return false;
        try
        {
            var random = new DeterministicRandom(DeterministicRandom.Derive(DeterministicRandom.Derive(Seed ^ TransformStream, (ulong)epoch), (ulong)index));
            ImageDecoder.Decode(file, (w, h) => CropBoxes.For(Transform, w, h, Height, Width, random), Height, Width, _tables, dst);
            return true;
        }
        catch (DataException e) when (e.InnerException is not (TypeInitializationException or DllNotFoundException))
        {
            if (Strict) throw new DataException($"{Name}: {e.Message} (folder(strict: true) stops at an unreadable image)", e);
            _unreadable.Add(file, e.Message);
            return false;
        }
    }

    public override FolderSet Select(ReadOnlySpan<int> indices, string? name = null)
    {
        var rows = new int[indices.Length];
        for (int k = 0; k < indices.Length; k++) rows[k] = _rows is null ? indices[k] : _rows[indices[k]];
        return View(rows, Transform, Workers, name ?? Name);
    }

    /// <summary>Samples used by <see cref="ChannelStatistics"/>: a seeded choice of this many (all when fewer).</summary>
    public const int StatisticsSamples = 1000;

    /// <summary>
    /// Per-channel mean and (population) standard deviation estimated from up to <see cref="StatisticsSamples"/> images
    /// (a seeded choice) under the evaluation crop, unnormalised. Streaming: the images are decoded a few at a time
    /// (<see cref="StatisticsChunk"/>) into one reused buffer and added to running per-channel sums (<see cref="ChannelSums"/>,
    /// float64) in sample order. So the result is the same, bit for bit, as
    /// <see cref="Dataset.ChannelStatistics"/> over all chosen images held at once (the former method), whatever the
    /// worker count, while memory is one chunk of images.
    /// </summary>
    /// <exception cref="DataException">none of the chosen images can be read.</exception>
    public override Normalization ChannelStatistics()
    {
        var pick = new DeterministicRandom(DeterministicRandom.Derive(Seed, 0x57A7UL)).Permutation(Count).Take(Math.Min(Count, StatisticsSamples)).Order().ToArray();
        var view = With(Transform is ResizeConfig ? Transform : new CenterCropConfig(null, DataCatalog.DefaultCropPct));
        view._tables = ImageDecoder.Tables(Channels, null);
        int chunk = StatisticsChunk(Workers);
        var pixels = new float[(long)Math.Min(chunk, pick.Length) * SampleSize];
        var labels = new long[chunk];
        var sums = new ChannelSums(Channels, Height * Width); // readable images, in sample order
        for (int start = 0; start < pick.Length; start += chunk)
        {
            int read = view.Fill(pick.AsSpan(start, Math.Min(chunk, pick.Length - start)), pixels, labels);
            for (int n = 0; n < read; n++) sums.Add(pixels.AsSpan(n * SampleSize, SampleSize));
        }
        if (sums.Samples == 0) throw new DataException($"{Name}: none of the {pick.Length} images chosen for the normalisation statistics can be read; `archc data inspect` lists the unreadable files");
        return sums.ToNormalization();
    }

    /// <summary>Images decoded at once by <see cref="ChannelStatistics"/>: four per worker, at least 16.</summary>
    public static int StatisticsChunk(int workers) => Math.Max(16, 4 * workers);

    public override void Normalize(Normalization norm)
    {
        norm.Validate(Channels);
        Normalization = norm;
        _tables = ImageDecoder.Tables(Channels, norm);
    }
}
