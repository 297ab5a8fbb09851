using ArchDsl.Runtime.Training;

namespace ArchDsl.Presentation;

/// <summary>
/// A run's learning curves as its <c>metrics.jsonl</c> records them, with x in epochs: a logged step s is at
/// x = s / B, B the steps per epoch (the first epoch record's step / epoch; before one, the largest batch logged),
/// so the end of epoch e is at x = e on step and epoch charts alike. Losses are cross-entropy, accuracies fractions.
/// </summary>
public sealed record RunCurves(
    IReadOnlyList<double> StepX, IReadOnlyList<double> StepLoss, IReadOnlyList<double> StepLr,
    IReadOnlyList<EpochRecord> Epochs, TestRecord? Test)
{
    /// <summary>TensorBoard's default smoothing weight for scalar charts.</summary>
    public const double SmoothingWeight = 0.6;

    /// <summary>How the smoothed loss is smoothed, for captions.</summary>
    public static readonly string SmoothingText =
        $"TensorBoard's debiased exponential moving average, weight {SmoothingWeight} (its default)";

    public static RunCurves Of(IReadOnlyList<MetricRecord> records)
    {
        var steps = records.OfType<StepRecord>().Where(s => double.IsFinite(s.Loss)).ToList();
        var epochs = records.OfType<EpochRecord>().ToList();
        double perEpoch = epochs.FirstOrDefault(e => e.Epoch > 0 && e.Step > 0) is { } first ? (double)first.Step / first.Epoch
            : Math.Max(1, steps.Count == 0 ? 1 : steps.Max(s => s.Batch));
        return new RunCurves(
            steps.Select(s => s.Step / perEpoch).ToList(),
            steps.Select(s => s.Loss).ToList(),
            steps.Select(s => s.Lr).ToList(),
            epochs,
            records.OfType<TestRecord>().LastOrDefault());
    }

    /// <summary>Reads <c>metrics.jsonl</c> of <paramref name="runDir"/>.</summary>
    /// <exception cref="RunFileException">the log cannot be read or holds a malformed record.</exception>
    public static RunCurves Read(string runDir) =>
        Of(File.Exists(RunDirectory.MetricsOf(runDir)) ? MetricRecord.ReadAll(RunDirectory.MetricsOf(runDir)) : []);

    /// <summary>The smoothed step loss (<see cref="Smooth"/>).</summary>
    public IReadOnlyList<double> SmoothedLoss => Smooth(StepLoss, SmoothingWeight);

    /// <summary>(epoch, value) of <paramref name="set"/>'s accuracy (or loss) where the epoch records hold a finite one.</summary>
    public (List<double> X, List<double> Y) PerEpoch(string set, bool accuracy)
    {
        var xs = new List<double>();
        var ys = new List<double>();
        foreach (var e in Epochs)
            if (e.Score(set) is { } s) { xs.Add(e.Epoch); ys.Add(accuracy ? s.Accuracy : s.Loss); }
        return (xs, ys);
    }

    /// <summary>
    /// TensorBoard's scalar smoothing: an exponential moving average started at 0 and debiased by 1 − w^n (as Adam
    /// debiases its moments), so the first values are not pulled towards 0 (TensorBoard's <c>classicSmoothing</c>,
    /// tensorboard/webapp/widgets/line_chart_v2/data_transformer.ts). A non-finite value is passed through and
    /// not accumulated; <paramref name="weight"/> 0 is no smoothing.
    /// </summary>
    public static IReadOnlyList<double> Smooth(IReadOnlyList<double> values, double weight)
    {
        if (weight is < 0 or >= 1) throw new ArgumentOutOfRangeException(nameof(weight), weight, "smoothing weight must be in [0, 1)");
        var result = new double[values.Count];
        double last = 0;
        int n = 0;
        for (int i = 0; i < values.Count; i++)
        {
            var v = values[i];
            if (!double.IsFinite(v)) { result[i] = v; continue; }
            last = last * weight + (1 - weight) * v;
            n++;
            result[i] = last / (1 - Math.Pow(weight, n));
        }
        return result;
    }
}
