using ArchDsl.Compiler;
using ArchDsl.Torch;

namespace ArchDsl.Runtime.Training;

/// <summary>
/// Trains a compiled graph and keeps its run directory (layout: <see cref="RunDirectory"/>). Every file is
/// written to a temporary name and renamed (<see cref="AtomicFile"/>); the metrics log appends whole flushed
/// lines. On CPU a seed fixes the whole loss curve: data order, augmentation and torch's generator
/// (re-seeded from (seed, step) before every step) depend on nothing else, which is also why a resumed run
/// continues exactly as an uninterrupted one. The loop itself is <see cref="TrainSession"/>; the helpers it
/// shares with <see cref="Evaluator"/> are in Trainer.Setup.cs and Trainer.Evaluation.cs.
/// </summary>
public static partial class Trainer
{
    /// <summary>Starts a new run of <paramref name="graph"/> in a new run directory under <see cref="TrainOptions.RunsRoot"/>.</summary>
    /// <exception cref="TrainingException">bad input, a non-finite loss or a file that could not be written; the message says which.</exception>
    public static TrainResult Train(IrGraph graph, TrainOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        options ??= new TrainOptions();
        if (options.CheckpointEvery < 0) throw new TrainingException($"checkpoint interval must be ≥ 0 steps, got {options.CheckpointEvery}");
        if (options.LogEvery < 1) throw new TrainingException($"log interval must be ≥ 1 step, got {options.LogEvery}");
        CheckTrainConfig(graph.Train, "the graph's train config"); // a graph not compiled from source: before anything is written
        string name = options.RunName ?? Path.GetFileNameWithoutExtension(options.Specs.Count > 0 ? options.Specs[0].Path : graph.Arch.ToLowerInvariant());
        string? initFrom = options.Init is { } init ? Evaluator.Locate(init).Checkpoint : null; // an unknown run: an error before a directory is made
        using var world = JoinWorld(options, graph, options.Device);
        return Translating(world, () =>
        {
            if (world is { IsMain: false }) return TrainWorker(world, graph, options);
            string runDir = CreateShared(world, () => RunDirectory.CreateNamed(options.RunsRoot, name));
            var info = new RunInfo
            {
                Arch = graph.Arch,
                Created = Checkpoint.Timestamp(),
                CheckpointEvery = options.CheckpointEvery,
                LogEvery = options.LogEvery,
                Threads = options.Threads ?? Environment.ProcessorCount,
                Device = options.Device,
                EvalBatch = options.EvalBatch,
                Overrides = options.Overrides.ToArray(),
                Specs = options.Specs.Select(s => s.Path).ToArray(),
                ConfigHash = Training.ConfigHash.Of(graph),
                InitFrom = initFrom,
                WorldSizes = [options.Distributed?.WorldSize ?? 1],
            };
            RunDirectory.WriteRunInfo(runDir, info);
            RunDirectory.WriteSources(runDir, graph, options.Specs, options.Overrides);
            try
            {
                using var session = new TrainSession(graph, runDir, info, options, resume: false, world: world);
                return session.Run();
            }
            catch (Exception) when (!File.Exists(RunDirectory.CheckpointPath(runDir, RunDirectory.Last)))
            {
                // Failed before anything worth keeping (missing data, a bad key): leave no half-made run behind.
                try { Directory.Delete(runDir, recursive: true); } catch (Exception) { /* the error matters more */ }
                throw;
            }
        });
    }

    /// <summary>
    /// Continues the run in <paramref name="runDir"/> from its last checkpoint (the start, if it was stopped before
    /// the first one). <paramref name="options"/> supplies the progress sink, signal handling and cancellation;
    /// intervals, threads and device are the run's own unless given. With <paramref name="extendTo"/> the run — finished
    /// or not — is extended to that many epochs in all (<see cref="EpochExtension"/> says what happens to the schedule).
    /// </summary>
    /// <exception cref="TrainingException">no such run, a damaged one, a finished one without <paramref name="extendTo"/>, <paramref name="extendTo"/>
    /// below 1, or <paramref name="extendTo"/> not above the run's epochs.</exception>
    public static TrainResult Resume(string runDir, TrainOptions? options = null, int? extendTo = null)
    {
        options ??= new TrainOptions();
        // an epoch count that no run could have, said as such before the run is read (not "give more than N")
        if (extendTo is < 1)
            throw new TrainingException($"--epochs must be a positive integer, got {extendTo}: with --resume it is the run's new number of epochs in all");
        runDir = Path.GetFullPath(runDir);
        if (RunDirectory.NotAFolder(runDir) is { } why) throw new TrainingException(why);
        var info = RunDirectory.ReadRunInfo(runDir);
        if (info.LogEvery < 1 || info.CheckpointEvery < 0 || info.EvalBatch is < 1 || info.Threads is < 1)
            throw new TrainingException($"'{Path.Combine(runDir, RunDirectory.RunFile)}' holds log_every {info.LogEvery}, checkpoint_every {info.CheckpointEvery}, " +
                                        $"eval_batch {info.EvalBatch?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"}, " +
                                        $"threads {info.Threads?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "null"}: " +
                                        "log_every must be ≥ 1, checkpoint_every ≥ 0, eval_batch and threads null or ≥ 1");
        if (extendTo is null && RunDirectory.IsFinished(runDir))
            throw new TrainingException($"run '{runDir}' is already complete ({RunDirectory.SummaryFile} is written); " +
                                        $"extend it with: archc train --resume {runDir} --epochs N (N epochs in all), or start a new run");
        var graph = RunDirectory.ReadGraph(runDir);
        bool finished = RunDirectory.IsFinished(runDir);
        // Every rank reads the run and plans the extension before the rendezvous; rank 0 writes only after it, so no
        // rank reads a graph.yaml or run.json that another has already rewritten.
        var extension = extendTo is { } epochs ? RunExtension.Prepare(runDir, graph, info, epochs) : null;
        if (extension is not null) (graph, info) = (extension.Graph, extension.Info);
        info = info with
        {
            Threads = options.Threads ?? info.Threads,
            Device = options.Device ?? info.Device,
            Resumes = info.Resumes + 1,
            WorldSizes = [.. info.WorldSizes, options.Distributed?.WorldSize ?? 1],
        };
        using var world = JoinWorld(options, graph, info.Device);
        return Translating(world, () =>
        {
            if (world is not { IsMain: false })
            {
                // run.json once, as this resume runs it: the extension's info with this start's threads, device and world size.
                if (extension is not null) RunExtension.Commit(runDir, extension with { Info = info });
                else RunDirectory.WriteRunInfo(runDir, info);
            }
            using var session = new TrainSession(graph, runDir, info, options, resume: true, keepLog: finished, world: world);
            return session.Run();
        });
    }

    /// <summary>Runs <paramref name="train"/>, turning file and libtorch failures into <see cref="TrainingException"/>s with their message.</summary>
    private static TrainResult Translating(Distributed.DataParallel? world, Func<TrainResult> train)
    {
        try { return train(); }
        catch (TorchException e) when (world?.Explain(e) is { } lost) { throw new TrainingException(lost, e); }
        catch (RunFileException e) { throw new TrainingException(e.Message, e); }
        catch (TorchException e) { throw new TrainingException($"libtorch failed: {e.Message}", e); }
        catch (TorchNativeLibraryException e) { throw new TrainingException(e.Message, e); }
    }

    /// <summary>Refuses a train config that breaks the compiler's rules (the compiler's own check; see <see cref="TrainSchema.Check"/>).</summary>
    internal static void CheckTrainConfig(TrainConfig train, string what)
    {
        if (TrainSchema.Check(train) is { Count: > 0 } errors)
            throw new TrainingException($"{what} is not a valid train config: {string.Join("; ", errors)}");
    }
}
