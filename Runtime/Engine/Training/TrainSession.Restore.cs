namespace ArchDsl.Runtime.Training;

/// <summary>Restoring a resumed run: its last checkpoint's state, the model and optimizer, its position and totals, its metrics log.</summary>
internal sealed partial class TrainSession
{
    /// <summary>
    /// The state a resume continues from (null for a new run, or a resumed one stopped before its first
    /// checkpoint), checked against the run before its normalisation shapes the data (batches and parameters are
    /// checked in <see cref="Restore"/>, once they are known).
    /// </summary>
    private CheckpointState? ReadStart()
    {
        if (!_resume || !File.Exists(LastPath)) return null;
        var start = Checkpoint.ReadState(LastPath);
        var s = _settings;
        start.CheckAgainst(LastPath, s.Epochs, null, _graph.Input.Dims[0], s.Seed, _graph.Train.Optimizer.ToString(), null);
        return start;
    }

    /// <summary>
    /// Loads <paramref name="start"/>'s weights and optimizer state and takes its position and totals; cuts the
    /// metrics log back to the records the checkpoint had seen (a resume without a checkpoint starts it anew);
    /// opens the log for appending, and a new TensorBoard event file (<see cref="TensorBoardLog"/>).
    /// </summary>
    private void Restore(CheckpointState? start)
    {
        var s = _settings;
        if (IsWriter) Directory.CreateDirectory(_ckptDir);
        if (start is not null)
        {
            if (start.Arch != _graph.Arch) throw new TrainingException($"checkpoint '{LastPath}' is of {start.Arch}, the run's graph is {_graph.Arch}");
            start.CheckAgainst(LastPath, s.Epochs, _batches, _graph.Input.Dims[0], s.Seed, _graph.Train.Optimizer.ToString(), _parameters);
            Checkpoint.Load(LastPath, Model, Optimizer);
            if (_scaler is not null && start.LossScaler is { } scaler)
            {
                try { _scaler.Load(scaler); }
                catch (FormatException e) { throw new TrainingException($"checkpoint '{LastPath}': {e.Message}", e); }
            }
            RestoreEma(LastPath);
            _worldChange = Distributed.WorldChange.Describe(start.WorldSize, _world?.WorldSize ?? 1, s.Batch, _graph.Train.SyncBatchNorm, Model.HasBatchNorm);
            (_epoch, _batch, _step) = (start.Epoch, start.Batch, start.Step);
            (_trainSeconds, _trainImages, _dataTotal) = (start.TrainSeconds, start.TrainImages, start.DataSeconds);
            // Only a validation split selects (an older checkpoint may carry a selection made on test).
            _bestAcc = _evalName == "val" ? start.BestAccuracy ?? double.NaN : double.NaN;
            _bestEpoch = _evalName == "val" ? start.BestEpoch : null;
            _epochStats = new EpochTotals { LossSum = start.EpochLossSum, Correct = start.EpochCorrect, Samples = start.EpochSamples };
            _records = _keepLog ? Math.Max(start.MetricsRecords, CountRecords(MetricsPath)) : start.MetricsRecords;
            if (IsWriter) TruncateMetrics(MetricsPath, _records);
            _lastSavedStep = _step;
        }
        else if (_resume && IsWriter)
        {
            TruncateMetrics(MetricsPath, 0);
        }
        if (IsWriter) _metrics = MetricsLog.Open(MetricsPath);
        _tensorBoard = IsWriter ? TensorBoardLog.Create(_runDir, start is not null || _resume ? _step : null) : null;
    }

    /// <summary>What a resume with another world size than its checkpoint's changes (<see cref="Distributed.WorldChange"/>); said after the run's header.</summary>
    private string? _worldChange;

    private static int CountRecords(string path) => File.Exists(path) ? File.ReadLines(path).Count(l => l.Trim().Length > 0) : 0;

    /// <summary>Keeps the first <paramref name="keep"/> records of the log (those the checkpoint had seen); written atomically.</summary>
    private static void TruncateMetrics(string path, int keep)
    {
        if (!File.Exists(path)) return;
        var lines = File.ReadAllLines(path).Where(l => l.Trim().Length > 0).ToList();
        if (lines.Count < keep)
            throw new TrainingException($"'{path}' has {lines.Count} records but the checkpoint was saved after {keep}; the run directory was changed by hand?");
        AtomicFile.WriteAllText(path, string.Concat(lines.Take(keep).Select(l => l + "\n")));
    }
}
