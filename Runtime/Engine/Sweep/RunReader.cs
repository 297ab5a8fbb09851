using System.Globalization;
using System.Text.Json;
using ArchDsl.Runtime.Training;
using YamlDotNet.RepresentationModel;

namespace ArchDsl.Runtime.Sweep;

/// <summary>One epoch of a run's learning curve (from a <c>"kind": "epoch"</c> record of metrics.jsonl); accuracies are fractions.</summary>
public sealed record EpochPoint(int Epoch, long Step, double? TrainLoss, double? TrainAccuracy, string? EvalSet, double? EvalAccuracy, double? EvalLoss);

/// <summary>A logged training step (a <c>"kind": "step"</c> record): the running mean train loss of its epoch so far.</summary>
public sealed record StepPoint(long Step, double TrainLoss);

/// <summary>
/// What a sweep needs from a finished run directory: the final accuracy (test set; the validation set
/// when the run had no test set), train time, images/s, parameters — from <c>summary.yaml</c> — and the
/// learning curves from <c>metrics.jsonl</c>. Accuracies are fractions in [0, 1].
/// </summary>
public sealed record RunRecord(
    string RunDir, string AccuracySet, double Accuracy, double? TrainSeconds, double? ImagesPerSecond, long? Parameters,
    IReadOnlyList<EpochPoint> Epochs, IReadOnlyList<StepPoint> Steps);

/// <summary>Reads the files the trainer writes into a run directory (see <see cref="Trainer"/>).</summary>
public static class RunReader
{
    public const string SummaryFile = "summary.yaml";
    public const string MetricsFile = "metrics.jsonl";
    public const string RunInfoFile = "run.json";

    /// <summary>Whether <paramref name="runDir"/> holds a finished run (its summary.yaml is written last, atomically).</summary>
    public static bool IsFinished(string runDir) => File.Exists(Path.Combine(runDir, SummaryFile));

    /// <summary>Whether <paramref name="runDir"/> is a run the trainer started (run.json is its first file).</summary>
    public static bool IsStarted(string runDir) => File.Exists(Path.Combine(runDir, RunInfoFile));

    public static RunRecord Read(string runDir)
    {
        var summaryPath = Path.Combine(runDir, SummaryFile);
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

        var epochs = new List<EpochPoint>();
        var steps = new List<StepPoint>();
        var metricsPath = Path.Combine(runDir, MetricsFile);
        if (File.Exists(metricsPath))
        {
            IReadOnlyList<JsonElement> records;
            try { records = MetricsLog.Read(metricsPath).Records; }
            catch (RunFileException e) { throw new SweepException(e.Message, e); }
            foreach (var r in records)
            {
                var kind = r.TryGetProperty("kind", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
                if (kind == "epoch" && Json(r, "epoch") is { } ep)
                {
                    // The evaluation set is named in the key: test_acc or val_acc.
                    string? evalSet = r.TryGetProperty("test_acc", out _) ? "test" : r.TryGetProperty("val_acc", out _) ? "val" : null;
                    epochs.Add(new EpochPoint((int)ep, (long)(Json(r, "step") ?? 0), Json(r, "train_loss"), Json(r, "train_acc"),
                        evalSet, evalSet is null ? null : Json(r, evalSet + "_acc"), evalSet is null ? null : Json(r, evalSet + "_loss")));
                }
                else if (kind == "step" && Json(r, "step") is { } st && Json(r, "train_loss") is { } loss)
                    steps.Add(new StepPoint((long)st, loss));
            }
        }

        return new RunRecord(runDir, set, accuracy,
            Number(summary, "time", "train_s"), Number(summary, "images_per_s"), (long?)Number(summary, "parameters"),
            epochs, steps);
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

    static double? Json(JsonElement r, string key) =>
        r.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetDouble(out var d) && double.IsFinite(d) ? d : null;
}
