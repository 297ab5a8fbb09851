using System.Diagnostics;
using ArchDsl.Runtime.Data;

namespace ArchDsl.Runtime.Training;

/// <summary>An epoch of steps: the epoch's data order, the step loop, step records, periodic and interrupt checkpoints.</summary>
internal sealed partial class TrainSession
{
    // The epoch in progress: its clock, images trained, training and batch-making seconds.
    private Stopwatch _epochWatch = new();
    private long _epochImages;
    private double _epochTrainSeconds, _dataSeconds;

    /// <summary>
    /// Trains the rest of epoch <c>_epoch</c> from batch <c>_batch</c>; returns the interrupted result when a stop
    /// was asked for (after saving a checkpoint at the next batch), null when the epoch's steps are done.
    /// </summary>
    private TrainResult? TrainEpoch()
    {
        var s = _settings;
        if (_batch == 0) _epochStats = new EpochTotals();
        var order = _batcher.Order(_epoch);
        _sink.EpochStarted(_epoch + 1, s.Epochs, _batches, _batch);
        _epochWatch = Stopwatch.StartNew();
        _epochImages = 0;
        _epochTrainSeconds = 0;
        _dataSeconds = 0;
        Model.train();
        for (; _batch < _batches; _batch++)
        {
            var stepWatch = Stopwatch.StartNew();
            if (Step(order, stepWatch) is not { } taken) continue; // every image of the batch unreadable: no step
            var (loss, correct, n, skipped) = taken;
            _step++;
            if (!skipped) _epochStats.Add(loss, correct, n); // a skipped step (fp16 overflow) trained nothing; its loss may be inf
            double seconds = stepWatch.Elapsed.TotalSeconds;
            _epochTrainSeconds += seconds;
            _trainSeconds += seconds;
            _epochImages += n;
            _trainImages += n;
            StepCompleted(loss);
            if (StopNow)
            {
                Save("interrupt", _epoch, _batch + 1, best: false);
                return Interrupted(_epoch);
            }
            if (_info.CheckpointEvery > 0 && _step % _info.CheckpointEvery == 0) Save("periodic", _epoch, _batch + 1, best: false);
        }
        if (_epochStats.Samples == 0)
            throw new TrainingException($"data '{_data.Source}': none of the {_data.Train.Count} training images could be read " +
                                        $"({FolderIndex.First(_data.Train.Unreadable)}); `archc data inspect` says why");
        return null;
    }

    /// <summary>Logs the step just taken (every <c>log_every</c> steps and the epoch's last) and tells the sink.</summary>
    private void StepCompleted(double loss)
    {
        var s = _settings;
        double ips = Throughput.ImagesPerSecond(_epochImages, TimeSpan.FromSeconds(_epochTrainSeconds));
        if (_step % _info.LogEvery == 0 || _batch == _batches - 1)
            Append(new StepRecord
            {
                Epoch = _epoch + 1, Batch = _batch + 1, Step = _step, Loss = loss, Lr = _lastLr,
                TrainLoss = _epochStats.Loss, TrainAcc = _epochStats.Accuracy,
                ImagesPerSecond = Math.Round(ips, 1), ElapsedSeconds = Math.Round(_trainSeconds, 3),
                LossScale = _scaler?.Scale, SkippedSteps = _scaler?.SkippedSteps,
            });
        _sink.StepCompleted(new StepInfo(_epoch + 1, s.Epochs, _batch + 1, _batches, _step, loss, _epochStats.Loss, _epochStats.Accuracy, _lastLr, ips,
            Throughput.Eta(_epochImages, _epochImages + (long)(_batches - _batch - 1) * s.Batch, TimeSpan.FromSeconds(_epochTrainSeconds))));
    }
}
