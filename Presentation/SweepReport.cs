using System.Globalization;
using System.Text;
using ArchDsl.Runtime.Sweep;
using ArchDsl.Runtime.Training;

namespace ArchDsl.Presentation;

/// <summary>
/// The sweep's report: <c>results.md</c> and <c>results.csv</c> (a row per configuration: its overrides,
/// params, mult-adds, seeds done, accuracy mean ± sample std in percent, each seed's accuracy, mean
/// train seconds and images/s), charts as PNG and SVG (<see cref="ChartsOf"/>), and <c>index.html</c> holding the
/// table and showing the charts (referenced by file name: the folder is self-contained). All written atomically.
/// </summary>
public static class SweepReport
{
    public const string Markdown = "results.md", Csv = "results.csv", Html = "index.html";
    /// <summary>Chart names: each is written as <c>&lt;name&gt;.png</c> and <c>&lt;name&gt;.svg</c>.</summary>
    public const string ScatterChart = "accuracy-vs-params", AccuracyChart = "curves-accuracy", LossChart = "curves-loss";

    public static IReadOnlyList<string> WriteAll(SweepPlan plan, SweepResults results)
    {
        var files = new List<string>();
        void Write(string name, string text)
        {
            var path = Path.Combine(plan.ReportDir, name);
            AtomicFile.WriteAllText(path, text);
            files.Add(path);
        }
        Write(Markdown, ToMarkdown(results));
        Write(Csv, ToCsv(results));
        // A chart that cannot be drawn (no renderer on this machine) leaves the tables whole: the page says why.
        var charts = new List<Figure>();
        string? failed = null;
        foreach (var figure in ChartsOf(results))
        {
            try { files.AddRange(Charts.Write(figure, plan.ReportDir)); charts.Add(figure); }
            catch (Exception e) when (e is not OutOfMemoryException) { failed ??= $"{figure.Name}: {e.GetBaseException().Message}"; }
        }
        Write(Html, ToHtml(results, charts, failed));
        return files;
    }

    static string Set(SweepResults r) => r.Configs.Select(c => c.AccuracySet).FirstOrDefault(s => s is not null) ?? "test";

    public static string Percent(double? fraction, string format = "0.00") =>
        fraction is { } f ? (100 * f).ToString(format, CultureInfo.InvariantCulture) : "";

    /// <summary><c>91.23 ± 0.45</c>; one run: <c>91.23 (1 seed)</c>; none: <c>not run</c>.</summary>
    public static string AccuracyText(ConfigResult c) => c.SeedsDone switch
    {
        0 => "not run",
        1 => $"{Percent(c.AccuracyMean)} (1 seed)",
        _ => $"{Percent(c.AccuracyMean)} ± {Percent(c.AccuracyStd)}",
    };

    static string Count(long n) => n.ToString("N0", CultureInfo.InvariantCulture);
    static string Fixed(double? x, string format) => x is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "";

    static string Context(SweepResults r)
    {
        var f = r.Plan.File;
        var specs = r.Plan.Configs.Select(c => Path.GetFileName(c.Spec)).Distinct().ToList();
        var lines = new List<string>
        {
            $"Spec{(specs.Count == 1 ? "" : "s")}: {string.Join(", ", specs)}; seeds: {string.Join(", ", f.Seeds)}",
        };
        if (f.Budget.Count > 0) lines.Add("Budget: " + string.Join(", ", f.Budget.Select(kv => $"train.{kv.Key}={kv.Value}")));
        if (f.Set.Count > 0) lines.Add("Common overrides: " + string.Join(", ", f.Set.Select(kv => $"{kv.Key}={kv.Value}")));
        lines.Add($"Accuracy: final {Set(r)} accuracy in %, mean ± sample standard deviation (n − 1) over the seeds that finished; " +
                  "time: mean training seconds per run (evaluation excluded); images/s: mean training throughput.");
        return string.Join("\n", lines);
    }

    public static string ToMarkdown(SweepResults r)
    {
        var sb = new StringBuilder();
        sb.Append("# Sweep: ").Append(r.Plan.File.Name).Append("\n\n");
        foreach (var line in Context(r).Split('\n')) sb.Append(line).Append("  \n");
        sb.Append('\n');
        sb.Append($"| point | overrides | params | mult-adds | seeds | {Set(r)} accuracy (%) | per seed (%) | train time (s) | images/s |\n");
        sb.Append("|---|---|---:|---:|---:|---:|---|---:|---:|\n");
        foreach (var c in r.Configs)
        {
            sb.Append("| ").Append(Md(c.Config.Label))
              .Append(" | ").Append(Md(c.Config.VariedText))
              .Append(" | ").Append(Count(c.Params))
              .Append(" | ").Append(Count(c.MultAdds))
              .Append(" | ").Append(c.SeedsDone).Append('/').Append(c.SeedsPlanned)
              .Append(" | ").Append(AccuracyText(c))
              .Append(" | ").Append(string.Join(", ", c.Runs.Select(x => $"{x.Seed}: {Percent(x.Run.Accuracy)}")))
              .Append(" | ").Append(Fixed(c.TrainSecondsMean, "0.0"))
              .Append(" | ").Append(Fixed(c.ImagesPerSecondMean, "0"))
              .Append(" |\n");
        }
        return sb.ToString();
    }

    static string Md(string s) => s.Replace("|", "\\|");

    public static string ToCsv(SweepResults r)
    {
        var sb = new StringBuilder();
        sb.Append("id,label,spec,overrides,params,mult_adds,seeds_done,seeds_planned,accuracy_set,accuracy_mean_pct,accuracy_std_pct,accuracy_per_seed_pct,train_s_mean,images_per_s_mean\n");
        foreach (var c in r.Configs)
        {
            string[] cells =
            [
                c.Config.Id, c.Config.Label, Path.GetFileName(c.Config.Spec), string.Join(" ", c.Config.Varied),
                c.Params.ToString(CultureInfo.InvariantCulture), c.MultAdds.ToString(CultureInfo.InvariantCulture),
                c.SeedsDone.ToString(CultureInfo.InvariantCulture), c.SeedsPlanned.ToString(CultureInfo.InvariantCulture),
                c.AccuracySet ?? "", Percent(c.AccuracyMean, "0.####"), Percent(c.AccuracyStd, "0.####"),
                string.Join(";", c.Runs.Select(x => $"{x.Seed}:{Percent(x.Run.Accuracy, "0.####")}")),
                Fixed(c.TrainSecondsMean, "0.###"), Fixed(c.ImagesPerSecondMean, "0.#"),
            ];
            sb.Append(string.Join(",", cells.Select(CsvCell))).Append('\n');
        }
        return sb.ToString();
    }

    static string CsvCell(string s) => s.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + s.Replace("\"", "\"\"") + "\"" : s;

    /// <summary>
    /// The charts that have data (drawn with <see cref="Charts"/>, as run reports are): accuracy vs parameters (each
    /// seed a faint point, the mean with ±std bars and the configuration's label) — or, when two configurations have
    /// the same parameter count, accuracy per configuration (x categorical); per configuration, the evaluation
    /// accuracy per epoch and the smoothed training loss per logged step (<see cref="RunCurves"/>; x in epochs), each
    /// the mean over the seeds with a mean ± std band.
    /// </summary>
    public static IReadOnlyList<Figure> ChartsOf(SweepResults r)
    {
        var figures = new List<Figure>();
        var done = r.Configs.Where(c => c.SeedsDone > 0).ToList();
        if (done.Count == 0) return figures;
        var set = Set(r);
        // Parameters on x separate the configurations only when no two share a count (a kernel-size grid); a grid
        // over choices of the same size (norm, residual, recipe) would stack into one column: then x is the configuration.
        bool byParams = done.Select(c => c.Params).Distinct().Count() == done.Count;
        var scatter = new List<Series>();
        for (int i = 0; i < done.Count; i++)
        {
            var c = done[i];
            double x = byParams ? c.Params : i;
            scatter.Add(new Series(null, c.Runs.Select(_ => x).ToList(), c.Runs.Select(r => 100 * r.Run.Accuracy).ToList(), SeriesKind.FaintPoints, i));
            scatter.Add(new Series(c.Config.Label, [x], [100 * c.AccuracyMean!.Value], SeriesKind.Points, i)
                { YError = c.AccuracyStd is { } sd ? [100 * sd] : null, PointLabels = byParams ? [c.Config.Label] : null });
        }
        figures.Add(byParams
            ? new Figure(ScatterChart, $"{r.Plan.File.Name}: {set} accuracy vs parameters (seeds, mean ± std)", "parameters", $"{set} accuracy (%)",
                scatter, CompactX: true)
            : new Figure(ScatterChart, $"{r.Plan.File.Name}: {set} accuracy per configuration (seeds, mean ± std)",
                ParamsNote(done), $"{set} accuracy (%)", scatter, XCategories: done.Select(c => c.Config.Label).ToList()));

        var acc = new List<Series>();
        var loss = new List<Series>();
        for (int i = 0; i < done.Count; i++)
        {
            var c = done[i];
            var curves = c.Runs.Select(x => RunCurves.Of([.. x.Run.Steps, .. x.Run.Epochs])).ToList();
            AddMeanBand(acc, c.Config.Label, i, curves.Select(k => EvalAccuracy(k)).ToList(), scale: 100);
            AddMeanBand(loss, c.Config.Label, i, curves.Select(k => ((IReadOnlyList<double>)k.StepX, k.SmoothedLoss)).ToList(), scale: 1);
        }
        if (acc.Count > 0)
            figures.Add(new Figure(AccuracyChart, $"{r.Plan.File.Name}: {set} accuracy per epoch (mean ± std over seeds)", "epoch", $"{set} accuracy (%)", acc, IntegerX: true));
        if (loss.Count > 0)
            figures.Add(new Figure(LossChart, $"{r.Plan.File.Name}: training loss per step (smoothed, mean ± std over seeds)", "epoch",
                "cross-entropy (batch, smoothed)", loss, IntegerX: true));
        return figures;
    }

    /// <summary>The x-axis title of a per-configuration chart: the one parameter count, or the range of them.</summary>
    static string ParamsNote(IReadOnlyList<ConfigResult> done)
    {
        long lo = done.Min(c => c.Params), hi = done.Max(c => c.Params);
        return lo == hi ? $"configuration (each {Count(lo)} parameters)" : $"configuration ({Count(lo)}–{Count(hi)} parameters)";
    }

    static (IReadOnlyList<double> X, IReadOnlyList<double> Y) EvalAccuracy(RunCurves c)
    {
        var e = c.Epochs.Where(x => x.EvalAccuracy is not null).ToList();
        return (e.Select(x => (double)x.Epoch).ToList(), e.Select(x => x.EvalAccuracy!.Value).ToList());
    }

    /// <summary>The mean over seeds at each x that every seed has, as a line, and mean ± sample std as a band (2+ seeds).</summary>
    static void AddMeanBand(List<Series> into, string label, int color, IReadOnlyList<(IReadOnlyList<double> X, IReadOnlyList<double> Y)> seeds, double scale)
    {
        var at = seeds.SelectMany(s => s.X.Zip(s.Y)).GroupBy(p => p.First).Where(g => g.Count() == seeds.Count).OrderBy(g => g.Key)
            .Select(g => (X: g.Key, Values: g.Select(p => scale * p.Second).ToList())).ToList();
        if (at.Count == 0) return;
        var xs = at.Select(a => a.X).ToList();
        var mean = at.Select(a => a.Values.Average()).ToList();
        if (seeds.Count > 1)
        {
            var std = at.Select(a => Stats.SampleStd(a.Values) ?? 0).ToList();
            into.Add(new Series(null, xs, mean.Zip(std, (m, s) => m - s).ToList(), SeriesKind.Band, color) { Upper = mean.Zip(std, (m, s) => m + s).ToList() });
        }
        into.Add(new Series(label, xs, mean, SeriesKind.Line, color));
    }

    public static string ToHtml(SweepResults r, IReadOnlyList<Figure> charts, string? chartError = null)
    {
        static string E(string s) => HtmlPage.E(s);
        var sb = new StringBuilder();
        foreach (var line in Context(r).Split('\n')) sb.Append("<p>").Append(E(line)).Append("</p>\n");
        sb.Append($"<table>\n<tr><th>point</th><th>overrides</th><th>params</th><th>mult-adds</th><th>seeds</th><th>{E(Set(r))} accuracy (%)</th><th>per seed (%)</th><th>train time (s)</th><th>images/s</th></tr>\n");
        foreach (var c in r.Configs)
        {
            sb.Append("<tr><td>").Append(E(c.Config.Label)).Append("</td><td>").Append(E(c.Config.VariedText))
              .Append("</td><td class=\"n\">").Append(Count(c.Params)).Append("</td><td class=\"n\">").Append(Count(c.MultAdds))
              .Append("</td><td class=\"n\">").Append(c.SeedsDone).Append('/').Append(c.SeedsPlanned)
              .Append("</td><td class=\"n\">").Append(E(AccuracyText(c)))
              .Append("</td><td>").Append(E(string.Join(", ", c.Runs.Select(x => $"{x.Seed}: {Percent(x.Run.Accuracy)}"))))
              .Append("</td><td class=\"n\">").Append(Fixed(c.TrainSecondsMean, "0.0"))
              .Append("</td><td class=\"n\">").Append(Fixed(c.ImagesPerSecondMean, "0")).Append("</td></tr>\n");
        }
        sb.Append("</table>\n");
        if (chartError is not null) sb.Append("<p>Charts could not be drawn on this machine (").Append(E(chartError)).Append(").</p>\n");
        else if (charts.Count == 0) sb.Append("<p>No finished runs yet: no charts.</p>\n");
        foreach (var figure in charts) sb.Append(HtmlPage.Figure(figure));
        // The run directories are named, not linked: the report folder is self-contained (it is committed; they are not).
        sb.Append("<p>Files: ").Append(E(Markdown)).Append(", ").Append(E(Csv)).Append("; run directories under ")
          .Append(E(Path.GetRelativePath(r.Plan.ReportDir, Path.Combine(r.Plan.OutputDir, SweepPlan.PointsDir)).Replace('\\', '/'))).Append(".</p>\n");
        return HtmlPage.Page($"Sweep: {r.Plan.File.Name}", sb.ToString());
    }
}
