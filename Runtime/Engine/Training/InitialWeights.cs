using System.Globalization;
using System.Text;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Training;

/// <summary>A tensor of the same name in the checkpoint and the model whose shape (or dtype) differs: it keeps the model's initialisation.</summary>
public sealed record TensorMismatch(string Name, string Saved, string Model)
{
    public override string ToString() => $"{Name} {Saved} → {Model}";
}

/// <summary>
/// What <c>archc train SPEC --init RUN</c> took from another run's checkpoint (saved in <c>run.json</c> as
/// <c>init</c>): the tensors (parameters and buffers, by state-dict name) loaded because name, shape and dtype
/// match; those of the same name but another shape, re-initialised as the new model initialises them (a new
/// head for another class count); the model's tensors the checkpoint does not have (initialised); and the
/// checkpoint's tensors this model has no place for (skipped). Optimizer state is never taken: the new run
/// starts its own optimizer and schedule, as timm's <c>--initial-checkpoint</c>.
/// </summary>
public sealed record InitReport
{
    /// <summary>The checkpoint file the weights came from.</summary>
    public string From { get; init; } = "";
    /// <summary>The epoch the checkpoint was saved after (its position's epoch, counted from 1 when a batch of it was trained).</summary>
    public int Epoch { get; init; }
    public string[] Loaded { get; init; } = [];
    public TensorMismatch[] Reinitialized { get; init; } = [];
    /// <summary>The model's tensors not in the checkpoint: they keep their initialisation.</summary>
    public string[] NotInCheckpoint { get; init; } = [];
    /// <summary>The checkpoint's model tensors the model has no tensor of that name for.</summary>
    public string[] Skipped { get; init; } = [];

    /// <summary>The report for the user: counts, then each mismatch named (the loaded ones only counted).</summary>
    public string Describe()
    {
        int total = Loaded.Length + Reinitialized.Length + NotInCheckpoint.Length;
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"init: {Loaded.Length} of the model's {total} tensors loaded from {From} (epoch {Epoch})");
        if (Reinitialized.Length > 0)
            sb.Append(CultureInfo.InvariantCulture, $"\n  re-initialised, shape differs ({Reinitialized.Length}): {string.Join(", ", Reinitialized.Select(m => m.ToString()))}");
        if (NotInCheckpoint.Length > 0)
            sb.Append(CultureInfo.InvariantCulture, $"\n  initialised, not in the checkpoint ({NotInCheckpoint.Length}): {string.Join(", ", NotInCheckpoint)}");
        if (Skipped.Length > 0)
            sb.Append(CultureInfo.InvariantCulture, $"\n  skipped, not in this model ({Skipped.Length}): {string.Join(", ", Skipped)}");
        return sb.ToString();
    }
}

/// <summary>Starts a model from another run's weights (<see cref="InitReport"/> says what is taken).</summary>
public static class InitialWeights
{
    /// <summary>
    /// Copies into <paramref name="model"/> every tensor of <paramref name="runOrCheckpoint"/>'s weights whose name,
    /// shape and dtype match. A run directory gives its <c>best</c> checkpoint when it selected one on a validation
    /// split, else its <c>last</c> (as <c>archc eval</c>); a checkpoint file inside a run is taken as it is.
    /// </summary>
    /// <exception cref="TrainingException">no such run or checkpoint, a corrupt one, or not one parameter that fits the model.</exception>
    public static InitReport Apply(string runOrCheckpoint, nn.Module model)
    {
        var (_, checkpoint) = Evaluator.Locate(runOrCheckpoint);
        var state = Checkpoint.ReadState(checkpoint);
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> tensors;
        try { tensors = Safetensors.Load(checkpoint); }
        catch (Exception e) when (e is IOException or InvalidDataException or System.Text.Json.JsonException or ArgumentException or UnauthorizedAccessException or KeyNotFoundException)
        {
            throw new TrainingException($"checkpoint '{checkpoint}' is corrupt: {e.Message}", e);
        }
        var saved = tensors.Where(kv => kv.Key.StartsWith(Checkpoint.ModelPrefix, StringComparison.Ordinal))
                           .ToDictionary(kv => kv.Key[Checkpoint.ModelPrefix.Length..], kv => kv.Value, StringComparer.Ordinal);
        var own = model.state_dict();
        List<string> loaded = [], missing = [];
        List<TensorMismatch> reinitialized = [];
        foreach (var (name, t) in own)
        {
            if (!saved.TryGetValue(name, out var s)) missing.Add(name);
            else if (!s.shape.SequenceEqual(t.shape) || s.dtype != t.dtype) reinitialized.Add(new TensorMismatch(name, Describe(s), Describe(t)));
            else loaded.Add(name);
        }
        // Buffers such as batch norm's scalar num_batches_tracked fit any model that has them: only parameters tell.
        var parameters = model.named_parameters().Select(p => p.name).ToHashSet(StringComparer.Ordinal);
        if (!loaded.Any(parameters.Contains))
            throw new TrainingException($"no parameter of '{checkpoint}' fits the model (same name and shape): " +
                                        $"of its {saved.Count} tensors only {loaded.Count} buffer(s) match; is it a run of another architecture?");
        using (no_grad())
            foreach (var name in loaded) own[name].copy_(saved[name]);
        return new InitReport
        {
            From = checkpoint,
            Epoch = state.Epoch + (state.Batch > 0 ? 1 : 0),
            Loaded = loaded.ToArray(),
            Reinitialized = reinitialized.ToArray(),
            NotInCheckpoint = missing.ToArray(),
            Skipped = saved.Keys.Where(k => !own.ContainsKey(k)).ToArray(),
        };
    }

    private static string Describe(Tensor t) => $"[{string.Join(", ", t.shape)}]" + (t.dtype == ScalarType.Float32 ? "" : $" {t.dtype}");
}
