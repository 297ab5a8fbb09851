using System.Diagnostics;
using ArchDsl.Runtime.Augment;
using ArchDsl.Runtime.Data;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Training;

/// <summary>One optimizer step: the batch, augmentation, learning rate and momentum, forward, loss, backward, clipping, update.</summary>
internal sealed partial class TrainSession
{
    /// <summary>
    /// Takes step <c>_step</c> on batch <c>_batch</c> of <paramref name="order"/>: torch's generator is re-seeded
    /// from (seed, step) first, so the step does not depend on what ran before it. The time until the batch is on
    /// the device and augmented counts as data time. Returns the batch's mean loss, how many it got right, its size
    /// (its readable images: an image folder's unreadable files are left out) and whether the optimizer step was
    /// skipped (amp: fp16's loss scaler found an inf/NaN; see <see cref="TakeScaledStep"/>); null, and no step taken,
    /// when none of the batch's images could be read.
    /// </summary>
    /// <exception cref="TrainingException">float32 and bf16: the loss is not finite; fp16: the loss scale fell to its
    /// minimum (nothing is updated; the last checkpoint stays good).</exception>
    private (double Loss, long Correct, int Images, bool Skipped)? Step(int[] order, Stopwatch stepWatch)
    {
        var s = _settings;
        ulong seed = unchecked((ulong)s.Seed);
        int n;
        try { n = _batcher.FillBatch(_epoch, _batch, _images, _labels); }
        catch (DataException e) { throw new TrainingException(e.Message, e); }
        if (n == 0) return null;
        using var scope = NewDisposeScope();
        torch.manual_seed(unchecked((long)DeterministicRandom.Derive(seed ^ 0x7012C4UL, (ulong)_step)));
        var (x0, y0) = Trainer.ToTensors(_images, _labels, n, _data.Train, _device);
        var xa = _augment.IsEmpty ? x0 : _augment.Apply(x0, seed, _epoch, _batch, overwriteInput: true); // x0 is this step's copy, read no more
        Tensor? soft = null;
        if (_mixup is not null) (xa, soft, _) = _mixup.Apply(xa, y0, _data.Train.NumClasses, Mixup.BatchRandom(seed, _epoch, _batch));
        var (x, y) = Shard(xa, y0); // this rank's part of the global batch (augmented and mixed as a whole first)
        if (soft is not null) soft = Shard(soft, y0).X;
        double made = stepWatch.Elapsed.TotalSeconds;
        _dataSeconds += made;
        _dataTotal += made;
        double lr = _schedule.LearningRate(_step);
        Optimizer.lr = lr;
        _lastLr = lr;
        Trainer.ApplyMomentum(Optimizer, _schedule, _step);
        var logits = Model.forward(x);
        // With mixup the targets are soft (their smoothing is mixup's own): timm's SoftTargetCrossEntropy.
        var lossT = soft is not null ? Mixup.SoftTargetCrossEntropy(logits, soft) : nn.functional.cross_entropy(logits, y, label_smoothing: s.LabelSmoothing);
        if (_probe is not null) lossT = lossT.mul(_probe.LossFactor(_step));
        Optimizer.zero_grad();
        Backward(_scaler is null ? lossT : _scaler.ScaleLoss(lossT), n);
        long correct;
        using (no_grad()) correct = logits.argmax(1).eq(y).sum().item<long>();
        double loss = lossT.item<double>();
        if (_world is not null) (loss, correct, n, _agreedStop) = _world.ReduceStep(loss, correct, (int)y.shape[0], _stop.Requested);
        bool stepped = _scaler is null ? TakeStep(loss) : TakeScaledStep(loss);
        UpdateEma();
        return (loss, correct, n, !stepped);
    }

    /// <summary>float32 and bf16: a non-finite loss stops the run (no loss scale to back off; the weights would turn NaN).</summary>
    private bool TakeStep(double loss)
    {
        if (!double.IsFinite(loss)) throw new TrainingException($"{NonFinite(loss)}; training stopped. {RestartHint}");
        ClipAndStep();
        return true;
    }

    /// <summary>
    /// amp: fp16, as PyTorch's GradScaler: the gradients are unscaled and the optimizer step is skipped when one of them
    /// (or the loss) is inf/NaN, then the scale backs off (×0.5) or, after 2000 clean steps, grows (×2); a skipped step
    /// is reported and counted (step records, summary.yaml). The run stops only when the scale has backed off to
    /// <see cref="GradScaler.MinScale"/> (fairseq's <c>--min-loss-scale</c>, 10⁻⁴: from 2¹⁶, 30 backoffs not undone by growth), the
    /// sign that skipping cannot recover — a float16 forward that overflows does so whatever the scale.
    /// </summary>
    private bool TakeScaledStep(double loss)
    {
        var scaler = _scaler!;
        double before = scaler.Scale;
        bool stepped = scaler.Step(Model.parameters(), ClipAndStep, double.IsFinite(loss)); // unscaled first
        scaler.Update();
        if (stepped) return true;
        string what = double.IsFinite(loss) ? $"a gradient became inf/NaN {At}" : NonFinite(loss);
        if (scaler.BelowMinimum)
            throw new TrainingException($"{what}; the loss scale has backed off to {Num(scaler.Scale)}, at or below the minimum " +
                $"{Num(scaler.MinScale)}, after {scaler.SkippedSteps} skipped step(s): training stopped. {RestartHint}");
        _sink.Message($"{what}; optimizer step skipped, loss scale {Num(before)} → {Num(scaler.Scale)} ({scaler.SkippedSteps} skipped so far)");
        return false;
    }

    private string NonFinite(double loss) =>
        $"the loss became {(double.IsNaN(loss) ? "NaN" : "infinite")} {At}";

    private string At => $"at step {_step + 1} (epoch {_epoch + 1}, batch {_batch + 1})";

    private string RestartHint =>
        $"The last good checkpoint is {LastPath} (step {_lastSavedStep}); lower the learning rate or set train.clip, then start again.";

    private static string Num(double v) => ArchDsl.Dsl.FloatText.Significant(v);

    private void ClipAndStep()
    {
        if (_settings.Clip > 0) nn.utils.clip_grad_norm_(Model.parameters(), _settings.Clip);
        Optimizer.step();
    }
}
