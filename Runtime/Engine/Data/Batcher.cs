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
/// Yields mini-batches of an <see cref="ImageSet"/>. Without shuffling the order is the set's; with shuffling
/// the epoch's order is a permutation drawn from (seed, epoch) alone — the same on every run and machine,
/// independent of earlier epochs. In-memory sets are copied per batch; a streaming set (<see cref="ImageSet.Streams"/>)
/// is decoded ahead by a <see cref="Prefetcher"/> on other threads into a bounded queue, in the same order, so
/// <see cref="FillBatch"/> gives the same batch either way.
/// </summary>
public sealed class Batcher : IDisposable
{
    private int _orderEpoch = -1;
    private int[] _order = [];
    private Prefetcher? _prefetcher;

    public Batcher(ImageSet data, int batchSize, bool shuffle = true, ulong seed = 0, bool dropLast = false, int prefetch = Prefetcher.DefaultDepth)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be positive");
        Data = data;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        DropLast = dropLast;
        PrefetchDepth = prefetch;
    }

    public ImageSet Data { get; }
    public int BatchSize { get; }
    public bool Shuffle { get; }
    public ulong Seed { get; }
    public bool DropLast { get; }
    /// <summary>Batches a streaming set prepares ahead (the bound of the prefetch queue).</summary>
    public int PrefetchDepth { get; }

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

    /// <summary>The sample indices of batch <paramref name="batch"/> of <paramref name="epoch"/>.</summary>
    public ReadOnlySpan<int> Indices(int epoch, int batch)
    {
        if (_orderEpoch != epoch) { _order = Order(epoch); _orderEpoch = epoch; }
        int start = batch * BatchSize;
        if ((uint)batch >= (uint)BatchesPerEpoch) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch outside 0..{BatchesPerEpoch - 1}");
        return _order.AsSpan(start, Math.Min(BatchSize, SamplesPerEpoch - start));
    }

    /// <summary>
    /// Writes batch <paramref name="batch"/> of <paramref name="epoch"/> into the buffers and returns its size (less than
    /// <see cref="Indices"/>' count by the unreadable samples left out, see <see cref="ImageSet.Fill"/>; 0 when none could
    /// be read). A streaming set's batches come from the prefetch queue (started here, restarted on a jump); others are copied.
    /// </summary>
    /// <exception cref="DataException">a sample could not be produced (raised on this thread).</exception>
    public int FillBatch(int epoch, int batch, float[] images, long[] labels)
    {
        if (!Data.Streams || PrefetchDepth <= 0) return Data.Fill(Indices(epoch, batch), images, labels, epoch);
        _prefetcher ??= new Prefetcher(this, PrefetchDepth);
        return _prefetcher.Take(epoch, batch, images, labels);
    }

    /// <summary>
    /// The batches of epoch <paramref name="epoch"/>. With <paramref name="reuseBuffers"/> every batch
    /// shares the same arrays (no per-batch allocation): consume a batch before asking for the next.
    /// Unreadable samples are left out of their batch; a batch none of whose samples could be read is not yielded.
    /// </summary>
    public IEnumerable<Batch> Epoch(int epoch, bool reuseBuffers = false)
    {
        int s = Data.SampleSize;
        float[]? sharedImages = null;
        long[]? sharedLabels = null;
        for (int b = 0; b < BatchesPerEpoch; b++)
        {
            int n = Math.Min(BatchSize, SamplesPerEpoch - b * BatchSize);
            float[] images = reuseBuffers ? sharedImages ??= new float[(long)BatchSize * s] : new float[(long)n * s];
            long[] labels = reuseBuffers ? sharedLabels ??= new long[BatchSize] : new long[n];
            var indices = Indices(epoch, b).ToArray();
            int read = FillBatch(epoch, b, images, labels);
            if (read == 0) continue;
            if (read < n) indices = indices.Where(i => !Data.IsUnreadable(i)).ToArray();
            yield return new Batch(images, labels, indices, read, Data.Channels, Data.Height, Data.Width);
        }
    }

    /// <summary>Copies the given samples into <paramref name="images"/> / <paramref name="labels"/> (see <see cref="ImageSet.Fill"/>).</summary>
    public int Fill(ReadOnlySpan<int> indices, Span<float> images, Span<long> labels, int epoch = 0) =>
        Data.Fill(indices, images, labels, epoch);

    /// <summary>Stops the prefetch threads (if any).</summary>
    public void Dispose() => _prefetcher?.Dispose();
}
