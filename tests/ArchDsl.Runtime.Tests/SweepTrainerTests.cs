using ArchDsl.Compiler;
using ArchDsl.Presentation;
using ArchDsl.Runtime.Sweep;
using ArchDsl.Runtime.Training;

namespace ArchDsl.Runtime.Tests;

/// <summary>The sweep runner over the real trainer, on a tiny ConvMixer and synthetic data: runs, reports, interruption and resumption.</summary>
public sealed class SweepTrainerTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("archdsl-sweeptrain-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Counts calls and passes them to the real trainer.</summary>
    sealed class Counting(IPointTrainer inner) : IPointTrainer
    {
        public List<string> Trained { get; } = [];
        public List<string> Resumed { get; } = [];

        public PointRunOutcome Train(SweepPoint point, IrGraph graph, string runsRoot, SweepFile sweep)
        {
            Trained.Add(point.Name);
            return inner.Train(point, graph, runsRoot, sweep);
        }

        public PointRunOutcome Resume(SweepPoint point, string runDir, SweepFile sweep)
        {
            Resumed.Add(point.Name);
            return inner.Resume(point, runDir, sweep);
        }
    }

    /// <summary>Cancels after <paramref name="steps"/> optimizer steps of the run it watches (as Ctrl-C would).</summary>
    sealed class CancelAfter(CancellationTokenSource cts, int steps) : IProgressSink
    {
        int _seen;
        public void StepCompleted(StepInfo step) { if (++_seen == steps) cts.Cancel(); }
    }

    SweepPlan Plan()
    {
        var spec = Path.Combine(_dir, "tiny.arch");
        File.WriteAllText(spec, TrainerTestSupport.TinySpec);
        var sweep = Path.Combine(_dir, "sweep.yaml");
        File.WriteAllText(sweep, """
            name: tiny
            spec: tiny.arch
            grid:
              kernel: [1, 3]
            budget: { epochs: 2 }
            seeds: [0, 1]
            threads: 1
            log_every: 2
            output: out
            """);
        return SweepPlan.Expand(SweepFile.Load(sweep));
    }

    [Fact]
    public void A_real_sweep_trains_every_point_and_reports_real_numbers()
    {
        var counting = new Counting(new TrainerPointTrainer(handleSignals: false));
        var summary = new SweepRunner(counting, TextWriter.Null, SweepReport.WriteAll).Run(Plan());
        Assert.Equal(4, counting.Trained.Count);
        Assert.Empty(summary.Failed);
        foreach (var c in summary.Results.Configs)
        {
            Assert.Equal(2, c.SeedsDone);
            Assert.InRange(c.AccuracyMean!.Value, 0, 1);
            Assert.NotNull(c.AccuracyStd);
            Assert.Equal(2, c.AccuracyCurve().Count);
            Assert.All(c.Runs, r => Assert.NotEmpty(r.Run.Steps));
            Assert.All(c.Runs, r => Assert.Equal(c.Params, r.Run.Parameters));
            Assert.All(c.Runs, r => Assert.True(r.Run.ImagesPerSecond > 0));
        }
        // Two seeds are two different runs.
        var k3 = summary.Results.Configs[1];
        Assert.NotEqual(k3.Runs[0].Run.Steps.Select(s => s.TrainLoss), k3.Runs[1].Run.Steps.Select(s => s.TrainLoss));
        Assert.True(File.Exists(Path.Combine(_dir, "out", SweepReport.ScatterChart + ".png")));

        var again = new Counting(new TrainerPointTrainer(handleSignals: false));
        new SweepRunner(again, TextWriter.Null, SweepReport.WriteAll).Run(Plan());
        Assert.Empty(again.Trained);
        Assert.Empty(again.Resumed);
    }

    [Fact]
    public void An_interrupted_real_run_is_resumed_by_the_next_sweep_and_the_rest_are_trained()
    {
        using var cts = new CancellationTokenSource();
        // Interrupt the first point after 3 steps (an epoch of 192 samples in batches of 32 is 6 steps).
        var first = new Counting(new TrainerPointTrainer(new CancelAfter(cts, 3), cts.Token, handleSignals: false));
        var s1 = new SweepRunner(first, TextWriter.Null, SweepReport.WriteAll).Run(Plan());
        Assert.True(s1.Interrupted);
        Assert.Equal(["kernel=1/seed0"], first.Trained);
        Assert.Equal(PointState.Started, SweepRunner.StatusOf(Plan().Points[0]).State);

        var second = new Counting(new TrainerPointTrainer(handleSignals: false));
        var s2 = new SweepRunner(second, TextWriter.Null, SweepReport.WriteAll).Run(Plan());
        Assert.False(s2.Interrupted);
        Assert.Equal(["kernel=1/seed0"], second.Resumed);
        Assert.Equal(["kernel=1/seed1", "kernel=3/seed0", "kernel=3/seed1"], second.Trained);
        Assert.All(Plan().Points, p => Assert.Equal(PointState.Finished, SweepRunner.StatusOf(p).State));
        Assert.Single(Directory.GetDirectories(Plan().Points[0].Directory));
        Assert.All(s2.Results.Configs, c => Assert.Equal(2, c.SeedsDone));
    }
}
