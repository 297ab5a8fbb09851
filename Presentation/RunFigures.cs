namespace ArchDsl.Presentation;

/// <summary>
/// The charts of one run or of several overlaid (<c>archc report</c>), from their <see cref="RunCurves"/>, x in epochs:
/// training loss per logged step (smoothed, raw values faint behind), learning rate, accuracy and loss per epoch on
/// each set, images/s per epoch. One run shows train, val and test in their own colours; several runs get a colour
/// each and show train dashed-faint and their evaluation set solid.
/// </summary>
public static class RunFigures
{
    public const string StepLoss = "train-loss", LearningRate = "lr", Accuracy = "accuracy", Loss = "loss", Throughput = "images-per-s";

    static readonly string[] Sets = ["train", "val", "test"];

    /// <summary>The figures that have data, in report order.</summary>
    public static IReadOnlyList<Figure> Of(IReadOnlyList<(string Label, RunCurves Curves)> runs)
    {
        bool one = runs.Count == 1;
        var figures = new List<Figure>();
        string? Label(int i, string what) => one ? what : $"{runs[i].Label}{(what.Length > 0 ? " " + what : "")}";

        var loss = new List<Series>();
        for (int i = 0; i < runs.Count; i++)
        {
            var c = runs[i].Curves;
            if (c.StepLoss.Count == 0) continue;
            loss.Add(new Series(one ? "batch loss" : null, c.StepX, c.StepLoss, SeriesKind.Faint, i));
            loss.Add(new Series(Label(i, one ? "smoothed" : ""), c.StepX, c.SmoothedLoss, SeriesKind.Line, i));
        }
        if (loss.Count > 0)
            figures.Add(new Figure(StepLoss, "Training loss per step (smoothed: TensorBoard's debiased EMA, weight 0.6)", "epoch", "cross-entropy (batch)", loss, IntegerX: true));

        var lr = runs.Select((r, i) => new Series(one ? null : r.Label, r.Curves.StepX, r.Curves.StepLr, SeriesKind.Line, i)).Where(s => s.X.Count > 0).ToList();
        if (lr.Count > 0) figures.Add(new Figure(LearningRate, "Learning rate", "epoch", "learning rate", lr, IntegerX: true));

        foreach (var (name, accuracy) in new[] { (Accuracy, true), (Loss, false) })
        {
            var series = new List<Series>();
            for (int i = 0; i < runs.Count; i++)
                for (int k = 0; k < Sets.Length; k++)
                {
                    var (xs, ys) = runs[i].Curves.PerEpoch(Sets[k], accuracy);
                    if (xs.Count == 0) continue;
                    if (accuracy) ys = ys.Select(y => 100 * y).ToList();
                    var kind = !one && Sets[k] == "train" ? SeriesKind.Faint : SeriesKind.Line;
                    series.Add(new Series(Label(i, Sets[k]), xs, ys, kind, one ? k : i));
                }
            for (int i = 0; i < runs.Count; i++)
                if (runs[i].Curves.Test is { } t)
                    series.Add(new Series(Label(i, "test, selected weights"), [t.Epoch], [accuracy ? 100 * t.TestAcc : t.TestLoss], SeriesKind.Points, one ? 3 : i));
            if (series.Count > 0)
                figures.Add(accuracy
                    ? new Figure(Accuracy, "Accuracy per epoch", "epoch", "accuracy (%)", series, IntegerX: true)
                    : new Figure(Loss, "Loss per epoch (train: running mean over the epoch; val/test: after it)", "epoch", "cross-entropy", series, IntegerX: true));
        }

        var ips = runs.Select((r, i) => new Series(one ? null : r.Label,
            r.Curves.Epochs.Select(e => (double)e.Epoch).ToList(), r.Curves.Epochs.Select(e => e.ImagesPerSecond).ToList(), SeriesKind.Line, i))
            .Where(s => s.X.Count > 0).ToList();
        if (ips.Count > 0) figures.Add(new Figure(Throughput, "Training throughput per epoch", "epoch", "images/s", ips, IntegerX: true, ZeroY: true));
        return figures;
    }
}
