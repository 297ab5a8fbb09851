namespace ArchDsl.Runtime.Sweep;

/// <summary>One configuration's results over its finished seeds. Accuracies are fractions; the std is the sample standard deviation (n − 1), null below 2 runs.</summary>
public sealed record ConfigResult(
    SweepConfig Config, long Params, long MultAdds, int SeedsPlanned, IReadOnlyList<(long Seed, RunRecord Run)> Runs)
{
    public int SeedsDone => Runs.Count;
    public string? AccuracySet => Runs.Select(r => r.Run.AccuracySet).Distinct().SingleOrDefault();
    public double? AccuracyMean => Runs.Count == 0 ? null : Runs.Average(r => r.Run.Accuracy);
    public double? AccuracyStd => Stats.SampleStd(Runs.Select(r => r.Run.Accuracy).ToList());
    public double? TrainSecondsMean => Stats.Mean(Runs.Select(r => r.Run.TrainSeconds));
    public double? ImagesPerSecondMean => Stats.Mean(Runs.Select(r => r.Run.ImagesPerSecond));

    /// <summary>Eval accuracy per epoch, averaged over the seeds that logged that epoch (all of them, when all finished).</summary>
    public IReadOnlyList<(double X, double Y)> AccuracyCurve() =>
        Runs.SelectMany(r => r.Run.Epochs.Where(e => e.EvalAccuracy is not null).Select(e => (e.Epoch, Acc: e.EvalAccuracy!.Value)))
            .GroupBy(t => t.Epoch).Where(g => g.Count() == Runs.Count).OrderBy(g => g.Key)
            .Select(g => ((double)g.Key, g.Average(t => t.Acc))).ToList();
}

public static class Stats
{
    public static double? Mean(IEnumerable<double?> values)
    {
        var v = values.Where(x => x is not null).Select(x => x!.Value).ToList();
        return v.Count == 0 ? null : v.Average();
    }

    /// <summary>The sample standard deviation (Bessel's n − 1); null for fewer than two values.</summary>
    public static double? SampleStd(IReadOnlyList<double> values)
    {
        if (values.Count < 2) return null;
        var mean = values.Average();
        return Math.Sqrt(values.Sum(x => (x - mean) * (x - mean)) / (values.Count - 1));
    }
}

/// <summary>Every configuration's results, in the sweep's order.</summary>
public sealed record SweepResults(SweepPlan Plan, IReadOnlyList<ConfigResult> Configs)
{
    /// <summary>Reads every finished run of the plan (points without one are left out of the means).</summary>
    public static SweepResults Collect(SweepPlan plan, IReadOnlyList<CompiledConfig> compiled)
    {
        var byId = compiled.ToDictionary(c => c.Config.Id);
        var results = plan.Configs.Select(c =>
        {
            var runs = plan.Points.Where(p => p.Config.Id == c.Id)
                .Select(p => SweepRunner.StatusOf(p, Training.ConfigHash.Of(SweepRunner.CompilePoint(p, plan.File.Device))))
                .Where(s => s.State == PointState.Finished)
                .Select(s => (s.Point.Seed, RunReader.Read(s.RunDir!)))
                .ToList();
            return new ConfigResult(c, byId[c.Id].Params, byId[c.Id].MultAdds, plan.File.Seeds.Count, runs);
        }).ToList();
        return new SweepResults(plan, results);
    }
}
