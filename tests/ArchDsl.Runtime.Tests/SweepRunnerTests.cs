using System.Globalization;
using ArchDsl.Presentation;
using ArchDsl.Runtime.Sweep;
using static ArchDsl.Runtime.Tests.SweepTestKit;

namespace ArchDsl.Runtime.Tests;

/// <summary>The sweep runner with a fake trainer: what is trained, skipped and resumed; the table, CSV, SVG and HTML it writes.</summary>
public sealed class SweepRunnerTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("archdsl-sweeprun-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    static readonly Dictionary<(string, long), double> Accuracy = new()
    {
        [("kernel=3", 0)] = 0.80, [("kernel=3", 1)] = 0.84,
        [("kernel=9", 0)] = 0.90, [("kernel=9", 1)] = 0.92,
    };

    static FakePointTrainer Fake() => new(p => Accuracy[(p.Config.Id, p.Seed)]);

    SweepPlan Plan() => SweepPlan.Expand(Write(_dir, $$"""
        name: kernels
        spec: {{Spec("convmixer.arch")}}
        grid:
          kernel: [3, 9]
        set: { depth: 2, dim: 16 }
        budget: { epochs: 2, subset: 100 }
        seeds: [0, 1]
        output: out
        """));

    (SweepRunSummary Summary, string Log) Run(FakePointTrainer fake, SweepPlan? plan = null)
    {
        var log = new StringWriter();
        var summary = new SweepRunner(fake, log, SweepReport.WriteAll).Run(plan ?? Plan());
        return (summary, log.ToString());
    }

    [Fact]
    public void Every_point_is_trained_once_with_its_compiled_overrides()
    {
        var fake = Fake();
        var (summary, log) = Run(fake);
        Assert.Equal(["kernel=3/seed0", "kernel=3/seed1", "kernel=9/seed0", "kernel=9/seed1"], fake.TrainCalls);
        Assert.Empty(fake.ResumeCalls);
        Assert.Equal(4, summary.Trained.Count);
        Assert.False(summary.Interrupted);
        // The graphs handed to the trainer carry the point's overrides: kernel, seed, budget.
        Assert.Equal(9L, fake.Graphs[2].Nodes.Single(n => n.Name == "blocks.0.token.0").Attrs["kernel"]);
        Assert.Equal(1L, fake.Graphs[1].Train["seed"]);
        Assert.Equal(100L, fake.Graphs[0].Train["subset"]);
        Assert.Equal(2L, fake.Graphs[0].Train["epochs"]);
        Assert.Contains("[1/4] kernel=3 seed 0: training", log);
        Assert.All(Plan().Points, p => Assert.Equal(PointState.Finished, SweepRunner.StatusOf(p).State));
    }

    [Fact]
    public void A_second_run_trains_nothing_and_rebuilds_the_same_report()
    {
        Run(Fake());
        var first = File.ReadAllText(Path.Combine(_dir, "out", SweepReport.Csv));
        var again = Fake();
        var (summary, log) = Run(again);
        Assert.Empty(again.TrainCalls);
        Assert.Empty(again.ResumeCalls);
        Assert.Equal(4, summary.Skipped.Count);
        Assert.Contains("done already", log);
        Assert.Equal(first, File.ReadAllText(Path.Combine(_dir, "out", SweepReport.Csv)));
    }

    [Fact]
    public void An_interrupted_point_stops_the_sweep_and_is_resumed_next_time_while_finished_ones_are_not_rerun()
    {
        var first = Fake();
        first.InterruptOn = 2; // kernel=3 seed 1 stops half-way
        var (s1, log1) = Run(first);
        Assert.True(s1.Interrupted);
        Assert.Equal(["kernel=3/seed0", "kernel=3/seed1"], first.TrainCalls);
        Assert.Contains("interrupted; run the same command again", log1);
        var status = SweepRunner.Status(Plan());
        Assert.Equal([PointState.Finished, PointState.Started, PointState.Pending, PointState.Pending], status.Select(s => s.State));
        // The report is written from what finished.
        Assert.Contains("| kernel=3 | kernel=3 |", File.ReadAllText(Path.Combine(_dir, "out", SweepReport.Markdown)));

        var second = Fake();
        var (s2, _) = Run(second);
        Assert.Equal(["kernel=3/seed1"], second.ResumeCalls);
        Assert.Equal(["kernel=9/seed0", "kernel=9/seed1"], second.TrainCalls);
        Assert.Equal(["kernel=3/seed0"], s2.Skipped.Select(p => p.Name));
        Assert.False(s2.Interrupted);
        // The resumed run is the same directory, now finished: one run directory per point.
        Assert.Single(Directory.GetDirectories(Plan().Points[1].Directory));
        Assert.All(Plan().Points, p => Assert.Equal(PointState.Finished, SweepRunner.StatusOf(p).State));
    }

    [Fact]
    public void A_failing_point_is_reported_and_the_others_still_run()
    {
        var fake = Fake();
        fake.FailOn = p => p.Name == "kernel=9/seed0";
        var (summary, log) = Run(fake);
        Assert.Equal(4, fake.TrainCalls.Count);
        var failed = Assert.Single(summary.Failed);
        Assert.Equal("kernel=9/seed0", failed.Point.Name);
        Assert.Contains("fake failure", log);
        var k9 = summary.Results.Configs.Single(c => c.Config.Id == "kernel=9");
        Assert.Equal(1, k9.SeedsDone);
        Assert.Equal("92.00 (1 seed)", SweepReport.AccuracyText(k9));
    }

    [Fact]
    public void A_configuration_that_does_not_compile_stops_the_sweep_before_any_training()
    {
        var fake = Fake();
        var plan = SweepPlan.Expand(Write(_dir, $$"""
            spec: {{Spec("convmixer.arch")}}
            grid:
              kernel: [3, nosuchname]
            """));
        var e = Assert.Throws<SweepException>(() => new SweepRunner(fake, TextWriter.Null, SweepReport.WriteAll).Run(plan));
        Assert.Contains("kernel=nosuchname", e.Message);
        Assert.Contains("error AD", e.Message);
        Assert.Empty(fake.TrainCalls);
    }

    [Fact]
    public void A_report_folder_that_is_a_file_is_a_sweep_error_and_the_trained_points_stay()
    {
        var fake = Fake();
        var blocker = Path.Combine(_dir, "report-file");
        File.WriteAllText(blocker, "mine");
        var plan = Plan() with { ReportDir = blocker };
        var e = Assert.Throws<SweepException>(() => new SweepRunner(fake, TextWriter.Null, SweepReport.WriteAll).Run(plan));   // was a RunFileException's stack trace
        Assert.Equal($"the sweep's report: could not write '{Path.Combine(blocker, "results.md")}': '{blocker}' is a file, not a folder (the previous version, if any, is unchanged)", e.Message);
        Assert.Equal(4, fake.TrainCalls.Count);
        Assert.Equal("mine", File.ReadAllText(blocker));
        Assert.Equal(4, SweepRunner.Status(plan).Count(s => s.State == PointState.Finished));   // a rerun with another --report skips them
    }

    [Fact]
    public void The_table_has_params_mult_adds_and_mean_plus_minus_sample_std()
    {
        var (summary, _) = Run(Fake());
        var k3 = summary.Results.Configs[0];
        Assert.Equal(0.82, k3.AccuracyMean!.Value, 12);
        // Sample std of 0.80 and 0.84: sqrt((0.02² + 0.02²) / 1) = 0.028284…
        Assert.Equal(Math.Sqrt(0.0008), k3.AccuracyStd!.Value, 12);
        Assert.Equal(10.5, k3.TrainSecondsMean);
        Assert.Equal(1050, k3.ImagesPerSecondMean);
        Assert.Equal("82.00 ± 2.83", SweepReport.AccuracyText(k3));
        Assert.Equal("91.00 ± 1.41", SweepReport.AccuracyText(summary.Results.Configs[1]));

        var graph3 = Compiler.ArchCompiler.CompileFile(Spec("convmixer.arch"), Compiler.Override.ParseAll(["depth=2", "dim=16", "kernel=3"])).Graph!;
        Assert.Equal(graph3.ParamCount, k3.Params);
        var md = File.ReadAllText(Path.Combine(_dir, "out", SweepReport.Markdown));
        Assert.Contains("# Sweep: kernels", md);
        Assert.Contains("Budget: train.epochs=2, train.subset=100", md);
        Assert.Contains($"| kernel=3 | kernel=3 | {graph3.ParamCount.ToString("N0", CultureInfo.InvariantCulture)} | {graph3.MultAdds.ToString("N0", CultureInfo.InvariantCulture)} | 2/2 | 82.00 ± 2.83 | 0: 80.00, 1: 84.00 | 10.5 | 1050 |", md);

        var csv = File.ReadAllLines(Path.Combine(_dir, "out", SweepReport.Csv));
        Assert.Equal(3, csv.Length);
        Assert.StartsWith("id,label,spec,overrides,params,mult_adds,", csv[0]);
        Assert.Equal($"kernel=9,kernel=9,convmixer.arch,kernel=9,{summary.Results.Configs[1].Params},{summary.Results.Configs[1].MultAdds},2,2,test,91,1.4142,0:90;1:92,10.5,1050", csv[2]);
    }

    [Fact]
    public void The_scatter_has_each_seed_as_a_point_and_the_mean_with_std_bars_and_labels()
    {
        var (summary, _) = Run(Fake());
        var scatter = SweepReport.ChartsOf(summary.Results).Single(f => f.Name == SweepReport.ScatterChart);
        Assert.Equal(("parameters", "test accuracy (%)"), (scatter.XLabel, scatter.YLabel));
        var seeds = scatter.Series.Where(s => s.Kind == SeriesKind.FaintPoints).ToList();
        Assert.Equal([[80.0, 84.0], [90.0, 92.0]], seeds.Select(s => s.Y.Select(y => Math.Round(y, 10)).ToList()));
        var means = scatter.Series.Where(s => s.Label is not null).ToList();
        Assert.Equal(["kernel=3", "kernel=9"], means.Select(m => m.Label));
        Assert.Equal([82.0, 91.0], means.Select(m => Math.Round(m.Y[0], 10)));
        Assert.Equal([2.828, 1.414], means.Select(m => Math.Round(m.YError![0], 3)));
        Assert.Equal(["kernel=3"], means[0].PointLabels!);
        Assert.Equal(summary.Results.Configs.Select(c => (double)c.Params), means.Select(m => m.X[0]));
        foreach (var ext in new[] { ".png", ".svg" }) Assert.True(new FileInfo(Path.Combine(_dir, "out", SweepReport.ScatterChart + ext)).Length > 1000);
    }

    [Fact]
    public void Configurations_of_one_parameter_count_are_charted_side_by_side_not_stacked_in_one_column()
    {
        // norm=batch and norm=layer have the same parameter count: on a parameters axis both would sit at one x.
        var plan = SweepPlan.Expand(Write(_dir, $$"""
            name: norms
            spec: {{Spec("convmixer.arch")}}
            grid:
              norm: [batch, layer]
            set: { depth: 2, dim: 16 }
            budget: { epochs: 2, subset: 100 }
            seeds: [0, 1]
            output: out
            """));
        var accuracy = new Dictionary<string, double> { ["norm=batch"] = 0.8, ["norm=layer"] = 0.7 };
        var (summary, _) = Run(new FakePointTrainer(p => accuracy[p.Config.Id] + 0.01 * p.Seed), plan);
        Assert.Equal(summary.Results.Configs[0].Params, summary.Results.Configs[1].Params);
        var scatter = SweepReport.ChartsOf(summary.Results).Single(f => f.Name == SweepReport.ScatterChart);
        Assert.Equal(["norm=batch", "norm=layer"], scatter.XCategories!);
        Assert.Equal($"configuration (each {summary.Results.Configs[0].Params.ToString("N0", CultureInfo.InvariantCulture)} parameters)", scatter.XLabel);
        var means = scatter.Series.Where(s => s.Label is not null).ToList();
        Assert.Equal([0.0, 1.0], means.Select(m => m.X[0]));
        Assert.All(means, m => Assert.Null(m.PointLabels)); // the tick names the configuration
        Assert.Equal([[0.0, 0.0], [1.0, 1.0]], scatter.Series.Where(s => s.Kind == SeriesKind.FaintPoints).Select(s => s.X.ToList()));
        foreach (var ext in new[] { ".png", ".svg" }) Assert.True(new FileInfo(Path.Combine(_dir, "out", SweepReport.ScatterChart + ext)).Length > 1000);
    }

    [Fact]
    public void Learning_curves_are_the_seed_mean_with_a_band_and_plot_the_batch_loss_not_the_epoch_running_mean()
    {
        var (summary, _) = Run(Fake());
        var charts = SweepReport.ChartsOf(summary.Results);
        var acc = charts.Single(f => f.Name == SweepReport.AccuracyChart);
        Assert.True(acc.IntegerX);
        var accLines = acc.Series.Where(s => s.Kind == SeriesKind.Line).ToList();
        Assert.Equal(["kernel=3", "kernel=9"], accLines.Select(l => l.Label));
        // The fake's epoch-2 test accuracy is the run's accuracy; the line is the mean over seeds.
        Assert.Equal([(1.0, 86.0), (2.0, 91.0)], accLines[1].X.Zip(accLines[1].Y, (x, y) => (x, Math.Round(y, 8))));
        var band = acc.Series.Single(s => s.Kind == SeriesKind.Band && s.Color == 1);
        Assert.Equal(91 - 100 * Math.Sqrt(2) / 100, band.Y[1], 8);
        Assert.Equal(91 + 100 * Math.Sqrt(2) / 100, band.Upper![1], 8);

        var loss = charts.Single(f => f.Name == SweepReport.LossChart);
        Assert.Equal("epoch", loss.XLabel);
        var line = loss.Series.Single(s => s.Kind == SeriesKind.Line && s.Label == "kernel=9");
        Assert.Equal(Enumerable.Range(1, 8).Select(s => s / 4.0), line.X); // 4 logged steps × 2 epochs, x in epochs
        // Seeds 0 and 1 logged batch losses 2/step and 2/step + 0.02: the line is the mean of their smoothed values.
        var s0 = RunCurves.Smooth(Enumerable.Range(1, 8).Select(s => 2.0 / s).ToList(), RunCurves.SmoothingWeight);
        var s1 = RunCurves.Smooth(Enumerable.Range(1, 8).Select(s => 2.0 / s + 0.02).ToList(), RunCurves.SmoothingWeight);
        Assert.Equal(s0.Zip(s1, (a, b) => Math.Round((a + b) / 2, 10)), line.Y.Select(y => Math.Round(y, 10)));
        // No jump at the epoch boundary (the running-mean bug): the smoothed batch loss falls less there than just before.
        var drops = line.Y.Zip(line.Y.Skip(1), (a, b) => a - b).ToList();
        Assert.All(drops, d => Assert.True(d > 0));
        Assert.True(drops[3] < drops[2], $"{drops[2]} then {drops[3]} across the epoch boundary (x = 1)");
        foreach (var name in new[] { SweepReport.AccuracyChart, SweepReport.LossChart })
            foreach (var ext in new[] { ".png", ".svg" }) Assert.True(new FileInfo(Path.Combine(_dir, "out", name + ext)).Length > 1000);
    }

    [Fact]
    public void Index_html_holds_the_table_and_shows_every_chart_from_its_own_folder()
    {
        var (summary, _) = Run(Fake());
        var html = File.ReadAllText(Path.Combine(_dir, "out", SweepReport.Html));
        Assert.Contains("<table>", html);
        Assert.Contains("<td class=\"n\">82.00 ± 2.83</td>", html);
        foreach (var name in new[] { SweepReport.ScatterChart, SweepReport.AccuracyChart, SweepReport.LossChart })
            Assert.Contains($"<img src=\"{name}.svg\"", html);
        // Every link and image stays inside the report folder.
        foreach (System.Text.RegularExpressions.Match m in System.Text.RegularExpressions.Regex.Matches(html, "(?:src|href)=\"([^\"]*)\""))
            Assert.True(File.Exists(Path.Combine(_dir, "out", m.Groups[1].Value)), m.Groups[1].Value);
        Assert.Contains(Path.Combine(_dir, "out", SweepReport.Html), summary.Files);
        Assert.True(File.Exists(Path.Combine(_dir, "out", "sweep.yaml")));
    }

    [Fact]
    public void A_report_folder_keeps_tables_and_charts_apart_from_the_run_directories()
    {
        var plan = SweepPlan.Expand(Write(_dir, $$"""
            spec: {{Spec("convmixer.arch")}}
            grid:
              kernel: [3, 9]
            set: { depth: 2, dim: 16 }
            seeds: [0, 1]
            output: runs/k
            report: results
            """));
        Assert.Equal(Path.Combine(_dir, "results"), plan.ReportDir);
        var summary = new SweepRunner(Fake(), TextWriter.Null, SweepReport.WriteAll).Run(plan);
        Assert.All(summary.Files, f => Assert.Equal(Path.Combine(_dir, "results"), Path.GetDirectoryName(f)));
        Assert.Equal(["accuracy-vs-params.png", "accuracy-vs-params.svg", "curves-accuracy.png", "curves-accuracy.svg", "curves-loss.png", "curves-loss.svg",
                "index.html", "results.csv", "results.md"],
            Directory.GetFiles(Path.Combine(_dir, "results")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.True(Directory.Exists(Path.Combine(_dir, "runs", "k", "points", "kernel=3", "seed0")));
        // No machine-specific paths in what gets committed.
        foreach (var f in summary.Files) Assert.DoesNotContain(_dir, File.ReadAllText(f));
        Assert.Contains("run directories under ../runs/k/points.", File.ReadAllText(Path.Combine(_dir, "results", "index.html")));
    }

    [Fact]
    public void Summary_and_metrics_are_read_as_the_trainer_writes_them()
    {
        var fake = Fake();
        Run(fake);
        var status = SweepRunner.StatusOf(Plan().Points[3]);
        var run = RunReader.Read(status.RunDir!);
        Assert.Equal("test", run.AccuracySet);
        Assert.Equal(0.92, run.Accuracy);
        Assert.Equal(11, run.TrainSeconds);
        Assert.Equal(1100, run.ImagesPerSecond);
        Assert.Equal([1, 2], run.Epochs.Select(e => e.Epoch));
        Assert.Equal(8, run.Steps.Count);
    }

    [Fact]
    public void The_dry_run_estimates_the_time_left_from_the_finished_points_scaled_by_mult_adds_and_epochs()
    {
        var plan = Plan();
        var compiled = SweepRunner.Compile(plan);
        Assert.Contains("time: no estimate yet for the 4 point(s) left: none of this sweep has finished", SweepRunner.PlanText(plan, compiled));

        Run(Fake());
        Assert.Contains("time: nothing left to train", SweepRunner.PlanText(plan, compiled));
        // Take kernel=9 seed 1 back: 3 finished points measure the rate, 1 is left.
        Directory.Delete(plan.Points[3].Directory, recursive: true);
        var estimate = SweepEstimate.Of(plan, compiled);
        Assert.Equal((1, 3), (estimate.PointsLeft, estimate.PointsMeasured));
        double Work(int config) => (double)compiled[config].MultAdds * 2;   // budget: 2 epochs
        var seconds = plan.Points.Take(3).Sum(p => RunReader.Read(SweepRunner.StatusOf(p).RunDir!).TrainSeconds!.Value);
        var expected = seconds / (Work(0) * 2 + Work(1)) * Work(1);
        Assert.Equal(expected, estimate.Remaining!.Value.TotalSeconds, 3);
        Assert.Contains("s per (10⁹ mult-adds × epoch) as measured by 3 finished point(s)", SweepRunner.PlanText(plan, compiled));
    }

    [Fact]
    public void Chart_labels_are_counts_as_people_read_them_and_never_minus_zero()
    {
        Assert.Equal("0", Charts.Number(-0.0));
        Assert.Equal("0", Charts.Number(-0.0001));
        Assert.Equal("165k", Charts.Compact(165_002));
        Assert.Equal("1.2M", Charts.Compact(1_200_000));
    }
}
