using ArchDsl.Dsl;
using ArchDsl.Compiler;
using ArchDsl.Runtime.Data;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Augment;

/// <summary>
/// timm's <c>Mixup</c> (timm/data/mixup.py) in mode batch, with its label mixing: one λ per batch; with probability
/// <c>prob</c> the batch is mixed with itself reversed (sample i with sample N−1−i), by CutMix with probability
/// <c>switch_prob</c> when both alphas are &gt; 0 (otherwise by whichever alpha is &gt; 0), λ ~ Beta(α, α). Mixup:
/// x ← λ·x + (1 − λ)·flip(x). CutMix: a box of side √(1 − λ) of the image's, centred uniformly and clipped to the
/// image, is copied from flip(x); with <c>correct_lam</c> λ becomes 1 − box area / image area. Targets are
/// λ·smooth(y) + (1 − λ)·smooth(flip(y)), smooth(y) = one-hot with off = s / classes, on = 1 − s + off.
/// Deterministic per (seed, epoch, batch), from its own stream (so adding it does not change the other augmentations).
/// </summary>
public sealed class Mixup
{
    private const ulong MixupStream = 0x313C_0FF5UL;

    public Mixup(MixupConfig config)
    {
        if (config.Mode != "batch") throw new AugmentException($"mixup mode '{config.Mode}' is not supported; only mode batch is");
        if (!(config.MixupAlpha > 0 || config.CutmixAlpha > 0)) throw new AugmentException("mixup needs mixup_alpha > 0 or cutmix_alpha > 0");
        Config = config;
    }

    public MixupConfig Config { get; }

    /// <summary>As written in <c>train { mixup: … }</c>, every argument shown.</summary>
    public string Describe() =>
        $"mixup(mixup_alpha: {FloatText.Format(Config.MixupAlpha)}, cutmix_alpha: {FloatText.Format(Config.CutmixAlpha)}, prob: {FloatText.Format(Config.Prob)}, " +
        $"switch_prob: {FloatText.Format(Config.SwitchProb)}, mode: {Config.Mode}, correct_lam: {(Config.CorrectLam ? "true" : "false")}, " +
        $"label_smoothing: {FloatText.Format(Config.LabelSmoothing)})";

    /// <summary>λ and whether CutMix was chosen, as timm's <c>_params_per_batch</c> (λ = 1: the batch is left as it is).</summary>
    public (double Lambda, bool CutMix) Parameters(DeterministicRandom rng)
    {
        var c = Config;
        if (!(rng.NextDouble() < c.Prob)) return (1.0, false);
        bool cutmix = c.MixupAlpha > 0 && c.CutmixAlpha > 0 ? rng.NextDouble() < c.SwitchProb : c.MixupAlpha <= 0;
        double alpha = cutmix ? c.CutmixAlpha : c.MixupAlpha;
        return (Beta(rng, alpha, alpha), cutmix);
    }

    /// <summary>
    /// timm's <c>rand_bbox</c> + <c>cutmix_bbox_and_lam</c>: the box [y0, y1) × [x0, x1) and the λ to use
    /// (1 − area / (H·W) with <c>correct_lam</c>, else λ as drawn).
    /// </summary>
    public (int Y0, int Y1, int X0, int X1, double Lambda) CutMixBox(int h, int w, double lambda, DeterministicRandom rng)
    {
        double ratio = Math.Sqrt(1 - lambda);
        int cutH = (int)(h * ratio), cutW = (int)(w * ratio);
        int cy = rng.NextInt(h), cx = rng.NextInt(w);
        int y0 = Math.Clamp(cy - cutH / 2, 0, h), y1 = Math.Clamp(cy + cutH / 2, 0, h);
        int x0 = Math.Clamp(cx - cutW / 2, 0, w), x1 = Math.Clamp(cx + cutW / 2, 0, w);
        double lam = Config.CorrectLam ? 1 - (y1 - y0) * (double)(x1 - x0) / ((double)h * w) : lambda;
        return (y0, y1, x0, x1, lam);
    }

    /// <summary>The random stream of one batch's mixing: a function of (seed, epoch, batch index) only.</summary>
    public static DeterministicRandom BatchRandom(ulong seed, long epoch, long batchIndex) =>
        new(DeterministicRandom.Derive(DeterministicRandom.Derive(seed ^ MixupStream, (ulong)epoch), (ulong)batchIndex));

    /// <summary>
    /// Mixes a batch <c>[N, C, H, W]</c> with integer labels <c>[N]</c> into a new batch and soft targets <c>[N, classes]</c>
    /// whose rows sum to 1 (new tensors in the current dispose scope; the inputs are unchanged).
    /// </summary>
    public (Tensor Images, Tensor Targets, double Lambda) Apply(Tensor x, Tensor labels, int classes, DeterministicRandom rng)
    {
        AugmentTensors.CheckBatch(x, "mixup");
        var (lambda, cutmix) = Parameters(rng);
        Tensor images;
        if (lambda == 1.0) images = x.alias();
        else if (cutmix)
        {
            int h = (int)x.size(2), w = (int)x.size(3);
            var (y0, y1, x0, x1, lam) = CutMixBox(h, w, lambda, rng);
            lambda = lam;
            var inBox = new bool[h * w];
            for (int r = y0; r < y1; r++)
                for (int q = x0; q < x1; q++) inBox[r * w + q] = true;
            using var mask = torch.tensor(inBox, new long[] { 1, 1, h, w }, x.device);
            using var flipped = x.flip(0);
            images = torch.where(mask, flipped, x);
        }
        else
        {
            using var flipped = x.flip(0);
            images = x.lerp(flipped, 1 - lambda);
        }
        return (images, Targets(labels, classes, lambda, Config.LabelSmoothing), lambda);
    }

    /// <summary>timm's <c>mixup_target</c>: λ·smooth(y) + (1 − λ)·smooth(flip(y)), rows summing to 1.</summary>
    public static Tensor Targets(Tensor labels, int classes, double lambda, double smoothing)
    {
        double off = smoothing / classes, on = 1 - smoothing + off;
        using var oneHot = nn.functional.one_hot(labels, classes);
        using var hot = oneHot.to_type(ScalarType.Float32);
        using var y1 = hot.mul(on - off).add_(off);
        using var y2 = y1.flip(0);
        return y1.lerp(y2, 1 - lambda);
    }

    /// <summary>timm's <c>SoftTargetCrossEntropy</c>: mean over the batch of Σ −target · log_softmax(logits).</summary>
    public static Tensor SoftTargetCrossEntropy(Tensor logits, Tensor targets)
    {
        using var logp = logits.log_softmax(1);
        using var prod = targets.mul(logp);
        using var perSample = prod.sum(new long[] { 1 });
        using var mean = perSample.mean();
        return mean.neg();
    }

    /// <summary>Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b) (numpy's beta for a, b &gt; 1 does the same).</summary>
    public static double Beta(DeterministicRandom rng, double a, double b)
    {
        double x = Gamma(rng, a), y = Gamma(rng, b);
        return x + y > 0 ? x / (x + y) : rng.NextDouble() < a / (a + b) ? 1 : 0;
    }

    /// <summary>Gamma(shape, 1) by Marsaglia and Tsang (2000); shape &lt; 1 by Gamma(shape + 1)·U^(1/shape).</summary>
    public static double Gamma(DeterministicRandom rng, double shape)
    {
        if (shape < 1) return Gamma(rng, shape + 1) * Math.Pow(1 - rng.NextDouble(), 1 / shape);
        double d = shape - 1.0 / 3, c = 1 / Math.Sqrt(9 * d);
        while (true)
        {
            double z, v;
            do { z = rng.NextGaussian(); v = 1 + c * z; } while (v <= 0);
            v = v * v * v;
            double u = 1 - rng.NextDouble();
            if (Math.Log(u) < 0.5 * z * z + d - d * v + d * Math.Log(v)) return d * v;
        }
    }
}
