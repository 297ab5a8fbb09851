using ArchDsl.Compiler;
using ArchDsl.Compiler.Printers;
using ArchDsl.Runtime.Model;
using ArchDsl.Runtime.Training;
using ArchDsl.Torch;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Tests;

/// <summary>Checkpoint round trips, and every bad input the trainer meets: a clear message, nothing lost.</summary>
[Collection(TorchModelCollection.Name)]
public class CheckpointTests
{
    /// <summary>A checkpoint written before floats were printed as Python does (.NET's <c>G6</c>: <c>eps: 1E-08</c>) still
    /// resumes: its optimizer text names the same optimizer as today's <c>eps: 1e-08</c>; a different value does not.</summary>
    [Fact]
    public void An_optimizer_text_of_an_older_checkpoint_matches_the_same_optimizer()
    {
        var run = new AdamWConfig(0.0012345678, 0.05, 0.9, 0.999, 1e-8).ToString();
        Assert.Equal("adamw(lr: 0.0012345678, weight_decay: 0.05, betas: [0.9, 0.999], eps: 1e-08)", run);
        Assert.True(CheckpointState.SameOptimizer("adamw(lr: 0.00123457, weight_decay: 0.05, betas: [0.9, 0.999], eps: 1E-08)", run));
        Assert.True(CheckpointState.SameOptimizer(run, run));
        Assert.False(CheckpointState.SameOptimizer("adamw(lr: 0.00123457, weight_decay: 0.05, betas: [0.9, 0.999], eps: 1E-07)", run));
        Assert.False(CheckpointState.SameOptimizer("adamw(lr: 0.001, weight_decay: 0.05, betas: [0.9, 0.999], eps: 1e-08)", run));
        Assert.False(CheckpointState.SameOptimizer(new SgdConfig(0.0012345678, 0.9, 0.05, false).ToString(), run));
        // two texts of today's printing are compared as they are: past the sixth digit is still a different optimizer
        var a = new AdamWConfig(0.0012345671, 0.05, 0.9, 0.999, 1e-8).ToString();
        var b = new AdamWConfig(0.0012345674, 0.05, 0.9, 0.999, 1e-8).ToString();
        Assert.False(CheckpointState.SameOptimizer(a, b));
        Assert.False(CheckpointState.SameOptimizer(b, a));
    }

    [Fact]
    public void A_checkpoint_round_trips_weights_buffers_optimizer_state_and_position()
    {
        var graph = CompileTiny();
        using var model = new IrModel(graph, seed: 1);
        using var opt = Trainer.CreateOptimizer(model, graph.Train.Optimizer);
        using (NewDisposeScope())
        {
            var x = torch.randn(4, 1, 8, 8);
            var loss = model.forward(x).sum();
            loss.backward();
            opt.step();
        }
        var state = new CheckpointState { Arch = "Tiny", Epoch = 1, Batch = 2, BatchesPerEpoch = 6, Step = 8, EpochLossSum = 1.0 / 3, EpochCorrect = 5, EpochSamples = 64 };
        var dir = TempRoot();
        Checkpoint.Write(dir, "last", Checkpoint.Serialize(model, opt, state), state);

        using var other = new IrModel(graph, seed: 2);
        using var otherOpt = Trainer.CreateOptimizer(other, graph.Train.Optimizer);
        var loaded = Checkpoint.Load(Path.Combine(dir, "last.safetensors"), other, otherOpt);
        Assert.Equal(state with { }, loaded with { });
        Assert.Equal(1.0 / 3, loaded.EpochLossSum); // bit for bit through JSON
        using (NewDisposeScope())
        {
            foreach (var (k, t) in model.state_dict()) Assert.True(t.allclose(other.state_dict()[k], 0, 0), k);
            var a = opt.state_dict();
            var b = otherOpt.state_dict();
            Assert.Equal(a.Keys.Order(), b.Keys.Order());
            foreach (var k in a.Keys) Assert.True(a[k].allclose(b[k], 0, 0), k);
        }
        Assert.True(File.Exists(Path.Combine(dir, "last.json")));
        // The file is plain safetensors: the binding's reader (and PyTorch's) can open it.
        Assert.Contains(Safetensors.Describe(Path.Combine(dir, "last.safetensors")), e => e.name == "model.stem.0.weight");
    }

    [Fact]
    public void A_corrupt_checkpoint_is_named_and_refused()
    {
        var r = Trainer.Train(CompileTiny("train.epochs=1"), Options(TempRoot()));
        var last = Path.Combine(r.RunDir, "checkpoints", "last.safetensors");
        File.Delete(Path.Combine(r.RunDir, RunDirectory.SummaryFile)); // pretend it stopped early

        var bytes = File.ReadAllBytes(last);
        File.WriteAllBytes(last, bytes[..(bytes.Length / 2)]); // torn
        var e = Assert.Throws<TrainingException>(() => Trainer.Resume(r.RunDir, new TrainOptions { HandleSignals = false }));
        Assert.Contains(last, e.Message);
        Assert.Contains("corrupt", e.Message);

        File.WriteAllBytes(last, new byte[] { 1, 2, 3 });
        e = Assert.Throws<TrainingException>(() => Evaluator.Evaluate(last));
        Assert.Contains("corrupt", e.Message);
    }

    [Fact]
    public void A_checkpoint_of_another_shape_names_the_tensor_and_both_shapes()
    {
        var r = Trainer.Train(CompileTiny("train.epochs=1"), Options(TempRoot()));
        // Someone edits the run's graph: the model no longer fits the weights.
        File.WriteAllText(Path.Combine(r.RunDir, RunDirectory.GraphYamlFile), GraphYaml.Write(CompileTiny("dim=12", "train.epochs=1")));
        var e = Assert.Throws<TrainingException>(() => Evaluator.Evaluate(r.RunDir));
        Assert.Contains("tensor 'stem.0.weight': the checkpoint has [8, 1, 2, 2], the model expects [12, 1, 2, 2]", e.Message);
    }

    [Fact]
    public void A_train_key_of_the_wrong_type_is_refused_before_anything_is_written()
    {
        var graph = CompileTiny();
        var root = TempRoot();
        foreach (var (key, value, message) in new (string, object, string)[]
                 {
                     // the compiler's own rules and messages (TrainSchema.Check), for a config not compiled from source
                     ("epochs", "three", "train key 'epochs' expects a positive integer but got the string \"three\""),
                     ("batch", 0L, "train key 'batch' expects a positive integer but got the integer 0"),
                     ("label_smoothing", 1.5, "train key 'label_smoothing' expects a number in [0, 1) but got the number 1.5"),
                     ("optimizer", new TrainCall("adamw", new Dictionary<string, object> { ["lr"] = "fast" }), "argument 'lr' of adamw expects a number > 0 but got the string \"fast\""),
                     ("optimizer", new TrainCall("rmsprop", new Dictionary<string, object>()), "unknown optimizer 'rmsprop'"),
                     ("augment", new List<object> { new TrainCall("mixup", new Dictionary<string, object>()) }, "unknown augment 'mixup'"),
                     ("schedule", new TrainCall("step", new Dictionary<string, object>()), "unknown schedule 'step'"),
                     ("device", "tpu", "train key 'device' expects cpu or cuda but got the string \"tpu\""),
                     ("data", "cifar11", "unknown data 'cifar11'"),
                     ("epoch", 3L, "unknown train key 'epoch'"),
                 })
        {
            var values = new Dictionary<string, object>(graph.Train.Values) { [key] = value };
            var e = Assert.Throws<TrainingException>(() => Trainer.Train(graph with { Train = new TrainConfig(values) }, Options(root)));
            Assert.Contains(message, e.Message);
        }
        Assert.Empty(Directory.GetFileSystemEntries(root)); // no half-made run directories
    }

    [Fact]
    public void Missing_data_names_the_package_and_the_path()
    {
        var root = TempRoot();
        var e = Assert.Throws<TrainingException>(() =>
            Trainer.Train(CompileTiny("train.data=fashion-mnist", "train.path=\"/nonexistent/fashion\""), Options(root)));
        Assert.Contains("/nonexistent/fashion", e.Message);
        Assert.Contains("dataset-fashion-mnist", e.Message);
        Assert.Empty(Directory.GetFileSystemEntries(root));
    }

    [Fact]
    public void A_non_finite_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint()
    {
        var root = TempRoot();
        var e = Assert.Throws<TrainingException>(() =>
            Trainer.Train(CompileTiny("train.optimizer=sgd(lr: 1e30)", "train.schedule=constant", "train.augment=[]"), Options(root, checkpointEvery: 1)));
        Assert.Matches(@"the loss became (NaN|infinite) at step \d+ \(epoch 1, batch \d+\)", e.Message);
        int step = int.Parse(System.Text.RegularExpressions.Regex.Match(e.Message, @"at step (\d+)").Groups[1].Value);
        Assert.True(step >= 2, e.Message);
        var dir = Directory.GetDirectories(root).Single();
        var last = Path.Combine(dir, "checkpoints", "last.safetensors");
        Assert.Contains(last, e.Message);
        var state = Checkpoint.ReadState(last);
        Assert.Equal(step - 1, state.Step); // saved after every step up to the bad one, not after it
        Assert.False(File.Exists(Path.Combine(dir, RunDirectory.SummaryFile)));
        using var model = new IrModel(CompileTiny(), 0);
        Checkpoint.Load(last, model, null);
        using (NewDisposeScope())
            foreach (var (k, t) in model.state_dict())
                if (t.dtype == torch.float32) Assert.True(t.isfinite().logical_not().sum().item<long>() == 0, $"{k} holds non-finite values");
    }

    [Fact]
    public void A_full_disk_while_saving_keeps_the_previous_checkpoint()
    {
        var root = TempRoot();
        var sink = new TrainerTests.RecordingSink();
        sink.OnStep = s => { if (s.Step == 5) Checkpoint.StreamFault = inner => new FullDiskStream(inner, 4096); };
        try
        {
            var e = Assert.Throws<TrainingException>(() => Trainer.Train(CompileTiny(), Options(root, checkpointEvery: 4) with { Progress = sink }));
            Assert.Contains("could not save checkpoint", e.Message);
            Assert.Contains("No space left on device", e.Message);
            Assert.Contains("previous version", e.Message);
        }
        finally { Checkpoint.StreamFault = null; }
        var dir = Directory.GetDirectories(root).Single();
        var last = Path.Combine(dir, "checkpoints", "last.safetensors");
        Assert.Equal(4, Checkpoint.ReadState(last).Step); // the step-8 save failed; step 4's is intact
        Assert.Empty(Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories));
        var resumed = Trainer.Resume(dir, new TrainOptions { HandleSignals = false });
        Assert.Equal(TrainOutcome.Completed, resumed.Outcome);
    }

    [Fact]
    public void Cuda_trains_on_a_cuda_libtorch_and_is_a_clear_error_without_one()
    {
        var root = TempRoot();
        if (torch.cuda.is_available())
        {
            // A CUDA libtorch (a GPU host): the error below cannot occur, so check the device works instead.
            Assert.Equal(TrainOutcome.Completed, Trainer.Train(CompileTiny("train.epochs=1"), Options(root) with { Device = "cuda" }).Outcome);
            return;
        }
        var e = Assert.Throws<TrainingException>(() => Trainer.Train(CompileTiny(), Options(root) with { Device = "cuda" }));
        Assert.Contains("no CUDA device", e.Message);
    }

    /// <summary>Accepts <c>limit</c> bytes, then fails as a full disk does.</summary>
    private sealed class FullDiskStream(Stream inner, long limit) : Stream
    {
        private long _written;
        public override void Write(byte[] buffer, int offset, int count)
        {
            if (_written + count > limit) throw new IOException("No space left on device");
            inner.Write(buffer, offset, count);
            _written += count;
        }
        public override void Flush() => inner.Flush();
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _written;
        public override long Position { get => _written; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
