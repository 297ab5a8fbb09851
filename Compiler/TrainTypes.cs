using System.Globalization;
using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

// The typed view of a resolved train section: what the runtime consumes. Every default is filled in
// here from TrainSchema's one table of keys and calls; the runtime states none of its own and checks
// nothing the compiler checked.

/// <summary>The loop's keys: <c>epochs</c>, <c>batch</c> (samples per step), <c>seed</c>, <c>label_smoothing</c>,
/// <c>clip</c> (max gradient L2 norm; 0 = off), <c>warmup</c>, <c>device</c> (a command line's <c>--device</c> wins over it), <c>amp</c> (<see cref="AmpMode"/>).</summary>
public sealed record TrainLoop(int Epochs, int Batch, long Seed, double LabelSmoothing, double Clip, Warmup Warmup, string Device, AmpMode Amp);

/// <summary>The top-level <c>warmup</c>: whole epochs (an integer) or a fraction of all steps (a number below 1).</summary>
public sealed record Warmup(long? Epochs, double? Fraction)
{
    /// <summary>Warm-up steps for a run of <paramref name="totalSteps"/>, capped at it; fractions round to nearest.</summary>
    public long Steps(long stepsPerEpoch, long totalSteps) =>
        Math.Min(Epochs is long e ? e * stepsPerEpoch : (long)Math.Round((Fraction ?? 0) * totalSteps), totalSteps);
}

/// <summary>The optimizer: <see cref="AdamWConfig"/> or <see cref="SgdConfig"/>.</summary>
public abstract record OptimizerConfig(double Lr, double WeightDecay);

/// <summary><c>adamw(lr, weight_decay, betas, eps)</c>, PyTorch's <c>torch.optim.AdamW</c> (defaults 1e-3, 0.01, [0.9, 0.999], 1e-8).</summary>
public sealed record AdamWConfig(double Lr, double WeightDecay, double Beta1, double Beta2, double Eps) : OptimizerConfig(Lr, WeightDecay)
{
    public override string ToString() => $"adamw(lr: {FloatText.Format(Lr)}, weight_decay: {FloatText.Format(WeightDecay)}, betas: [{FloatText.Format(Beta1)}, {FloatText.Format(Beta2)}], eps: {FloatText.Format(Eps)})";
}

/// <summary><c>sgd(lr, momentum, weight_decay, nesterov)</c>, PyTorch's <c>torch.optim.SGD</c> (lr default 0.1 here; others PyTorch's).</summary>
public sealed record SgdConfig(double Lr, double Momentum, double WeightDecay, bool Nesterov) : OptimizerConfig(Lr, WeightDecay)
{
    public override string ToString() =>
        $"sgd(lr: {FloatText.Format(Lr)}, momentum: {FloatText.Format(Momentum)}, weight_decay: {FloatText.Format(WeightDecay)}{(Nesterov ? ", nesterov: true" : "")})";
}

/// <summary>The learning-rate schedule: constant, cosine or onecycle.</summary>
public abstract record ScheduleConfig;

/// <summary><c>constant</c>: the optimizer's rate at every step (the top-level warmup adds a linear warm-up).</summary>
public sealed record ConstantScheduleConfig : ScheduleConfig;

/// <summary><c>cosine(warmup: steps, warmup_epochs: n, min_lr)</c>; with neither warm-up argument the top-level <c>warmup</c> applies.</summary>
public sealed record CosineScheduleConfig(long? WarmupSteps, long? WarmupEpochs, double MinLr) : ScheduleConfig;

/// <summary><c>onecycle(…)</c> with PyTorch's <c>OneCycleLR</c> defaults; <see cref="MaxLr"/> defaults to the optimizer's lr.</summary>
public sealed record OneCycleScheduleConfig(double MaxLr, double PctStart, string Anneal, double DivFactor, double FinalDivFactor,
                                            bool ThreePhase, double BaseMomentum, double MaxMomentum) : ScheduleConfig;

/// <summary>One augmentation of the <c>augment</c> list.</summary>
public abstract record AugmentConfig;

/// <summary><c>flip</c>: horizontal flip with probability <see cref="P"/> (torchvision's RandomHorizontalFlip default 0.5).</summary>
public sealed record FlipConfig : AugmentConfig
{
    public double P => 0.5;
}

/// <summary><c>crop(pad)</c>: zero-pad by <c>pad</c> pixels, then a random crop back to the input size.</summary>
public sealed record CropConfig(int Pad) : AugmentConfig;

/// <summary><c>erase(p, scale, ratio, mode)</c>: random erasing (Zhong et al. 2017) with probability <c>p</c> of a rectangle of
/// area fraction in [MinArea, MaxArea] and aspect ratio in [MinRatio, MaxRatio] (log-uniform), as torchvision's RandomErasing
/// (defaults 0.02–0.33, 0.3–3.3); <see cref="Mode"/> as timm's RandomErasing: const (0, the mean after normalisation), rand (one
/// standard-normal value per channel), pixel (one per pixel).</summary>
public sealed record EraseConfig(double P, double MinArea, double MaxArea, double MinRatio, double MaxRatio, string Mode) : AugmentConfig;

/// <summary><c>randaugment(n, m)</c>: RandAugment (Cubuk et al. 2019), n ops of magnitude m.</summary>
public sealed record RandAugmentConfig(int N, int M) : AugmentConfig;

/// <summary>
/// The data of a run: the catalogue entry, the given path (null: the entry's default), the split and
/// normalisation keys, and <c>synthetic(…)</c>'s arguments (null for other data).
/// </summary>
public sealed record DataConfig(DataSet Set, string? Path, ulong Seed, double ValSplit, int? Subset, int? TestSubset,
                                bool Normalize, IReadOnlyList<double>? Mean, IReadOnlyList<double>? Std, SyntheticConfig? Synthetic)
{
    /// <summary>The source as written in run logs: the name, or <c>name:path</c>.</summary>
    public string Source => Path is null ? Set.Name : $"{Set.Name}:{Path}";

    /// <summary>How each training image of a folder becomes the model's input size (key <c>transform</c>); evaluation uses <see cref="EvalTransform"/>.</summary>
    public SampleTransformConfig Transform { get; init; } = RandomResizedCropConfig.Default;

    /// <summary>timm's crop_pct of the evaluation transform (key <c>crop_pct</c>).</summary>
    public double CropPct { get; init; } = DataCatalog.DefaultCropPct;

    /// <summary>The evaluation transform: <c>resize</c> when training resizes whole images, else resize by crop_pct and center-crop.</summary>
    public SampleTransformConfig EvalTransform => Transform is ResizeConfig r ? r : new CenterCropConfig(Transform.Size, CropPct);

    /// <summary><c>folder(strict: true)</c>: an unreadable image stops the run instead of being skipped.</summary>
    public bool Strict { get; init; }

    /// <summary><c>folder(workers: n)</c>: decoding threads; null = the cores available.</summary>
    public int? Workers { get; init; }

    /// <summary>The named statistics of <c>normalize: imagenet</c> (etc.), or null (computed, or given by mean/std).</summary>
    public string? Statistics { get; init; }
}

/// <summary>A per-sample transform of folder images to the model's input size (torchvision semantics); <see cref="Size"/> null: the input's.</summary>
public abstract record SampleTransformConfig(int? Size);

/// <summary>torchvision's <c>RandomResizedCrop(size, scale, ratio)</c>: a random box of area fraction in scale and aspect ratio (log-uniform) in ratio, resized bilinearly.</summary>
public sealed record RandomResizedCropConfig(int? Size, double ScaleMin, double ScaleMax, double RatioMin, double RatioMax) : SampleTransformConfig(Size)
{
    /// <summary>torchvision's defaults: scale (0.08, 1), ratio (3/4, 4/3), size the input's.</summary>
    public static readonly RandomResizedCropConfig Default = new(null, 0.08, 1, 3.0 / 4, 4.0 / 3);
}

/// <summary>timm's eval transform: <c>Resize(floor(size / crop_pct))</c> of the shorter side, then <c>CenterCrop(size)</c>.</summary>
public sealed record CenterCropConfig(int? Size, double CropPct) : SampleTransformConfig(Size);

/// <summary>The whole image resized to the input size (identity for images already at that size).</summary>
public sealed record ResizeConfig(int? Size) : SampleTransformConfig(Size);

/// <summary><c>synthetic(train, test, noise, classes)</c>; <see cref="Classes"/> null: one class per model output.</summary>
public sealed record SyntheticConfig(int Train, int Test, double Noise, int? Classes);

public sealed partial record TrainConfig
{
    /// <summary>The loop's keys, defaults filled.</summary>
    public TrainLoop Loop => TrainSchema.TypedLoop(this);

    /// <summary>The optimizer, every argument filled.</summary>
    public OptimizerConfig Optimizer => TrainSchema.TypedOptimizer(this);

    /// <summary>The schedule, every argument filled (onecycle's max_lr from the optimizer's lr).</summary>
    public ScheduleConfig Schedule => TrainSchema.TypedSchedule(this);

    /// <summary>The augmentations in the order given.</summary>
    public IReadOnlyList<AugmentConfig> Augment => TrainSchema.TypedAugment(this);

    /// <summary>timm's Mixup / CutMix with label mixing, or null when the section has no <c>mixup</c>.</summary>
    public MixupConfig? Mixup => TrainSchema.TypedMixup(this);

    /// <summary>The data and its split and normalisation keys.</summary>
    public DataConfig Data => TrainSchema.TypedData(this);
}
