using System.Globalization;
using System.Text;
using System.Text.Json;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Training;

/// <summary>
/// Where a run stands, saved with its tensors: enough to continue as if never stopped. The position is
/// (<see cref="Epoch"/>, <see cref="Batch"/>): batches 0..Batch-1 of 0-based epoch Epoch are done
/// (Batch = batches per epoch means "trained, not yet evaluated"). The epoch's running loss and accuracy
/// and the number of metrics records written so far come along, so a resumed run's log equals an
/// uninterrupted one's. Random state needs no saving: data order, augmentation and torch's generator
/// (re-seeded every step) are functions of (seed, epoch, batch, step).
/// </summary>
public sealed record CheckpointState
{
    public const string FormatName = "archdsl-checkpoint/1";

    public string Format { get; init; } = FormatName;
    public string Arch { get; init; } = "";
    public int Epoch { get; init; }
    public int Batch { get; init; }
    public int BatchesPerEpoch { get; init; }
    public long Step { get; init; }
    public long Seed { get; init; }
    public int MetricsRecords { get; init; }
    public double EpochLossSum { get; init; }
    public long EpochCorrect { get; init; }
    public long EpochSamples { get; init; }
    public double? BestAccuracy { get; init; }
    public int? BestEpoch { get; init; }
    public double TrainSeconds { get; init; }
    /// <summary>Of <see cref="TrainSeconds"/>, the time spent making batches (copy, tensor, augmentation).</summary>
    public double DataSeconds { get; init; }
    public long TrainImages { get; init; }
    public double[]? NormalizationMean { get; init; }
    public double[]? NormalizationStd { get; init; }
    public string Optimizer { get; init; } = "";
    public long Parameters { get; init; }
    public string Reason { get; init; } = "";
    /// <summary>What chooses the run's <c>best</c> weights: <c>val</c> (the validation split's accuracy) or <c>none</c>
    /// (no validation split, no best checkpoint); null in checkpoints of older versions, which chose on the test set.</summary>
    public string? Selection { get; init; }
    public string SavedAt { get; init; } = "";
    /// <summary>
    /// How many data-parallel processes trained up to this checkpoint (1: one process); null in checkpoints of older
    /// versions. Positions count global batches, so a run resumes with any world size (<see cref="Distributed.WorldChange"/>).
    /// </summary>
    public int? WorldSize { get; init; }
    /// <summary>amp: fp16's loss scaler (<see cref="GradScaler.State"/>: scale, growth_tracker); null otherwise.</summary>
    public Dictionary<string, string>? LossScaler { get; init; }

    public static readonly JsonSerializerOptions Json = new(MetricsLog.JsonOptions)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    /// <summary>
    /// Checks the state against the run it belongs to before anything is restored from it, and throws a
    /// <see cref="TrainingException"/> naming <paramref name="path"/> and every field out of place: the
    /// position must lie inside the schedule (0 ≤ epoch ≤ <paramref name="epochs"/>, 0 ≤ batch ≤ batches per
    /// epoch, nothing past the last epoch) with <c>step = epoch × batches + batch</c> (each batch is one step);
    /// counts and times non-negative and finite, at most as many correct as samples; the best epoch one that
    /// has been trained; a normalisation of one positive finite std per input channel; the seed, optimizer
    /// and parameter count those of the run.
    /// </summary>
    /// <param name="batchesPerEpoch">what the run's data gives now; null to trust the state's own (evaluation, which does not batch the training set).</param>
    /// <param name="parameters">the model's parameter count; null before the model is built.</param>
    public void CheckAgainst(string path, int epochs, int? batchesPerEpoch, int channels, long seed, string optimizer, long? parameters)
    {
        var problems = new List<string>();
        void Need(bool ok, string problem) { if (!ok) problems.Add(problem); }
        int batches = batchesPerEpoch ?? BatchesPerEpoch;
        Need(BatchesPerEpoch >= 1, $"batches_per_epoch is {BatchesPerEpoch}, not at least 1");
        if (batchesPerEpoch is { } b && BatchesPerEpoch != b)
            problems.Add($"it was saved with {BatchesPerEpoch} batches per epoch, the data now gives {b} (was the data or batch changed?)");
        Need(Epoch >= 0 && Epoch <= epochs, $"epoch {Epoch} is outside the run's 0..{epochs}");
        Need(Batch >= 0 && Batch <= batches, $"batch {Batch} is outside an epoch's 0..{batches}");
        Need(Epoch < epochs || Batch == 0, $"batch {Batch} of epoch {Epoch} lies past the end of the {epochs}-epoch schedule");
        if (problems.Count == 0 && batches >= 1)
        {
            long expected = (long)Epoch * batches + Batch;
            Need(Step == expected, $"step {Step} does not match epoch {Epoch}, batch {Batch} of {batches}-batch epochs (that is step {expected})");
        }
        Need(MetricsRecords >= 0, $"metrics_records is {MetricsRecords}");
        Need(EpochSamples >= 0 && EpochCorrect >= 0 && EpochCorrect <= EpochSamples,
             $"epoch_correct {EpochCorrect} of epoch_samples {EpochSamples} is not a count of correct samples");
        Need(double.IsFinite(EpochLossSum) && EpochLossSum >= 0, $"epoch_loss_sum {EpochLossSum} is not a finite sum of losses");
        Need(BestAccuracy is null || BestAccuracy is >= 0 and <= 1, $"best_accuracy {BestAccuracy} is not a fraction");
        Need(BestEpoch is null || (BestEpoch >= 1 && BestEpoch <= Math.Max(Epoch, 1)), $"best_epoch {BestEpoch} is not an epoch trained so far (1..{Epoch})");
        Need(double.IsFinite(TrainSeconds) && TrainSeconds >= 0 && double.IsFinite(DataSeconds) && DataSeconds >= 0 && TrainImages >= 0,
             "train_seconds, data_seconds and train_images must be finite and non-negative");
        if (NormalizationMean is not null || NormalizationStd is not null)
            Need(NormalizationMean?.Length == channels && NormalizationStd?.Length == channels
                 && NormalizationMean.All(double.IsFinite) && NormalizationStd.All(x => double.IsFinite(x) && x > 0),
                 $"normalization_mean/std must be {channels} finite value(s) each, std positive");
        Need(Seed == seed, $"seed {Seed} is not the run's {seed}");
        Need(SameOptimizer(Optimizer, optimizer), $"optimizer '{Optimizer}' is not the run's '{optimizer}'");
        Need(parameters is null || Parameters == parameters, $"parameters {Parameters} is not the model's {parameters}");
        if (problems.Count > 0)
            throw new TrainingException($"checkpoint '{path}' holds a training state that does not fit the run: {string.Join("; ", problems)} (was archdsl.state edited?)");
    }

    /// <summary>
    /// True when a stored optimizer text (<see cref="Compiler.OptimizerConfig"/>'s <c>ToString</c>) names the run's
    /// optimizer: the same text, or the text checkpoints written before floats were printed as Python does hold
    /// for it — every number as .NET's <c>G6</c> (<c>eps: 1E-08</c>, <c>lr: 0.00123457</c>), which is all such a
    /// checkpoint can tell. Only the run's text is rounded, to be compared with the stored one as it is: two texts
    /// of today's printing that differ past the sixth digit differ.
    /// </summary>
    public static bool SameOptimizer(string stored, string run) =>
        stored == run || stored == SixDigits(run);

    private static string SixDigits(string text) => System.Text.RegularExpressions.Regex.Replace(text,
        @"(?<![\w.])-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?",
        m => double.Parse(m.Value, CultureInfo.InvariantCulture).ToString("G6", CultureInfo.InvariantCulture));

    public string ToJson() => JsonSerializer.Serialize(this, Json);
    public static CheckpointState FromJson(string json) => JsonSerializer.Deserialize<CheckpointState>(json, Json)
        ?? throw new JsonException("empty checkpoint state");
}

/// <summary>
/// Checkpoint files: one safetensors file holding the model's parameters and buffers under
/// <c>model.&lt;IR name&gt;</c> and the optimizer state under <c>optim.&lt;parameter&gt;.&lt;state&gt;</c>,
/// with the <see cref="CheckpointState"/> as JSON in its metadata (<c>archdsl.state</c>), so tensors
/// and position are one atomic file; the same JSON is written beside it (<c>last.json</c>) for people
/// and tools. Both are written to a temporary name and renamed: a kill or a full disk leaves the
/// previous checkpoint intact.
/// </summary>
public static class Checkpoint
{
    public const string ModelPrefix = "model.";
    public const string OptimizerPrefix = "optim.";

    /// <summary>Test seam: wraps the stream a checkpoint is written to (to simulate a full disk).</summary>
    internal static Func<Stream, Stream>? StreamFault;

    /// <summary>The checkpoint file's bytes (safetensors), for <see cref="Write"/>.</summary>
    /// <param name="extra">more tensors under their own names (the weights' moving average, <c>ema.*</c>); <see cref="Load"/> leaves them alone.</param>
    public static byte[] Serialize(nn.Module model, optim.Optimizer optimizer, CheckpointState state, IEnumerable<KeyValuePair<string, Tensor>>? extra = null)
    {
        using var scope = NewDisposeScope();
        var tensors = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (k, t) in model.state_dict()) tensors[ModelPrefix + k] = t;
        foreach (var (k, t) in optimizer.state_dict()) tensors[OptimizerPrefix + k] = t;
        foreach (var (k, t) in extra ?? []) tensors[k] = t;
        var meta = new Dictionary<string, string>
        {
            ["archdsl.format"] = CheckpointState.FormatName,
            ["archdsl.arch"] = state.Arch,
            ["archdsl.state"] = state.ToJson(),
        };
        return Safetensors.Serialize(tensors, meta);
    }

    /// <summary>Writes <c>&lt;name&gt;.safetensors</c> and <c>&lt;name&gt;.json</c> in <paramref name="dir"/>, each atomically.</summary>
    public static string Write(string dir, string name, byte[] bytes, CheckpointState state)
    {
        string path = Path.Combine(dir, name + ".safetensors");
        try
        {
            AtomicFile.Write(path, s =>
            {
                var target = StreamFault?.Invoke(s) ?? s;
                target.Write(bytes, 0, bytes.Length);
                target.Flush();
            });
            AtomicFile.WriteAllText(Path.Combine(dir, name + ".json"), state.ToJson() + "\n");
        }
        catch (RunFileException e)
        {
            throw new TrainingException($"could not save checkpoint: {e.Message}", e);
        }
        return path;
    }

    /// <summary>Reads a checkpoint's state (metadata only; the tensors are not loaded).</summary>
    public static CheckpointState ReadState(string path)
    {
        if (!File.Exists(path)) throw new TrainingException($"no checkpoint at '{path}'");
        try
        {
            var meta = Safetensors.ReadMetadata(path);
            if (!meta.TryGetValue("archdsl.format", out var format) || format != CheckpointState.FormatName ||
                !meta.TryGetValue("archdsl.state", out var stateJson))
                throw new InvalidDataException($"it is not an ArchDsl training checkpoint (no '{CheckpointState.FormatName}' metadata)");
            return CheckpointState.FromJson(stateJson);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or JsonException or UnauthorizedAccessException)
        {
            throw new TrainingException($"checkpoint '{path}' is unreadable or corrupt: {e.Message}", e);
        }
    }

    /// <summary>
    /// Loads a checkpoint into <paramref name="model"/> (and <paramref name="optimizer"/> when given). Every
    /// tensor is checked first — missing, unexpected, or of another shape or type, each named — and nothing
    /// is changed unless all fit.
    /// </summary>
    public static CheckpointState Load(string path, nn.Module model, optim.Optimizer? optimizer)
    {
        var state = ReadState(path);
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> tensors;
        try
        {
            tensors = Safetensors.Load(path);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or JsonException or ArgumentException or UnauthorizedAccessException or KeyNotFoundException)
        {
            throw new TrainingException($"checkpoint '{path}' is corrupt: {e.Message}", e);
        }
        var own = model.state_dict();
        var problems = new List<string>();
        foreach (var (k, t) in own)
        {
            if (!tensors.TryGetValue(ModelPrefix + k, out var saved)) { problems.Add($"tensor '{k}' {Describe(t)} is missing from the checkpoint"); continue; }
            if (!saved.shape.SequenceEqual(t.shape))
                problems.Add($"tensor '{k}': the checkpoint has [{string.Join(", ", saved.shape)}], the model expects [{string.Join(", ", t.shape)}]");
            else if (saved.dtype != t.dtype)
                problems.Add($"tensor '{k}': the checkpoint has {saved.dtype}, the model expects {t.dtype}");
        }
        foreach (var k in tensors.Keys.Where(k => k.StartsWith(ModelPrefix, StringComparison.Ordinal)))
            if (!own.ContainsKey(k[ModelPrefix.Length..])) problems.Add($"tensor '{k[ModelPrefix.Length..]}' {Describe(tensors[k])} in the checkpoint is not in the model");
        if (problems.Count > 0)
            throw new TrainingException(
                $"checkpoint '{path}' does not fit the model {state.Arch}: " + string.Join("; ", problems.Take(8)) +
                (problems.Count > 8 ? $"; and {problems.Count - 8} more" : "") +
                " (was the spec or a --set value changed since it was saved?)");

        var optimizerState = tensors.Where(kv => kv.Key.StartsWith(OptimizerPrefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[OptimizerPrefix.Length..], kv => kv.Value);
        if (optimizer is not null)
        {
            // Check the optimizer's tensors against their parameters before changing anything.
            var shapes = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
            foreach (var (k, t) in optimizerState)
            {
                var param = shapes.Keys.Where(n => k.StartsWith(n + ".", StringComparison.Ordinal)).OrderByDescending(n => n.Length).FirstOrDefault();
                if (param is null) throw new TrainingException($"checkpoint '{path}': optimizer state '{k}' names no parameter of the model");
                var stateName = k[(param.Length + 1)..];
                if (!OptimizerStates.Contains(stateName))
                    throw new TrainingException($"checkpoint '{path}': optimizer state '{k}' is none of {string.Join(", ", OptimizerStates)}");
                if (stateName == "step")
                {
                    // An optimizer's per-parameter step count: one integer, at most the run's steps.
                    long? count = t.numel() == 1 && t.dtype == ScalarType.Int64 ? t.item<long>() : null;
                    if (count is not { } c || c < 0 || c > state.Step)
                        throw new TrainingException($"checkpoint '{path}': optimizer state '{k}' must be one Int64 in 0..{state.Step} (the run's step), it is {(count is { } v ? v.ToString(CultureInfo.InvariantCulture) : Describe(t))}");
                    continue;
                }
                if (!shapes[param].SequenceEqual(t.shape))
                    throw new TrainingException($"checkpoint '{path}': optimizer state '{k}' has shape [{string.Join(", ", t.shape)}], parameter '{param}' has [{string.Join(", ", shapes[param])}]");
            }
        }
        using (no_grad())
            foreach (var (k, t) in own) t.copy_(tensors[ModelPrefix + k]);
        if (optimizer is not null)
        {
            try { optimizer.load_state_dict(optimizerState); }
            catch (ArgumentException e) { throw new TrainingException($"checkpoint '{path}': {e.Message}", e); }
        }
        return state;
    }

    /// <summary>The per-parameter states the optimizers keep (AdamW: step, exp_avg, exp_avg_sq; SGD: momentum_buffer), as PyTorch names them.</summary>
    static readonly string[] OptimizerStates = ["step", "exp_avg", "exp_avg_sq", "momentum_buffer"];

    private static string Describe(Tensor t) => $"{t.dtype}[{string.Join(", ", t.shape)}]";

    internal static string Timestamp() => DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
}
