namespace ArchDsl.Runtime.Data;

/// <summary>
/// A labelled image classification set of <see cref="Count"/> samples of C×H×W floats: either held in memory
/// (<see cref="Dataset"/>: MNIST, Fashion-MNIST, CIFAR, synthetic) or decoded from files on demand
/// (<see cref="FolderSet"/>). Labels are always in memory (4 bytes a sample); pixels need not be.
/// </summary>
public abstract class ImageSet
{
    public abstract int Count { get; }
    public abstract int Channels { get; }
    public abstract int Height { get; }
    public abstract int Width { get; }
    public abstract IReadOnlyList<string> ClassNames { get; }
    public abstract string Name { get; }

    /// <summary>The label of each sample, in sample order.</summary>
    public abstract int[] Labels { get; }

    public int SampleSize => Channels * Height * Width;
    public int NumClasses => ClassNames.Count;
    public string ShapeText => $"[{Channels}, {Height}, {Width}]";

    /// <summary>
    /// Writes samples <paramref name="indices"/> (in that order) as N,C,H,W floats into <paramref name="images"/>
    /// and their labels into <paramref name="labels"/>. <paramref name="epoch"/> seeds random per-sample
    /// transforms (with the set's seed and each sample's index, so the result does not depend on the batch
    /// or the number of workers); sets without them ignore it. A sample that cannot be read (an image folder's
    /// unreadable file, see <see cref="UnreadableImages"/>) is left out: the others move up, in order.
    /// </summary>
    /// <returns>How many samples were written (<paramref name="indices"/>' count, less any unreadable one).</returns>
    /// <exception cref="DataException">a sample cannot be produced (a strict folder's unreadable image).</exception>
    public abstract int Fill(ReadOnlySpan<int> indices, Span<float> images, Span<long> labels, int epoch = 0);

    /// <summary>The samples found unreadable so far (their files, in sample order), left out of every batch; empty for in-memory sets.</summary>
    public virtual IReadOnlyList<string> Unreadable => [];

    /// <summary>Whether sample <paramref name="index"/> was found unreadable (and so is left out of batches).</summary>
    public virtual bool IsUnreadable(int index) => false;

    /// <summary>A set of the given samples in the given order.</summary>
    public abstract ImageSet Select(ReadOnlySpan<int> indices, string? name = null);

    /// <summary>Per-channel mean and (population) standard deviation of the pixel values in [0, 1].</summary>
    public abstract Normalization ChannelStatistics();

    /// <summary>Makes every later sample (x - mean[c]) / std[c].</summary>
    public abstract void Normalize(Normalization norm);

    /// <summary>Whether batches are worth preparing ahead on other threads (decoding sets), or are a copy (in-memory).</summary>
    public virtual bool Streams => false;

    /// <summary>How many samples each class has.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[NumClasses];
        foreach (int l in Labels) counts[l]++;
        return counts;
    }

    public override string ToString() => $"{Name}: {Count} images {ShapeText}, {NumClasses} classes";
}
