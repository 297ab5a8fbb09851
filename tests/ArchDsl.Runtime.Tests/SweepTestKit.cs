using System.Globalization;
using ArchDsl.Compiler;
using ArchDsl.Runtime.Sweep;
using ArchDsl.Runtime.Training;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// A stand-in for the trainer that writes a run directory the way <see cref="Trainer"/> does — run.json
/// first, metrics.jsonl ("kind": "step" / "epoch" records), summary.yaml last — with accuracies the test
/// chooses, and counts its calls. <see cref="InterruptOn"/> makes the n-th Train call stop half-way
/// (run.json and one epoch, no summary), as a killed or Ctrl-C'd run leaves it.
/// </summary>
internal sealed class FakePointTrainer(Func<SweepPoint, double> accuracy) : IPointTrainer
{
    public List<string> TrainCalls { get; } = [];
    public List<string> ResumeCalls { get; } = [];
    public List<IrGraph> Graphs { get; } = [];
    public int? InterruptOn { get; set; }
    public Func<SweepPoint, bool> FailOn { get; set; } = _ => false;
    public int Epochs { get; set; } = 2;

    public PointRunOutcome Train(SweepPoint point, IrGraph graph, string runsRoot, SweepFile sweep)
    {
        TrainCalls.Add(point.Name);
        Graphs.Add(graph);
        if (FailOn(point)) throw new TrainingException($"fake failure of {point.Name}");
        var dir = RunDirectory.Create(runsRoot, "run");
        File.WriteAllText(Path.Combine(dir, "run.json"), $"{{\"format\": \"archdsl-run/1\", \"config_hash\": \"{ConfigHash.Of(graph)}\"}}\n");
        using (var log = MetricsLog.Open(Path.Combine(dir, "metrics.jsonl")))
        {
            WriteEpoch(log, point, 1);
        }
        if (InterruptOn == TrainCalls.Count) return new PointRunOutcome(dir, Completed: false);
        Finish(point, dir, graph.ParamCount);
        return new PointRunOutcome(dir, Completed: true);
    }

    public PointRunOutcome Resume(SweepPoint point, string runDir, SweepFile sweep)
    {
        ResumeCalls.Add(point.Name);
        Assert.False(File.Exists(Path.Combine(runDir, "summary.yaml")), "resumed a finished run");
        Finish(point, runDir, 0);
        return new PointRunOutcome(runDir, Completed: true);
    }

    void WriteEpoch(MetricsLog log, SweepPoint point, int epoch)
    {
        var acc = accuracy(point);
        var stepsPerEpoch = 4;
        for (var s = 1; s <= stepsPerEpoch; s++)
        {
            var step = (epoch - 1) * stepsPerEpoch + s;
            log.Append(new Dictionary<string, object?> { ["kind"] = "step", ["epoch"] = epoch, ["batch"] = s, ["step"] = step, ["loss"] = 2.0 / step + point.Seed * 0.02, ["train_loss"] = 2.0 / step + point.Seed * 0.01 });
        }
        log.Append(new Dictionary<string, object?>
        {
            ["kind"] = "epoch", ["epoch"] = epoch, ["step"] = epoch * stepsPerEpoch, ["train_loss"] = 1.0 / epoch, ["train_acc"] = acc - 0.1 / epoch,
            ["test_loss"] = 0.5 / epoch, ["test_acc"] = acc - (Epochs - epoch) * 0.05, ["images_per_s"] = 1000.0,
        });
    }

    void Finish(SweepPoint point, string dir, long parameters)
    {
        using (var log = MetricsLog.Open(Path.Combine(dir, "metrics.jsonl")))
            for (var e = 2; e <= Epochs; e++) WriteEpoch(log, point, e);
        var acc = accuracy(point).ToString("R", CultureInfo.InvariantCulture);
        File.WriteAllText(Path.Combine(dir, "summary.yaml"), $"""
            # ArchDsl training summary
            arch: Fake
            status: completed
            epochs: {Epochs}
            parameters: {parameters}
            train:
              loss: 0.3
              accuracy: 0.95
            test:
              loss: 0.4
              accuracy: {acc}
              samples: 1000
            time:
              train_s: {10 + point.Seed}
              session_wall_s: 12
            images_per_s: {1000 + 100 * point.Seed}
            """ + "\n");
    }
}

internal static class SweepTestKit
{
    public static string RepoRoot => TestSupport.Repo.Root;

    public static string Spec(string name) => TestSupport.Repo.Spec(name);

    /// <summary>Writes a sweep file into <paramref name="dir"/> and loads it.</summary>
    public static SweepFile Write(string dir, string yaml, string name = "sweep.yaml")
    {
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, yaml);
        return SweepFile.Load(path);
    }
}
