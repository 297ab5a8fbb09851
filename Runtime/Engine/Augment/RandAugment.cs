using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Augment;

/// <summary>torchvision's RandAugment operations, in its order (<c>_augmentation_space</c>). On one channel Color is the
/// identity, as in torchvision (which draws it for grey images too).</summary>
public enum RandAugmentOp
{
    Identity, ShearX, ShearY, TranslateX, TranslateY, Rotate,
    Brightness, Color, Contrast, Sharpness, Posterize, Solarize, AutoContrast, Equalize,
}

/// <summary>
/// RandAugment (Cubuk et al. 2020) as torchvision's <c>RandAugment(num_ops=n, magnitude=m,
/// num_magnitude_bins=31)</c>, batched: for each of <see cref="N"/> rounds every sample draws one op
/// uniformly and, for signed ops, a sign; magnitudes come from torchvision's tables at bin
/// <see cref="M"/> (shear 0.3·m/30, translate 150/331 of the side·m/30, rotate 30°·m/30, enhance
/// factors 1 ± 0.9·m/30 for brightness, color, contrast and sharpness, posterize 8 − round(m/7.5) bits, solarize
/// threshold 1 − m/30; autocontrast and equalize take none). Geometric
/// ops of a round are one <c>affine_grid</c> + <c>grid_sample</c> (nearest, black fill, as torchvision)
/// for the samples that drew one; photometric ops work on pixel values in [0, 1] (the batch is
/// un-normalised first and normalised again after).
/// </summary>
public sealed class RandAugment : IAugmentation
{
    public const int MagnitudeBins = 31;
    private readonly RandAugmentOp[] _ops;

    /// <param name="ops">The ops to draw from (default: all of <see cref="RandAugmentOp"/>).</param>
    public RandAugment(int n = 2, int m = 9, IReadOnlyList<RandAugmentOp>? ops = null)
    {
        _ops = (ops ?? Enum.GetValues<RandAugmentOp>()).Distinct().ToArray();
        if (_ops.Length == 0) throw new AugmentException("randaugment needs at least one op to choose from");
        if (n < 0) throw new AugmentException($"randaugment n (ops per image) must be ≥ 0, got {n}");
        if (m < 0 || m >= MagnitudeBins) throw new AugmentException($"randaugment m (magnitude) must be in 0..{MagnitudeBins - 1}, got {m}");
        N = n;
        M = m;
    }

    public int N { get; }
    public int M { get; }
    public string Describe() => $"randaugment(n: {N}, m: {M})";

    private double Fraction => M / (double)(MagnitudeBins - 1);

    /// <summary>The magnitude of an op at bin M (before its random sign), in torchvision's units.</summary>
    public double Magnitude(RandAugmentOp op, int height, int width) => op switch
    {
        RandAugmentOp.ShearX or RandAugmentOp.ShearY => 0.3 * Fraction,
        RandAugmentOp.TranslateX => 150.0 / 331.0 * width * Fraction,
        RandAugmentOp.TranslateY => 150.0 / 331.0 * height * Fraction,
        RandAugmentOp.Rotate => 30.0 * Fraction,
        RandAugmentOp.Brightness or RandAugmentOp.Color or RandAugmentOp.Contrast or RandAugmentOp.Sharpness => 0.9 * Fraction,
        RandAugmentOp.Posterize => 8 - (int)Math.Round(M / ((MagnitudeBins - 1) / 4.0), MidpointRounding.ToEven),
        RandAugmentOp.Solarize => 1.0 - Fraction,
        _ => 0,
    };

    private static bool Signed(RandAugmentOp op) => op is RandAugmentOp.ShearX or RandAugmentOp.ShearY or RandAugmentOp.TranslateX
        or RandAugmentOp.TranslateY or RandAugmentOp.Rotate or RandAugmentOp.Brightness or RandAugmentOp.Color or RandAugmentOp.Contrast
        or RandAugmentOp.Sharpness;

    public Tensor Apply(Tensor batch, AugmentContext context)
    {
        AugmentTensors.CheckBatch(batch, "randaugment");
        var s = batch.shape;
        int n = (int)s[0], c = (int)s[1], h = (int)s[2], w = (int)s[3];
        var dev = batch.device;
        var rng = context.Random;

        // Draw every round's choices first (the stream then does not depend on what the tensors hold).
        var ops = new RandAugmentOp[N, n];
        var signs = new double[N, n];
        for (int r = 0; r < N; r++)
            for (int i = 0; i < n; i++)
            {
                ops[r, i] = _ops[rng.NextInt(_ops.Length)];
                signs[r, i] = Signed(ops[r, i]) && rng.NextInt(2) == 1 ? -1 : 1;
            }
        bool anyWork = false;
        for (int r = 0; r < N; r++)
            for (int i = 0; i < n; i++) anyWork |= ops[r, i] != RandAugmentOp.Identity;
        if (!anyWork) return batch.alias();

        // To pixel space.
        Tensor? mean = null, std = null;
        var x = batch.alias();
        if (context.Normalization is { } norm)
        {
            norm.Validate(c);
            mean = AugmentTensors.PerChannel(norm.Mean.ToArray(), dev);
            std = AugmentTensors.PerChannel(norm.Std.ToArray(), dev);
            x = Swap(x, x.mul(std).add_(mean));
        }
        for (int r = 0; r < N; r++) x = Swap(x, Round(x, r, ops, signs, n, h, w, dev));
        if (mean is not null)
        {
            x = Swap(x, x.sub(mean).div_(std!));
            mean.Dispose();
            std!.Dispose();
        }
        return x;
    }

    private static Tensor Swap(Tensor old, Tensor next)
    {
        if (!ReferenceEquals(old, next)) old.Dispose();
        return next;
    }

    private Tensor Round(Tensor x, int r, RandAugmentOp[,] ops, double[,] signs, int n, int h, int w, Device dev)
    {
        bool Has(RandAugmentOp op) { for (int i = 0; i < n; i++) if (ops[r, i] == op) return true; return false; }
        float[] Factors(RandAugmentOp op)
        {
            var f = new float[n];
            double mag = Magnitude(op, h, w);
            for (int i = 0; i < n; i++) f[i] = ops[r, i] == op ? (float)(1 + signs[r, i] * mag) : 1f;
            return f;
        }
        bool[] Chose(RandAugmentOp op)
        {
            var m = new bool[n];
            for (int i = 0; i < n; i++) m[i] = ops[r, i] == op;
            return m;
        }

        Tensor Masked(RandAugmentOp op, Tensor changed, Tensor current)
        {
            using (changed) return PixelOps.Select(Chose(op), changed, current);
        }

        var y = x.alias();

        // Geometric: one affine map per sample (output → input, in pixel units about the centre).
        var geometric = new bool[n];
        var theta = new float[n * 6];
        bool anyGeometric = false;
        for (int i = 0; i < n; i++)
        {
            double a00 = 1, a01 = 0, a10 = 0, a11 = 1, tx = 0, ty = 0;
            var op = ops[r, i];
            double mag = signs[r, i] * Magnitude(op, h, w);
            switch (op)
            {
                case RandAugmentOp.ShearX: a01 = mag; break;
                case RandAugmentOp.ShearY: a10 = mag; break;
                case RandAugmentOp.TranslateX: tx = -mag; break;
                case RandAugmentOp.TranslateY: ty = -mag; break;
                case RandAugmentOp.Rotate:
                    double rad = mag * Math.PI / 180;
                    a00 = Math.Cos(rad); a01 = -Math.Sin(rad); a10 = Math.Sin(rad); a11 = Math.Cos(rad);
                    break;
                default: continue;
            }
            geometric[i] = anyGeometric = true;
            // theta acts on normalised coordinates (x/W·2, y/H·2): conjugate by diag(W/2, H/2).
            theta[i * 6 + 0] = (float)a00; theta[i * 6 + 1] = (float)(a01 * h / w); theta[i * 6 + 2] = (float)(2 * tx / w);
            theta[i * 6 + 3] = (float)(a10 * w / h); theta[i * 6 + 4] = (float)a11; theta[i * 6 + 5] = (float)(2 * ty / h);
        }
        for (int i = 0; i < n; i++)
            if (!geometric[i]) { theta[i * 6] = 1; theta[i * 6 + 4] = 1; }
        if (anyGeometric)
        {
            using var th = torch.tensor(theta, new long[] { n, 2, 3 }, dev);
            using var grid = nn.functional.affine_grid(th, y.shape, align_corners: false);
            using var moved = nn.functional.grid_sample(y, grid, nn.GridSampleMode.Nearest, nn.GridSamplePaddingMode.Zeros, align_corners: false);
            using var mask = AugmentTensors.PerSampleMask(geometric, dev);
            y = Swap(y, torch.where(mask, moved, y));
        }

        // Photometric, in torchvision's op order; a sample that did not draw an op keeps its values exactly.
        if (Has(RandAugmentOp.Brightness)) y = Swap(y, Masked(RandAugmentOp.Brightness, PixelOps.Brightness(y, Factors(RandAugmentOp.Brightness)), y));
        if (Has(RandAugmentOp.Color)) y = Swap(y, Masked(RandAugmentOp.Color, PixelOps.Saturation(y, Factors(RandAugmentOp.Color)), y));
        if (Has(RandAugmentOp.Contrast)) y = Swap(y, Masked(RandAugmentOp.Contrast, PixelOps.Contrast(y, Factors(RandAugmentOp.Contrast)), y));
        if (Has(RandAugmentOp.Sharpness)) y = Swap(y, Masked(RandAugmentOp.Sharpness, PixelOps.Sharpness(y, Factors(RandAugmentOp.Sharpness)), y));
        if (Has(RandAugmentOp.Posterize))
        {
            int bits = (int)Magnitude(RandAugmentOp.Posterize, h, w);
            y = Swap(y, Masked(RandAugmentOp.Posterize, PixelOps.Posterize(y, Enumerable.Repeat(bits, n).ToArray()), y));
        }
        if (Has(RandAugmentOp.Solarize))
        {
            double threshold = 255 * Magnitude(RandAugmentOp.Solarize, h, w); // torchvision: 255·(1 − m/30) on uint8 levels
            y = Swap(y, Masked(RandAugmentOp.Solarize, PixelOps.Solarize(y, Enumerable.Repeat(threshold, n).ToArray()), y));
        }
        if (Has(RandAugmentOp.AutoContrast)) y = Swap(y, Masked(RandAugmentOp.AutoContrast, PixelOps.AutoContrast(y), y));
        if (Has(RandAugmentOp.Equalize)) y = Swap(y, PixelOps.Equalize(y, Chose(RandAugmentOp.Equalize)));
        return y;
    }
}
