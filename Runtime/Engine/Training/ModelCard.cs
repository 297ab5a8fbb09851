using System.Text.Json;
using ArchDsl.Compiler;
using ArchDsl.Runtime.Data;

namespace ArchDsl.Runtime.Training;

/// <summary>
/// <c>model.json</c> in a run directory: everything needed to use the run's model outside ArchDsl, in one
/// documented place — the input (layout NCHW, float32, channels and size, pixels in [0, 1] before
/// normalisation), the per-channel normalisation <c>x' = (x - mean[c]) / std[c]</c> (null: none), the class
/// names in logit order, the spec text and the <c>--set</c> overrides it was compiled with, and where the weights
/// are (safetensors, tensors named <see cref="WeightPrefix"/> + IR name). Written when training starts (after
/// the data is loaded) and again on resume, atomically; the exporters and <c>archc predict</c> read it.
/// </summary>
public sealed record ModelCard
{
    public const string FileName = RunDirectory.ModelFile;
    public const string FormatName = "archdsl-model/1";

    public string Format { get; init; } = FormatName;
    public string Arch { get; init; } = "";
    public ModelInput Input { get; init; } = new();
    /// <summary>Per-channel mean and std applied to [0, 1] pixels before the model; null when the run did not normalise.</summary>
    public Normalization? Normalization { get; init; }
    /// <summary>Class names, index i naming logit i.</summary>
    public string[] Classes { get; init; } = [];
    /// <summary>The spec text compiled (all files, as <c>spec.arch</c> holds it).</summary>
    public string Spec { get; init; } = "";
    public string[] Overrides { get; init; } = [];
    /// <summary>Weight files relative to the run directory, best first; tensor names are <see cref="WeightPrefix"/> + IR name.</summary>
    public string[] Weights { get; init; } = ["checkpoints/best.safetensors", "checkpoints/last.safetensors"];
    public string WeightPrefix { get; init; } = Checkpoint.ModelPrefix;

    /// <summary>The input a model takes: <c>[batch, Channels, Height, Width]</c> float32, pixels in [0, 1] before normalisation.</summary>
    public sealed record ModelInput
    {
        public string Layout { get; init; } = "NCHW";
        public string Dtype { get; init; } = "float32";
        public int Channels { get; init; }
        public int Height { get; init; }
        public int Width { get; init; }
        public double[] PixelRange { get; init; } = [0, 1];
    }

    /// <summary>The card of <paramref name="graph"/> trained on <paramref name="data"/>.</summary>
    public static ModelCard For(IrGraph graph, DataSplits data, string spec, IEnumerable<string> overrides) => new()
    {
        Arch = graph.Arch,
        Input = new ModelInput { Channels = graph.Input.Dims[0], Height = graph.Input.Dims[1], Width = graph.Input.Dims[2] },
        Normalization = data.Normalization,
        Classes = ClassNames(data.ClassNames, Trainer.Classes(graph)),
        Spec = spec,
        Overrides = overrides.ToArray(),
    };

    /// <summary>
    /// The data's class names, padded to the model's <paramref name="logits"/> with <c>class_i</c> (a model may predict
    /// more classes than its data has).
    /// </summary>
    public static string[] ClassNames(IReadOnlyList<string> names, int logits) =>
        Enumerable.Range(0, logits).Select(i => i < names.Count ? names[i] : $"class_{i}").ToArray();

    /// <summary>Writes <c>model.json</c> into the run directory (atomically) from the run's files and its data.</summary>
    public static void Write(string runDir, IrGraph graph, DataSplits data, IEnumerable<string> overrides)
    {
        var specPath = Path.Combine(runDir, RunDirectory.SpecFile);
        var spec = File.Exists(specPath) ? File.ReadAllText(specPath) : "";
        var card = For(graph, data, spec, overrides);
        AtomicFile.WriteAllText(Path.Combine(runDir, FileName), JsonSerializer.Serialize(card, CheckpointState.Json) + "\n");
    }

    /// <summary>Reads a run's <c>model.json</c>.</summary>
    /// <exception cref="TrainingException">missing (a run made before the file existed), unreadable or of another format.</exception>
    public static ModelCard Read(string runDir)
    {
        var path = Path.Combine(runDir, FileName);
        if (!File.Exists(path))
            throw new TrainingException($"run '{runDir}' has no {FileName} (it was made by an older archc, or is not a run directory)");
        try
        {
            var card = JsonSerializer.Deserialize<ModelCard>(File.ReadAllText(path), CheckpointState.Json) ?? throw new JsonException("empty");
            if (card.Format != FormatName) throw new JsonException($"format '{card.Format}', expected '{FormatName}'");
            return card;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException or NotSupportedException)
        {
            throw new TrainingException($"'{path}' is unreadable or corrupt: {e.Message}", e);
        }
    }

    /// <summary>
    /// A run's card: its <c>model.json</c>, or for a run made before that file existed, the same facts from what such a
    /// run holds — the input from <paramref name="graph"/> (its saved graph), the normalisation it trained with from its
    /// checkpoint's <c>archdsl.state</c>, the spec and overrides from <c>spec.arch</c> and <c>overrides.txt</c>, and the
    /// class names from its data (loaded as training loaded it: old runs recorded them nowhere else). Nothing is written.
    /// </summary>
    /// <exception cref="TrainingException">model.json unreadable; or, for an old run, no checkpoint, or data that cannot be loaded (the message says which).</exception>
    public static ModelCard ReadOrRebuild(string runDir, IrGraph graph)
    {
        if (File.Exists(Path.Combine(runDir, FileName))) return Read(runDir);
        var weights = new ModelCard().WeightsPath(runDir);
        var state = Checkpoint.ReadState(weights);
        var normalization = state.NormalizationMean is { } m && state.NormalizationStd is { } sd ? new Normalization(m, sd) : null;
        DataSplits data;
        try { data = Trainer.LoadData(graph, normalization); }
        catch (TrainingException e)
        {
            throw new TrainingException($"run '{runDir}' has no {FileName} (it was made by an older archc), and the data it trained on, " +
                                        $"which names its classes, could not be loaded: {e.Message}", e);
        }
        string Text(string file) => File.Exists(Path.Combine(runDir, file)) ? File.ReadAllText(Path.Combine(runDir, file)) : "";
        var overrides = Text(RunDirectory.OverridesFile).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return For(graph, data, Text(RunDirectory.SpecFile), overrides) with { Normalization = normalization };
    }

    /// <summary>The first weight file of <see cref="Weights"/> that exists, as a full path.</summary>
    /// <exception cref="TrainingException">the run has no checkpoint yet.</exception>
    public string WeightsPath(string runDir) =>
        Weights.Select(w => Path.Combine(runDir, w)).FirstOrDefault(File.Exists)
        ?? throw new TrainingException($"run '{runDir}' has no checkpoint ({string.Join(" or ", Weights)}); train it first");
}
