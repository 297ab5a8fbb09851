using ArchDsl.Runtime.Training;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// Training with <c>amp</c>: a bf16 run stopped mid-epoch resumes to exactly the metrics of an uninterrupted bf16 run
/// (and they differ from fp32's: bf16 ran — the tiny model is widened to 128 channels so its 1×1 convolutions are
/// bf16 under the CPU policy); fp16 on the CPU is refused before anything is written; summary.yaml states both the
/// precision and the BLAS kernel. amp: fp16's loss scaling, which needs CUDA, is driven on the CPU through
/// <see cref="LossScalingProbe"/>: skipped steps, their count and scale in the log, summary and checkpoint, and the stop
/// at the minimum scale.
/// </summary>
[Collection(TorchModelCollection.Name)]
public class TrainerAmpTests
{
    static readonly string[] Wide = ["dim=128", "train.epochs=1", "train.augment=[]"];

    [Fact]
    public void A_bf16_run_resumes_to_the_same_metrics_as_an_uninterrupted_one()
    {
        var root = TempRoot();
        var full = Trainer.Train(CompileTiny([.. Wide, "train.amp=bf16"]), Options(root, checkpointEvery: 0));
        var fp32 = Trainer.Train(CompileTiny(Wide), Options(root, checkpointEvery: 0));

        using var cts = new CancellationTokenSource();
        var stopper = new TrainerTests.RecordingSink { OnStep = s => { if (s.Step == 3) cts.Cancel(); } };
        var first = Trainer.Train(CompileTiny([.. Wide, "train.amp=bf16"]), Options(root, checkpointEvery: 0) with { Progress = stopper, Cancellation = cts.Token });
        Assert.Equal(TrainOutcome.Interrupted, first.Outcome);
        var resumed = Trainer.Resume(first.RunDir, new TrainOptions { HandleSignals = false });
        Assert.Equal(TrainOutcome.Completed, resumed.Outcome);
        Assert.Equal(Curve(full.RunDir), Curve(first.RunDir));
        Assert.Equal(full.TestLoss, resumed.TestLoss);
        Assert.NotEqual(Curve(fp32.RunDir), Curve(full.RunDir));

        var summary = File.ReadAllText(Path.Combine(full.RunDir, RunDirectory.SummaryFile));
        Assert.Contains("amp: bf16   # bf16 (autocast; float32 weights and optimizer state)\n", summary);
        Assert.Matches("\nblas: \"(OpenBLAS \\w+ \\((default|chosen|user): .+\\)|not OpenBLAS .+)\"\n", summary);
        Assert.Contains("amp: off   # fp32\n", File.ReadAllText(Path.Combine(fp32.RunDir, RunDirectory.SummaryFile)));
    }

    [Fact]
    public void Fp16_on_the_cpu_is_refused_before_anything_is_written()
    {
        var root = TempRoot();
        var e = Assert.Throws<TrainingException>(() => Trainer.Train(CompileTiny("train.amp=fp16"), Options(root)));
        Assert.Equal("train key 'amp': amp: fp16 needs a CUDA device; libtorch's CPU autocast and kernels compute in bfloat16, not float16; " +
                     "use amp: bf16 on the CPU, or --device cuda", e.Message);
        Assert.Empty(Directory.GetFiles(root, "*.safetensors", SearchOption.AllDirectories));
    }

    [Fact]
    public void The_loss_scaler_state_travels_in_the_checkpoint_exactly()
    {
        var scaler = new ArchDsl.Torch.GradScaler(initScale: 1.0 / 3, growthInterval: 7);
        var state = new CheckpointState { Arch = "Tiny", LossScaler = scaler.State.ToDictionary() };
        var back = CheckpointState.FromJson(state.ToJson());
        var restored = new ArchDsl.Torch.GradScaler(growthInterval: 7);
        restored.Load(back.LossScaler!);
        Assert.Equal((scaler.Scale, scaler.GrowthTracker), (restored.Scale, restored.GrowthTracker));
        Assert.Null(CheckpointState.FromJson(new CheckpointState { Arch = "Tiny" }.ToJson()).LossScaler); // fp32 and bf16 keep none
    }

    /// <summary>fp16's step logic on the CPU (<see cref="LossScalingProbe"/>): a GradScaler(init 1024, growth_interval 3)
    /// with the loss made +inf at steps 3 and 6 and NaN at step 8 (1-based), 12 steps in all.</summary>
    static LossScalingProbe Overflows() => new(() => new ArchDsl.Torch.GradScaler(initScale: 1024, growthInterval: 3),
        step => step switch { 2 or 5 => float.PositiveInfinity, 7 => float.NaN, _ => 1f });

    [Fact]
    public void With_loss_scaling_an_overflowed_step_is_skipped_and_counted_as_GradScaler_does_and_the_run_goes_on()
    {
        var root = TempRoot();
        var sink = new TrainerTests.RecordingSink();
        var run = Trainer.Train(CompileTiny("train.augment=[]"), Options(root, checkpointEvery: 0) with { ScalingProbe = Overflows(), Progress = sink });
        Assert.Equal(TrainOutcome.Completed, run.Outcome);
        var steps = MetricRecord.ReadAll(Path.Combine(run.RunDir, RunDirectory.MetricsFile)).OfType<StepRecord>().ToList();
        // GradScaler's rule by hand: skip → ×0.5 and tracker 0; 3 clean steps in a row → ×2.
        Assert.Equal([1024, 1024, 512, 512, 512, 256, 256, 128, 128, 128, 256, 256], steps.Select(r => r.LossScale!.Value));
        Assert.Equal([0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 3, 3], steps.Select(r => r.SkippedSteps!.Value));
        Assert.True(double.IsPositiveInfinity(steps[2].Loss) && double.IsNaN(steps[7].Loss));
        Assert.All(steps, r => Assert.True(double.IsFinite(r.TrainLoss), "a skipped step's loss went into the epoch's mean"));
        Assert.Contains("the loss became infinite at step 3 (epoch 1, batch 3); optimizer step skipped, loss scale 1024 → 512 (1 skipped so far)", sink.Messages);
        Assert.Contains("the loss became NaN at step 8 (epoch 2, batch 2); optimizer step skipped, loss scale 256 → 128 (3 skipped so far)", sink.Messages);
        Assert.Contains("loss_scaler:\n  scale: 256.0\n  skipped_steps: 3   #", File.ReadAllText(Path.Combine(run.RunDir, RunDirectory.SummaryFile)));
        Assert.True(double.IsFinite(run.TestLoss!.Value));
    }

    [Fact]
    public void With_loss_scaling_a_run_stopped_after_a_skip_resumes_to_the_same_scale_and_count()
    {
        var root = TempRoot();
        var full = Trainer.Train(CompileTiny("train.augment=[]"), Options(root, checkpointEvery: 0) with { ScalingProbe = Overflows() });
        using var cts = new CancellationTokenSource();
        var stopper = new TrainerTests.RecordingSink { OnStep = s => { if (s.Step == 4) cts.Cancel(); } };
        var first = Trainer.Train(CompileTiny("train.augment=[]"), Options(root, checkpointEvery: 0) with { ScalingProbe = Overflows(), Progress = stopper, Cancellation = cts.Token });
        Assert.Equal(TrainOutcome.Interrupted, first.Outcome);
        Assert.Equal("1", Checkpoint.ReadState(first.LastCheckpoint).LossScaler!["skipped_steps"]);
        var resumed = Trainer.Resume(first.RunDir, new TrainOptions { HandleSignals = false, ScalingProbe = Overflows() });
        Assert.Equal(Curve(full.RunDir), Curve(first.RunDir));
        Assert.Equal(full.TestLoss, resumed.TestLoss);
        string Scaler(string dir) => File.ReadAllText(Path.Combine(dir, RunDirectory.SummaryFile)).Split("loss_scaler:")[1].Split("resumes:")[0];
        Assert.Equal(Scaler(full.RunDir), Scaler(first.RunDir));
    }

    [Fact]
    public void With_loss_scaling_the_run_stops_when_the_scale_reaches_its_minimum_and_keeps_the_last_checkpoint()
    {
        var root = TempRoot();
        var probe = new LossScalingProbe(() => new ArchDsl.Torch.GradScaler(initScale: 8, minScale: 1), _ => float.NaN);
        var e = Assert.Throws<TrainingException>(() => Trainer.Train(CompileTiny("train.augment=[]"), Options(root, checkpointEvery: 1) with { ScalingProbe = probe }));
        var last = Path.Combine(Directory.GetDirectories(root).Single(), "checkpoints", "last.safetensors");
        Assert.Equal("the loss became NaN at step 3 (epoch 1, batch 3); the loss scale has backed off to 1, at or below the minimum 1, after 3 skipped step(s): " +
                     $"training stopped. The last good checkpoint is {last} (step 2); lower the learning rate or set train.clip, then start again.", e.Message);
        Assert.Equal("2", Checkpoint.ReadState(last).LossScaler!["scale"]);
    }
}
