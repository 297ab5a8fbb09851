using System.Globalization;
using System.Text;
using ArchDsl.Runtime.Data;
using ArchDsl.Runtime.Model;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Training;

/// <summary>What to evaluate: which checkpoint of a run, on which set, where.</summary>
public sealed record EvalOptions
{
    /// <summary>
    /// <c>best</c> or <c>last</c>, when given a run directory; null (the default) takes <c>best</c> when the run
    /// chose weights on a validation split, else <c>last</c> — never weights chosen on the test set.
    /// </summary>
    public string? Checkpoint { get; init; }
    /// <summary><c>test</c> (default), <c>val</c> or <c>train</c>.</summary>
    public string Set { get; init; } = "test";
    public string? Device { get; init; }
    public int? Threads { get; init; }
    public int Batch { get; init; } = 256;
    /// <summary>Called after each evaluated batch with (images done, images in the set); for a progress display.</summary>
    public Action<int, int>? Progress { get; init; }
}

/// <summary>
/// Accuracy, per-class accuracy and the confusion matrix of a checkpoint on a data set, over its <see cref="Samples"/>
/// readable images; <see cref="Skipped"/>: the set's unreadable files (an image folder's), left out of every figure.
/// </summary>
public sealed record EvalResult(
    string Checkpoint, string RunDir, string Arch, int Epoch, long Step, string Set, string Data, int Samples,
    double Loss, double Accuracy, IReadOnlyList<double> PerClassAccuracy, ConfusionMatrix Confusion)
{
    public IReadOnlyList<string> Skipped { get; init; } = [];

    /// <summary>A report: the headline, then the confusion table (rows: true class; columns: predicted).</summary>
    public string Render()
    {
        var sb = new StringBuilder();
        sb.Append($"{Arch} — {Checkpoint} (epoch {Epoch}, step {Throughput.Count(Step)})\n");
        sb.Append($"{Set} set of {Data}: {Throughput.Count(Samples)} images, accuracy {(100 * Accuracy).ToString("0.00", CultureInfo.InvariantCulture)}%, " +
                  $"loss {Loss.ToString("0.0000", CultureInfo.InvariantCulture)}\n");
        if (Skipped.Count > 0)
            sb.Append($"{Skipped.Count} unreadable image(s) skipped, not counted: {FolderIndex.First(Skipped, UnreadableImages.Reported)}\n");
        sb.Append('\n');
        sb.Append(Confusion.Render());
        return sb.ToString();
    }

    /// <summary>
    /// The result as indented JSON (snake_case keys, '\n' line ends) for <c>archc eval --format json</c>: the checkpoint
    /// and its position, the set, <c>accuracy</c> and <c>per_class_accuracy</c> as fractions in [0, 1] (NaN, for a class
    /// with no images, as null), the mean cross-entropy <c>loss</c>, the class names in logit order, and the confusion
    /// matrix as rows of counts (row: true class, column: predicted).
    /// </summary>
    public string ToJson() => Compiler.Printers.IrJson.Document(w =>
    {
        static void Number(System.Text.Json.Utf8JsonWriter w, double v) { if (double.IsFinite(v)) w.WriteNumberValue(v); else w.WriteNullValue(); }
        w.WriteStartObject();
        w.WriteString("arch", Arch);
        w.WriteString("run_dir", RunDir);
        w.WriteString("checkpoint", Checkpoint);
        w.WriteNumber("epoch", Epoch);
        w.WriteNumber("step", Step);
        w.WriteString("set", Set);
        w.WriteString("data", Data);
        w.WriteNumber("samples", Samples);
        w.WriteStartArray("skipped");
        foreach (var f in Skipped) w.WriteStringValue(f);
        w.WriteEndArray();
        w.WritePropertyName("accuracy"); Number(w, Accuracy);
        w.WritePropertyName("loss"); Number(w, Loss);
        w.WriteStartArray("classes");
        foreach (var c in Confusion.ClassNames) w.WriteStringValue(c);
        w.WriteEndArray();
        w.WriteStartArray("per_class_accuracy");
        foreach (var a in PerClassAccuracy) Number(w, a);
        w.WriteEndArray();
        w.WriteStartArray("confusion");
        for (int i = 0; i < Confusion.Classes; i++)
        {
            w.WriteStartArray();
            for (int j = 0; j < Confusion.Classes; j++) w.WriteNumberValue(Confusion[i, j]);
            w.WriteEndArray();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    });
}

/// <summary><c>archc eval</c>: a run directory (its best or last checkpoint) or a checkpoint file inside one.</summary>
public static class Evaluator
{
    /// <exception cref="TrainingException">no such run or checkpoint, a corrupt or mismatched checkpoint, missing data.</exception>
    public static EvalResult Evaluate(string runDirOrCheckpoint, EvalOptions? options = null)
    {
        try { return EvaluateUnchecked(runDirOrCheckpoint, options); }
        catch (TorchException e) { throw new TrainingException($"libtorch failed: {e.Message}", e); }
        catch (TorchNativeLibraryException e) { throw new TrainingException(e.Message, e); }
    }

    static EvalResult EvaluateUnchecked(string runDirOrCheckpoint, EvalOptions? options)
    {
        options ??= new EvalOptions();
        if (options.Batch < 1) throw new TrainingException($"evaluation batch must be ≥ 1, got {options.Batch}");
        var (runDir, checkpoint) = Locate(runDirOrCheckpoint, options.Checkpoint);
        var graph = RunDirectory.ReadGraph(runDir);
        var state = Training.Checkpoint.ReadState(checkpoint);
        if (state.Arch != graph.Arch) throw new TrainingException($"checkpoint '{checkpoint}' is of {state.Arch}, but the run's graph is {graph.Arch}");
        var settings = graph.Train.Loop;
        state.CheckAgainst(checkpoint, settings.Epochs, null, graph.Input.Dims[0], settings.Seed, graph.Train.Optimizer.ToString(), null);
        var device = Trainer.ParseDevice(options.Device ?? RunDirectory.ReadRunInfo(runDir).Device ?? settings.Device);
        set_num_threads(options.Threads ?? Environment.ProcessorCount);
        var norm = state.NormalizationMean is { } m && state.NormalizationStd is { } s ? new Normalization(m, s) : null;
        var data = Trainer.LoadData(graph, norm);
        var set = options.Set switch
        {
            "test" => data.Test ?? throw new TrainingException($"data '{data.Source}' has no test set; evaluate another with --on val or --on train"),
            "val" => data.Val ?? throw new TrainingException($"the run holds out no validation split (train key val_split); evaluate another with --on test or --on train"),
            "train" => data.Train,
            var other => throw new TrainingException($"unknown evaluation set '{other}'; expected test, val or train"),
        };
        using var model = new IrModel(graph, settings.Seed, device);
        Training.Checkpoint.Load(checkpoint, model, optimizer: null);
        int classes = Trainer.Classes(graph);
        var names = Enumerable.Range(0, classes).Select(k => k < data.ClassNames.Count ? data.ClassNames[k] : $"class {k}").ToList();
        var confusion = new ConfusionMatrix(names);
        var scores = Trainer.Evaluate(model, set, options.Batch, device, confusion, progress: options.Progress);
        return new EvalResult(checkpoint, runDir, graph.Arch, state.Epoch + (state.Batch > 0 ? 1 : 0), state.Step, options.Set, data.Source,
                              (int)scores.Samples, scores.Loss, scores.Accuracy, confusion.PerClassAccuracy(), confusion) { Skipped = set.Unreadable };
    }

    /// <summary>What chose an older run's best weights (its checkpoints do not say): its validation split when it had one, else the test set.</summary>
    static string OlderSelection(string runDir)
    {
        try { return DataRegistry.OptionsFrom(RunDirectory.ReadGraph(runDir)).ValFraction > 0 ? "val" : "test"; }
        catch (DataException) { return "test"; }
    }

    /// <summary>(run directory, checkpoint file) for a run directory or a checkpoint path; see <see cref="EvalOptions.Checkpoint"/> for <paramref name="which"/>.</summary>
    public static (string RunDir, string Checkpoint) Locate(string path, string? which = null)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            // A folder that is no run at all is said as export and diff say it, not as a run without a checkpoint.
            if (!File.Exists(Path.Combine(full, RunDirectory.GraphYamlFile)))
                throw new TrainingException($"'{full}' is not a run directory (no {RunDirectory.GraphYamlFile})");
            if (which is not (null or "best" or "last")) throw new TrainingException($"checkpoint must be best or last, got '{which}'");
            var best = RunDirectory.CheckpointPath(full, RunDirectory.Best);
            var last = RunDirectory.CheckpointPath(full, RunDirectory.Last);
            bool bestOnVal = File.Exists(best) && (Training.Checkpoint.ReadState(best).Selection ?? OlderSelection(full)) == "val";
            if (which == "best" && !bestOnVal)
                throw new TrainingException(File.Exists(best)
                    ? $"run '{full}': its best.safetensors was chosen on the test set (a run of an older version without a validation split), so its test score is no estimate; use --checkpoint last"
                    : $"run '{full}' chose no best weights (it has no validation split, train key val_split); use --checkpoint last");
            var ckpt = which == "best" || (which is null && bestOnVal) ? best : last;
            if (!File.Exists(ckpt)) throw new TrainingException($"run '{full}' has no checkpoint ({ckpt} does not exist)");
            return (full, ckpt);
        }
        if (File.Exists(full))
        {
            var dir = Path.GetDirectoryName(full)!;
            foreach (var candidate in new[] { dir, Path.GetDirectoryName(dir) })
                if (candidate is not null && File.Exists(Path.Combine(candidate, RunDirectory.GraphYamlFile))) return (candidate, full);
            throw new TrainingException($"checkpoint '{full}' is not inside a run directory (no {RunDirectory.GraphYamlFile} beside it or above it)");
        }
        throw new TrainingException($"no run directory or checkpoint '{path}'");
    }
}
