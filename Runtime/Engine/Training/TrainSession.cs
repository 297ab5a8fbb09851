using System.Diagnostics;
using ArchDsl.Compiler;
using ArchDsl.Compiler.Analysis;
using ArchDsl.Runtime.Augment;
using ArchDsl.Runtime.Data;
using ArchDsl.Runtime.Model;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Training;

/// <summary>
/// One run in progress: what it holds and the loop, one concept per file —
/// set-up and the loop's outline here; restoring from the last checkpoint (TrainSession.Restore.cs);
/// an epoch of steps (TrainSession.Epoch.cs); one optimizer step (TrainSession.Step.cs); the end of an
/// epoch: evaluation, model selection, epoch record, checkpoint (TrainSession.EpochEnd.cs); the end of the
/// run: test evaluation and summary (TrainSession.Finish.cs).
/// </summary>
internal sealed partial class TrainSession : IDisposable
{
    // What the run is.
    private readonly IrGraph _graph;
    private readonly string _runDir;
    private readonly string _ckptDir;
    private RunInfo _info;
    private readonly bool _resume;
    /// <summary>Keep the whole metrics log on restoring (a finished run being extended: its test record stays).</summary>
    private readonly bool _keepLog;
    private readonly IProgressSink _sink;
    private readonly TrainLoop _settings;
    private readonly StopSignal _stop;
    private readonly LossScalingProbe? _probe;
    private readonly Stopwatch _wall = Stopwatch.StartNew();

    // Set up by Prepare.
    private Device _device = null!;
    private int _threads;
    /// <summary>amp: fp16's loss scaler (GradScaler); null in float32 and bf16, which need none.</summary>
    private GradScaler? _scaler;
    private DataSplits _data = null!;
    private ImageSet? _evalSet;
    private string? _evalName;
    private Batcher _batcher = null!;
    private int _batches;
    private ILrSchedule _schedule = null!;
    private AugmentPipeline _augment = null!;
    private Mixup? _mixup;
    private IrModel? _model;
    private optim.Optimizer? _optimizer;
    private long _parameters;
    private int _evalBatch;
    private MetricsLog? _metrics;
    private TensorBoardLog? _tensorBoard;
    private string? _initReport;

    // Position and running totals: what a checkpoint saves (State) and a resume restores.
    private int _epoch, _batch;
    private long _step, _trainImages;
    private double _trainSeconds, _dataTotal, _bestAcc = double.NaN;
    private int? _bestEpoch;
    private EpochTotals _epochStats = new();
    private int _records;
    private long _lastSavedStep = -1;
    private double _lastLr;

    // The batch being made (TrainSession.Step.cs).
    private float[] _images = [];
    private long[] _labels = [];

    public TrainSession(IrGraph graph, string runDir, RunInfo info, TrainOptions options, bool resume, bool keepLog = false, Distributed.DataParallel? world = null)
    {
        _keepLog = keepLog;
        _world = world;
        _graph = graph;
        _runDir = runDir;
        _ckptDir = RunDirectory.CheckpointsOf(runDir);
        _info = info;
        _resume = resume;
        _sink = options.Progress ?? NullProgressSink.Instance;
        _settings = graph.Train.Loop;
        _stop = new StopSignal(options.HandleSignals, options.Cancellation);
        _probe = options.ScalingProbe;
    }

    private string LastPath => RunDirectory.CheckpointPath(_runDir, RunDirectory.Last);
    private string MetricsPath => RunDirectory.MetricsOf(_runDir);
    private IrModel Model => _model!;
    private optim.Optimizer Optimizer => _optimizer!;

    public TrainResult Run()
    {
        var s = _settings;
        SetUpDevice();
        var start = ReadStart();
        Prepare(start);
        Restore(start);
        _world?.Start(Model, _graph.Train.SyncBatchNorm);
        _sink.RunStarted(new RunStartInfo(_runDir, _graph.Arch, s.Epochs, _batches, s.Batch, _parameters, _device.ToString(), _threads,
            _data.Source, _data.Train.Count, _evalName, _evalSet?.Count ?? 0, _augment + (_mixup is null ? "" : $"; {_mixup.Describe()}"), _graph.Train.Optimizer.ToString(),
            start is not null, _epoch, _batch, _data.Train.Unreadable.Count, _evalSet?.Unreadable.Count ?? 0));
        if (_initReport is not null) _sink.Message(_initReport);
        if (_world is not null) _sink.Message(_world.Describe(s.Batch));
        if (_worldChange is not null) _sink.Message(_worldChange);
        if (start is null) Save("start", 0, 0, best: false); // a resumable, never-NaN state from the first moment
        _lastLr = _schedule.LearningRate(Math.Max(0, _step - 1));
        for (; _epoch < s.Epochs; _epoch++, _batch = 0)
        {
            if (TrainEpoch() is { } interrupted) return interrupted;
            if (EndEpoch() is { } stopped) return stopped;
        }
        return Finish();
    }

    /// <summary>The device (the run's, else the train key's) and libtorch's thread count.</summary>
    private void SetUpDevice()
    {
        _device = Trainer.ParseDevice(_world?.Backend.Device ?? _info.Device ?? _settings.Device); // data-parallel on CUDA: cuda:LOCAL_RANK
        _threads = _info.Threads ?? Environment.ProcessorCount;
        if (_threads < 1) throw new TrainingException($"threads must be ≥ 1, got {_threads}");
        torch.set_num_threads(_threads);
        if (Trainer.OversubscribedThreads(_threads) is { } crowded) _sink.Message(crowded);
        if (AmpModes.Unsupported(_settings.Amp, _device.type == DeviceType.CUDA ? "cuda" : "cpu") is { } why)
            throw new TrainingException($"train key 'amp': {why}; use amp: bf16 on the CPU, or --device cuda");
        _scaler = _probe?.Scaler() ?? (_settings.Amp == AmpMode.Fp16 ? new GradScaler() : null);
        _sink.Message($"precision: {AmpText(_settings.Amp)}; BLAS: {BlasKernelText.Describe(BlasKernel.Current)}");
    }

    /// <summary>The data (normalised as <paramref name="start"/> was), schedule, augmentation, model, optimizer and batch buffers.</summary>
    private void Prepare(CheckpointState? start)
    {
        var s = _settings;
        _data = Trainer.LoadData(_graph, start?.NormalizationMean is { } m && start.NormalizationStd is { } sd ? new Normalization(m, sd) : null, _sink.Message);
        if (IsWriter) ModelCard.Write(_runDir, _graph, _data, _info.Overrides);
        _evalSet = _data.Val ?? _data.Test;
        _evalName = _data.Val is not null ? "val" : _data.Test is not null ? "test" : null;
        CheckBatchStatistics(_data.Train.Count, s.Batch);
        _world?.CheckShards(_data.Train.Count, s.Batch);
        _batcher = new Batcher(_data.Train, s.Batch, shuffle: true, seed: unchecked((ulong)s.Seed));
        _batches = _batcher.BatchesPerEpoch;
        if (_batches == 0) throw new TrainingException($"data '{_data.Source}' has no training samples");

        try { _schedule = Schedules.FromTrain(_graph.Train, _batches); }
        catch (ArgumentException e) { throw new TrainingException($"train key 'schedule': {e.Message}", e); } // onecycle too short for its phases
        try { _augment = AugmentPipeline.FromTrain(_graph.Train.Augment, _data.Normalization); }
        catch (AugmentException e) { throw new TrainingException($"train key 'augment': {e.Message}", e); }
        try { _mixup = _graph.Train.Mixup is { } mix ? new Mixup(mix) : null; }
        catch (AugmentException e) { throw new TrainingException($"train key 'mixup': {e.Message}", e); }

        _model = new IrModel(_graph, s.Seed, _device) { Amp = s.Amp };
        if (start is null && _info.InitFrom is { } init) LoadInitialWeights(init);
        _optimizer = Trainer.CreateOptimizer(_model, _graph.Train.Optimizer, Trainer.WeightDecayGroups(_graph));
        PrepareEma();
        _parameters = _model.ParameterCount;
        _evalBatch = _info.EvalBatch ?? Math.Max(s.Batch, 256);
        _images = new float[(long)s.Batch * _data.Train.SampleSize];
        _labels = new long[s.Batch];
    }

    /// <summary>
    /// <c>--init</c>: the weights of another run that fit the model (<see cref="InitialWeights"/>), reported to the user
    /// and recorded in <c>run.json</c>. Applied when the run starts (or is resumed before its first checkpoint).
    /// </summary>
    private void LoadInitialWeights(string from)
    {
        var report = InitialWeights.Apply(from, Model);
        _initReport = report.Describe(); // shown once the run's header is
        _info = _info with { Init = report };
        if (IsWriter) RunDirectory.WriteRunInfo(_runDir, _info); // a data-parallel resume before the first checkpoint: every rank loads, rank 0 alone writes
    }

    /// <summary>
    /// Refuses, before training, batch sizes an epoch really has (full batches and the last, <paramref name="count"/>
    /// mod <paramref name="batch"/>) at which a BatchNorm would take its statistics over one value per channel —
    /// the compiler's <see cref="BatchStatistics"/> analysis, which <c>check</c> applies to the configured batch.
    /// </summary>
    private void CheckBatchStatistics(int count, int batch)
    {
        foreach (var n in BatchStatistics.EpochBatchSizes(count, batch))
        {
            if (BatchStatistics.Degenerate(_graph, n) is not { Count: > 0 } bad) continue;
            string which = n == batch ? $"each batch has {n} image{(n == 1 ? "" : "s")}"
                : n == count ? $"the training set has {count} image{(count == 1 ? "" : "s")}"
                : $"the last batch of each epoch has {n} image ({count} training images, batch {batch})";
            throw new TrainingException($"{which}, so batchnorm '{bad[0].Name}' would take its training statistics over 1 value per channel " +
                $"({BatchStatistics.Describe(bad[0], n)}); PyTorch refuses this (\"Expected more than 1 value per channel when training\"). " +
                "Use another batch size, more training images (subset, val_split), or layernorm");
        }
    }

    /// <summary>The checkpoint state at this moment, positioned at (<paramref name="epoch"/>, <paramref name="batch"/>).</summary>
    private CheckpointState State(string reason, int epoch, int batch) => new()
    {
        Arch = _graph.Arch, Epoch = epoch, Batch = batch, BatchesPerEpoch = _batches, Step = _step, Seed = _settings.Seed,
        MetricsRecords = _records, EpochLossSum = _epochStats.LossSum, EpochCorrect = _epochStats.Correct, EpochSamples = _epochStats.Samples,
        BestAccuracy = double.IsNaN(_bestAcc) ? null : _bestAcc, BestEpoch = _bestEpoch,
        TrainSeconds = _trainSeconds, TrainImages = _trainImages, DataSeconds = _dataTotal,
        NormalizationMean = _data.Normalization?.Mean.ToArray(), NormalizationStd = _data.Normalization?.Std.ToArray(),
        Optimizer = _graph.Train.Optimizer.ToString(), Parameters = _parameters, Reason = reason, SavedAt = Checkpoint.Timestamp(),
        Selection = _evalName == "val" ? "val" : "none",
        LossScaler = _scaler?.State.ToDictionary(),
        WorldSize = _world?.WorldSize ?? 1,
    };

    /// <summary>The precision as the log and summary.yaml state it.</summary>
    private static string AmpText(AmpMode amp) => amp switch
    {
        AmpMode.Bf16 => "bf16 (autocast; float32 weights and optimizer state)",
        AmpMode.Fp16 => "fp16 (autocast with dynamic loss scaling; float32 weights and optimizer state)",
        _ => "fp32",
    };

    /// <summary>Writes the <c>last</c> checkpoint (and <c>best</c>, the same bytes, when <paramref name="best"/>).</summary>
    private void Save(string reason, int epoch, int batch, bool best)
    {
        if (!IsWriter) { _lastSavedStep = _step; return; } // rank 0 alone writes the run directory
        var state = State(reason, epoch, batch);
        var bytes = Checkpoint.Serialize(Model, Optimizer, state, EmaTensors());
        Checkpoint.Write(_ckptDir, RunDirectory.Last, bytes, state);
        if (best) Checkpoint.Write(_ckptDir, RunDirectory.Best, bytes, state);
        _lastSavedStep = _step;
    }

    /// <summary>The result of a run stopped by a signal or cancellation, its checkpoint saved at epoch <paramref name="epoch"/>.</summary>
    private TrainResult Interrupted(int epoch)
    {
        var r = Result(TrainOutcome.Interrupted, epoch, _epochStats.Samples > 0 ? new Score(_epochStats.Loss, _epochStats.Accuracy) : null,
                       null, null, _stop.Signal);
        _sink.Message($"stopped{(_stop.Signal is null ? "" : $" by {_stop.Signal}")}: checkpoint saved at epoch {epoch + 1}, step {_step} ({LastPath})");
        _sink.RunEnded(r);
        return r;
    }

    private sealed record Score(double Loss, double Accuracy);

    private TrainResult Result(TrainOutcome outcome, int epochsDone, Score? train, Score? eval, Score? test, string? signal) =>
        new(_runDir, outcome, _graph.Arch, _settings.Epochs, epochsDone, _step,
            train?.Loss, train?.Accuracy, _evalName, eval?.Loss, eval?.Accuracy, test?.Loss, test?.Accuracy,
            double.IsNaN(_bestAcc) ? null : _bestAcc, _bestEpoch,
            TimeSpan.FromSeconds(_trainSeconds), _wall.Elapsed, Throughput.ImagesPerSecond(_trainImages, TimeSpan.FromSeconds(_trainSeconds)),
            _parameters, LastPath, signal);

    /// <summary>The running loss and accuracy of the epoch in progress; saved with checkpoints bit for bit.</summary>
    private sealed class EpochTotals
    {
        public double LossSum;
        public long Correct, Samples;
        public void Add(double meanLoss, long correct, long count) { LossSum += meanLoss * count; Correct += correct; Samples += count; }
        public double Loss => Samples > 0 ? LossSum / Samples : double.NaN;
        public double Accuracy => Samples > 0 ? (double)Correct / Samples : double.NaN;
    }

    /// <summary>
    /// Appends a record to metrics.jsonl and counts it (a checkpoint remembers how many it had seen), and its scalars
    /// to the TensorBoard event file.
    /// </summary>
    private void Append(MetricRecord record)
    {
        if (IsWriter) _metrics!.Append(record);
        _records++;
        _tensorBoard?.Append(record);
    }

    public void Dispose()
    {
        _stop.Dispose();
        _batcher?.Dispose();
        _metrics?.Dispose();
        _tensorBoard?.Dispose();
        _optimizer?.Dispose();
        _model?.Dispose();
        _ema?.Dispose();
    }
}
