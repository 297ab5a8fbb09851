using System.Xml.Linq;
using ArchDsl.Presentation;
using ArchDsl.Runtime.Training;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// Every run's report (report.html and its PNG/SVG charts), written while it trains, on real tiny runs: the files
/// exist and are images, the charts' data are the run's metrics.jsonl records, the confusion matrix is the final
/// test's, a report that cannot be written does not stop the training; and <c>archc report</c>'s comparison.
/// </summary>
[Collection(TorchModelCollection.Name)]
public class RunReportTests
{
    static TrainResult TrainWithReport(params string[] overrides)
    {
        string[] all = ["train.augment=[flip]", "train.val_split=0.25", .. overrides];
        var options = Options(TempRoot(), logEvery: 2) with { Progress = new RunReportSink(NullProgressSink.Instance), Overrides = all };
        return Trainer.Train(CompileTiny(all), options);
    }

    static readonly string[] Figures = [RunFigures.StepLoss, RunFigures.LearningRate, RunFigures.Accuracy, RunFigures.Loss, RunFigures.Throughput];

    [Fact]
    public void A_run_writes_its_report_with_png_and_svg_charts_whose_data_are_its_metrics()
    {
        var r = TrainWithReport("train.epochs=3");
        foreach (var name in Figures)
        {
            var png = File.ReadAllBytes(Path.Combine(r.RunDir, name + ".png"));
            Assert.True(png.Length > 2000, $"{name}.png has {png.Length} bytes");
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
            var svg = XDocument.Load(Path.Combine(r.RunDir, name + ".svg"));
            Assert.Equal("svg", svg.Root!.Name.LocalName);
            Assert.Contains(svg.Descendants(), e => e.Name.LocalName == "text");
        }

        var records = MetricRecord.ReadAll(Path.Combine(r.RunDir, RunDirectory.MetricsFile));
        var steps = records.OfType<StepRecord>().ToList();
        var epochs = records.OfType<EpochRecord>().ToList();
        var figures = RunFigures.Of([("run", RunCurves.Read(r.RunDir))]).ToDictionary(f => f.Name);
        Assert.Equal(Figures.Order(), figures.Keys.Order());

        var loss = figures[RunFigures.StepLoss];
        var raw = loss.Series.Single(s => s.Kind == SeriesKind.Faint);
        Assert.Equal(steps.Select(s => s.Loss), raw.Y);
        int perEpoch = (int)(epochs[0].Step / epochs[0].Epoch);
        Assert.Equal(steps.Select(s => (double)s.Step / perEpoch), raw.X);
        Assert.Equal(RunCurves.Smooth(raw.Y, 0.6), loss.Series.Single(s => s.Kind == SeriesKind.Line).Y);
        Assert.Equal(steps.Select(s => s.Lr), figures[RunFigures.LearningRate].Series.Single().Y);

        var acc = figures[RunFigures.Accuracy];
        Assert.True(acc.IntegerX);
        Assert.Equal(epochs.Select(e => 100 * e.TrainAcc), acc.Series.Single(s => s.Label == "train").Y);
        Assert.Equal(epochs.Select(e => 100 * e.ValAcc!.Value), acc.Series.Single(s => s.Label == "val").Y);
        Assert.Equal([1.0, 2, 3], acc.Series.Single(s => s.Label == "val").X);
        var test = records.OfType<TestRecord>().Single();
        Assert.Equal([100 * test.TestAcc], acc.Series.Single(s => s.Kind == SeriesKind.Points).Y);
        Assert.Equal(epochs.Select(e => e.ValLoss!.Value), figures[RunFigures.Loss].Series.Single(s => s.Label == "val").Y);
        Assert.Equal(epochs.Select(e => e.ImagesPerSecond), figures[RunFigures.Throughput].Series.Single().Y);

        // What ScottPlot is handed is that data, point for point.
        var plot = Charts.Build(loss);
        var lines = plot.GetPlottables().OfType<ScottPlot.Plottables.Scatter>().ToList();
        Assert.Equal(raw.Y, lines[0].Data.GetScatterPoints().Select(p => p.Y));
        Assert.Equal(raw.X, lines[0].Data.GetScatterPoints().Select(p => p.X));

        var html = File.ReadAllText(Path.Combine(r.RunDir, RunReport.HtmlFile));
        foreach (var name in Figures) Assert.Contains($"<img src=\"{name}.svg\"", html);
        Assert.Contains("TensorBoard's debiased EMA, weight 0.6", html);
        Assert.Contains("<h2>Summary</h2>", html);
        Assert.Contains("arch Tiny(", html);
        Assert.Contains("train.val_split=0.25", html);
        Assert.Contains("Confusion matrix: test set, weights of epoch", html);

        var cm = ConfusionFile.Read(r.RunDir)!;
        Assert.Equal("test", cm.Set);
        Assert.Equal(64, cm.Counts.Sum(row => row.Sum()));
        Assert.Equal(test.TestAcc, (double)Enumerable.Range(0, 4).Sum(k => cm.Counts[k][k]) / 64, 12);
    }

    [Fact]
    public void The_report_lists_only_the_files_the_run_has()
    {
        var r = TrainWithReport("train.epochs=1");
        string Files() => System.Text.RegularExpressions.Regex.Match(File.ReadAllText(Path.Combine(r.RunDir, RunReport.HtmlFile)), "<p>Files: (.*)\\.</p>").Groups[1].Value;
        Assert.Equal("metrics.jsonl (the charts' data), summary.yaml, spec.arch, overrides.txt, graph.txt, confusion.json, " +
                     "TensorBoard event files (events.out.tfevents.*)", Files());
        File.Delete(Path.Combine(r.RunDir, ConfusionFile.FileName)); // as a run without a test set
        File.Delete(Path.Combine(r.RunDir, RunDirectory.SummaryFile)); // as a run stopped early
        foreach (var events in Directory.GetFiles(r.RunDir, TensorBoardLog.FilePrefix + "*")) File.Delete(events);
        RunReport.Write(r.RunDir);
        Assert.Equal("metrics.jsonl (the charts' data), spec.arch, overrides.txt, graph.txt", Files());
    }

    [Fact]
    public void Smoothing_is_TensorBoards_debiased_exponential_moving_average()
    {
        // w = 0.5 on [1, 0, 0]: EMA 0.5, 0.25, 0.125 divided by 1 − 0.5^n = 0.5, 0.75, 0.875.
        double[] expected = [1.0, 1.0 / 3, 1.0 / 7];
        Assert.Equal(expected.Select(v => Math.Round(v, 12)), RunCurves.Smooth([1, 0, 0], 0.5).Select(v => Math.Round(v, 12)));
        Assert.Equal([2.0, 3.0], RunCurves.Smooth([2, 3], 0));
        var withNaN = RunCurves.Smooth([1, double.NaN, 1], 0.9);
        Assert.True(double.IsNaN(withNaN[1]));
        Assert.Equal(1.0, withNaN[2], 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => RunCurves.Smooth([1], 1));
    }

    [Fact]
    public void A_report_that_cannot_be_written_warns_once_and_the_training_completes()
    {
        var messages = new List<string>();
        var root = TempRoot();
        var sink = new RunReportSink(new Recording(messages));
        // report.html is a directory: the page cannot be written at any epoch.
        var options = Options(root) with { Progress = new BlockReport(sink) };
        var r = Trainer.Train(CompileTiny("train.augment=[flip]"), options);
        Assert.Equal(TrainOutcome.Completed, r.Outcome);
        Assert.Single(messages, m => m.StartsWith("warning: the run report", StringComparison.Ordinal));
        Assert.True(File.Exists(Path.Combine(r.RunDir, RunDirectory.SummaryFile)));
        Assert.Empty(Directory.GetFiles(r.RunDir, "*.tmp*"));
    }

    sealed class Recording(List<string> messages) : IProgressSink
    {
        public void Message(string text) => messages.Add(text);
    }

    /// <summary>Makes report.html a directory as the run starts, then passes everything on.</summary>
    sealed class BlockReport(IProgressSink inner) : IProgressSink
    {
        public void RunStarted(RunStartInfo info) { Directory.CreateDirectory(Path.Combine(info.RunDir, RunReport.HtmlFile)); inner.RunStarted(info); }
        public void EpochCompleted(EpochInfo epoch) => inner.EpochCompleted(epoch);
        public void Message(string text) => inner.Message(text);
        public void RunEnded(TrainResult result) => inner.RunEnded(result);
    }

    [Fact]
    public void Runs_compared_overlay_their_curves_tabulate_final_scores_and_list_configuration_differences()
    {
        var a = TrainWithReport("train.epochs=2");
        var b = TrainWithReport("train.epochs=2", "dim=12");
        var runs = new[] { ComparedRun.Read(a.RunDir, "a"), ComparedRun.Read(b.RunDir, "b") };
        var outDir = Path.Combine(TempRoot(), "cmp");
        var files = RunComparison.Write(runs, outDir);
        Assert.Contains(Path.Combine(outDir, RunComparison.HtmlFile), files);
        Assert.All(files, f => Assert.True(new FileInfo(f).Length > 100, f));

        var rows = RunComparison.MetricsRows(runs);
        var lastB = MetricRecord.ReadAll(Path.Combine(b.RunDir, RunDirectory.MetricsFile)).OfType<EpochRecord>().Last();
        Assert.Equal((100 * lastB.ValAcc!.Value).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture), rows[1][5]);
        Assert.Equal("2/2", rows[1][3]);
        var differences = RunComparison.OverrideDifferences(runs);
        Assert.Equal(["dim"], differences.Select(d => d.Key));   // the overrides both runs share are not listed
        Assert.Equal(["", "12"], differences[0].Values);
        var text = RunComparison.DifferencesText(runs);
        Assert.Contains("| dim | (not set) | 12 |", text);
        Assert.Contains("conv2d out 8 → 12", text);

        var acc = RunFigures.Of(runs.Select(r => (r.Label, r.Curves)).ToList()).Single(f => f.Name == RunFigures.Accuracy);
        Assert.Equal(["a val", "b val"], acc.Series.Where(s => s.Kind == SeriesKind.Line).Select(s => s.Label));
        var html = File.ReadAllText(Path.Combine(outDir, RunComparison.HtmlFile));
        Assert.Contains("<img src=\"accuracy.svg\"", html);
        Assert.DoesNotContain(a.RunDir, html);
    }
}
