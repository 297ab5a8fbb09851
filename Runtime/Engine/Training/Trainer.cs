using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using ArchDsl.Compiler;
using ArchDsl.Compiler.Printers;
using ArchDsl.Runtime.Augment;
using ArchDsl.Runtime.Data;
using ArchDsl.Runtime.Model;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Training;

/// <summary>
/// Trains a compiled graph and keeps its run directory:
/// <code>
/// runs/&lt;name&gt;-&lt;time&gt;/
///   spec.arch        the spec text(s) compiled      overrides.txt  the --set values
///   graph.txt        the IR as the text printer shows it;  graph.yaml  the IR itself (what resume and eval rebuild)
///   run.json         how the run was started (checkpoint/log intervals, threads, device)
///   metrics.jsonl    one record per logged step ("kind": "step") and per epoch ("kind": "epoch")
///   checkpoints/last.safetensors + last.json, best.safetensors + best.json
///   summary.yaml     at the end: accuracy, loss, time, images/s, parameter count
/// </code>
/// Every file is written to a temporary name and renamed (<see cref="AtomicFile"/>); the metrics log
/// appends whole flushed lines. On CPU a seed fixes the whole loss curve: data order, augmentation and
/// torch's generator (re-seeded from (seed, step) before every step) depend on nothing else, which is
/// also why a resumed run continues exactly as an uninterrupted one.
/// </summary>
public static class Trainer
{
    public const string RunFile = "run.json";
    public const string GraphYamlFile = "graph.yaml";
    public const string GraphTextFile = "graph.txt";
    public const string SpecFile = "spec.arch";
    public const string OverridesFile = "overrides.txt";
    public const string MetricsFile = "metrics.jsonl";
    public const string SummaryFile = "summary.yaml";
    public const string CheckpointDir = "checkpoints";

    /// <summary>Starts a new run of <paramref name="graph"/> in a new run directory under <see cref="TrainOptions.RunsRoot"/>.</summary>
    /// <exception cref="TrainingException">bad input, a non-finite loss or a file that could not be written; the message says which.</exception>
    public static TrainResult Train(IrGraph graph, TrainOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(graph);
        options ??= new TrainOptions();
        if (options.CheckpointEvery < 0) throw new TrainingException($"checkpoint interval must be ≥ 0 steps, got {options.CheckpointEvery}");
        if (options.LogEvery < 1) throw new TrainingException($"log interval must be ≥ 1 step, got {options.LogEvery}");
        // Refuse bad train keys before creating anything on disk.
        TrainSettings.From(graph.Train);
        string name = options.RunName ?? (options.Specs.Count > 0 ? options.Specs[0].Path : graph.Arch.ToLowerInvariant());
        string runDir;
        try
        {
            runDir = RunDirectory.Create(options.RunsRoot, name);
            var info = new RunInfo
            {
                Arch = graph.Arch,
                Created = Checkpoint.Timestamp(),
                CheckpointEvery = options.CheckpointEvery,
                LogEvery = options.LogEvery,
                Threads = options.Threads ?? Environment.ProcessorCount,
                Device = options.Device,
                EvalBatch = options.EvalBatch,
                Overrides = options.Overrides.ToArray(),
                Specs = options.Specs.Select(s => s.Path).ToArray(),
            };
            AtomicFile.WriteAllText(Path.Combine(runDir, RunFile), JsonSerializer.Serialize(info, CheckpointState.Json) + "\n");
            AtomicFile.WriteAllText(Path.Combine(runDir, GraphTextFile), GraphPrinter.ToText(graph));
            AtomicFile.WriteAllText(Path.Combine(runDir, GraphYamlFile), GraphYaml.Write(graph));
            if (options.Specs.Count > 0)
                AtomicFile.WriteAllText(Path.Combine(runDir, SpecFile), options.Specs.Count == 1
                    ? options.Specs[0].Text
                    : string.Concat(options.Specs.Select(s => $"# ---- {s.Path} ----\n{s.Text}{(s.Text.EndsWith('\n') ? "" : "\n")}")));
            AtomicFile.WriteAllText(Path.Combine(runDir, OverridesFile), string.Concat(options.Overrides.Select(o => o + "\n")));
            try
            {
                using var session = new Session(graph, runDir, info, options, resume: false);
                return session.Run();
            }
            catch (Exception) when (!File.Exists(Path.Combine(runDir, CheckpointDir, "last.safetensors")))
            {
                // Failed before anything worth keeping (missing data, a bad key): leave no half-made run behind.
                try { Directory.Delete(runDir, recursive: true); } catch (Exception) { /* the error matters more */ }
                throw;
            }
        }
        catch (RunFileException e) { throw new TrainingException(e.Message, e); }
        catch (TorchException e) { throw new TrainingException($"libtorch failed: {e.Message}", e); }
        catch (TorchNativeLibraryException e) { throw new TrainingException(e.Message, e); }
    }

    /// <summary>
    /// Continues the run in <paramref name="runDir"/> from its last checkpoint (the start, if it was stopped before
    /// the first one). <paramref name="options"/> supplies the progress sink, signal handling and cancellation;
    /// intervals, threads and device are the run's own unless given.
    /// </summary>
    public static TrainResult Resume(string runDir, TrainOptions? options = null)
    {
        options ??= new TrainOptions();
        runDir = Path.GetFullPath(runDir);
        if (!Directory.Exists(runDir)) throw new TrainingException($"no run directory '{runDir}'");
        var info = ReadRunInfo(runDir);
        if (File.Exists(Path.Combine(runDir, SummaryFile)))
            throw new TrainingException($"run '{runDir}' is already complete ({SummaryFile} is written); start a new run to train more");
        var graph = ReadGraph(runDir);
        info = info with
        {
            Threads = options.Threads ?? info.Threads,
            Device = options.Device ?? info.Device,
            Resumes = info.Resumes + 1,
        };
        try
        {
            AtomicFile.WriteAllText(Path.Combine(runDir, RunFile), JsonSerializer.Serialize(info, CheckpointState.Json) + "\n");
            using var session = new Session(graph, runDir, info, options, resume: true);
            return session.Run();
        }
        catch (RunFileException e) { throw new TrainingException(e.Message, e); }
        catch (TorchException e) { throw new TrainingException($"libtorch failed: {e.Message}", e); }
        catch (TorchNativeLibraryException e) { throw new TrainingException(e.Message, e); }
    }

    /// <summary>How a run was started (<c>run.json</c>).</summary>
    public sealed record RunInfo
    {
        public string Format { get; init; } = "archdsl-run/1";
        public string Arch { get; init; } = "";
        public string Created { get; init; } = "";
        public int CheckpointEvery { get; init; }
        public int LogEvery { get; init; } = 50;
        public int? Threads { get; init; }
        public string? Device { get; init; }
        public int? EvalBatch { get; init; }
        public string[] Overrides { get; init; } = [];
        public string[] Specs { get; init; } = [];
        public int Resumes { get; init; }
    }

    public static RunInfo ReadRunInfo(string runDir)
    {
        string path = Path.Combine(runDir, RunFile);
        if (!File.Exists(path)) throw new TrainingException($"'{runDir}' is not a run directory (no {RunFile})");
        try
        {
            return JsonSerializer.Deserialize<RunInfo>(File.ReadAllText(path), CheckpointState.Json)
                   ?? throw new JsonException("empty");
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            throw new TrainingException($"'{path}' is unreadable or corrupt: {e.Message}", e);
        }
    }

    /// <summary>The IR saved with a run (<c>graph.yaml</c>).</summary>
    public static IrGraph ReadGraph(string runDir)
    {
        string path = Path.Combine(runDir, GraphYamlFile);
        if (!File.Exists(path)) throw new TrainingException($"'{runDir}' is not a run directory (no {GraphYamlFile})");
        try { return GraphYaml.Read(File.ReadAllText(path)); }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new TrainingException($"'{path}' is unreadable or corrupt: {e.Message}", e);
        }
    }

    /// <summary>Loads the data a graph's train section names, checked against the model (shared with <see cref="Evaluator"/>).</summary>
    internal static DataSplits LoadData(IrGraph graph, Normalization? normalization)
    {
        try
        {
            var options = DataRegistry.OptionsFrom(graph);
            if (normalization is not null && options.Normalize && options.Normalization is null)
                options = options with { Normalization = normalization };
            var data = DataRegistry.Load(options);
            data.CheckAgainst(graph.Input, Classes(graph));
            return data;
        }
        catch (DataException e) { throw new TrainingException(e.Message, e); }
    }

    internal static int Classes(IrGraph graph) =>
        graph.OutputNode.OutputShape is { Layout: Layout.Vector } v
            ? v.Dims[0]
            : throw new TrainingException($"{graph.Arch} outputs {graph.OutputNode.OutputShape}; a classifier must end in a vector of class scores (e.g. `head avgpool -> linear(classes)`)");

    internal static Device ParseDevice(string? name)
    {
        name ??= "cpu";
        Device device;
        try { device = Device.Parse(name); }
        catch (ArgumentException e) { throw new TrainingException(e.Message, e); }
        if (device.type == DeviceType.CUDA && !torch.cuda.is_available())
            throw new TrainingException($"device '{name}' was asked for, but this libtorch sees no CUDA device; use --device cpu, or build the native shim against a CUDA libtorch");
        return device;
    }

    /// <summary>One batch as tensors: one copy of the images (and one of the labels) into libtorch.</summary>
    internal static (Tensor Images, Tensor Labels) ToTensors(float[] images, long[] labels, int count, Dataset shape, Device device)
    {
        var x = torch.from_bytes(MemoryMarshal.AsBytes(images.AsSpan(0, count * shape.SampleSize)), ScalarType.Float32,
            new long[] { count, shape.Channels, shape.Height, shape.Width }, device);
        var y = torch.from_bytes(MemoryMarshal.AsBytes(labels.AsSpan(0, count)), ScalarType.Int64, new long[] { count }, device);
        return (x, y);
    }

    /// <summary>Loss (mean cross-entropy, no smoothing) and accuracy of <paramref name="model"/> on <paramref name="set"/>, in eval mode.</summary>
    internal static LossAccuracy Evaluate(nn.Module<Tensor, Tensor> model, Dataset set, int batch, Device device,
                                          ConfusionMatrix? confusion = null, Func<bool>? stop = null)
    {
        var result = new LossAccuracy();
        var batcher = new Batcher(set, batch, shuffle: false);
        var images = new float[(long)batch * set.SampleSize];
        var labels = new long[batch];
        var order = batcher.Order(0);
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            for (int b = 0; b < batcher.BatchesPerEpoch; b++)
            {
                if (stop?.Invoke() == true) throw new OperationCanceledException();
                int start = b * batch, n = Math.Min(batch, set.Count - start);
                batcher.Fill(order.AsSpan(start, n), images, labels);
                using var scope = NewDisposeScope();
                var (x, y) = ToTensors(images, labels, n, set, device);
                var logits = model.forward(x);
                var loss = nn.functional.cross_entropy(logits, y);
                var pred = logits.argmax(1);
                var correct = pred.eq(y).sum().item<long>();
                result.Add(loss.item<double>(), correct, n);
                if (confusion is not null)
                {
                    var p = pred.cpu().data<long>();
                    for (int i = 0; i < n; i++) confusion.Add((int)labels[i], (int)p[i]);
                }
            }
        }
        finally { model.train(wasTraining); }
        return result;
    }

    /// <summary>One run in progress: what it holds and the loop.</summary>
    private sealed class Session : IDisposable
    {
        private readonly IrGraph _graph;
        private readonly string _runDir;
        private readonly string _ckptDir;
        private readonly RunInfo _info;
        private readonly TrainOptions _options;
        private readonly bool _resume;
        private readonly IProgressSink _sink;
        private readonly TrainSettings _settings;
        private readonly StopSignal _stop;
        private IrModel? _model;
        private optim.Optimizer? _optimizer;
        private MetricsLog? _metrics;
        private int _records;
        private long _lastSavedStep = -1;
        private readonly Stopwatch _wall = Stopwatch.StartNew();

        public Session(IrGraph graph, string runDir, RunInfo info, TrainOptions options, bool resume)
        {
            _graph = graph;
            _runDir = runDir;
            _ckptDir = Path.Combine(runDir, CheckpointDir);
            _info = info;
            _options = options;
            _resume = resume;
            _sink = options.Progress ?? NullProgressSink.Instance;
            _settings = TrainSettings.From(graph.Train);
            _stop = new StopSignal(options.HandleSignals, options.Cancellation);
        }

        private string LastPath => Path.Combine(_ckptDir, "last.safetensors");

        public TrainResult Run()
        {
            var s = _settings;
            var device = ParseDevice(_info.Device ?? s.Device);
            int threads = _info.Threads ?? Environment.ProcessorCount;
            if (threads < 1) throw new TrainingException($"threads must be ≥ 1, got {threads}");
            torch.set_num_threads(threads);
            if (s.Amp) _sink.Message("note: amp (mixed precision) is not implemented by this runtime yet; training in float32");

            CheckpointState? start = null;
            if (_resume && File.Exists(LastPath)) start = Checkpoint.ReadState(LastPath);
            var data = LoadData(_graph, start?.NormalizationMean is { } m && start.NormalizationStd is { } sd ? new Normalization(m, sd) : null);
            ModelCard.Write(_runDir, _graph, data, _info.Overrides);
            var train = data.Train;
            var evalSet = data.Val ?? data.Test;
            string? evalName = data.Val is not null ? "val" : data.Test is not null ? "test" : null;
            var batcher = new Batcher(train, s.Batch, shuffle: true, seed: unchecked((ulong)s.Seed),
                                      dropLast: train.Count > s.Batch && train.Count % s.Batch == 1); // a batch of one breaks batch norm
            int batches = batcher.BatchesPerEpoch;
            if (batches == 0) throw new TrainingException($"data '{data.Source}' has no training samples");

            ILrSchedule schedule;
            try { schedule = Schedules.FromTrain(_graph.Train, batches); }
            catch (ArgumentException e) { throw new TrainingException($"train key 'schedule': {e.Message}", e); }
            AugmentPipeline augment;
            try { augment = AugmentPipeline.FromTrain(_graph.Train, data.Normalization); }
            catch (AugmentException e) { throw new TrainingException($"train key 'augment': {e.Message}", e); }

            _model = new IrModel(_graph, s.Seed, device);
            _optimizer = CreateOptimizer(_model, s.Optimizer);
            long parameters = _model.ParameterCount;
            int evalBatch = _info.EvalBatch ?? Math.Max(s.Batch, 256);

            // Position and running totals.
            int epoch = 0, batch = 0;
            long step = 0, trainImages = 0;
            double trainSeconds = 0, dataTotal = 0, bestAcc = double.NaN;
            int? bestEpoch = null;
            var epochStats = new EpochTotals();
            Directory.CreateDirectory(_ckptDir);
            string metricsPath = Path.Combine(_runDir, MetricsFile);
            if (start is not null)
            {
                if (start.Arch != _graph.Arch) throw new TrainingException($"checkpoint '{LastPath}' is of {start.Arch}, the run's graph is {_graph.Arch}");
                if (start.BatchesPerEpoch != batches)
                    throw new TrainingException($"checkpoint '{LastPath}' was saved with {start.BatchesPerEpoch} batches per epoch, the data now gives {batches}; was the data or batch changed?");
                Checkpoint.Load(LastPath, _model, _optimizer);
                (epoch, batch, step) = (start.Epoch, start.Batch, start.Step);
                (trainSeconds, trainImages, dataTotal) = (start.TrainSeconds, start.TrainImages, start.DataSeconds);
                bestAcc = start.BestAccuracy ?? double.NaN;
                bestEpoch = start.BestEpoch;
                epochStats = new EpochTotals { LossSum = start.EpochLossSum, Correct = start.EpochCorrect, Samples = start.EpochSamples };
                TruncateMetrics(metricsPath, start.MetricsRecords);
                _records = start.MetricsRecords;
                _lastSavedStep = step;
            }
            else if (_resume)
            {
                TruncateMetrics(metricsPath, 0);
            }
            _metrics = MetricsLog.Open(metricsPath);

            CheckpointState State(string reason, int e, int b) => new()
            {
                Arch = _graph.Arch, Epoch = e, Batch = b, BatchesPerEpoch = batches, Step = step, Seed = s.Seed,
                MetricsRecords = _records, EpochLossSum = epochStats.LossSum, EpochCorrect = epochStats.Correct, EpochSamples = epochStats.Samples,
                BestAccuracy = double.IsNaN(bestAcc) ? null : bestAcc, BestEpoch = bestEpoch,
                TrainSeconds = trainSeconds, TrainImages = trainImages, DataSeconds = dataTotal,
                NormalizationMean = data.Normalization?.Mean.ToArray(), NormalizationStd = data.Normalization?.Std.ToArray(),
                Optimizer = s.Optimizer.ToString(), Parameters = parameters, Reason = reason, SavedAt = Checkpoint.Timestamp(),
            };
            void Save(string reason, int e, int b, bool best)
            {
                var state = State(reason, e, b);
                var bytes = Checkpoint.Serialize(_model!, _optimizer!, state);
                Checkpoint.Write(_ckptDir, "last", bytes, state);
                if (best) Checkpoint.Write(_ckptDir, "best", bytes, state);
                _lastSavedStep = step;
            }
            TrainResult Interrupted(int e)
            {
                var r = Result(TrainOutcome.Interrupted, e, step, epochStats.Samples > 0 ? new Score(epochStats.Loss, epochStats.Accuracy) : null,
                               null, null, evalName, bestAcc, bestEpoch, trainSeconds, trainImages, parameters, _stop.Signal);
                _sink.Message($"stopped{(_stop.Signal is null ? "" : $" by {_stop.Signal}")}: checkpoint saved at epoch {e + 1}, step {step} ({LastPath})");
                _sink.RunEnded(r);
                return r;
            }

            _sink.RunStarted(new RunStartInfo(_runDir, _graph.Arch, s.Epochs, batches, s.Batch, parameters, device.ToString(), threads,
                data.Source, train.Count, evalName, evalSet?.Count ?? 0, augment.ToString(), s.Optimizer.ToString(), start is not null, epoch, batch));
            if (start is null) Save("start", 0, 0, best: false); // a resumable, never-NaN state from the first moment

            var images = new float[(long)s.Batch * train.SampleSize];
            var labels = new long[s.Batch];
            ulong seed = unchecked((ulong)s.Seed);
            double lastLr = schedule.LearningRate(Math.Max(0, step - 1));

            for (; epoch < s.Epochs; epoch++, batch = 0)
            {
                if (batch == 0) epochStats = new EpochTotals();
                var order = batcher.Order(epoch);
                _sink.EpochStarted(epoch + 1, s.Epochs, batches, batch);
                var epochWatch = Stopwatch.StartNew();
                long epochImages = 0;
                double epochTrainSeconds = 0, dataSeconds = 0;
                _model.train();
                for (; batch < batches; batch++)
                {
                    var stepWatch = Stopwatch.StartNew();
                    int first = batch * s.Batch, n = Math.Min(s.Batch, batcher.SamplesPerEpoch - first);
                    batcher.Fill(order.AsSpan(first, n), images, labels);
                    double loss;
                    long correct;
                    using (NewDisposeScope())
                    {
                        torch.manual_seed(unchecked((long)DeterministicRandom.Derive(seed ^ 0x7012C4UL, (ulong)step)));
                        var (x0, y) = ToTensors(images, labels, n, train, device);
                        var x = augment.IsEmpty ? x0 : augment.Apply(x0, seed, epoch, batch);
                        double made = stepWatch.Elapsed.TotalSeconds;
                        dataSeconds += made;
                        dataTotal += made;
                        double lr = schedule.LearningRate(step);
                        _optimizer.lr = lr;
                        lastLr = lr;
                        ApplyMomentum(_optimizer, schedule, step);
                        var logits = _model.forward(x);
                        var lossT = nn.functional.cross_entropy(logits, y, label_smoothing: s.LabelSmoothing);
                        _optimizer.zero_grad();
                        lossT.backward();
                        loss = lossT.item<double>();
                        if (!double.IsFinite(loss))
                            throw new TrainingException(
                                $"the loss became {(double.IsNaN(loss) ? "NaN" : "infinite")} at step {step + 1} (epoch {epoch + 1}, batch {batch + 1}); training stopped. " +
                                $"The last good checkpoint is {LastPath} (step {_lastSavedStep}); lower the learning rate or set train.clip, then start again.");
                        if (s.Clip > 0) nn.utils.clip_grad_norm_(_model.parameters(), s.Clip);
                        _optimizer.step();
                        using (no_grad()) correct = logits.argmax(1).eq(y).sum().item<long>();
                    }
                    step++;
                    epochStats.Add(loss, correct, n);
                    double seconds = stepWatch.Elapsed.TotalSeconds;
                    epochTrainSeconds += seconds;
                    trainSeconds += seconds;
                    epochImages += n;
                    trainImages += n;
                    double ips = Throughput.ImagesPerSecond(epochImages, TimeSpan.FromSeconds(epochTrainSeconds));
                    if (step % _info.LogEvery == 0 || batch == batches - 1)
                        Append(new Dictionary<string, object?>
                        {
                            ["kind"] = "step", ["epoch"] = epoch + 1, ["batch"] = batch + 1, ["step"] = step,
                            ["loss"] = loss, ["lr"] = lastLr, ["train_loss"] = epochStats.Loss, ["train_acc"] = epochStats.Accuracy,
                            ["images_per_s"] = Math.Round(ips, 1), ["elapsed_s"] = Math.Round(trainSeconds, 3),
                        });
                    _sink.StepCompleted(new StepInfo(epoch + 1, s.Epochs, batch + 1, batches, step, loss, epochStats.Loss, epochStats.Accuracy, lastLr, ips,
                        Throughput.Eta(epochImages, epochImages + (long)(batches - batch - 1) * s.Batch, TimeSpan.FromSeconds(epochTrainSeconds))));
                    if (_stop.Requested)
                    {
                        Save("interrupt", epoch, batch + 1, best: false);
                        return Interrupted(epoch);
                    }
                    if (_info.CheckpointEvery > 0 && step % _info.CheckpointEvery == 0) Save("periodic", epoch, batch + 1, best: false);
                }

                // Evaluate, log, checkpoint.
                LossAccuracy? eval = null;
                if (evalSet is not null)
                {
                    _sink.Evaluating(epoch + 1, evalName!, evalSet.Count);
                    try { eval = Evaluate(_model, evalSet, evalBatch, device, stop: () => _stop.Requested); }
                    catch (OperationCanceledException)
                    {
                        if (_lastSavedStep != step) Save("interrupt", epoch, batches, best: false);
                        return Interrupted(epoch);
                    }
                }
                bool isBest = eval is not null ? double.IsNaN(bestAcc) || eval.Accuracy > bestAcc : true;
                if (eval is not null && isBest) { bestAcc = eval.Accuracy; bestEpoch = epoch + 1; }
                else if (eval is null) bestEpoch = epoch + 1;
                double epochIps = Throughput.ImagesPerSecond(epochImages, TimeSpan.FromSeconds(epochTrainSeconds));
                var record = new Dictionary<string, object?>
                {
                    ["kind"] = "epoch", ["epoch"] = epoch + 1, ["step"] = step, ["lr"] = lastLr,
                    ["train_loss"] = epochStats.Loss, ["train_acc"] = epochStats.Accuracy,
                };
                if (eval is not null)
                {
                    record[$"{evalName}_loss"] = eval.Loss;
                    record[$"{evalName}_acc"] = eval.Accuracy;
                    record["best"] = isBest;
                }
                record["images_per_s"] = Math.Round(epochIps, 1);
                record["data_s"] = Math.Round(dataSeconds, 3);
                record["epoch_s"] = Math.Round(epochWatch.Elapsed.TotalSeconds, 3);
                record["elapsed_s"] = Math.Round(trainSeconds, 3);
                Append(record);
                _sink.EpochCompleted(new EpochInfo(epoch + 1, s.Epochs, step, epochStats.Loss, epochStats.Accuracy, evalName, eval?.Loss, eval?.Accuracy,
                    isBest, epochIps, epochWatch.Elapsed));
                Save("epoch", epoch + 1, 0, best: isBest);
                epochStats = new EpochTotals();
                if (_stop.Requested && epoch + 1 < s.Epochs) return Interrupted(epoch + 1);
            }

            // The end: a test evaluation when epochs were judged on a validation split, then the summary.
            // Scores come from the metrics log, so a run resumed after its last epoch reports the same.
            var lastEpoch = ReadLastEpochRecord(metricsPath);
            Score? Read(string set) =>
                lastEpoch is { } r && r.TryGetProperty($"{set}_loss", out var l) && r.TryGetProperty($"{set}_acc", out var a)
                && l.ValueKind == JsonValueKind.Number && a.ValueKind == JsonValueKind.Number
                    ? new Score(l.GetDouble(), a.GetDouble()) : null;
            Score? test = null;
            if (data.Val is not null && data.Test is not null)
            {
                _sink.Evaluating(s.Epochs, "test", data.Test.Count);
                var t = Evaluate(_model, data.Test, evalBatch, device);
                test = new Score(t.Loss, t.Accuracy);
                Append(new Dictionary<string, object?> { ["kind"] = "test", ["step"] = step, ["test_loss"] = t.Loss, ["test_acc"] = t.Accuracy });
            }
            else if (evalName == "test") test = Read("test");
            var result = Result(TrainOutcome.Completed, s.Epochs, step, Read("train"), evalName is null ? null : Read(evalName), test, evalName,
                                bestAcc, bestEpoch, trainSeconds, trainImages, parameters, null);
            WriteSummary(result, data, s, device, threads, dataTotal);
            _sink.RunEnded(result);
            return result;
        }

        private sealed record Score(double Loss, double Accuracy);

        private static JsonElement? ReadLastEpochRecord(string metricsPath)
        {
            var records = MetricsLog.Read(metricsPath).Records;
            for (int i = records.Count - 1; i >= 0; i--)
                if (records[i].TryGetProperty("kind", out var k) && k.GetString() == "epoch") return records[i];
            return null;
        }

        private TrainResult Result(TrainOutcome outcome, int epochsDone, long step, Score? train, Score? eval, Score? test,
                                   string? evalName, double bestAcc, int? bestEpoch, double trainSeconds, long trainImages, long parameters, string? signal) =>
            new(_runDir, outcome, _graph.Arch, _settings.Epochs, epochsDone, step,
                train?.Loss, train?.Accuracy, evalName, eval?.Loss, eval?.Accuracy, test?.Loss, test?.Accuracy,
                double.IsNaN(bestAcc) ? null : bestAcc, bestEpoch,
                TimeSpan.FromSeconds(trainSeconds), _wall.Elapsed, Throughput.ImagesPerSecond(trainImages, TimeSpan.FromSeconds(trainSeconds)),
                parameters, LastPath, signal);

        /// <summary>The running loss and accuracy of the epoch in progress; saved with checkpoints bit for bit.</summary>
        private sealed class EpochTotals
        {
            public double LossSum;
            public long Correct, Samples;
            public void Add(double meanLoss, long correct, long count) { LossSum += meanLoss * count; Correct += correct; Samples += count; }
            public double Loss => Samples > 0 ? LossSum / Samples : double.NaN;
            public double Accuracy => Samples > 0 ? (double)Correct / Samples : double.NaN;
        }

        private void Append(Dictionary<string, object?> record)
        {
            _metrics!.Append(record);
            _records++;
        }

        /// <summary>Keeps the first <paramref name="keep"/> records of the log (those the checkpoint had seen); written atomically.</summary>
        private static void TruncateMetrics(string path, int keep)
        {
            if (!File.Exists(path)) return;
            var lines = File.ReadAllLines(path).Where(l => l.Trim().Length > 0).ToList();
            if (lines.Count < keep)
                throw new TrainingException($"'{path}' has {lines.Count} records but the checkpoint was saved after {keep}; the run directory was changed by hand?");
            AtomicFile.WriteAllText(path, string.Concat(lines.Take(keep).Select(l => l + "\n")));
        }

        private void WriteSummary(TrainResult r, DataSplits data, TrainSettings s, Device device, int threads, double dataSeconds)
        {
            static string N(double? v, string format = "0.######") => v is double d && !double.IsNaN(d) ? d.ToString(format, CultureInfo.InvariantCulture) : "null";
            var sb = new StringBuilder();
            sb.Append("# ArchDsl training summary\n");
            sb.Append($"arch: {r.Arch}\n");
            sb.Append($"run: {Yaml(r.RunDir)}\n");
            sb.Append("status: completed\n");
            sb.Append($"data: {Yaml(data.Source)}\n");
            sb.Append($"train_samples: {data.Train.Count}\n");
            sb.Append($"epochs: {r.Epochs}\nsteps: {r.Steps}\nbatch: {s.Batch}\nseed: {s.Seed}\n");
            sb.Append($"optimizer: {Yaml(s.Optimizer.ToString())}\n");
            sb.Append($"parameters: {r.Parameters}\n");
            sb.Append($"train:\n  loss: {N(r.TrainLoss)}\n  accuracy: {N(r.TrainAccuracy)}\n");
            if (r.EvalSet == "val") sb.Append($"val:\n  loss: {N(r.EvalLoss)}\n  accuracy: {N(r.EvalAccuracy)}\n");
            if (r.TestAccuracy is not null) sb.Append($"test:\n  loss: {N(r.TestLoss)}\n  accuracy: {N(r.TestAccuracy)}\n  samples: {data.Test?.Count ?? 0}\n");
            if (r.BestAccuracy is not null) sb.Append($"best:\n  set: {r.EvalSet}\n  accuracy: {N(r.BestAccuracy)}\n  epoch: {r.BestEpoch}\n");
            sb.Append($"time:\n  train_s: {N(r.TrainTime.TotalSeconds, "0.###")}\n  data_s: {N(dataSeconds, "0.###")}   # of train_s: making batches (copy, tensor, augmentation)\n" +
                      $"  session_wall_s: {N(r.WallTime.TotalSeconds, "0.###")}\n");
            sb.Append($"images_per_s: {N(r.ImagesPerSecond, "0.#")}\n");
            sb.Append($"device: {device}\nthreads: {threads}\n");
            sb.Append($"resumes: {_info.Resumes}\n");
            sb.Append($"checkpoints:\n  last: {CheckpointDir}/last.safetensors\n  best: {CheckpointDir}/best.safetensors\n");
            AtomicFile.WriteAllText(Path.Combine(_runDir, SummaryFile), sb.ToString());
        }

        private static string Yaml(string s) => JsonSerializer.Serialize(s, MetricsLog.JsonOptions); // a double-quoted YAML scalar

        public void Dispose()
        {
            _stop.Dispose();
            _metrics?.Dispose();
            _optimizer?.Dispose();
            _model?.Dispose();
        }
    }

    internal static optim.Optimizer CreateOptimizer(nn.Module model, OptimizerSettings o) => o.Name switch
    {
        "sgd" => optim.SGD(model.named_parameters(), o.Lr, o.Momentum, 0, o.WeightDecay, o.Nesterov),
        _ => optim.AdamW(model.named_parameters(), o.Lr, o.Beta1, o.Beta2, o.Eps, o.WeightDecay),
    };

    /// <summary>
    /// Sets the momentum a schedule gives for <paramref name="step"/> (one-cycle cycles it, as PyTorch's OneCycleLR
    /// with cycle_momentum: Adam's β1, SGD's momentum); schedules without one leave the optimizer as it is.
    /// </summary>
    internal static void ApplyMomentum(optim.Optimizer optimizer, ILrSchedule schedule, long step)
    {
        if (schedule.Momentum(step) is not double m) return;
        switch (optimizer)
        {
            case ArchDsl.Torch.Modules.AdamW adam: adam.beta1 = m; break;
            case ArchDsl.Torch.Modules.SGD sgd: sgd.momentum = m; break;
        }
    }
}

/// <summary>SIGINT / SIGTERM and a cancellation token, as one "please stop" flag checked between steps.</summary>
internal sealed class StopSignal : IDisposable
{
    private readonly List<PosixSignalRegistration> _registrations = new();
    private readonly CancellationTokenRegistration _token;
    private volatile bool _requested;
    private volatile string? _signal;

    public StopSignal(bool handleSignals, CancellationToken token)
    {
        if (handleSignals)
        {
            foreach (var sig in new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM })
            {
                try
                {
                    _registrations.Add(PosixSignalRegistration.Create(sig, ctx =>
                    {
                        if (_requested) return; // a second signal: let it do what it does by default
                        _signal = ctx.Signal.ToString();
                        _requested = true;
                        ctx.Cancel = true;
                    }));
                }
                catch (PlatformNotSupportedException) { }
            }
        }
        _token = token.Register(() => { _signal ??= "cancellation"; _requested = true; });
    }

    public bool Requested => _requested;
    public string? Signal => _signal;

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _token.Dispose();
    }
}
