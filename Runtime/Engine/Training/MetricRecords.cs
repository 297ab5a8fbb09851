using System.Text.Json;
using System.Text.Json.Serialization;

namespace ArchDsl.Runtime.Training;

/// <summary>
/// One line of <c>metrics.jsonl</c>, written by the trainer and read back by the trainer (a resumed run's
/// scores) and the sweep reader through this one definition. <c>kind</c> comes first and names the record
/// type; property names are snake_case (<see cref="CheckpointState.Json"/>); nulls are left out; non-finite
/// numbers are the strings "NaN", "Infinity", "-Infinity" (<see cref="MetricsLog.JsonOptions"/>).
/// Accuracies are fractions in [0, 1]; losses are mean cross-entropy; times are seconds.
/// </summary>
public abstract record MetricRecord
{
    protected MetricRecord(string kind) => Kind = kind;

    /// <summary><c>step</c>, <c>epoch</c> or <c>test</c>: the record's type, first on its line.</summary>
    [JsonPropertyOrder(-1)]
    public string Kind { get; }

    internal static readonly JsonSerializerOptions Json = new(MetricsLog.JsonOptions)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The record a log line holds; null for a kind this version does not know (skipped by readers).</summary>
    /// <exception cref="JsonException">a field of the wrong type.</exception>
    public static MetricRecord? FromJson(JsonElement line) =>
        (line.TryGetProperty("kind", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null) switch
        {
            StepRecord.KindName => line.Deserialize<StepRecord>(Json),
            EpochRecord.KindName => line.Deserialize<EpochRecord>(Json),
            TestRecord.KindName => line.Deserialize<TestRecord>(Json),
            _ => null,
        };

    /// <summary>The records of the log at <paramref name="path"/>, in order (see <see cref="MetricsLog.Read"/> for torn and bad lines).</summary>
    /// <exception cref="RunFileException">the log cannot be read, a line is not a JSON object, or a record's field has the wrong type.</exception>
    public static IReadOnlyList<MetricRecord> ReadAll(string path)
    {
        var records = new List<MetricRecord>();
        foreach (var line in MetricsLog.Read(path).Records)
        {
            try { if (FromJson(line) is { } r) records.Add(r); }
            catch (JsonException e) { throw new RunFileException(path, $"'{Path.GetFullPath(path)}' holds a malformed record ({line.GetRawText()}): {e.Message}", e); }
        }
        return records;
    }

    /// <summary>A score only when it is a number (a missing or non-finite one is no score).</summary>
    internal static double? Finite(double? v) => v is double d && double.IsFinite(d) ? d : null;
}

/// <summary>A logged optimizer step (every <c>log_every</c> steps and at each epoch's last one). Epoch and batch are 1-based.</summary>
public sealed record StepRecord() : MetricRecord(KindName)
{
    public const string KindName = "step";
    public int Epoch { get; init; }
    public int Batch { get; init; }
    public long Step { get; init; }
    /// <summary>This step's batch loss (with label smoothing, as optimized).</summary>
    public double Loss { get; init; }
    public double Lr { get; init; }
    /// <summary>The running mean loss of the epoch so far.</summary>
    public double TrainLoss { get; init; }
    public double TrainAcc { get; init; }
    [JsonPropertyName("images_per_s")] public double ImagesPerSecond { get; init; }
    [JsonPropertyName("elapsed_s")] public double ElapsedSeconds { get; init; }
    /// <summary>amp: fp16 only: the loss scale after this step (GradScaler's scale); null otherwise.</summary>
    public double? LossScale { get; init; }
    /// <summary>amp: fp16 only: optimizer steps skipped so far on inf/NaN gradients or loss; null otherwise.</summary>
    public long? SkippedSteps { get; init; }
}

/// <summary>
/// A finished epoch (1-based) with its evaluation: <c>val_loss</c>/<c>val_acc</c> and <c>best</c> (whether
/// the validation split selected these weights) on a run with a validation split, <c>test_loss</c>/<c>test_acc</c>
/// on one that monitors the test set instead, neither without an evaluation set.
/// </summary>
public sealed record EpochRecord() : MetricRecord(KindName)
{
    public const string KindName = "epoch";
    public int Epoch { get; init; }
    public long Step { get; init; }
    public double Lr { get; init; }
    public double TrainLoss { get; init; }
    public double TrainAcc { get; init; }
    public double? ValLoss { get; init; }
    public double? ValAcc { get; init; }
    public double? TestLoss { get; init; }
    public double? TestAcc { get; init; }
    public bool? Best { get; init; }
    [JsonPropertyName("images_per_s")] public double ImagesPerSecond { get; init; }
    [JsonPropertyName("data_s")] public double DataSeconds { get; init; }
    [JsonPropertyName("epoch_s")] public double EpochSeconds { get; init; }
    [JsonPropertyName("elapsed_s")] public double ElapsedSeconds { get; init; }

    /// <summary>The set this epoch was evaluated on (<c>val</c> or <c>test</c>), from which scores it holds; null for none.</summary>
    [JsonIgnore]
    public string? EvalSet => TestAcc is not null ? "test" : ValAcc is not null ? "val" : null;

    /// <summary>The accuracy on <see cref="EvalSet"/> when it is a finite number.</summary>
    [JsonIgnore]
    public double? EvalAccuracy => Finite(TestAcc ?? ValAcc);

    /// <summary>(loss, accuracy) on <paramref name="set"/> (<c>train</c>, <c>val</c>, <c>test</c>) when both are finite numbers.</summary>
    public (double Loss, double Accuracy)? Score(string set)
    {
        var (loss, acc) = set switch
        {
            "train" => ((double?)TrainLoss, (double?)TrainAcc),
            "val" => (ValLoss, ValAcc),
            "test" => (TestLoss, TestAcc),
            _ => throw new ArgumentOutOfRangeException(nameof(set), set, "expected train, val or test"),
        };
        return Finite(loss) is double l && Finite(acc) is double a ? (l, a) : null;
    }

    /// <summary>This record with <paramref name="set"/>'s (loss, accuracy) filled in; <c>best</c> goes with <c>val</c>.</summary>
    public EpochRecord WithEvaluation(string set, double loss, double accuracy, bool best) => set switch
    {
        "val" => this with { ValLoss = loss, ValAcc = accuracy, Best = best },
        "test" => this with { TestLoss = loss, TestAcc = accuracy },
        _ => throw new ArgumentOutOfRangeException(nameof(set), set, "expected val or test"),
    };
}

/// <summary>The test-set evaluation at the end of a run with a validation split, of the weights it selected (their epoch).</summary>
public sealed record TestRecord() : MetricRecord(KindName)
{
    public const string KindName = "test";
    public long Step { get; init; }
    public int Epoch { get; init; }
    public double TestLoss { get; init; }
    public double TestAcc { get; init; }
}
