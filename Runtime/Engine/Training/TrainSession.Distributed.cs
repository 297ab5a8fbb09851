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
    /// Loss and accuracy on <paramref name="set"/>, filling <paramref name="confusion"/>. In a data-parallel run each rank
    /// evaluates every world-th batch and the totals and confusion counts are summed over ranks, so every rank holds
    /// what one process evaluating the whole set would.
    /// </summary>
    private LossAccuracy EvaluateOn(ImageSet set, Func<bool>? stop, ConfusionMatrix? confusion = null)
    {
        if (_world is null) return Trainer.Evaluate(Model, set, _evalBatch, _device, confusion, stop: stop);
        // No early stop inside a sharded evaluation: a rank leaving it alone would leave the others waiting.
        var local = Trainer.Evaluate(Model, set, _evalBatch, _device, confusion, shard: (_world.Rank, _world.WorldSize));
        if (confusion is not null) _world.ReduceConfusion(confusion);
        return _world.ReduceEvaluation(local);
    }

    /// <summary>The weights the validation split selected: rank 0 reads them and, in a data-parallel run, sends them to the others.</summary>
    private void LoadBest()
    {
        if (IsWriter) Checkpoint.Load(RunDirectory.CheckpointPath(_runDir, RunDirectory.Best), Model, optimizer: null);
        _world?.BroadcastModel(Model);
    }

    /// <summary>
    /// summary.yaml's lines on data parallelism: world size (and each start's and resume's when they differ), what
    /// <c>batch</c> means and each rank's share, the backend, and the all-reduce per step (bytes, time alone, bandwidth).
    /// </summary>
    private string DataParallelYaml()
    {
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        int world = _world?.WorldSize ?? 1;
        var yaml = $"world_size: {world}\n";
        if (_info.WorldSizes.Distinct().Count() > 1)
            yaml += $"world_sizes: [{string.Join(", ", _info.WorldSizes)}]   # the start's, then each resume's: positions count global batches, so the run went on with the new split\n";
        yaml += $"batch_per: global   # train.batch is the global batch, split between the ranks\nbatch_per_rank: {RunWorld.PerRank(_settings.Batch, world)}\n" +
                $"sync_bn: {(_graph.Train.SyncBatchNorm ? "true" : "false")}\n";
        if (_world is not null)
            yaml += $"backend: {_world.Backend.Name}\n" +
                    $"allreduce:   # gradients averaged by c10d's Reducer in buckets of <= 25 MiB ({_world.Buckets.Count} here), overlapped with backward\n" +
                    $"  bytes_per_step: {_world.GradientBytes}   # the trainable parameters' bytes\n" +
                    $"  time_per_step_s: {_world.AllReduceSeconds.ToString("0.######", ci)}   # one all-reduce of those bytes alone, median of 5 at start\n" +
                    $"  bandwidth_mb_s: {(_world.AllReduceBandwidth / 1e6).ToString("0.#", ci)}   # bytes_per_step / time_per_step_s\n";
        return yaml;
    }
}
