namespace ArchDsl.Runtime.Training;

/// <summary>The end of an epoch: evaluation, model selection on the validation split, the epoch record, the epoch checkpoint.</summary>
internal sealed partial class TrainSession
{
    /// <summary>
    /// Evaluates the finished epoch <c>_epoch</c>, logs it and saves the <c>last</c> checkpoint (and <c>best</c>
    /// when the validation split selects it); returns the interrupted result when a stop was asked for during the
    /// evaluation or the epoch, null to go on.
    /// </summary>
    private TrainResult? EndEpoch()
    {
        var s = _settings;
        LossAccuracy? eval = null;
        if (_evalSet is not null)
        {
            _sink.Evaluating(_epoch + 1, _evalName!, _evalSet.Count - _evalSet.Unreadable.Count); // its images not yet known unreadable
            var confusion = NewConfusion();
            try
            {
                eval = EvaluateOn(_evalSet, stop: () => _stop.Requested, confusion);
                EvaluateEmaEpoch();
            }
            catch (OperationCanceledException)
            {
                if (_lastSavedStep != _step) Save("interrupt", _epoch, _batches, best: false);
                return Interrupted(_epoch);
            }
            if (IsWriter) ConfusionFile.Write(_runDir, ConfusionFile.Of(confusion, _evalName!, _epoch + 1));
        }
        bool isBest = Select(eval);
        double epochIps = Throughput.ImagesPerSecond(_epochImages, TimeSpan.FromSeconds(_epochTrainSeconds));
        var record = new EpochRecord
        {
            Epoch = _epoch + 1, Step = _step, Lr = _lastLr, TrainLoss = _epochStats.Loss, TrainAcc = _epochStats.Accuracy,
            ImagesPerSecond = Math.Round(epochIps, 1), DataSeconds = Math.Round(_dataSeconds, 3),
            EpochSeconds = Math.Round(_epochWatch.Elapsed.TotalSeconds, 3), ElapsedSeconds = Math.Round(_trainSeconds, 3),
        };
        if (eval is not null) record = record.WithEvaluation(_evalName!, eval.Loss, eval.Accuracy, isBest);
        Append(record);
        _sink.EpochCompleted(new EpochInfo(_epoch + 1, s.Epochs, _step, _epochStats.Loss, _epochStats.Accuracy, _evalName, eval?.Loss, eval?.Accuracy,
            isBest, epochIps, _epochWatch.Elapsed));
        Save("epoch", _epoch + 1, 0, best: isBest);
        _epochStats = new EpochTotals();
        if (AgreedStop() && _epoch + 1 < s.Epochs) return Interrupted(_epoch + 1);
        return null;
    }

    /// <summary>An empty confusion matrix over the data's classes (named as model.json names them).</summary>
    private ConfusionMatrix NewConfusion() => new(ModelCard.ClassNames(_data.ClassNames, Trainer.Classes(_graph)));

    /// <summary>
    /// Model selection only on a validation split: whether this epoch's <paramref name="eval"/> is the best so far
    /// (then it is remembered). The test set (monitored when there is no validation split) never chooses the
    /// weights, and without a split nothing is chosen.
    /// </summary>
    private bool Select(LossAccuracy? eval)
    {
        bool isBest = _evalName == "val" && eval is not null && (double.IsNaN(_bestAcc) || eval.Accuracy > _bestAcc);
        if (isBest) { _bestAcc = eval!.Accuracy; _bestEpoch = _epoch + 1; }
        return isBest;
    }
}
