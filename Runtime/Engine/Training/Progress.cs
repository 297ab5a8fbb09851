using System.Globalization;

namespace ArchDsl.Runtime.Training;

/// <summary>What a run is about to do (sent once, before the first step).</summary>
public sealed record RunStartInfo(
    string RunDir, string Arch, int Epochs, int BatchesPerEpoch, int BatchSize, long Parameters, string Device, int Threads,
    string Data, int TrainSamples, string? EvalSet, int EvalSamples, string Augment, string Optimizer, bool Resumed, int StartEpoch, int StartBatch,
    int TrainUnreadable = 0, int EvalUnreadable = 0)
{
    /// <summary>The data line of a run's header, each display showing it alike: <c>data synthetic: 6,400 training images, 1,200 test images; 1 epoch(s) × 100 batches of 64; …</c>.
    /// The counts are the images listed. Those of an image folder already known to be unreadable before the first step
    /// (<see cref="TrainUnreadable"/>, <see cref="EvalUnreadable"/>: zero-byte files, and those the normalisation statistics
    /// read, which a resumed run or one given <c>mean</c>/<c>std</c> does not) are named as left out:
    /// <c>19 training images listed (1 known unreadable left out)</c>. Images found unreadable while training are skipped
    /// then, so <c>summary.yaml</c>'s <c>train_samples</c> and its <c>skipped:</c> block can count more left out.</summary>
    public string DescribeData() =>
        $"data {Data}: {Images(TrainSamples, TrainUnreadable, "training")}{(EvalSet is null ? "" : $", {Images(EvalSamples, EvalUnreadable, EvalSet)}")}; " +
        $"{Epochs} epoch(s) × {Throughput.Count(BatchesPerEpoch)} batches of {Throughput.Count(BatchSize)}; {Optimizer}; augment {Augment}";

    private static string Images(int listed, int unreadable, string set) =>
        $"{Throughput.Count(listed)} {set} images" + (unreadable == 0 ? "" : $" listed ({Throughput.Count(unreadable)} known unreadable left out)");
}

/// <summary>One finished optimizer step. Epoch and batch are 1-based (batch = batches done in the epoch).</summary>
public sealed record StepInfo(
    int Epoch, int Epochs, int Batch, int Batches, long Step, double Loss, double EpochLoss, double EpochAccuracy,
    double LearningRate, double ImagesPerSecond, TimeSpan? EpochEta);

/// <summary>One finished epoch (1-based) with its evaluation, if there is an evaluation set.</summary>
public sealed record EpochInfo(
    int Epoch, int Epochs, long Step, double TrainLoss, double TrainAccuracy, string? EvalSet, double? EvalLoss, double? EvalAccuracy,
    bool IsBest, double ImagesPerSecond, TimeSpan EpochTime);

/// <summary>
/// Receives a run's progress. Every method has an empty default, so a sink implements what it shows.
/// Calls come from the training thread, in order.
/// </summary>
public interface IProgressSink
{
    void RunStarted(RunStartInfo info) { }
    void EpochStarted(int epoch, int epochs, int batches, int startBatch) { }
    void StepCompleted(StepInfo step) { }
    /// <summary>An evaluation begins; <paramref name="samples"/>: the set's images not already known to be unreadable.</summary>
    void Evaluating(int epoch, string set, int samples) { }
    void EpochCompleted(EpochInfo epoch) { }
    /// <summary>A note for the user: a checkpoint written, a resume, an interruption.</summary>
    void Message(string text) { }
    void RunEnded(TrainResult result) { }
}

/// <summary>Shows nothing.</summary>
public sealed class NullProgressSink : IProgressSink
{
    public static readonly NullProgressSink Instance = new();
}

/// <summary>
/// Plain lines for logs, CI and pipes: a header, a step line at most every <c>interval</c> (and at the
/// end of each epoch), an epoch line with the evaluation, and the messages.
/// </summary>
public sealed class PlainProgressSink : IProgressSink
{
    private readonly TextWriter _out;
    private readonly TimeSpan _interval;
    private DateTime _lastLine = DateTime.MinValue;

    public PlainProgressSink(TextWriter output, TimeSpan? interval = null)
    {
        _out = output;
        _interval = interval ?? TimeSpan.FromSeconds(10);
    }

    private static string F(double v, string format = "0.0000") => double.IsNaN(v) ? "-" : v.ToString(format, CultureInfo.InvariantCulture);
    private static string Pct(double? v) => v is double d && !double.IsNaN(d) ? (100 * d).ToString("0.00", CultureInfo.InvariantCulture) + "%" : "-";

    private void Line(string text)
    {
        _out.WriteLine(text);
        _out.Flush();
    }

    public void RunStarted(RunStartInfo i)
    {
        Line($"{(i.Resumed ? "resuming" : "training")} {i.Arch} ({Throughput.Count(i.Parameters)} parameters) on {i.Device} with {i.Threads} thread(s) → {i.RunDir}");
        Line("  " + i.DescribeData());
        if (i.Resumed) Line($"  continuing at epoch {i.StartEpoch + 1}, batch {Throughput.Count(i.StartBatch)}");
    }

    public void StepCompleted(StepInfo s)
    {
        var now = DateTime.UtcNow;
        if (s.Batch != s.Batches && now - _lastLine < _interval) return;
        _lastLine = now;
        Line($"epoch {s.Epoch}/{s.Epochs}  batch {Throughput.Count(s.Batch)}/{Throughput.Count(s.Batches)}  loss {F(s.EpochLoss)}  acc {Pct(s.EpochAccuracy)}  " +
             $"lr {s.LearningRate.ToString("0.00e+0", CultureInfo.InvariantCulture)}  {Throughput.Count(s.ImagesPerSecond)} img/s  eta {Throughput.Format(s.EpochEta)}");
    }

    public void Evaluating(int epoch, string set, int samples) => Line($"epoch {epoch}: evaluating on {Throughput.Count(samples)} {set} images");

    public void EpochCompleted(EpochInfo e) =>
        Line($"epoch {e.Epoch}/{e.Epochs} done in {Throughput.Format(e.EpochTime)}: train loss {F(e.TrainLoss)} acc {Pct(e.TrainAccuracy)}" +
             (e.EvalSet is null ? "" : $"; {e.EvalSet} loss {F(e.EvalLoss ?? double.NaN)} acc {Pct(e.EvalAccuracy)}{(e.IsBest ? " (best)" : "")}") +
             $"; {Throughput.Count(e.ImagesPerSecond)} img/s");

    public void Message(string text) => Line(text);

    public void RunEnded(TrainResult r) => Line(r.Describe());
}

/// <summary>Sends each event to several sinks.</summary>
public sealed class CompositeProgressSink(params IProgressSink[] sinks) : IProgressSink
{
    public void RunStarted(RunStartInfo info) { foreach (var s in sinks) s.RunStarted(info); }
    public void EpochStarted(int epoch, int epochs, int batches, int startBatch) { foreach (var s in sinks) s.EpochStarted(epoch, epochs, batches, startBatch); }
    public void StepCompleted(StepInfo step) { foreach (var s in sinks) s.StepCompleted(step); }
    public void Evaluating(int epoch, string set, int samples) { foreach (var s in sinks) s.Evaluating(epoch, set, samples); }
    public void EpochCompleted(EpochInfo epoch) { foreach (var s in sinks) s.EpochCompleted(epoch); }
    public void Message(string text) { foreach (var s in sinks) s.Message(text); }
    public void RunEnded(TrainResult result) { foreach (var s in sinks) s.RunEnded(result); }
}
