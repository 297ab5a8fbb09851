namespace ArchDsl.Runtime.Data;

/// <summary>
/// One mini-batch: <see cref="Count"/> images as contiguous N,C,H,W floats and their labels as
/// int64 (what cross-entropy takes). With buffer reuse the arrays can be longer than the batch:
/// use <see cref="ImageSpan"/> / <see cref="LabelSpan"/>.
/// </summary>
public sealed class Batch
{
    internal Batch(float[] images, long[] labels, int[] indices, int count, int channels, int height, int width)
    {
        Images = images; Labels = labels; Indices = indices; Count = count;
        Channels = channels; Height = height; Width = width;
    }

    public float[] Images { get; }
    public long[] Labels { get; }
    /// <summary>Which samples of the data set are in the batch, in batch order.</summary>
    public int[] Indices { get; }
    public int Count { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public int SampleSize => Channels * Height * Width;

    public ReadOnlySpan<float> ImageSpan => Images.AsSpan(0, Count * SampleSize);
    public ReadOnlySpan<long> LabelSpan => Labels.AsSpan(0, Count);
    /// <summary>The tensor shape of the batch's images: [N, C, H, W].</summary>
    public long[] Shape => new long[] { Count, Channels, Height, Width };
}

/// <summary>
/// Yields mini-batches of a <see cref="Dataset"/>. Without shuffling a batch is one block copy; with
/// shuffling the epoch's order is a permutation drawn from (seed, epoch) alone — the same on every
/// run and machine, independent of earlier epochs — and each sample's C×H×W block is copied whole.
/// </summary>
public sealed class Batcher
{
    public Batcher(Dataset data, int batchSize, bool shuffle = true, ulong seed = 0, bool dropLast = false)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be positive");
        Data = data;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        DropLast = dropLast;
    }

    public Dataset Data { get; }
    public int BatchSize { get; }
    public bool Shuffle { get; }
    public ulong Seed { get; }
    public bool DropLast { get; }

    public int BatchesPerEpoch => DropLast ? Data.Count / BatchSize : (Data.Count + BatchSize - 1) / BatchSize;
    /// <summary>Samples seen per epoch (fewer than <c>Data.Count</c> when the last partial batch is dropped).</summary>
    public int SamplesPerEpoch => DropLast ? BatchesPerEpoch * BatchSize : Data.Count;

    /// <summary>The sample order of an epoch: identity without shuffling, else a permutation seeded by (seed, epoch).</summary>
    public int[] Order(int epoch)
    {
        if (!Shuffle)
        {
            var identity = new int[Data.Count];
            for (int i = 0; i < identity.Length; i++) identity[i] = i;
            return identity;
        }
        return EpochPermutation(Data.Count, Seed, epoch);
    }

    public static int[] EpochPermutation(int count, ulong seed, int epoch) =>
        new DeterministicRandom(DeterministicRandom.Derive(seed, (ulong)epoch)).Permutation(count);

    /// <summary>
    /// The batches of epoch <paramref name="epoch"/>. With <paramref name="reuseBuffers"/> every batch
    /// shares the same arrays (no per-batch allocation): consume a batch before asking for the next.
    /// </summary>
    public IEnumerable<Batch> Epoch(int epoch, bool reuseBuffers = false)
    {
        int[] order = Order(epoch);
        int s = Data.SampleSize;
        int batches = BatchesPerEpoch;
        float[]? sharedImages = null;
        long[]? sharedLabels = null;
        for (int b = 0; b < batches; b++)
        {
            int start = b * BatchSize;
            int n = Math.Min(BatchSize, Data.Count - start);
            float[] images;
            long[] labels;
            if (reuseBuffers)
            {
                images = sharedImages ??= new float[(long)BatchSize * s];
                labels = sharedLabels ??= new long[BatchSize];
            }
            else
            {
                images = new float[(long)n * s];
                labels = new long[n];
            }
            var indices = order.AsSpan(start, n).ToArray();
            Fill(indices, images, labels);
            yield return new Batch(images, labels, indices, n, Data.Channels, Data.Height, Data.Width);
        }
    }

    /// <summary>Copies the given samples into <paramref name="images"/> / <paramref name="labels"/>.
    /// Runs of consecutive indices are copied as one block.</summary>
    public void Fill(ReadOnlySpan<int> indices, Span<float> images, Span<long> labels)
    {
        int s = Data.SampleSize;
        if (images.Length < indices.Length * s || labels.Length < indices.Length)
            throw new ArgumentException("destination buffers are smaller than the batch");
        var src = Data.Images.AsSpan();
        var lab = Data.Labels;
        int i = 0;
        while (i < indices.Length)
        {
            int first = indices[i];
            int run = 1;
            while (i + run < indices.Length && indices[i + run] == first + run) run++;
            if ((uint)first >= (uint)Data.Count || first + run > Data.Count)
                throw new ArgumentOutOfRangeException(nameof(indices), first, $"sample index outside 0..{Data.Count - 1}");
            src.Slice(first * s, run * s).CopyTo(images.Slice(i * s, run * s));
            for (int k = 0; k < run; k++) labels[i + k] = lab[first + k];
            i += run;
        }
    }
}
