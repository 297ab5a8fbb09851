using ArchDsl.Runtime.Data;
using ArchDsl.Runtime.Distributed;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Training;

/// <summary>
/// The trainer's hooks for data parallelism (<see cref="DataParallel"/>; all no-ops in a single process): the rank's
/// part of each global batch, the backward that c10d's Reducer averages, sharded and reduced evaluation, stop
/// decisions every rank agrees on, and rank 0 alone writing the run directory.
/// </summary>
internal sealed partial class TrainSession
{
    private readonly DataParallel? _world;
    private bool _agreedStop;

    /// <summary>Whether this process writes the run directory: a single process, or rank 0.</summary>
    private bool IsWriter => _world is null || _world.IsMain;

    /// <summary>A stop requested here — or, in a data-parallel run, on any rank at the last step (so all stop at the same step).</summary>
    private bool StopNow => _world is null ? _stop.Requested : _agreedStop;

    /// <summary><see cref="StopNow"/> decided now: a collective in a data-parallel run.</summary>
    private bool AgreedStop() => _world is null ? _stop.Requested : _world.Agree(_stop.Requested);

    /// <summary>This rank's rows of the global batch (<see cref="DataParallel.Shard(int)"/>); the whole batch in one process.</summary>
    private (Tensor X, Tensor Y) Shard(Tensor x, Tensor y)
    {
        if (_world is null) return (x, y);
        var (offset, count) = _world.Shard((int)y.shape[0]);
        return (x.narrow(0, offset, count), y.narrow(0, offset, count));
    }

    /// <summary>
    /// Backward of this rank's mean loss over its <c>y.shape[0]</c> of the <paramref name="global"/> images; in a
    /// data-parallel run scaled so the Reducer's average over ranks is the global batch's mean, the gradients
    /// all-reduced in buckets while backward runs — clipping and the optimizer then see the reduced gradients.
    /// </summary>
    private void Backward(Tensor loss, int global)
    {
        if (_world is null) { loss.backward(); return; }
        _world.PrepareForBackward(loss);
        using var scaled = loss.mul(_world.LossScale(_world.Shard(global).Count, global));
        scaled.backward();
    }

    /// <summary>
    /// Loss and accuracy on <paramref name="set"/>, filling <paramref name="confusion"/> in one process. In a data-parallel
    /// run each rank evaluates every world-th batch and the totals are summed; the confusion matrix is not reduced, so
    /// such a run writes none.
    /// </summary>
    private LossAccuracy EvaluateOn(ImageSet set, Func<bool>? stop, ConfusionMatrix? confusion = null)
    {
        if (_world is null) return Trainer.Evaluate(Model, set, _evalBatch, _device, confusion, stop: stop);
        // No early stop inside a sharded evaluation: a rank leaving it alone would leave the others waiting.
        return _world.ReduceEvaluation(Trainer.Evaluate(Model, set, _evalBatch, _device, shard: (_world.Rank, _world.WorldSize)));
    }

    /// <summary>The weights the validation split selected: rank 0 reads them and, in a data-parallel run, sends them to the others.</summary>
    private void LoadBest()
    {
        if (IsWriter) Checkpoint.Load(RunDirectory.CheckpointPath(_runDir, RunDirectory.Best), Model, optimizer: null);
        _world?.BroadcastModel(Model);
    }

    /// <summary>summary.yaml's lines on data parallelism: world size and what <c>batch</c> means.</summary>
    private string DataParallelYaml()
    {
        var yaml = $"world_size: {_world?.WorldSize ?? 1}\nbatch_per: global   # train.batch is the global batch, split between the ranks\nsync_bn: {(_graph.Train.SyncBatchNorm ? "true" : "false")}\n";
        if (_world is not null)
            yaml += $"allreduce:\n  bytes_per_step: {_world.GradientBytes}   # gradients, in Reducer buckets of ≤ 25 MiB ({_world.Buckets.Count} buckets), during backward\n" +
                    $"  alone_s: {_world.AllReduceSeconds.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture)}   # one all-reduce of those bytes by itself, measured at start\n" +
                    $"  bandwidth_mb_s: {(_world.GradientBytes / 1e6 / Math.Max(_world.AllReduceSeconds, 1e-9)).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture)}\n";
        return yaml;
    }
}
