using System.Text.Json;

namespace ArchDsl.Runtime.Training;

/// <summary>
/// <c>confusion.json</c> in a run directory: the confusion matrix of the run's latest evaluation (rewritten after
/// each epoch's evaluation, then by the final test evaluation of the selected weights), for the run report.
/// <c>counts[true][predicted]</c>, classes in logit order.
/// </summary>
public sealed record ConfusionFile
{
    public const string FileName = "confusion.json";
    /// <summary>The set evaluated: <c>val</c> or <c>test</c>.</summary>
    public string Set { get; init; } = "";
    /// <summary>The epoch (1-based) whose weights were evaluated.</summary>
    public int Epoch { get; init; }
    public string[] Classes { get; init; } = [];
    public long[][] Counts { get; init; } = [];

    public static ConfusionFile Of(ConfusionMatrix m, string set, int epoch) => new()
    {
        Set = set, Epoch = epoch, Classes = m.ClassNames.ToArray(),
        Counts = Enumerable.Range(0, m.Classes).Select(a => Enumerable.Range(0, m.Classes).Select(p => m[a, p]).ToArray()).ToArray(),
    };

    /// <summary>Writes <paramref name="file"/> into <paramref name="runDir"/> atomically.</summary>
    public static void Write(string runDir, ConfusionFile file) =>
        AtomicFile.WriteAllText(Path.Combine(runDir, FileName), JsonSerializer.Serialize(file, MetricRecord.Json) + "\n");

    /// <summary>The run's confusion matrix; null when it has none or it does not parse (the report then leaves it out).</summary>
    public static ConfusionFile? Read(string runDir)
    {
        var path = Path.Combine(runDir, FileName);
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<ConfusionFile>(File.ReadAllText(path), MetricRecord.Json); }
        catch (Exception e) when (e is JsonException or IOException) { return null; }
    }
}
