using ArchDsl.Compiler;
using ArchDsl.Runtime.Distributed;

namespace ArchDsl.Runtime.Training;

/// <summary>A data-parallel run's start: joining the other workers, and the run directory only rank 0 makes and writes.</summary>
public static partial class Trainer
{
    /// <summary>
    /// The worker's <see cref="DataParallel"/> when <see cref="TrainOptions.Distributed"/> has more than one rank, else
    /// null; <paramref name="device"/> (the run's, else the train key's) chooses the backend.
    /// </summary>
    private static DataParallel? JoinWorld(TrainOptions options, IrGraph graph, string? device) =>
        options.Distributed is { WorldSize: > 1 } d ? DataParallel.Join(d, ConfigHash.Of(graph), device ?? graph.Train.Loop.Device) : null;

    /// <summary>Rank 0 makes the run directory and tells the others where it is (or why there is none).</summary>
    private static string CreateShared(DataParallel? world, Func<string> create)
    {
        string runDir;
        try { runDir = create(); }
        catch (Exception e) { world?.PublishRunDirectory(null, e.Message); throw; }
        world?.PublishRunDirectory(runDir);
        return runDir;
    }

    /// <summary>A rank other than 0 trains in rank 0's run directory without writing to it.</summary>
    private static TrainResult TrainWorker(DataParallel world, IrGraph graph, TrainOptions options)
    {
        var runDir = world.ReceiveRunDirectory();
        var info = new RunInfo
        {
            Arch = graph.Arch, CheckpointEvery = options.CheckpointEvery, LogEvery = options.LogEvery,
            Threads = options.Threads ?? Environment.ProcessorCount, Device = options.Device, EvalBatch = options.EvalBatch,
            ConfigHash = Training.ConfigHash.Of(graph),
        };
        using var session = new TrainSession(graph, runDir, info, options, resume: false, world: world);
        return session.Run();
    }
}
