using ArchDsl.Runtime.Training;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// Training with <c>amp</c>: a bf16 run stopped mid-epoch resumes to exactly the metrics of an uninterrupted bf16 run
/// (and they differ from fp32's: bf16 ran — the tiny model is widened to 128 channels so its 1×1 convolutions are
/// bf16 under the CPU policy); fp16 on the CPU is refused before anything is written; summary.yaml states both the
/// precision and the BLAS kernel.
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
}
