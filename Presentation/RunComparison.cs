using System.Globalization;
using System.Text;
using ArchDsl.Compiler.Analysis;
using ArchDsl.Runtime.Distributed;
using ArchDsl.Runtime.Training;

namespace ArchDsl.Presentation;

/// <summary>One run as a comparison shows it: its label, curves, final scores (the last epoch's, and the final test
/// evaluation of the selected weights when there is one), overrides and graph.</summary>
public sealed record ComparedRun(string Label, string RunDir, RunCurves Curves, IReadOnlyList<string> Overrides, Compiler.IrGraph Graph)
{
    /// <summary>Reads <paramref name="runDir"/> (finished or not).</summary>
    /// <exception cref="TrainingException">not a run directory, or its graph.yaml is unreadable.</exception>
    /// <exception cref="RunFileException">its metrics.jsonl is unreadable.</exception>
    public static ComparedRun Read(string runDir, string label)
    {
        var graph = RunDirectory.ReadGraph(runDir);
        var overridesPath = Path.Combine(runDir, RunDirectory.OverridesFile);
        var overrides = File.Exists(overridesPath) ? File.ReadAllLines(overridesPath).Where(l => l.Trim().Length > 0).ToList() : [];
        return new ComparedRun(label, runDir, RunCurves.Read(runDir), overrides, graph) { World = RunWorld.Read(runDir, graph) };
    }

    /// <summary>How many data-parallel processes trained the run (its last start or resume) and the per-rank batch; one process unless read.</summary>
    public RunWorld World { get; init; } = new(1, Graph.Train.Loop.Batch);
}

/// <summary>
/// <c>archc report RUN…</c>: several runs' curves overlaid (<see cref="RunFigures"/>), their final metrics side by
/// side, and what differs between their configurations — the <c>--set</c> overrides that differ, and each run's
/// compiled graph and train settings against the first run's (<see cref="GraphDiff"/>, as <c>archc diff</c> shows
/// them). Written into one folder: <c>index.html</c>, <c>metrics.md</c> and the charts (PNG, SVG), atomically.
/// </summary>
public static class RunComparison
{
    public const string HtmlFile = "index.html", MarkdownFile = "metrics.md";

    public static IReadOnlyList<string> Write(IReadOnlyList<ComparedRun> runs, string outDir)
    {
        AtomicFile.CreateFolder(outDir);
        var figures = RunFigures.Of(runs.Select(r => (r.Label, r.Curves)).ToList());
        var files = new List<string>();
        foreach (var f in figures) files.AddRange(Charts.Write(f, outDir));
        var md = Path.Combine(outDir, MarkdownFile);
        AtomicFile.WriteAllText(md, MetricsMarkdown(runs) + "\n" + DifferencesText(runs));
        files.Add(md);
        var html = Path.Combine(outDir, HtmlFile);
        AtomicFile.WriteAllText(html, ToHtml(runs, figures));
        files.Add(html);
        return files;
    }

    static readonly string[] Header = ["run", "arch", "params", "epochs", "train acc (%)", "val acc (%)", "test acc (%)", "test acc, selected (%)", "train loss", "val loss", "test loss", "train time (s)", "images/s", "world size", "batch per rank"];

    /// <summary>A row per run: its last epoch's scores (accuracies in %), the final test of the selected weights, the time.</summary>
    public static IReadOnlyList<string[]> MetricsRows(IReadOnlyList<ComparedRun> runs) => runs.Select(r =>
    {
        var last = r.Curves.Epochs.LastOrDefault();
        string Acc(string set) => last?.Score(set) is { } s ? (100 * s.Accuracy).ToString("0.00", CultureInfo.InvariantCulture) : "";
        string Loss(string set) => last?.Score(set) is { } s ? s.Loss.ToString("0.0000", CultureInfo.InvariantCulture) : "";
        var test = r.Curves.Test is { } t ? (100 * t.TestAcc).ToString("0.00", CultureInfo.InvariantCulture) + $" (epoch {t.Epoch})" : "";
        return new[]
        {
            r.Label, r.Graph.Arch, r.Graph.ParamCount.ToString("N0", CultureInfo.InvariantCulture),
            last is null ? "0" : $"{last.Epoch}/{r.Graph.Train.Loop.Epochs}",
            Acc("train"), Acc("val"), Acc("test"), test, Loss("train"), Loss("val"), Loss("test"),
            last?.ElapsedSeconds.ToString("0.0", CultureInfo.InvariantCulture) ?? "",
            last is null ? "" : r.Curves.Epochs.Average(e => e.ImagesPerSecond).ToString("0", CultureInfo.InvariantCulture),
            r.World.WorldSize.ToString(CultureInfo.InvariantCulture), r.World.PerRankBatch,
        };
    }).ToList();

    public static string MetricsMarkdown(IReadOnlyList<ComparedRun> runs)
    {
        var sb = new StringBuilder("# Runs compared\n\nLast epoch's scores; \"test acc, selected\": the weights chosen on the validation split, on the test set.\n\n");
        sb.Append("| ").Append(string.Join(" | ", Header)).Append(" |\n|").Append(string.Concat(Header.Select(_ => "---|"))).Append('\n');
        foreach (var row in MetricsRows(runs)) sb.Append("| ").Append(string.Join(" | ", row.Select(c => c.Replace("|", "\\|")))).Append(" |\n");
        return sb.ToString();
    }

    /// <summary>The <c>--set</c> keys whose values differ between the runs: (key, value per run; "" where a run did not set it).</summary>
    public static IReadOnlyList<(string Key, string[] Values)> OverrideDifferences(IReadOnlyList<ComparedRun> runs)
    {
        static Dictionary<string, string> Parse(IEnumerable<string> overrides) => overrides
            .Select(o => o.Split('=', 2)).GroupBy(kv => kv[0].Trim()).ToDictionary(g => g.Key, g => g.Last().Length > 1 ? g.Last()[1].Trim() : "");
        var sets = runs.Select(r => Parse(r.Overrides)).ToList();
        return sets.SelectMany(s => s.Keys).Distinct().Order(StringComparer.Ordinal)
            .Select(k => (k, sets.Select(s => s.GetValueOrDefault(k, "")).ToArray()))
            .Where(d => d.Item2.Distinct().Count() > 1).ToList();
    }

    /// <summary>The overrides that differ, then each run's graph and train settings against the first run's.</summary>
    public static string DifferencesText(IReadOnlyList<ComparedRun> runs)
    {
        var sb = new StringBuilder("## Configuration differences\n\n");
        var overrides = OverrideDifferences(runs);
        if (overrides.Count == 0) sb.Append("The runs' --set overrides are the same.\n");
        else
        {
            sb.Append("| override | ").Append(string.Join(" | ", runs.Select(r => r.Label))).Append(" |\n|---|").Append(string.Concat(runs.Select(_ => "---|"))).Append('\n');
            foreach (var (key, values) in overrides)
                sb.Append("| ").Append(key).Append(" | ").Append(string.Join(" | ", values.Select(v => v.Length == 0 ? "(not set)" : v))).Append(" |\n");
        }
        for (int i = 1; i < runs.Count; i++)
            sb.Append("\n```\n").Append(GraphDiff.Compare(runs[0].Graph, runs[i].Graph, runs[0].Label, runs[i].Label).ToText()).Append("```\n");
        return sb.ToString();
    }

    static string ToHtml(IReadOnlyList<ComparedRun> runs, IReadOnlyList<Figure> figures)
    {
        var sb = new StringBuilder();
        sb.Append("<p>Runs: ").Append(HtmlPage.E(string.Join(", ", runs.Select(r => r.Label)))).Append(". Last epoch's scores; \"test acc, selected\": the weights chosen on the validation split, on the test set.</p>\n");
        sb.Append(HtmlPage.Table(Header, MetricsRows(runs)));
        foreach (var f in figures) sb.Append(HtmlPage.Figure(f));
        sb.Append("<h2>Configuration differences</h2>\n");
        var overrides = OverrideDifferences(runs);
        if (overrides.Count == 0) sb.Append("<p>The runs' --set overrides are the same.</p>\n");
        else sb.Append(HtmlPage.Table(["override", .. runs.Select(r => r.Label)], overrides.Select(d => (IReadOnlyList<string>)[d.Key, .. d.Values.Select(v => v.Length == 0 ? "(not set)" : v)])));
        for (int i = 1; i < runs.Count; i++)
            sb.Append("<pre>").Append(HtmlPage.E(GraphDiff.Compare(runs[0].Graph, runs[i].Graph, runs[0].Label, runs[i].Label).ToText())).Append("</pre>\n");
        return HtmlPage.Page("Runs compared", sb.ToString());
    }
}
