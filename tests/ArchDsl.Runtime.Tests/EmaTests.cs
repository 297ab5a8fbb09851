using ArchDsl.Runtime.Model;
using ArchDsl.Runtime.Training;
using ArchDsl.Torch;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The weights' moving average (train key <c>ema</c>, timm's ModelEmaV2): its values against timm's formula
/// <c>ema = decay·ema + (1 − decay)·w</c> on every state entry, its place in a run (training untouched, checkpointed,
/// evaluated, in summary.yaml), and an interrupted-and-resumed run's average equal bit for bit to an uninterrupted one's.
/// </summary>
[Collection(TorchModelCollection.Name)]
public class EmaTests
{
    private static bool Floating(Tensor t) => t.dtype is ScalarType.Float32 or ScalarType.Float64;

    /// <summary>After k updates from weights w₁…w_k, timm's recurrence gives ema_k = d^k·w₀ + Σ_j (1 − d)·d^(k−j)·w_j;
    /// computed here in double, compared with the float32 average (relative 1e-6). The integer num_batches_tracked takes
    /// timm's float result truncated by copy_: from 0 with the model at 5 and d = 0.5, 2.5 → 2.</summary>
    [Fact]
    public void The_average_follows_timms_formula_on_parameters_and_buffers()
    {
        const double d = 0.5;
        var graph = CompileTiny($"train.ema={d}");
        using var model = new IrModel(graph, seed: 1);
        using var ema = ModelEma.For(graph, model, CPU)!;
        var expected = model.state_dict().Where(kv => Floating(kv.Value))
            .ToDictionary(kv => kv.Key, kv => kv.Value.detach().to(ScalarType.Float64).clone().DetachFromDisposeScope());
        for (var k = 1; k <= 3; k++)
        {
            using var scope = NewDisposeScope();
            using (no_grad())
                foreach (var (name, t) in model.state_dict().Where(kv => Floating(kv.Value)))
                {
                    t.copy_(TestSupport.Tensors.Uniform(10 * k + name.Length, t.shape));
                    var next = expected[name].mul(d).add(t.to(ScalarType.Float64).mul(1 - d)).DetachFromDisposeScope();
                    expected[name].Dispose();
                    expected[name] = next;
                }
            ema.Update(model);
        }
        foreach (var (name, t) in ema.Module.state_dict().Where(kv => Floating(kv.Value)))
        {
            using var scope = NewDisposeScope();
            var err = t.to(ScalarType.Float64).sub(expected[name]).abs().max().item<double>();
            var scale = expected[name].abs().max().item<double>();
            Assert.True(err <= 1e-6 * Math.Max(scale, 1), $"{name}: off by {err}");
        }
        foreach (var t in expected.Values) t.Dispose();

        var tracked = model.state_dict().First(kv => kv.Key.EndsWith("num_batches_tracked", StringComparison.Ordinal));
        var emaTracked = ema.Module.state_dict()[tracked.Key];
        using (no_grad()) { emaTracked.copy_(tensor(0L)); tracked.Value.copy_(tensor(5L)); }
        ema.Update(model);
        Assert.Equal(2L, emaTracked.item<long>());
    }

    [Fact]
    public void A_run_with_ema_trains_the_same_and_reports_and_saves_the_average_beside_the_weights()
    {
        var root = TempRoot();
        var plain = Trainer.Train(CompileTiny(), Options(root, checkpointEvery: 0) with { RunName = "plain" });
        var sink = new TrainerTests.RecordingSink();
        var withEma = Trainer.Train(CompileTiny("train.ema=0.9"), Options(root, checkpointEvery: 0) with { RunName = "ema", Progress = sink });
        Assert.Equal(Curve(plain.RunDir), Curve(withEma.RunDir)); // the average never touches training
        Assert.Equal(plain.TestAccuracy, withEma.TestAccuracy);

        var summary = File.ReadAllText(Path.Combine(withEma.RunDir, "summary.yaml"));
        Assert.Contains("\nema:", summary);
        Assert.Contains("  decay: 0.9\n", summary);
        Assert.Matches(@"\n  test:\n    loss: [0-9.]+\n    accuracy: [0-9.]+\n", summary[summary.IndexOf("\nema:", StringComparison.Ordinal)..]);
        Assert.DoesNotContain("\nema:", File.ReadAllText(Path.Combine(plain.RunDir, "summary.yaml")));
        Assert.Equal(2, sink.Messages.Count(m => m.Contains(": ema (decay 0.9) test loss ", StringComparison.Ordinal)));

        using var scope = NewDisposeScope();
        var saved = Safetensors.Load(Path.Combine(withEma.RunDir, "checkpoints/last.safetensors"));
        var raw = saved.Where(kv => kv.Key.StartsWith(Checkpoint.ModelPrefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[Checkpoint.ModelPrefix.Length..], kv => kv.Value);
        var avg = saved.Where(kv => kv.Key.StartsWith(ModelEma.Prefix, StringComparison.Ordinal)).ToDictionary(kv => kv.Key[ModelEma.Prefix.Length..], kv => kv.Value);
        Assert.Equal(raw.Keys.Order(), avg.Keys.Order());
        Assert.Contains(raw.Keys, k => Floating(raw[k]) && TestSupport.Tensors.MaxAbsDiff(raw[k], avg[k]) > 0); // an average, not a copy
        Assert.DoesNotContain(Safetensors.Load(Path.Combine(plain.RunDir, "checkpoints/last.safetensors")).Keys, k => k.StartsWith(ModelEma.Prefix, StringComparison.Ordinal));
    }

    [Fact]
    public void An_interrupted_and_resumed_run_ends_with_the_uninterrupted_runs_average_bit_for_bit()
    {
        var root = TempRoot();
        var full = Trainer.Train(CompileTiny("train.ema=0.9"), Options(root, checkpointEvery: 0) with { RunName = "full" });
        using var cts = new CancellationTokenSource();
        var stopper = new TrainerTests.RecordingSink { OnStep = s => { if (s.Step == 3) cts.Cancel(); } };
        var first = Trainer.Train(CompileTiny("train.ema=0.9"), Options(root, checkpointEvery: 0) with { RunName = "cut", Progress = stopper, Cancellation = cts.Token });
        Assert.Equal(TrainOutcome.Interrupted, first.Outcome);
        var resumed = Trainer.Resume(first.RunDir, new TrainOptions { HandleSignals = false });
        Assert.Equal(TrainOutcome.Completed, resumed.Outcome);
        Assert.Equal(Curve(full.RunDir), Curve(first.RunDir));

        using var scope = NewDisposeScope();
        var a = Safetensors.Load(Path.Combine(full.RunDir, "checkpoints/last.safetensors"));
        var b = Safetensors.Load(Path.Combine(first.RunDir, "checkpoints/last.safetensors"));
        foreach (var k in a.Keys.Where(k => k.StartsWith(ModelEma.Prefix, StringComparison.Ordinal)))
            Assert.True(a[k].dtype == b[k].dtype && a[k].bytes().SequenceEqual(b[k].bytes()), $"{k} differs after the resume");
        string Ema(string dir)
        {
            var s = File.ReadAllText(Path.Combine(dir, "summary.yaml"));
            var at = s.IndexOf("\nema:", StringComparison.Ordinal);
            return s[at..s.IndexOf("\ntime:", at, StringComparison.Ordinal)];
        }
        Assert.Equal(Ema(full.RunDir), Ema(first.RunDir));
    }

    [Fact]
    public void A_checkpoint_without_the_average_does_not_resume_a_run_with_ema()
    {
        var root = TempRoot();
        using var cts = new CancellationTokenSource();
        var stopper = new TrainerTests.RecordingSink { OnStep = s => { if (s.Step == 2) cts.Cancel(); } };
        var cut = Trainer.Train(CompileTiny("train.ema=0.9"), Options(root, checkpointEvery: 0) with { Progress = stopper, Cancellation = cts.Token });
        var last = Path.Combine(cut.RunDir, "checkpoints/last.safetensors");
        using (var scope = NewDisposeScope())
        {
            var tensors = Safetensors.Load(last);
            var meta = Safetensors.ReadMetadata(last);
            Safetensors.Save(last, tensors.Where(kv => !kv.Key.EndsWith("stem.0.weight", StringComparison.Ordinal) || !kv.Key.StartsWith(ModelEma.Prefix, StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key, kv => kv.Value), meta);
        }
        var e = Assert.Throws<TrainingException>(() => Trainer.Resume(cut.RunDir, new TrainOptions { HandleSignals = false }));
        Assert.Equal($"checkpoint '{last}' does not hold the run's weight average (train key ema): 'ema.stem.0.weight' is missing", e.Message);
    }
}
