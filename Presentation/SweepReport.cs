using System.Globalization;
using System.Text;
using ArchDsl.Runtime.Sweep;
using ArchDsl.Runtime.Training;

namespace ArchDsl.Presentation;

/// <summary>
/// The sweep's report: <c>results.md</c> and <c>results.csv</c> (a row per configuration: its overrides,
/// params, mult-adds, seeds done, accuracy mean ± sample std in percent, each seed's accuracy, mean
/// train seconds and images/s), SVG charts (accuracy vs parameters with ±std bars; eval accuracy per
/// epoch and train loss per logged step, one line per configuration averaged over seeds), and
/// <c>index.html</c> holding the table and the charts inline. All written atomically.
/// </summary>
public static class SweepReport
{
    public const string Markdown = "results.md", Csv = "results.csv", Html = "index.html";
    public const string ScatterSvg = "accuracy-vs-params.svg", AccuracySvg = "curves-accuracy.svg", LossSvg = "curves-loss.svg";

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
        var charts = ChartsOf(results);
        foreach (var (name, svg) in charts) Write(name, svg);
        Write(Html, ToHtml(results, charts));
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

    /// <summary>The charts that have data: (file name, SVG text).</summary>
    public static IReadOnlyList<(string Name, string Svg)> ChartsOf(SweepResults r)
    {
        var charts = new List<(string, string)>();
        var done = r.Configs.Where(c => c.SeedsDone > 0).ToList();
        if (done.Count == 0) return charts;
        var set = Set(r);
        charts.Add((ScatterSvg, Charts.Scatter(
            $"{r.Plan.File.Name}: {set} accuracy vs parameters (mean ± std over seeds)", "parameters", $"{set} accuracy (%)",
            done.Select(c => new ScatterPoint(c.Config.Label, c.Params, 100 * c.AccuracyMean!.Value, c.AccuracyStd is { } s ? 100 * s : null)).ToList())));
        var acc = done.Select(c => new LineSeries(c.Config.Label, c.AccuracyCurve().Select(p => (p.X, 100 * p.Y)).ToList())).Where(s => s.Points.Count > 0).ToList();
        if (acc.Count > 0)
            charts.Add((AccuracySvg, Charts.Lines($"{r.Plan.File.Name}: {set} accuracy per epoch (mean over seeds)", "epoch", $"{set} accuracy (%)", acc)));
        var loss = done.Select(c => new LineSeries(c.Config.Label, c.LossCurve())).Where(s => s.Points.Count > 0).ToList();
        if (loss.Count > 0)
            charts.Add((LossSvg, Charts.Lines($"{r.Plan.File.Name}: training loss (mean over seeds)", "step", "train loss (running mean of the epoch)", loss)));
        return charts;
    }

    public static string ToHtml(SweepResults r, IReadOnlyList<(string Name, string Svg)> charts)
    {
        // Escapes markup only; the page is UTF-8, so ± and → stay readable in its source.
        static string E(string s) => s.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;").Replace("\"", "&quot;");
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Sweep: ").Append(E(r.Plan.File.Name)).Append("</title>\n");
        sb.Append("<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}table{border-collapse:collapse}" +
                  "td,th{border:1px solid #ccc;padding:4px 8px}td.n{text-align:right}figure{margin:2em 0}</style>\n</head>\n<body>\n");
        sb.Append("<h1>Sweep: ").Append(E(r.Plan.File.Name)).Append("</h1>\n");
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
        if (charts.Count == 0) sb.Append("<p>No finished runs yet: no charts.</p>\n");
        foreach (var (name, svg) in charts)
        {
            var body = svg.StartsWith("<?xml", StringComparison.Ordinal) ? svg[(svg.IndexOf("?>", StringComparison.Ordinal) + 2)..].TrimStart() : svg;
            sb.Append("<figure>\n").Append(body).Append("<figcaption>").Append(E(name)).Append("</figcaption>\n</figure>\n");
        }
        sb.Append("<p>Files: ").Append(E(Markdown)).Append(", ").Append(E(Csv)).Append("; run directories under ")
          .Append(E(Path.GetRelativePath(r.Plan.ReportDir, Path.Combine(r.Plan.OutputDir, SweepPlan.PointsDir)).Replace('\\', '/'))).Append(".</p>\n");
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }
}
