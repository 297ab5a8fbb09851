using ArchDsl.Compiler;
using ArchDsl.Runtime.Training;

namespace ArchDsl.Runtime.Sweep;

/// <summary>
/// The real <see cref="IPointTrainer"/>: each point is a <see cref="Trainer.Train"/> run named <c>run</c>
/// under the point's folder, with the sweep's threads, device and log interval; an unfinished one
/// continues through <see cref="Trainer.Resume"/>. Ctrl-C / SIGTERM (or <paramref name="cancel"/>)
/// makes the trainer save a checkpoint and return interrupted, which stops the sweep.
/// </summary>
public sealed class TrainerPointTrainer(IProgressSink? progress = null, CancellationToken cancel = default, bool handleSignals = true) : IPointTrainer
{
    public PointRunOutcome Train(SweepPoint point, IrGraph graph, string runsRoot, SweepFile sweep)
    {
        var result = Trainer.Train(graph, new TrainOptions
        {
            RunsRoot = runsRoot,
            RunName = "run",
            Specs = [new SpecSource(point.Config.Spec, File.ReadAllText(point.Config.Spec))],
            Overrides = point.Overrides,
            Device = sweep.Device,
            Threads = sweep.Threads,
            LogEvery = sweep.LogEvery,
            Progress = progress,
            HandleSignals = handleSignals,
            Cancellation = cancel,
        });
        return new PointRunOutcome(result.RunDir, result.Outcome == TrainOutcome.Completed);
    }

    public PointRunOutcome Resume(SweepPoint point, string runDir, SweepFile sweep)
    {
        var result = Trainer.Resume(runDir, new TrainOptions
        {
            Progress = progress,
            HandleSignals = handleSignals,
            Cancellation = cancel,
            Threads = sweep.Threads,
            Device = sweep.Device,
        });
        return new PointRunOutcome(result.RunDir, result.Outcome == TrainOutcome.Completed);
    }
}
