using System.Globalization;
using System.Text;

namespace ArchDsl.Runtime.Training;

/// <summary>A weighted running mean (for example of per-batch mean losses weighted by batch size).</summary>
public sealed class RunningMean
{
    private double _sum;
    public double Weight { get; private set; }

    public void Add(double value, double weight = 1)
    {
        if (weight < 0) throw new ArgumentOutOfRangeException(nameof(weight));
        _sum += value * weight;
        Weight += weight;
    }

    /// <summary>The mean so far; NaN before anything was added.</summary>
    public double Mean => Weight > 0 ? _sum / Weight : double.NaN;
    public void Reset() { _sum = 0; Weight = 0; }
}

/// <summary>Loss and accuracy over an epoch or an evaluation, accumulated batch by batch.</summary>
public sealed class LossAccuracy
{
    private double _lossSum;
    public long Samples { get; private set; }
    public long Correct { get; private set; }

    /// <summary>Adds a batch: its mean loss, how many it got right, its size.</summary>
    public void Add(double meanLoss, long correct, long count)
    {
        if (count < 0 || correct < 0 || correct > count) throw new ArgumentOutOfRangeException(nameof(correct), $"{correct} correct of {count}");
        _lossSum += meanLoss * count;
        Correct += correct;
        Samples += count;
    }

    public double Loss => Samples > 0 ? _lossSum / Samples : double.NaN;
    public double Accuracy => Samples > 0 ? (double)Correct / Samples : double.NaN;
    public void Reset() { _lossSum = 0; Samples = 0; Correct = 0; }
}

/// <summary>Predictions from logits.</summary>
public static class Classification
{
    /// <summary>Row-wise arg-max of B×K logits (first maximum wins; NaN never wins over a number).</summary>
    public static int[] ArgMax(ReadOnlySpan<float> logits, int classes)
    {
        if (classes <= 0 || logits.Length % classes != 0)
            throw new ArgumentException($"{logits.Length} logits are not a whole number of rows of {classes}");
        var result = new int[logits.Length / classes];
        for (int r = 0; r < result.Length; r++)
        {
            var row = logits.Slice(r * classes, classes);
            int best = 0;
            for (int k = 1; k < classes; k++)
                if (row[k] > row[best] || (float.IsNaN(row[best]) && !float.IsNaN(row[k]))) best = k;
            result[r] = best;
        }
        return result;
    }

    public static int CountCorrect(ReadOnlySpan<int> predicted, ReadOnlySpan<long> labels)
    {
        if (predicted.Length != labels.Length) throw new ArgumentException("predictions and labels differ in length");
        int n = 0;
        for (int i = 0; i < predicted.Length; i++) if (predicted[i] == labels[i]) n++;
        return n;
    }
}

/// <summary>Counts of (true class, predicted class); rows are true classes.</summary>
public sealed class ConfusionMatrix
{
    private readonly long[,] _counts;

    public ConfusionMatrix(IReadOnlyList<string> classNames)
    {
        if (classNames.Count == 0) throw new ArgumentException("a confusion matrix needs at least one class");
        ClassNames = classNames;
        _counts = new long[classNames.Count, classNames.Count];
    }

    public IReadOnlyList<string> ClassNames { get; }
    public int Classes => ClassNames.Count;
    public long Total { get; private set; }

    public long this[int actual, int predicted] => _counts[actual, predicted];

    public void Add(int actual, int predicted)
    {
        if ((uint)actual >= (uint)Classes) throw new ArgumentOutOfRangeException(nameof(actual), actual, $"class outside 0..{Classes - 1}");
        if ((uint)predicted >= (uint)Classes) throw new ArgumentOutOfRangeException(nameof(predicted), predicted, $"class outside 0..{Classes - 1}");
        _counts[actual, predicted]++;
        Total++;
    }

    public void Add(ReadOnlySpan<long> actual, ReadOnlySpan<int> predicted)
    {
        if (actual.Length != predicted.Length) throw new ArgumentException("labels and predictions differ in length");
        for (int i = 0; i < actual.Length; i++) Add((int)actual[i], predicted[i]);
    }

    /// <summary>The counts row-major (<c>[actual · Classes + predicted]</c>): what a data-parallel run sums over ranks.</summary>
    public long[] ToArray()
    {
        var flat = new long[Classes * Classes];
        for (int a = 0; a < Classes; a++) for (int p = 0; p < Classes; p++) flat[a * Classes + p] = _counts[a, p];
        return flat;
    }

    /// <summary>Replaces every count with <paramref name="rowMajor"/>'s (<see cref="ToArray"/>'s layout).</summary>
    /// <exception cref="ArgumentException">not Classes² non-negative counts.</exception>
    public void SetCounts(ReadOnlySpan<long> rowMajor)
    {
        if (rowMajor.Length != Classes * Classes) throw new ArgumentException($"expected {Classes * Classes} counts, got {rowMajor.Length}");
        long total = 0;
        for (int i = 0; i < rowMajor.Length; i++)
        {
            if (rowMajor[i] < 0) throw new ArgumentException($"count {i} is negative ({rowMajor[i]})");
            _counts[i / Classes, i % Classes] = rowMajor[i];
            total += rowMajor[i];
        }
        Total = total;
    }

    public long Correct { get { long c = 0; for (int k = 0; k < Classes; k++) c += _counts[k, k]; return c; } }
    public double Accuracy => Total > 0 ? (double)Correct / Total : double.NaN;

    public long RowTotal(int actual) { long s = 0; for (int p = 0; p < Classes; p++) s += _counts[actual, p]; return s; }

    /// <summary>Per class: correct / samples of that class (recall); NaN for a class with no samples.</summary>
    public double[] PerClassAccuracy()
    {
        var acc = new double[Classes];
        for (int k = 0; k < Classes; k++)
        {
            long row = RowTotal(k);
            acc[k] = row > 0 ? (double)_counts[k, k] / row : double.NaN;
        }
        return acc;
    }

    /// <summary>
    /// A fixed-width table: one row per true class labelled with its name, one column per predicted
    /// class (headed by its index), then the class's accuracy; a last line with the overall accuracy.
    /// </summary>
    public string Render()
    {
        int nameWidth = Math.Max("true \\ predicted".Length, ClassNames.Max(n => n.Length));
        long max = 0;
        foreach (long c in _counts) max = Math.Max(max, c);
        int cell = Math.Max(max.ToString(CultureInfo.InvariantCulture).Length, (Classes - 1).ToString(CultureInfo.InvariantCulture).Length) + 1;
        cell = Math.Max(cell, 3);
        var acc = PerClassAccuracy();
        var sb = new StringBuilder();
        sb.Append("true \\ predicted".PadRight(nameWidth));
        for (int p = 0; p < Classes; p++) sb.Append(p.ToString(CultureInfo.InvariantCulture).PadLeft(cell));
        sb.Append("  accuracy\n");
        for (int a = 0; a < Classes; a++)
        {
            sb.Append(ClassNames[a].PadRight(nameWidth));
            for (int p = 0; p < Classes; p++) sb.Append(_counts[a, p].ToString(CultureInfo.InvariantCulture).PadLeft(cell));
            sb.Append("  ").Append(Percent(acc[a]).PadLeft(8)).Append('\n');
        }
        sb.Append("overall".PadRight(nameWidth)).Append(' ', cell * Classes).Append("  ")
          .Append(Percent(Accuracy).PadLeft(8)).Append('\n');
        return sb.ToString();
    }

    private static string Percent(double x) => double.IsNaN(x) ? "-" : (100 * x).ToString("0.00", CultureInfo.InvariantCulture) + "%";
}

/// <summary>Throughput and time-remaining helpers.</summary>
public static class Throughput
{
    public static double ImagesPerSecond(long images, TimeSpan elapsed) =>
        elapsed > TimeSpan.Zero ? images / elapsed.TotalSeconds : 0;

    /// <summary>Remaining time at the average rate so far; null until some work is done.</summary>
    public static TimeSpan? Eta(long done, long total, TimeSpan elapsed)
    {
        if (done <= 0 || elapsed <= TimeSpan.Zero) return null;
        if (done >= total) return TimeSpan.Zero;
        double seconds = elapsed.TotalSeconds * (total - done) / done;
        return seconds > TimeSpan.MaxValue.TotalSeconds / 2 ? null : TimeSpan.FromSeconds(seconds);
    }

    /// <summary>
    /// A count or rate as the logs show it to a reader: whole, with thousands separators (<c>6,400</c>, <c>3,533</c>),
    /// as parameter counts are shown everywhere; "-" for NaN. Files read by programs (metrics.jsonl, summary.yaml) keep plain numbers.
    /// </summary>
    public static string Count(double n) => double.IsNaN(n) ? "-" : n.ToString("#,0", CultureInfo.InvariantCulture);

    /// <summary><c>1h02m03s</c>, <c>4m05s</c>, <c>12s</c>, <c>0.4s</c>; "?" for null.</summary>
    public static string Format(TimeSpan? span)
    {
        if (span is not TimeSpan t) return "?";
        if (t < TimeSpan.Zero) t = TimeSpan.Zero;
        if (t.TotalSeconds < 10) return t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + "s";
        long s = (long)Math.Round(t.TotalSeconds);
        long h = s / 3600, m = s / 60 % 60, sec = s % 60;
        if (h > 0) return $"{h}h{m:00}m{sec:00}s";
        if (m > 0) return $"{m}m{sec:00}s";
        return $"{sec}s";
    }
}
