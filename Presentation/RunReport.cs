using System.Globalization;
using System.Text;
using ArchDsl.Runtime.Training;

namespace ArchDsl.Presentation;

/// <summary>
/// A run's own report, in its directory: <c>report.html</c> and each <see cref="RunFigures"/> chart as PNG and SVG,
/// with the run's summary, spec, overrides and confusion matrix (<see cref="ConfusionFile"/>). Written after every
/// epoch and at the end by <see cref="RunReportSink"/>; every file is written atomically, the page last.
/// </summary>
public static class RunReport
{
    public const string HtmlFile = "report.html";

    /// <summary>Writes the report of <paramref name="runDir"/>; returns the files written.</summary>
    /// <exception cref="RunFileException">metrics.jsonl cannot be read, or a file cannot be written.</exception>
    public static IReadOnlyList<string> Write(string runDir)
    {
        var curves = RunCurves.Read(runDir);
        var figures = RunFigures.Of([(Path.GetFileName(Path.TrimEndingDirectorySeparator(runDir)), curves)]);
        var files = new List<string>();
        foreach (var f in figures) files.AddRange(Charts.Write(f, runDir));
        var html = Path.Combine(runDir, HtmlFile);
        AtomicFile.WriteAllText(html, ToHtml(runDir, figures));
        files.Add(html);
        return files;
    }

    static string Read(string runDir, string file)
    {
        var path = Path.Combine(runDir, file);
        try { return File.Exists(path) ? File.ReadAllText(path) : ""; }
        catch (IOException) { return ""; }
    }

    static string ToHtml(string runDir, IReadOnlyList<Figure> figures)
    {
        var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(runDir));
        var sb = new StringBuilder();
        var summary = Read(runDir, RunDirectory.SummaryFile);
        sb.Append(summary.Length > 0 ? "<p>Finished.</p>\n" : "<p>In progress or stopped: no summary yet; this page is rewritten after each epoch.</p>\n");
        var overrides = Read(runDir, RunDirectory.OverridesFile).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        sb.Append("<p>Overrides: ").Append(overrides.Length == 0 ? "none" : HtmlPage.E(string.Join(", ", overrides))).Append("</p>\n");
        foreach (var f in figures) sb.Append(HtmlPage.Figure(f));
        if (figures.Count == 0) sb.Append("<p>No metrics logged yet.</p>\n");
        if (ConfusionFile.Read(runDir) is { } cm) sb.Append(ConfusionHtml(cm));
        if (summary.Length > 0) sb.Append("<h2>Summary</h2>\n<pre>").Append(HtmlPage.E(summary)).Append("</pre>\n");
        var spec = Read(runDir, RunDirectory.SpecFile);
        if (spec.Length > 0) sb.Append("<h2>Spec</h2>\n<pre>").Append(HtmlPage.E(spec)).Append("</pre>\n");
        if (FilesText(runDir) is { Length: > 0 } files) sb.Append("<p>Files: ").Append(HtmlPage.E(files)).Append(".</p>\n");
        return HtmlPage.Page($"Run {name}", sb.ToString());
    }

    /// <summary>The run's own files that exist now, in a fixed order, each with what it is where that helps
    /// (a run without a test set has no confusion.json; one stopped early has no summary.yaml).</summary>
    internal static string FilesText(string runDir)
    {
        (string File, string? What)[] files =
        [
            (RunDirectory.MetricsFile, "the charts' data"), (RunDirectory.SummaryFile, null), (RunDirectory.SpecFile, null),
            (RunDirectory.OverridesFile, null), (RunDirectory.GraphTextFile, null), (ConfusionFile.FileName, null),
        ];
        var present = files.Where(f => File.Exists(Path.Combine(runDir, f.File))).Select(f => f.What is null ? f.File : $"{f.File} ({f.What})").ToList();
        if (Directory.Exists(runDir) && Directory.EnumerateFiles(runDir, TensorBoardLog.FilePrefix + "*").Any())
            present.Add($"TensorBoard event files ({TensorBoardLog.FilePrefix}*)");
        return string.Join(", ", present);
    }

    /// <summary>The confusion matrix as a table, each cell shaded by its share of the true class's row.</summary>
    public static string ConfusionHtml(ConfusionFile cm)
    {
        var sb = new StringBuilder();
        sb.Append($"<h2>Confusion matrix: {HtmlPage.E(cm.Set)} set, weights of epoch {cm.Epoch}</h2>\n<p>Rows: true class; columns: predicted.</p>\n<table>\n<tr><th>true \\ predicted</th>");
        for (int p = 0; p < cm.Classes.Length; p++) sb.Append("<th title=\"").Append(HtmlPage.E(cm.Classes[p])).Append("\">").Append(p).Append("</th>");
        sb.Append("<th>accuracy</th></tr>\n");
        for (int a = 0; a < cm.Counts.Length; a++)
        {
            long row = cm.Counts[a].Sum();
            sb.Append("<tr><th>").Append(a).Append(' ').Append(HtmlPage.E(a < cm.Classes.Length ? cm.Classes[a] : "")).Append("</th>");
            for (int p = 0; p < cm.Counts[a].Length; p++)
            {
                double share = row > 0 ? (double)cm.Counts[a][p] / row : 0;
                var alpha = share.ToString("0.##", CultureInfo.InvariantCulture);
                sb.Append($"<td class=\"n\" style=\"background:rgba({(a == p ? "44,160,44" : "214,39,40")},{alpha})\">").Append(cm.Counts[a][p]).Append("</td>");
            }
            var acc = row > 0 && a < cm.Counts[a].Length ? (100.0 * cm.Counts[a][a] / row).ToString("0.00", CultureInfo.InvariantCulture) + "%" : "-";
            sb.Append("<td class=\"n\">").Append(acc).Append("</td></tr>\n");
        }
        return sb.Append("</table>\n").ToString();
    }
}

/// <summary>
/// Rewrites a run's <see cref="RunReport"/> after each epoch and when the run ends. Drawing never fails a training:
/// an error is reported once as a message and the training goes on (each file is replaced atomically, so a
/// failed write leaves the previous report whole).
/// </summary>
public sealed class RunReportSink : IProgressSink
{
    private readonly IProgressSink _inner;
    private string? _runDir;
    private bool _warned;

    public RunReportSink(IProgressSink inner) => _inner = inner;

    public void RunStarted(RunStartInfo info) { _runDir = info.RunDir; _inner.RunStarted(info); }
    public void EpochStarted(int epoch, int epochs, int batches, int startBatch) => _inner.EpochStarted(epoch, epochs, batches, startBatch);
    public void StepCompleted(StepInfo step) => _inner.StepCompleted(step);
    public void Evaluating(int epoch, string set, int samples) => _inner.Evaluating(epoch, set, samples);
    public void Message(string text) => _inner.Message(text);

    public void EpochCompleted(EpochInfo epoch)
    {
        _inner.EpochCompleted(epoch);
        Refresh();
    }

    public void RunEnded(TrainResult result)
    {
        _runDir ??= result.RunDir;
        Refresh();
        _inner.RunEnded(result);
    }

    private void Refresh()
    {
        if (_runDir is null) return;
        try { RunReport.Write(_runDir); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            if (_warned) return;
            _warned = true;
            _inner.Message($"warning: the run report ({Path.Combine(_runDir, RunReport.HtmlFile)}) could not be drawn: {e.GetBaseException().Message}; training goes on");
        }
    }
}
