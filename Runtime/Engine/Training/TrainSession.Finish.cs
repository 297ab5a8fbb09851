using System.Globalization;
using System.Text;
using System.Text.Json;
using ArchDsl.Compiler;
using ArchDsl.Torch;

namespace ArchDsl.Runtime.Training;

/// <summary>The end of a run: the selected weights evaluated on the test set, the result, <c>summary.yaml</c>.</summary>
internal sealed partial class TrainSession
{
    /// <summary>
    /// When epochs were judged on a validation split, the weights it selected are evaluated on the test set;
    /// then the summary. Scores come from the metrics log, so a run resumed after its last epoch reports the same.
    /// </summary>
    private TrainResult Finish()
    {
        var s = _settings;
        var lastEpoch = IsWriter ? MetricRecord.ReadAll(MetricsPath).OfType<EpochRecord>().LastOrDefault() : null;
        Score? Read(string set) => lastEpoch?.Score(set) is { } score ? new Score(score.Loss, score.Accuracy) : null;
        Score? test = null;
        if (_data.Val is not null && _data.Test is not null)
        {
            if (_bestEpoch is not null) LoadBest();
            _sink.Evaluating(s.Epochs, "test", _data.Test.Count - _data.Test.Unreadable.Count);
            var confusion = NewConfusion();
            var t = EvaluateOn(_data.Test, stop: null, confusion);
            test = new Score(t.Loss, t.Accuracy);
            if (IsWriter) ConfusionFile.Write(_runDir, ConfusionFile.Of(confusion, "test", _bestEpoch ?? s.Epochs));
            Append(new TestRecord { Step = _step, Epoch = _bestEpoch ?? s.Epochs, TestLoss = t.Loss, TestAcc = t.Accuracy });
        }
        else if (_evalName == "test") test = Read("test");
        FinishEma();
        var result = Result(TrainOutcome.Completed, s.Epochs, Read("train"), _evalName is null ? null : Read(_evalName), test, null);
        if (IsWriter) WriteSummary(result);
        _sink.RunEnded(result);
        return result;
    }

    private void WriteSummary(TrainResult r)
    {
        var (data, s) = (_data, _settings);
        static string N(double? v, string format = "0.######") => v is double d && !double.IsNaN(d) ? d.ToString(format, CultureInfo.InvariantCulture) : "null";
        var sb = new StringBuilder();
        sb.Append("# ArchDsl training summary\n");
        sb.Append($"arch: {r.Arch}\n");
        sb.Append($"run: {Yaml(r.RunDir)}\n");
        sb.Append("status: completed\n");
        sb.Append($"data: {Yaml(data.Source)}\n");
        sb.Append($"train_samples: {data.Train.Count - data.Train.Unreadable.Count}\n");
        sb.Append(SkippedYaml(data));
        sb.Append($"epochs: {r.Epochs}\nsteps: {r.Steps}\nbatch: {s.Batch}\nseed: {s.Seed}\n");
        sb.Append($"optimizer: {Yaml(_graph.Train.Optimizer.ToString())}\n");
        sb.Append($"parameters: {r.Parameters}\n");
        sb.Append($"train:\n  loss: {N(r.TrainLoss)}\n  accuracy: {N(r.TrainAccuracy)}\n");
        if (r.EvalSet == "val") sb.Append($"val:\n  loss: {N(r.EvalLoss)}\n  accuracy: {N(r.EvalAccuracy)}\n");
        if (r.TestAccuracy is not null) sb.Append($"test:\n  loss: {N(r.TestLoss)}\n  accuracy: {N(r.TestAccuracy)}\n  samples: {(data.Test is { } ts ? ts.Count - ts.Unreadable.Count : 0)}\n");
        sb.Append(SelectionYaml(r, r.TestAccuracy is not null ? "test" : r.EvalSet));
        if (_emaSummary is not null) sb.Append(_emaSummary);
        sb.Append($"time:\n  train_s: {N(r.TrainTime.TotalSeconds, "0.###")}\n  data_s: {N(_dataTotal, "0.###")}   # of train_s: making batches (copy, tensor, augmentation)\n" +
                  $"  session_wall_s: {N(r.WallTime.TotalSeconds, "0.###")}\n");
        sb.Append($"images_per_s: {N(r.ImagesPerSecond, "0.#")}\n");
        sb.Append($"device: {_device}\nthreads: {_threads}\n");
        sb.Append($"amp: {AmpModes.Name(s.Amp)}   # {AmpText(s.Amp)}\n");
        if (_scaler is { } scaler)
            sb.Append($"loss_scaler:\n  scale: {ArchDsl.Dsl.FloatText.Format(scaler.Scale)}\n  skipped_steps: {scaler.SkippedSteps}   # optimizer steps skipped on an inf/NaN gradient or loss (GradScaler)\n");
        sb.Append($"blas: {Yaml(BlasKernelText.Describe(BlasKernel.Current))}\n");
        sb.Append($"cpu_kernels: {CpuCapability.Name(CpuCapability.Current)}   # the instruction set of the shim's own CPU kernels ({CpuCapability.Variable} caps it)\n");
        sb.Append(DataParallelYaml());
        sb.Append($"resumes: {_info.Resumes}\n");
        sb.Append($"checkpoints:\n  last: {RunDirectory.CheckpointFile(RunDirectory.Last)}\n");
        if (r.BestEpoch is not null) sb.Append($"  best: {RunDirectory.CheckpointFile(RunDirectory.Best)}   # selected on val\n");
        AtomicFile.WriteAllText(RunDirectory.SummaryOf(_runDir), sb.ToString());
    }

    /// <summary>
    /// The unreadable images each set left out (an image folder's bad files, <see cref="Data.UnreadableImages"/>), with the
    /// first few paths; nothing when there were none. The sample counts above count readable images only.
    /// </summary>
    internal static string SkippedYaml(Data.DataSplits data)
    {
        var sets = new[] { ("train", data.Train), ("val", data.Val), ("test", data.Test) }
            .Where(x => x.Item2 is { Unreadable.Count: > 0 }).Select(x => (Name: x.Item1, Files: x.Item2!.Unreadable)).ToList();
        if (sets.Count == 0) return "";
        var sb = new StringBuilder("skipped:   # unreadable images, left out (not trained on, not evaluated); archc data inspect lists them all\n");
        foreach (var (name, files) in sets) sb.Append($"  {name}: {files.Count}\n");
        var first = sets.SelectMany(x => x.Files).Take(Data.UnreadableImages.Reported).Select(Yaml);
        sb.Append($"  first: [{string.Join(", ", first)}]\n");
        return sb.ToString();
    }

    /// <summary>
    /// What chose the reported weights, and what they are reported on: <c>selection</c> is the validation
    /// split's best accuracy (its epoch) or <c>none</c> (no validation split: the test set is never used to
    /// choose, the last epoch's weights are reported); <c>reported</c> names the weights and the set.
    /// </summary>
    internal static string SelectionYaml(TrainResult r, string? reportedSet)
    {
        var sb = new StringBuilder("selection:\n");
        if (r.BestEpoch is { } epoch && r.BestAccuracy is { } acc)
            sb.Append($"  on: val\n  metric: accuracy\n  accuracy: {acc.ToString("0.######", CultureInfo.InvariantCulture)}\n  epoch: {epoch}\n");
        else
            sb.Append("  on: none   # no validation split (train key val_split): no weights are chosen by a score\n");
        sb.Append("reported:\n");
        sb.Append(r.BestEpoch is { } e && reportedSet == "test" ? $"  weights: best on val (epoch {e})\n" : $"  weights: last epoch ({r.Epochs})\n");
        sb.Append($"  set: {reportedSet ?? "none"}\n");
        return sb.ToString();
    }

    private static string Yaml(string s) => JsonSerializer.Serialize(s, MetricsLog.JsonOptions); // a double-quoted YAML scalar
}
