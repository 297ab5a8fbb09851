namespace ArchDsl.Runtime.Distributed;

/// <summary>
/// A run resumed with another number of data-parallel processes than the one that saved its checkpoint. Positions,
/// the data order and every random draw outside the model are functions of (seed, epoch, batch, step) over the global
/// batch, so they carry over unchanged; what changes is each rank's shard of the global batch and what depends on it.
/// </summary>
public static class WorldChange
{
    /// <summary>
    /// What changes and what stays when a checkpoint saved by <paramref name="saved"/> processes is resumed by
    /// <paramref name="now"/> (said in the resumed run's log); null when they are the same, or the checkpoint does not
    /// say (one saved before world sizes were recorded).
    /// </summary>
    /// <param name="batch">train.batch: the global batch.</param>
    /// <param name="syncBatchNorm">train.sync_bn.</param>
    /// <param name="hasBatchNorm">whether the model has a BatchNorm.</param>
    public static string? Describe(int? saved, int now, int batch, bool syncBatchNorm, bool hasBatchNorm)
    {
        if (saved is not { } was || was == now) return null;
        var changed = $"each rank's shard of every global batch: {PerRank(batch, now)} instead of {PerRank(batch, was)}; " +
                      $"the gradient average over {Processes(now)} instead of {Processes(was)} (the same mean, summed in another order: float rounding only)";
        if (hasBatchNorm)
            changed += syncBatchNorm
                ? "; BatchNorm statistics stay over the global batch (sync_bn: true)"
                : $"; BatchNorm takes its training statistics over each rank's images ({PerRank(batch, now)} instead of {PerRank(batch, was)}; sync_bn is off), " +
                  "so the steps from here differ from those of an uninterrupted run";
        changed += "; random ops inside the model (dropout, drop path), if any, draw per rank, so their masks change with the shard";
        return $"world size changed: the checkpoint was saved by {Processes(was)}, this resume runs {Processes(now)}. " +
               $"Unchanged: the global batch (train.batch = {batch}), the seeded order of the training set and so every step's images, " +
               "the step count and learning-rate schedule, augmentation and mixup draws (made on the whole global batch), the optimizer state. " +
               $"Changed: {changed}.";
    }

    /// <summary>The per-rank batch: "32 images in one process", "16 images per rank", "11/11/10 images per rank".</summary>
    private static string PerRank(int batch, int world) =>
        world == 1 ? $"{batch} images in one process" : $"{RunWorld.PerRank(batch, world)} images per rank";

    private static string Processes(int n) => n == 1 ? "1 process" : $"{n} processes";
}
