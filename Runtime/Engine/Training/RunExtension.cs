using System.Globalization;
using ArchDsl.Compiler;

namespace ArchDsl.Runtime.Training;

/// <summary>
/// Extending a run with more epochs (<c>archc train --resume RUN --epochs N</c>), the way timm's <c>train.py</c>
/// treats <c>--resume</c> with a larger <c>--epochs</c>: N is the run's new total, and the learning-rate schedule is
/// the train section's schedule recomputed for N epochs, exactly as if the run had been started with
/// <c>--epochs N</c>. Steps already trained keep the rates they were trained with (their metrics records are left as
/// they are), so at the join the rate jumps from the old schedule's value to the new one's at that step: for a
/// cosine or one-cycle run that had annealed to its floor, back up to where an N-epoch run would be at that point;
/// a constant schedule does not change. Momentum (one-cycle's β1), the optimizer state, the data order (a function
/// of seed and epoch) and the best-on-val selection continue. A finished run's <c>summary.yaml</c> is kept as
/// <c>summary.&lt;E&gt;-epochs.yaml</c> and its test record stays in <c>metrics.jsonl</c>; <c>graph.yaml</c> and
/// <c>run.json</c> (its config hash and an <see cref="EpochExtension"/>) are rewritten for N epochs.
/// </summary>
internal static class RunExtension
{
    /// <summary>
    /// What extending the run to <paramref name="epochs"/> changes, computed from what was read and writing nothing:
    /// in a data-parallel resume every rank plans (before the rendezvous, so no rank reads a file another has already
    /// rewritten) and only rank 0 <see cref="Commit"/>s, after it.
    /// </summary>
    /// <exception cref="TrainingException"><paramref name="epochs"/> is not above the run's epochs.</exception>
    public static Plan Prepare(string runDir, IrGraph graph, RunInfo info, int epochs)
    {
        int current = graph.Train.Loop.Epochs;
        if (epochs <= current)
            throw new TrainingException($"run '{runDir}' has {current} epoch(s) in all; --epochs with --resume is the new total, " +
                                        $"so give more than {current} (e.g. --epochs {current + 1})");
        var last = RunDirectory.CheckpointPath(runDir, RunDirectory.Last);
        long atStep = File.Exists(last) ? Checkpoint.ReadState(last).Step : 0;
        string? archived = RunDirectory.IsFinished(runDir) ? $"summary.{current.ToString(CultureInfo.InvariantCulture)}-epochs.yaml" : null;
        var values = new Dictionary<string, object>(graph.Train.Values, StringComparer.Ordinal) { ["epochs"] = (long)epochs };
        var extended = graph with { Train = new TrainConfig(values) };
        Trainer.CheckTrainConfig(extended.Train, $"the run extended to {epochs} epochs");
        info = info with
        {
            ConfigHash = ConfigHash.Of(extended),
            Extensions = [.. info.Extensions, new EpochExtension(current, epochs, atStep, archived, Checkpoint.Timestamp())],
        };
        return new Plan(extended, info, archived);
    }

    /// <summary>Writes <paramref name="plan"/> into <paramref name="runDir"/>: the finished run's summary archived, <c>graph.yaml</c> and <c>run.json</c> rewritten.</summary>
    public static void Commit(string runDir, Plan plan)
    {
        // The old summary first: a kill after this leaves an unfinished run that a plain --resume completes again.
        if (plan.ArchivedSummary is { } archived)
            File.Move(RunDirectory.SummaryOf(runDir), Path.Combine(runDir, archived), overwrite: true);
        RunDirectory.WriteGraph(runDir, plan.Graph);
        RunDirectory.WriteRunInfo(runDir, plan.Info);
    }

    /// <summary>The extended run: its graph (the new epoch count), its run info (new config hash, one more <see cref="EpochExtension"/>) and the name the finished run's summary is kept under (null if it was not finished).</summary>
    public sealed record Plan(IrGraph Graph, RunInfo Info, string? ArchivedSummary);
}
