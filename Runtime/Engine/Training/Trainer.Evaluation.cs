using System.Runtime.InteropServices;
using ArchDsl.Runtime.Data;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Training;

/// <summary>Batches as tensors, and a model's loss and accuracy on a set: shared by <see cref="TrainSession"/> and <see cref="Evaluator"/>.</summary>
public static partial class Trainer
{
    /// <summary>One batch as tensors: one copy of the images (and one of the labels) into libtorch.</summary>
    internal static (Tensor Images, Tensor Labels) ToTensors(float[] images, long[] labels, int count, ImageSet shape, Device device)
    {
        var x = torch.from_bytes(MemoryMarshal.AsBytes(images.AsSpan(0, count * shape.SampleSize)), ScalarType.Float32,
            new long[] { count, shape.Channels, shape.Height, shape.Width }, device);
        var y = torch.from_bytes(MemoryMarshal.AsBytes(labels.AsSpan(0, count)), ScalarType.Int64, new long[] { count }, device);
        return (x, y);
    }

    /// <summary>
    /// Loss (mean cross-entropy, no smoothing) and accuracy of <paramref name="model"/> on <paramref name="set"/>, in eval
    /// mode, over its readable images (an image folder's unreadable files are left out, not counted; <see cref="ImageSet.Unreadable"/>).
    /// </summary>
    /// <exception cref="TrainingException">a strict folder's unreadable image, or (unsharded) no image of the set could be read.</exception>
    /// <param name="shard">(rank, world): evaluate only batches rank, rank + world, … (the caller sums the ranks' totals).</param>
    /// <exception cref="OperationCanceledException"><paramref name="stop"/> said stop (checked before each batch).</exception>
    /// <param name="progress">called after each batch with (images done, images in the set).</param>
    internal static LossAccuracy Evaluate(nn.Module<Tensor, Tensor> model, ImageSet set, int batch, Device device,
                                          ConfusionMatrix? confusion = null, Func<bool>? stop = null, Action<int, int>? progress = null,
                                          (int Rank, int World)? shard = null)
    {
        var result = new LossAccuracy();
        using var batcher = new Batcher(set, batch, shuffle: false);
        var images = new float[(long)batch * set.SampleSize];
        var labels = new long[batch];
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            var (first, stride) = shard ?? (0, 1); // a data-parallel evaluation: this rank's batches are every stride-th
            for (int b = first; b < batcher.BatchesPerEpoch; b += stride)
            {
                if (stop?.Invoke() == true) throw new OperationCanceledException();
                int n;
                try { n = batcher.FillBatch(0, b, images, labels); }
                catch (DataException e) { throw new TrainingException(e.Message, e); }
                int done = Math.Min(set.Count, (b + 1) * batch);
                if (n == 0) { progress?.Invoke(done, set.Count); continue; } // every image of the batch unreadable
                using var scope = NewDisposeScope();
                var (x, y) = ToTensors(images, labels, n, set, device);
                var logits = model.forward(x);
                var loss = nn.functional.cross_entropy(logits, y);
                var pred = logits.argmax(1);
                var correct = pred.eq(y).sum().item<long>();
                result.Add(loss.item<double>(), correct, n);
                if (confusion is not null)
                {
                    var p = pred.cpu().data<long>();
                    for (int i = 0; i < n; i++) confusion.Add((int)labels[i], (int)p[i]);
                }
                progress?.Invoke(done, set.Count);
            }
        }
        finally { model.train(wasTraining); }
        if (result.Samples == 0 && shard is null && set.Count > 0)
            throw new TrainingException($"{set.Name}: none of its {set.Count} images could be read ({FolderIndex.First(set.Unreadable)}); `archc data inspect` says why");
        return result;
    }
}
