using System.Globalization;
using ArchDsl.Runtime.Training;
using YamlDotNet.RepresentationModel;

namespace ArchDsl.Runtime.Sweep;

/// <summary>
/// What a sweep needs from a finished run directory: the final accuracy (test set; the validation set
/// when the run had no test set), train time, images/s, parameters — from <c>summary.yaml</c> — and the
/// learning curves from <c>metrics.jsonl</c>: its epoch records, and its step records with a finite running train
/// loss. Accuracies are fractions in [0, 1].
/// </summary>
public sealed record RunRecord(
    string RunDir, string AccuracySet, double Accuracy, double? TrainSeconds, double? ImagesPerSecond, long? Parameters,
    IReadOnlyList<EpochRecord> Epochs, IReadOnlyList<StepRecord> Steps);

/// <summary>Reads the files the trainer writes into a run directory (layout: <see cref="RunDirectory"/>).</summary>
public static class RunReader
{
    public static RunRecord Read(string runDir)
    {
        var summaryPath = RunDirectory.SummaryOf(runDir);
        YamlMappingNode summary;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(File.ReadAllText(summaryPath)));
            summary = stream.Documents.Count > 0 && stream.Documents[0].RootNode is YamlMappingNode m
                ? m : throw new SweepException($"'{summaryPath}' is not a YAML mapping");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or YamlDotNet.Core.YamlException)
        {
            throw new SweepException($"cannot read '{summaryPath}': {e.Message}", e);
        }

        var (set, accuracy) =
            Number(summary, "test", "accuracy") is { } test ? ("test", test)
            : Number(summary, "val", "accuracy") is { } val ? ("val", val)
            : throw new SweepException($"'{summaryPath}' has no test.accuracy or val.accuracy");

        IReadOnlyList<MetricRecord> records = [];
        var metricsPath = RunDirectory.MetricsOf(runDir);
        if (File.Exists(metricsPath))
        {
            try { records = MetricRecord.ReadAll(metricsPath); }
            catch (RunFileException e) { throw new SweepException(e.Message, e); }
        }

        return new RunRecord(runDir, set, accuracy,
            Number(summary, "time", "train_s"), Number(summary, "images_per_s"), (long?)Number(summary, "parameters"),
            records.OfType<EpochRecord>().ToList(), records.OfType<StepRecord>().Where(r => double.IsFinite(r.TrainLoss)).ToList());
    }

    static double? Number(YamlMappingNode root, params string[] path)
    {
        YamlNode node = root;
        foreach (var key in path)
        {
            if (node is not YamlMappingNode m || !m.Children.TryGetValue(new YamlScalarNode(key), out var next)) return null;
            node = next;
        }
        return node is YamlScalarNode { Value: { } s } && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d) ? d : null;
    }
}
