using System.Collections;
using System.Globalization;
using ArchDsl.Compiler;
using ArchDsl.Runtime.Data;
using ArchDsl.Torch;

namespace ArchDsl.Runtime.Augment;

/// <summary>
/// The augmentations of a train section, applied to whole batches on the batch's device. The order is
/// the conventional one whatever the order in the list (torchvision's and timm's training transforms):
/// geometric cropping, then flipping, then RandAugment (torchvision's or timm's), then colour jitter, then
/// erasing (erasing last, as torchvision pipelines do after normalisation, so an erased patch is not then
/// rotated or brightened). Mixup / CutMix, which also mixes the labels, comes after the pipeline (<see cref="Augment.Mixup"/>). Each batch draws from its own random stream,
/// derived from (seed, epoch, batch index) alone, so a resumed run augments exactly as an
/// uninterrupted one.
/// </summary>
public sealed class AugmentPipeline
{
    private const ulong AugmentStream = 0xA06E_4E47UL;

    public AugmentPipeline(IEnumerable<IAugmentation> ops, Normalization? normalization = null)
    {
        Ops = ops.OrderBy(Rank).ToList();
        Normalization = normalization;
    }

    public IReadOnlyList<IAugmentation> Ops { get; }
    public Normalization? Normalization { get; }
    public bool IsEmpty => Ops.Count == 0;

    public static readonly AugmentPipeline None = new(Array.Empty<IAugmentation>());

    private static int Rank(IAugmentation op) => op switch
    {
        PadCrop => 0,
        HorizontalFlip => 1,
        RandAugment or TimmRandAugment => 2,
        ColorJitter => 3,
        RandomErasing => 4,
        _ => 2,
    };

    /// <summary>The <c>augment</c> list of a train section, in the compiler's typed form (empty: no augmentation).</summary>
    public static AugmentPipeline FromTrain(IReadOnlyList<AugmentConfig> augment, Normalization? normalization = null) =>
        new(augment.Select(Create).ToList(), normalization);

    private static IAugmentation Create(AugmentConfig a) => a switch
    {
        FlipConfig f => new HorizontalFlip(f.P),
        CropConfig c => new PadCrop(c.Pad),
        EraseConfig e => new RandomErasing(e.P, e.MinArea, e.MaxArea, e.MinRatio, e.MaxRatio, Enum.Parse<EraseMode>(e.Mode, ignoreCase: true)),
        RandAugmentConfig r => new RandAugment(r.N, r.M),
        TimmRandAugmentConfig t => new TimmRandAugment(t),
        ColorJitterConfig j => new ColorJitter(j.Brightness, j.Contrast, j.Saturation, j.Hue),
        _ => throw new AugmentException($"augmentation {a} has no implementation in this runtime"),
    };

    /// <summary>The random stream of one batch: a function of (seed, epoch, batch index) only.</summary>
    public static DeterministicRandom BatchRandom(ulong seed, long epoch, long batchIndex) =>
        new(DeterministicRandom.Derive(DeterministicRandom.Derive(seed ^ AugmentStream, (ulong)epoch), (ulong)batchIndex));

    /// <summary>Augments a batch with the stream of (seed, epoch, batch); see <see cref="Apply(torch.Tensor, DeterministicRandom, bool)"/>.</summary>
    public torch.Tensor Apply(torch.Tensor batch, ulong seed, long epoch, long batchIndex, bool overwriteInput = false) =>
        Apply(batch, BatchRandom(seed, epoch, batchIndex), overwriteInput);

    /// <summary>
    /// A tensor (in the current dispose scope) holding the augmented batch. The input is unchanged unless
    /// <paramref name="overwriteInput"/> (the caller reads the batch no more): then ops that can work in place do,
    /// and the result may share the input's storage (<see cref="AugmentContext.OverwriteInput"/>). The result's
    /// values are the same either way.
    /// </summary>
    public torch.Tensor Apply(torch.Tensor batch, DeterministicRandom random, bool overwriteInput = false)
    {
        var context = new AugmentContext(random, Normalization, overwriteInput);
        var x = batch.alias();
        foreach (var op in Ops)
        {
            var next = op.Apply(x, context);
            x.Dispose();
            x = next;
        }
        return x;
    }

    public override string ToString() => IsEmpty ? "none" : string.Join(", ", Ops.Select(o => o.Describe()));
}
