using ArchDsl.Compiler;
using ArchDsl.Runtime.Model;
using ArchDsl.Runtime.Training;

namespace ArchDsl.Runtime.Export;

/// <summary>An export's or a prediction's error the user can cause (no checkpoint, an unwritable folder, an op with no export form): print the message.</summary>
public sealed class ExportException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// What an exporter works from: the model with its weights and its <see cref="ModelCard"/> (input, normalisation,
/// class names). From a run: the graph it saved, its best checkpoint (else its last) and its <c>model.json</c>. From a
/// run made before <c>model.json</c> existed, the same facts from its checkpoint, spec and data (<see cref="ModelCard.ReadOrRebuild"/>). From a
/// spec: the compiled graph with its initial weights (seeded by the train section's seed), no normalisation and
/// classes named <c>class_i</c>.
/// </summary>
public sealed class ExportSource : IDisposable
{
    private ExportSource(IrModel model, ModelCard card, string origin) { Model = model; Card = card; Origin = origin; }

    public IrModel Model { get; }
    public ModelCard Card { get; }
    /// <summary>Where it came from, for the exported file's header: the checkpoint path or the spec.</summary>
    public string Origin { get; }
    public IrGraph Graph => Model.Graph;

    /// <exception cref="ExportException">not a run directory, no checkpoint, a checkpoint that does not fit, or an old run (no model.json) whose data cannot be loaded.</exception>
    public static ExportSource FromRun(string runDir)
    {
        runDir = Path.GetFullPath(runDir);
        try
        {
            if (RunDirectory.NotAFolder(runDir) is { } why) throw new ExportException(why);
            var graph = RunDirectory.ReadGraph(runDir);
            var card = ModelCard.ReadOrRebuild(runDir, graph);
            var weights = card.WeightsPath(runDir);
            var model = new IrModel(graph);
            try { Checkpoint.Load(weights, model, null); }
            catch { model.Dispose(); throw; }
            model.eval();
            return new ExportSource(model, card, weights);
        }
        catch (TrainingException e) { throw new ExportException(e.Message, e); }
    }

    /// <summary>A compiled spec with its initial weights (<paramref name="seed"/>).</summary>
    public static ExportSource FromGraph(IrGraph graph, string spec, long seed)
    {
        if (graph.Input.Layout != Layout.Image)
            throw new ExportException($"{graph.Arch}'s input is {graph.Input}; export takes image classifiers");
        int classes;
        try { classes = Trainer.Classes(graph); }
        catch (TrainingException e) { throw new ExportException(e.Message, e); }
        var card = new ModelCard
        {
            Arch = graph.Arch,
            Input = new ModelCard.ModelInput { Channels = graph.Input.Dims[0], Height = graph.Input.Dims[1], Width = graph.Input.Dims[2] },
            Classes = ModelCard.ClassNames([], classes),
        };
        var model = new IrModel(graph, seed);
        model.eval();
        return new ExportSource(model, card, spec);
    }

    /// <summary>A model and card as they are (tests; the model is disposed with the source).</summary>
    internal static ExportSource Of(IrModel model, ModelCard card, string origin) => new(model, card, origin);

    public void Dispose() => Model.Dispose();
}

/// <summary>Writes an export's files together: each to a temporary name in the folder first, then all renamed — an
/// error (an unwritable folder, a full disk) leaves none of them written and earlier exports as they were.</summary>
public static class ExportFiles
{
    /// <summary>Writes <paramref name="files"/> (name, bytes) into <paramref name="outDir"/>; returns their full paths.</summary>
    /// <exception cref="ExportException">the folder cannot be made or a file cannot be written; the message names it.</exception>
    public static string[] Write(string outDir, IReadOnlyList<(string Name, byte[] Bytes)> files)
    {
        var dir = Path.GetFullPath(outDir);
        var temps = new List<string>();
        try
        {
            AtomicFile.CreateFolder(dir);
            foreach (var (name, bytes) in files)
            {
                var tmp = Path.Combine(dir, $".{name}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
                temps.Add(tmp);
                using var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None);
                fs.Write(bytes);
                fs.Flush(flushToDisk: true);
            }
            for (var i = 0; i < files.Count; i++) File.Move(temps[i], Path.Combine(dir, files[i].Name), overwrite: true);
            return files.Select(f => Path.Combine(dir, f.Name)).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            foreach (var t in temps) try { File.Delete(t); } catch (Exception) { /* the error matters more */ }
            throw new ExportException($"could not write the export to '{dir}': {e.Message}", e);
        }
    }
}
