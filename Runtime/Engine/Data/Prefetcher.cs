using System.Collections.Concurrent;
using System.Threading.Channels;

namespace ArchDsl.Runtime.Data;

/// <summary>
/// Prepares the batches of a streaming <see cref="ImageSet"/> ahead of the training loop: one producer thread
/// walks the epochs' orders from the batch asked for, filling each batch (the set decodes its samples on its own
/// workers) into a bounded queue of <see cref="Depth"/> batches. Buffers are recycled, so memory is
/// (depth + 2) batches whatever the set's size. A batch is a function of (seed, epoch, sample indices) only, so
/// taking it from the queue or filling it directly gives the same values; asking for a batch other than the next
/// one (a resume, a jump) restarts the producer there.
/// </summary>
public sealed class Prefetcher : IDisposable
{
    /// <summary>Batches prepared ahead by default (PyTorch DataLoader's prefetch_factor is 2 per worker).</summary>
    public const int DefaultDepth = 2;

    private sealed record Item(int Epoch, int Batch, float[] Images, long[] Labels, int Count, Exception? Error);

    private readonly Batcher _batcher;
    private readonly ConcurrentBag<(float[], long[])> _pool = new();
    private Channel<Item>? _queue;
    private CancellationTokenSource? _cancel;
    private Task? _producer;
    private (int Epoch, int Batch) _next = (-1, -1);

    public Prefetcher(Batcher batcher, int depth)
    {
        if (depth < 1) throw new ArgumentOutOfRangeException(nameof(depth), depth, "prefetch depth must be at least 1");
        _batcher = batcher;
        Depth = depth;
    }

    public int Depth { get; }

    /// <summary>Copies batch (<paramref name="epoch"/>, <paramref name="batch"/>) into the buffers; returns its size (unreadable samples left out).</summary>
    /// <exception cref="DataException">the producer failed on this batch.</exception>
    public int Take(int epoch, int batch, float[] images, long[] labels)
    {
        if (_next != (epoch, batch)) Restart(epoch, batch);
        var item = _queue!.Reader.ReadAsync().AsTask().GetAwaiter().GetResult();
        if (item.Error is not null)
        {
            Stop();
            _next = (-1, -1);
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(item.Error).Throw();
        }
        item.Images.AsSpan(0, item.Count * _batcher.Data.SampleSize).CopyTo(images);
        item.Labels.AsSpan(0, item.Count).CopyTo(labels);
        _pool.Add((item.Images, item.Labels));
        _next = item.Batch + 1 < _batcher.BatchesPerEpoch ? (epoch, item.Batch + 1) : (epoch + 1, 0);
        return item.Count;
    }

    private void Restart(int epoch, int batch)
    {
        Stop();
        _queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(Depth) { SingleReader = true, SingleWriter = true });
        _cancel = new CancellationTokenSource();
        var (queue, token) = (_queue, _cancel.Token);
        _producer = Task.Factory.StartNew(() => Produce(epoch, batch, queue, token), token, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        _next = (epoch, batch);
    }

    private void Produce(int epoch, int batch, Channel<Item> queue, CancellationToken token)
    {
        var b = _batcher;
        int sample = b.Data.SampleSize;
        try
        {
            for (int e = epoch; !token.IsCancellationRequested; e++, batch = 0)
            {
                var order = b.Order(e);
                for (int k = batch; k < b.BatchesPerEpoch && !token.IsCancellationRequested; k++)
                {
                    int start = k * b.BatchSize, n = Math.Min(b.BatchSize, b.SamplesPerEpoch - start);
                    var (images, labels) = _pool.TryTake(out var buffers) ? buffers : (new float[(long)b.BatchSize * sample], new long[b.BatchSize]);
                    Item item;
                    try
                    {
                        item = new Item(e, k, images, labels, b.Data.Fill(order.AsSpan(start, n), images, labels, e), null);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException) { item = new Item(e, k, images, labels, 0, ex); }
                    queue.Writer.WriteAsync(item, token).AsTask().GetAwaiter().GetResult();
                    if (item.Error is not null) return;
                }
            }
        }
        catch (OperationCanceledException) { }
        catch (ChannelClosedException) { }
    }

    private void Stop()
    {
        if (_producer is null) return;
        _cancel!.Cancel();
        _queue!.Writer.TryComplete();
        try { _producer.Wait(); } catch (AggregateException) { }
        while (_queue.Reader.TryRead(out var item)) _pool.Add((item.Images, item.Labels));
        _cancel.Dispose();
        _producer = null;
    }

    public void Dispose() => Stop();
}
