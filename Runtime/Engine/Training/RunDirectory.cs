using System.Globalization;
using System.Text;
using System.Text.Json;
using ArchDsl.Compiler;
using ArchDsl.Compiler.Analysis;
using ArchDsl.Compiler.Printers;

namespace ArchDsl.Runtime.Training;

/// <summary>How a run was started (<c>run.json</c>).</summary>
public sealed record RunInfo
{
    public string Format { get; init; } = "archdsl-run/1";
    public string Arch { get; init; } = "";
    public string Created { get; init; } = "";
    public int CheckpointEvery { get; init; }
    public int LogEvery { get; init; } = 50;
    public int? Threads { get; init; }
    public string? Device { get; init; }
    public int? EvalBatch { get; init; }
    public string[] Overrides { get; init; } = [];
    public string[] Specs { get; init; } = [];
    public int Resumes { get; init; }
    /// <summary>What the run trains, as <see cref="Training.ConfigHash.Of"/>; null in runs of older versions.</summary>
    public string? ConfigHash { get; init; }
    /// <summary>The run directory or checkpoint given to <c>--init</c>; null for a run started from its own initialisation.</summary>
    public string? InitFrom { get; init; }
    /// <summary>What <c>--init</c> loaded, re-initialised and skipped (written once the weights are loaded).</summary>
    public InitReport? Init { get; init; }
    /// <summary>
    /// The data-parallel world size of the run's start and of each resume, oldest first (1: one process); empty in runs
    /// of older versions. A run may resume with another world size (<see cref="Distributed.WorldChange"/>).
    /// </summary>
    public int[] WorldSizes { get; init; } = [];
    /// <summary>Each time the run was extended with more epochs (<see cref="Trainer.Resume"/> with an epoch count), oldest first.</summary>
    public EpochExtension[] Extensions { get; init; } = [];
}

/// <summary>
/// A run extended from <see cref="FromEpochs"/> to <see cref="ToEpochs"/> epochs in all. The schedule is recomputed
/// for <see cref="ToEpochs"/> (as if the run had been started with that many); steps already trained keep the rates
/// they were trained with, so the rate at step <see cref="AtStep"/> jumps from the old schedule's to the new one's.
/// The old <c>summary.yaml</c> is kept as <see cref="ArchivedSummary"/>.
/// </summary>
public sealed record EpochExtension(int FromEpochs, int ToEpochs, long AtStep, string? ArchivedSummary, string At);

/// <summary>
/// The layout of a run directory, defined here once for the trainer, the evaluator, the sweep reader and
/// runner and the CLI:
/// <code>
/// runs/&lt;name&gt;-&lt;yyyyMMdd-HHmmss&gt;/
///   spec.arch        the spec text(s) compiled      overrides.txt  the --set values
///   graph.txt        the IR as the text printer shows it;  graph.yaml  the IR itself (what resume and eval rebuild)
///   run.json         how the run was started (<see cref="RunInfo"/>); the first file written
///   metrics.jsonl    one record per logged step, per epoch and for the test set (<see cref="MetricRecord"/>)
///   checkpoints/last.safetensors + last.json, best.safetensors + best.json
///   model.json       once the data is loaded: input layout and size, normalisation, class names, spec, overrides
///   confusion.json   the latest evaluation's confusion matrix (<see cref="ConfusionFile"/>)
///   events.out.tfevents.*  TensorBoard scalars of the metrics records (<see cref="TensorBoardLog"/>)
///   summary.yaml     at the end: accuracy, loss, time, images/s, parameter count; the last file written
/// </code>
/// </summary>
public static class RunDirectory
{
    public const string RunFile = "run.json";
    public const string GraphYamlFile = "graph.yaml";
    public const string GraphTextFile = "graph.txt";
    public const string SpecFile = "spec.arch";
    public const string OverridesFile = "overrides.txt";
    public const string MetricsFile = "metrics.jsonl";
    public const string SummaryFile = "summary.yaml";
    /// <summary>What using the model elsewhere needs (input, normalisation, class names): <see cref="ModelCard"/>.</summary>
    public const string ModelFile = "model.json";
    public const string CheckpointDir = "checkpoints";
    /// <summary>Checkpoint names (<c>&lt;name&gt;.safetensors</c> and <c>&lt;name&gt;.json</c> in <see cref="CheckpointDir"/>).</summary>
    public const string Last = "last", Best = "best";
    public const string CheckpointExtension = ".safetensors";

    public static string CheckpointsOf(string runDir) => Path.Combine(runDir, CheckpointDir);
    /// <summary>A checkpoint's file, as the summary names it: <c>checkpoints/last.safetensors</c>.</summary>
    public static string CheckpointFile(string name) => $"{CheckpointDir}/{name}{CheckpointExtension}";
    public static string CheckpointPath(string runDir, string name) => Path.Combine(runDir, CheckpointDir, name + CheckpointExtension);
    public static string MetricsOf(string runDir) => Path.Combine(runDir, MetricsFile);
    public static string SummaryOf(string runDir) => Path.Combine(runDir, SummaryFile);

    /// <summary>Whether <paramref name="runDir"/> holds a finished run (its summary.yaml is written last, atomically).</summary>
    public static bool IsFinished(string runDir) => File.Exists(SummaryOf(runDir));

    /// <summary>Whether <paramref name="runDir"/> is a run the trainer started (run.json is its first file).</summary>
    public static bool IsStarted(string runDir) => File.Exists(Path.Combine(runDir, RunFile));

    /// <summary>Writes <c>run.json</c> (atomically).</summary>
    public static void WriteRunInfo(string runDir, RunInfo info) =>
        AtomicFile.WriteAllText(Path.Combine(runDir, RunFile), JsonSerializer.Serialize(info, CheckpointState.Json) + "\n");

    /// <summary>Writes what a new run starts from: the IR (text and YAML), the spec text(s) and the overrides.</summary>
    public static void WriteSources(string runDir, IrGraph graph, IReadOnlyList<SpecSource> specs, IReadOnlyList<string> overrides)
    {
        WriteGraph(runDir, graph);
        if (specs.Count > 0)
            AtomicFile.WriteAllText(Path.Combine(runDir, SpecFile), specs.Count == 1
                ? specs[0].Text
                : string.Concat(specs.Select(s => $"# ---- {s.Path} ----\n{s.Text}{(s.Text.EndsWith('\n') ? "" : "\n")}")));
        AtomicFile.WriteAllText(Path.Combine(runDir, OverridesFile), string.Concat(overrides.Select(o => o + "\n")));
    }

    /// <summary>Writes the IR a run trains: <c>graph.txt</c> and <c>graph.yaml</c> (each atomically).</summary>
    public static void WriteGraph(string runDir, IrGraph graph)
    {
        AtomicFile.WriteAllText(Path.Combine(runDir, GraphTextFile), GraphPrinter.ToText(graph));
        AtomicFile.WriteAllText(Path.Combine(runDir, GraphYamlFile), GraphYaml.Write(graph));
    }

    /// <exception cref="TrainingException">no run.json, or one that does not parse.</exception>
    public static RunInfo ReadRunInfo(string runDir)
    {
        string path = Path.Combine(runDir, RunFile);
        if (!File.Exists(path)) throw new TrainingException($"'{runDir}' is not a run directory (no {RunFile})");
        try
        {
            return JsonSerializer.Deserialize<RunInfo>(File.ReadAllText(path), CheckpointState.Json)
                   ?? throw new JsonException("empty");
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new TrainingException($"'{path}' is unreadable or corrupt: {e.Message}", e);
        }
    }

    /// <summary>The IR saved with a run (<c>graph.yaml</c>), its train config checked as the compiler checks it.</summary>
    /// <exception cref="TrainingException">no graph.yaml, one that does not parse, or an invalid train config.</exception>
    public static IrGraph ReadGraph(string runDir)
    {
        string path = Path.Combine(runDir, GraphYamlFile);
        if (!File.Exists(path)) throw new TrainingException($"'{runDir}' is not a run directory (no {GraphYamlFile})");
        IrGraph graph;
        try { graph = GraphYaml.Read(File.ReadAllText(path)); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new TrainingException($"'{path}' is unreadable or corrupt: {e.Message}", e);
        }
        graph = graph with { Train = TrainSchema.UpgradeStored(graph.Train) }; // a run made by an earlier archc trains on as it did
        Trainer.CheckTrainConfig(graph.Train, $"'{path}'");
        return graph;
    }

    /// <summary>
    /// A run's graph (<see cref="ReadGraph"/>) with what it was made from: <c>spec.arch</c> (empty when the run has none:
    /// a graph trained from the API) and <c>overrides.txt</c>, one override a line — for <c>archc diff RUN_A RUN_B</c>.
    /// </summary>
    /// <summary>
    /// Why <paramref name="runDir"/>, given where a run directory belongs (<c>--resume</c>, eval, export, predict, diff),
    /// is none: "no run directory 'x'", or for a file "'x' is a file, not a run directory" — a spec named there gets
    /// the command that makes a run of it; null when it is a folder (whether a run is in it is for the reader to say).
    /// </summary>
    public static string? NotAFolder(string runDir)
    {
        if (Directory.Exists(runDir)) return null;
        if (!File.Exists(runDir)) return $"no run directory '{runDir}'";
        return $"'{runDir}' is a file, not a run directory" + (runDir.EndsWith(".arch", StringComparison.OrdinalIgnoreCase)
            ? $": it is a spec; train it first (archc train {runDir}) and give the run directory training writes (runs/<name>-<time>)" : "");
    }

    /// <exception cref="TrainingException">not a run directory, or an unreadable file.</exception>
    public static (IrGraph Graph, GraphSources Sources) ReadGraphSources(string runDir)
    {
        if (NotAFolder(runDir) is { } why) throw new TrainingException(why);
        var graph = ReadGraph(runDir);
        string Text(string file)
        {
            var path = Path.Combine(runDir, file);
            try { return File.Exists(path) ? File.ReadAllText(path) : ""; }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new TrainingException($"'{path}' is unreadable: {e.Message}", e);
            }
        }
        var overrides = Text(OverridesFile).Split('\n').Select(l => l.TrimEnd('\r')).Where(l => l.Trim().Length > 0).ToList();
        return (graph, new GraphSources(Text(SpecFile), overrides));
    }

    /// <summary>
    /// Creates <c>&lt;root&gt;/&lt;spec&gt;-&lt;yyyyMMdd-HHmmss&gt;</c> (local time) and returns its full path; if that
    /// exists, <c>-2</c>, <c>-3</c>, … is appended. <paramref name="spec"/> may be a spec file path: its
    /// name without extension is used, with characters unsafe in file names replaced by '_'.
    /// </summary>
    public static string Create(string root, string spec, DateTime? now = null) => CreateNamed(root, Path.GetFileNameWithoutExtension(spec), now);

    /// <summary>
    /// As <see cref="Create"/> for a run name the user chose (<c>--name lr0.01</c>): the whole name, with characters unsafe
    /// in file names ('/', whitespace) replaced by '_' — no extension is cut off (<c>lr0.01</c> stays <c>lr0.01</c>, not
    /// <c>lr0</c>) and no folder is dropped (<c>a/b</c> is <c>a_b</c>, not <c>b</c>).
    /// </summary>
    public static string CreateNamed(string root, string name, DateTime? now = null)
    {
        name = SafeName(name);
        string stamp = (now ?? DateTime.Now).ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture);
        string baseDir = Path.GetFullPath(Path.Combine(root, $"{name}-{stamp}"));
        try
        {
            AtomicFile.CreateFolder(Path.GetDirectoryName(baseDir)!);
            for (int i = 1; ; i++)
            {
                string candidate = i == 1 ? baseDir : $"{baseDir}-{i}";
                if (Directory.Exists(candidate) || File.Exists(candidate)) continue;
                // CreateDirectory succeeds on an existing directory, so claim the name with a marker
                // file created exclusively: two processes starting in the same second get different dirs.
                Directory.CreateDirectory(candidate);
                try
                {
                    using (new FileStream(Path.Combine(candidate, ".run"), FileMode.CreateNew, FileAccess.Write)) { }
                }
                catch (IOException) when (File.Exists(Path.Combine(candidate, ".run")))
                {
                    continue;
                }
                return candidate;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RunFileException(baseDir, $"could not create run directory '{baseDir}': {e.Message}", e);
        }
    }

    public static string SafeName(string name)
    {
        var invalid = Path.GetInvalidFileNameChars();
        var sb = new StringBuilder(name.Length);
        foreach (char c in name) sb.Append(invalid.Contains(c) || char.IsWhiteSpace(c) ? '_' : c);
        return sb.Length == 0 ? "run" : sb.ToString();
    }
}
