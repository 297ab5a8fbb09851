using System.Text.Json;
using ArchDsl.Runtime.Training;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;

namespace ArchDsl.Runtime.Tests;

[Collection(TorchModelCollection.Name)]
public class TrainerTests
{
    [Fact]
    public void A_run_trains_and_writes_its_directory()
    {
        var root = TempRoot();
        var sink = new RecordingSink();
        var result = Trainer.Train(CompileTiny("train.augment=[flip]", "train.epochs=4"), Options(root) with { Progress = sink });

        Assert.Equal(TrainOutcome.Completed, result.Outcome);
        Assert.Equal(24, result.Steps); // 192 / 32 × 4 epochs
        var dir = result.RunDir;
        Assert.StartsWith(Path.Combine(root, "tiny-"), dir);
        foreach (var f in new[] { "spec.arch", "overrides.txt", "graph.txt", "graph.yaml", "run.json", "metrics.jsonl", "summary.yaml",
                                  "checkpoints/last.safetensors", "checkpoints/last.json" })
            Assert.True(File.Exists(Path.Combine(dir, f)), $"{f} is missing");
        Assert.False(File.Exists(Path.Combine(dir, "checkpoints/best.safetensors")), "no validation split: nothing is selected, no best checkpoint");
        Assert.Equal(TinySpec, File.ReadAllText(Path.Combine(dir, "spec.arch")));
        Assert.Contains("blocks.0.token.0", File.ReadAllText(Path.Combine(dir, "graph.txt")));
        Assert.Empty(Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories));

        var records = MetricsLog.Read(Path.Combine(dir, "metrics.jsonl")).Records;
        Assert.Equal(24, records.Count(r => r.GetProperty("kind").GetString() == "step"));
        var epochs = records.Where(r => r.GetProperty("kind").GetString() == "epoch").ToList();
        Assert.Equal(4, epochs.Count);
        Assert.True(epochs[3].GetProperty("test_acc").GetDouble() > 0.6, $"test acc {epochs[3].GetProperty("test_acc").GetDouble()}: " + "the tiny model should learn the synthetic classes (chance is 0.25)");
        Assert.True(epochs[3].GetProperty("train_loss").GetDouble() < epochs[0].GetProperty("train_loss").GetDouble());

        var summary = File.ReadAllText(Path.Combine(dir, "summary.yaml"));
        Assert.Contains($"parameters: {result.Parameters}", summary);
        Assert.Contains("test:\n  loss: ", summary);
        Assert.Contains($"accuracy: {result.TestAccuracy!.Value.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture)}", summary);
        Assert.Contains("images_per_s: ", summary);
        Assert.Equal(CompileTiny().ParamCount, result.Parameters);
        Assert.Equal(new long[] { 4 }, sink.Epochs.Select(e => (long)e.Epoch).TakeLast(1));

        var state = Checkpoint.ReadState(Path.Combine(dir, "checkpoints/last.safetensors"));
        Assert.Equal((4, 0, 24L), (state.Epoch, state.Batch, state.Step));
        Assert.Equal(24, JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "checkpoints/last.json"))).RootElement.GetProperty("step").GetInt64());

        Assert.Equal(4, sink.Epochs.Count);
        Assert.Equal(24, sink.Steps);
        Assert.NotNull(sink.Ended);
    }

    [Fact]
    public void The_same_seed_gives_the_same_loss_curve_and_another_seed_another()
    {
        var root = TempRoot();
        var a = Trainer.Train(CompileTiny(), Options(root));
        var b = Trainer.Train(CompileTiny(), Options(root));
        var c = Trainer.Train(CompileTiny("train.seed=4"), Options(root));
        Assert.NotEqual(a.RunDir, b.RunDir);
        var curve = Curve(a.RunDir);
        Assert.Equal(14, curve.Count);
        Assert.Equal(curve, Curve(b.RunDir));
        Assert.NotEqual(curve, Curve(c.RunDir));
    }

    [Fact]
    public void A_cancelled_run_resumes_to_the_same_metrics_as_an_uninterrupted_one()
    {
        var root = TempRoot();
        var full = Trainer.Train(CompileTiny(), Options(root, checkpointEvery: 0));

        using var cts = new CancellationTokenSource();
        var stopper = new RecordingSink { OnStep = s => { if (s.Step == 3) cts.Cancel(); } };
        var first = Trainer.Train(CompileTiny(), Options(root, checkpointEvery: 0) with { Progress = stopper, Cancellation = cts.Token });
        Assert.Equal(TrainOutcome.Interrupted, first.Outcome);
        Assert.Equal(3, first.Steps);
        Assert.False(File.Exists(Path.Combine(first.RunDir, "summary.yaml")));
        var state = Checkpoint.ReadState(Path.Combine(first.RunDir, "checkpoints/last.safetensors"));
        Assert.Equal((0, 3, 3L, "interrupt"), (state.Epoch, state.Batch, state.Step, state.Reason));

        var resumed = Trainer.Resume(first.RunDir, new TrainOptions { HandleSignals = false });
        Assert.Equal(TrainOutcome.Completed, resumed.Outcome);
        Assert.Equal(full.Steps, resumed.Steps);
        Assert.Equal(Curve(full.RunDir), Curve(first.RunDir));
        Assert.Equal(full.TestAccuracy, resumed.TestAccuracy);
        Assert.Equal(full.TestLoss, resumed.TestLoss);

        var again = Assert.Throws<TrainingException>(() => Trainer.Resume(first.RunDir));
        Assert.Contains("already complete", again.Message);
    }

    [Fact]
    public void A_validation_split_judges_epochs_and_the_test_set_judges_the_end()
    {
        var root = TempRoot();
        var r = Trainer.Train(CompileTiny("train.val_split=0.25", "train.epochs=1", "train.augment=[]"), Options(root));
        Assert.Equal("val", r.EvalSet);
        Assert.NotNull(r.EvalAccuracy);
        Assert.NotNull(r.TestAccuracy);
        var records = MetricsLog.Read(Path.Combine(r.RunDir, "metrics.jsonl")).Records;
        Assert.True(records.Single(x => x.GetProperty("kind").GetString() == "epoch").TryGetProperty("val_acc", out _));
        Assert.Equal(r.TestAccuracy, records.Single(x => x.GetProperty("kind").GetString() == "test").GetProperty("test_acc").GetDouble());
        Assert.Contains("val:\n  loss:", File.ReadAllText(Path.Combine(r.RunDir, "summary.yaml")));
    }

    [Fact]
    public void Sgd_constant_and_label_smoothing_train_too()
    {
        var root = TempRoot();
        var r = Trainer.Train(CompileTiny("train.optimizer=sgd(lr: 0.05, momentum: 0.9)", "train.schedule=cosine(warmup: 2)",
                                      "train.label_smoothing=0.1", "train.clip=1.0", "train.epochs=1"), Options(root));
        Assert.Equal(TrainOutcome.Completed, r.Outcome);
        Assert.Contains("sgd(lr: 0.05, momentum: 0.9", File.ReadAllText(Path.Combine(r.RunDir, "summary.yaml")));
        var lrs = MetricsLog.Read(Path.Combine(r.RunDir, "metrics.jsonl")).Records
            .Where(x => x.GetProperty("kind").GetString() == "step").Select(x => x.GetProperty("lr").GetDouble()).ToList();
        Assert.Equal(0.025, lrs[0], 12); // warm-up: 0.05 · 1/2
        Assert.Equal(0.05, lrs[1], 12);
        Assert.True(lrs[^1] < lrs[1]);
    }

    [Fact]
    public void Plain_progress_prints_epoch_lines()
    {
        var root = TempRoot();
        var w = new StringWriter();
        Trainer.Train(CompileTiny("train.epochs=1"), Options(root) with { Progress = new PlainProgressSink(w, TimeSpan.Zero) });
        var text = w.ToString();
        Assert.Contains("training Tiny (", text);
        Assert.Contains("epoch 1/1  batch 6/6  loss ", text);
        Assert.Contains("epoch 1/1 done in ", text);
        Assert.Contains("test accuracy ", text);
    }

    [Fact]
    public void One_cycle_cycles_adam_beta1_and_sgd_momentum_as_pytorch()
    {
        var schedule = new OneCycleSchedule(0.01, 100);
        var graph = CompileTiny();
        using var model = new ArchDsl.Runtime.Model.IrModel(graph, 0);
        using var adam = (ArchDsl.Torch.Modules.AdamW)Trainer.CreateOptimizer(model, graph.Train.Optimizer);
        using var sgd = (ArchDsl.Torch.Modules.SGD)Trainer.CreateOptimizer(model, new ArchDsl.Compiler.SgdConfig(0.1, 0.9, 0, false));
        foreach (var step in new long[] { 0, 29, 60, 99 })
        {
            Trainer.ApplyMomentum(adam, schedule, step);
            Trainer.ApplyMomentum(sgd, schedule, step);
            Assert.Equal(schedule.Momentum(step)!.Value, adam.beta1);
            Assert.Equal(schedule.Momentum(step)!.Value, sgd.momentum);
        }
        Assert.Equal(0.95, schedule.Momentum(0)!.Value, 12);                           // max_momentum first
        Assert.Equal(0.85, schedule.Momentum(29)!.Value, 12);                          // base_momentum at the peak
        Trainer.ApplyMomentum(adam, new ConstantSchedule(0.01), 5);                     // no momentum: left alone
        Assert.Equal(schedule.Momentum(99)!.Value, adam.beta1);
    }

    internal sealed class RecordingSink : IProgressSink
    {
        public Action<StepInfo>? OnStep;
        public int Steps;
        public List<EpochInfo> Epochs = new();
        public TrainResult? Ended;
        public List<string> Messages = new();
        public void StepCompleted(StepInfo step) { Steps++; OnStep?.Invoke(step); }
        public void EpochCompleted(EpochInfo epoch) => Epochs.Add(epoch);
        public void RunEnded(TrainResult result) => Ended = result;
        public void Message(string text) => Messages.Add(text);
    }
}
