using System.Globalization;

namespace ArchDsl.Runtime.Sweep;

/// <summary>
/// How long the points still to train should take, for <c>archc sweep --dry-run</c>: training time grows with a model's
/// mult-adds per image × the epochs (forward and backward together cost a constant multiple of the forward's
/// mult-adds), so the seconds per (mult-add × epoch) measured by this sweep's finished points (their
/// <c>summary.yaml</c> train time) are multiplied by each unfinished point's mult-adds × epochs. It assumes the
/// points train on the same images per epoch, on the same machine and threads, and leaves evaluation out; a
/// started point is counted whole. Without a finished point there is nothing measured, so no estimate.
/// </summary>
public sealed record SweepEstimate(TimeSpan? Remaining, int PointsLeft, int PointsMeasured, double? SecondsPerGigaMultAddEpoch)
{
    public static SweepEstimate Of(SweepPlan plan, IReadOnlyList<CompiledConfig> compiled)
    {
        var byId = compiled.ToDictionary(c => c.Config.Id);
        static double Work(CompiledConfig c) => (double)c.MultAdds * c.Graph.Train.Loop.Epochs;
        var statuses = SweepRunner.Status(plan);
        double seconds = 0, work = 0;
        int measured = 0;
        foreach (var s in statuses.Where(s => s.State == PointState.Finished))
        {
            if (RunReader.Read(s.RunDir!).TrainSeconds is not { } t) continue;
            seconds += t;
            work += Work(byId[s.Point.Config.Id]);
            measured++;
        }
        var left = statuses.Where(s => s.State != PointState.Finished).ToList();
        if (measured == 0 || work <= 0) return new SweepEstimate(null, left.Count, 0, null);
        double rate = seconds / work;
        var remaining = TimeSpan.FromSeconds(left.Sum(s => Work(byId[s.Point.Config.Id]) * rate));
        return new SweepEstimate(remaining, left.Count, measured, rate * 1e9);
    }

    /// <summary>One line for the plan: the estimate and what it is made from, or why there is none.</summary>
    public string Describe()
    {
        if (PointsLeft == 0) return "time: nothing left to train";
        if (Remaining is not { } r)
            return $"time: no estimate yet for the {PointsLeft} point(s) left: none of this sweep has finished (the estimate scales finished points' " +
                   "measured train time by mult-adds × epochs)";
        var rate = SecondsPerGigaMultAddEpoch!.Value.ToString("0.###", CultureInfo.InvariantCulture);
        return $"time: about {Training.Throughput.Format(r)} of training for the {PointsLeft} point(s) left — {rate} s per (10⁹ mult-adds × epoch) as " +
               $"measured by {PointsMeasured} finished point(s), times each point's mult-adds × epochs (same images per epoch assumed; evaluation not counted)";
    }
}
