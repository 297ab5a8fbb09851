using ArchDsl.Compiler;
using ArchDsl.Runtime.Data;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Augment;

/// <summary>timm's RandAugment ops (<c>_RAND_TRANSFORMS</c>; with <c>inc1</c> the enhance, posterize and solarize ops
/// are timm's "increasing" variants, whose distortion grows with the magnitude).</summary>
public enum TimmRandAugmentOp
{
    AutoContrast, Equalize, Invert, Rotate, Posterize, Solarize, SolarizeAdd,
    Color, Contrast, Brightness, Sharpness, ShearX, ShearY, TranslateXRel, TranslateYRel,
}

/// <summary>
/// timm's <c>rand_augment_transform</c> (timm/data/auto_augment.py), batched. Each image draws, for each of <c>n</c>
/// layers, one of the fifteen ops uniformly (with replacement); each drawn op is applied with probability <c>p</c>, at a
/// magnitude drawn from N(m, mstd) (uniform in [0, m] for mstd = ∞) clipped to [0, mmax], turned into the op's argument
/// by timm's level functions on the 0..10 scale: rotate 30°·m/10, shear 0.3·m/10, translate 0.45·m/10 of the side (these
/// with a random sign), enhance factor m/10·1.8 + 0.1 (increasing: max(0.1, 1 ± 0.9·m/10)), posterize ⌊4·m/10⌋ bits
/// (increasing: 4 − that), solarize threshold ⌊256·m/10⌋ (increasing: 256 − that), solarize-add ⌊110·m/10⌋ levels.
/// Geometric ops resample bilinearly (timm picks bilinear or bicubic at random) about PIL's conventions (shear and
/// translate about the top-left corner, rotation about the centre, counter-clockwise) and fill with the data set's mean
/// colour, as timm's <c>img_mean</c>. Works in pixel space; on one channel Color is the identity.
/// </summary>
public sealed class TimmRandAugment : IAugmentation
{
    private const double Denominator = RandAugmentPolicy.LevelDenominator;

    public TimmRandAugment(TimmRandAugmentConfig config)
    {
        if (config.Ops < 0) throw new AugmentException($"rand_augment n (ops per image) must be ≥ 0, got {config.Ops}");
        Config = config;
    }

    /// <summary>The same fifteen kinds with and without <c>inc1</c>; only their level functions differ.</summary>
    private static readonly TimmRandAugmentOp[] _ops = Enum.GetValues<TimmRandAugmentOp>();
    public TimmRandAugmentConfig Config { get; }
    public string Describe() => $"rand_augment(\"{Config.Config}\")";

    /// <summary>The argument of <paramref name="op"/> at <paramref name="magnitude"/> (0..10) before its random sign, in
    /// the op's units: degrees, shear factor, fraction of the side, enhance factor, bits, 8-bit levels.</summary>
    public double Level(TimmRandAugmentOp op, double magnitude)
    {
        double f = magnitude / Denominator;
        bool inc = Config.Increasing;
        return op switch
        {
            TimmRandAugmentOp.Rotate => 30 * f,
            TimmRandAugmentOp.ShearX or TimmRandAugmentOp.ShearY => 0.3 * f,
            TimmRandAugmentOp.TranslateXRel or TimmRandAugmentOp.TranslateYRel => 0.45 * f,
            TimmRandAugmentOp.Color or TimmRandAugmentOp.Contrast or TimmRandAugmentOp.Brightness or TimmRandAugmentOp.Sharpness =>
                inc ? 0.9 * f : 1.8 * f + 0.1,
            TimmRandAugmentOp.Posterize => inc ? 4 - (int)(4 * f) : (int)(4 * f),
            TimmRandAugmentOp.Solarize => inc ? 256 - Math.Min(256, (int)(256 * f)) : Math.Min(256, (int)(256 * f)),
            TimmRandAugmentOp.SolarizeAdd => Math.Min(128, (int)(110 * f)),
            _ => 0,
        };
    }

    /// <summary>Whether the op's argument takes a random sign (timm's <c>_randomly_negate</c>).</summary>
    public bool Signed(TimmRandAugmentOp op) => op is TimmRandAugmentOp.Rotate or TimmRandAugmentOp.ShearX or TimmRandAugmentOp.ShearY
        or TimmRandAugmentOp.TranslateXRel or TimmRandAugmentOp.TranslateYRel
        || Config.Increasing && op is TimmRandAugmentOp.Color or TimmRandAugmentOp.Contrast or TimmRandAugmentOp.Brightness or TimmRandAugmentOp.Sharpness;

    /// <summary>The op's argument for one draw: the level, signed, and for increasing enhance ops the factor max(0.1, 1 + level).</summary>
    private double Argument(TimmRandAugmentOp op, double magnitude, bool negate)
    {
        double level = Level(op, magnitude);
        if (Signed(op) && negate) level = -level;
        bool enhance = op is TimmRandAugmentOp.Color or TimmRandAugmentOp.Contrast or TimmRandAugmentOp.Brightness or TimmRandAugmentOp.Sharpness;
        return enhance && Config.Increasing ? Math.Max(0.1, 1 + level) : level;
    }

    public Tensor Apply(Tensor batch, AugmentContext context)
    {
        AugmentTensors.CheckBatch(batch, "rand_augment");
        int n = (int)batch.size(0), layers = Config.Ops;
        var op = new TimmRandAugmentOp?[layers, n];
        var arg = new double[layers, n];
        var rng = context.Random;
        for (int r = 0; r < layers; r++)
            for (int i = 0; i < n; i++)
            {
                var chosen = _ops[rng.NextInt(_ops.Length)];
                bool apply = !(rng.NextDouble() > Config.Probability);
                double m = Config.Magnitude;
                if (double.IsPositiveInfinity(Config.MagnitudeStd)) m = m * rng.NextDouble();
                else if (Config.MagnitudeStd > 0) m += Config.MagnitudeStd * rng.NextGaussian();
                m = Math.Max(0, Math.Min(m, Config.MagnitudeMax));
                bool negate = rng.NextInt(2) == 1;
                op[r, i] = apply ? chosen : null;
                arg[r, i] = Argument(chosen, m, negate);
            }
        if (layers == 0 || !op.Cast<TimmRandAugmentOp?>().Any(o => o is not null)) return batch.alias();
        var fill = PixelOps.MeanColour(context, (int)batch.size(1));
        return PixelOps.InPixelSpace(batch, context, x =>
        {
            var y = x.alias();
            for (int r = 0; r < layers; r++)
            {
                var next = Layer(y, r, op, arg, fill);
                y.Dispose();
                y = next;
            }
            return y;
        });
    }

    /// <summary>One layer: every sample has at most one op; each op runs once for the samples that drew it.</summary>
    private static Tensor Layer(Tensor x, int r, TimmRandAugmentOp?[,] ops, double[,] args, double[] fill)
    {
        int n = ops.GetLength(1);
        long h = x.size(2), w = x.size(3);
        bool[] Chose(TimmRandAugmentOp o) => Enumerable.Range(0, n).Select(i => ops[r, i] == o).ToArray();
        float[] Factors(TimmRandAugmentOp o) => Enumerable.Range(0, n).Select(i => ops[r, i] == o ? (float)args[r, i] : 1f).ToArray();
        double[] Args(TimmRandAugmentOp o, double identity) => Enumerable.Range(0, n).Select(i => ops[r, i] == o ? args[r, i] : identity).ToArray();

        // Geometric: PIL's affine maps output → input pixel coordinates; PixelOps.Affine takes them about the centre.
        var theta = new double[n * 6];
        var geometric = new bool[n];
        for (int i = 0; i < n; i++)
        {
            double a = args[r, i];
            double[] t = ops[r, i] switch
            {
                TimmRandAugmentOp.ShearX => [1, a, a * h / 2, 0, 1, 0],
                TimmRandAugmentOp.ShearY => [1, 0, 0, a, 1, a * w / 2],
                TimmRandAugmentOp.TranslateXRel => [1, 0, a * w, 0, 1, 0],
                TimmRandAugmentOp.TranslateYRel => [1, 0, 0, 0, 1, a * h],
                TimmRandAugmentOp.Rotate => Rotation(a),
                _ => [],
            };
            if (t.Length == 0) continue;
            geometric[i] = true;
            t.CopyTo(theta, i * 6);
        }
        var y = PixelOps.Affine(x, theta, geometric, nn.GridSampleMode.Bilinear, fill);

        void Step(TimmRandAugmentOp o, Func<Tensor, Tensor> body)
        {
            var chosen = Chose(o);
            if (!chosen.Any(b => b)) return;
            using var changed = body(y);
            var next = PixelOps.Select(chosen, changed, y);
            y.Dispose();
            y = next;
        }
        Step(TimmRandAugmentOp.AutoContrast, PixelOps.AutoContrast);
        Step(TimmRandAugmentOp.Invert, t => 1.0 - t);
        Step(TimmRandAugmentOp.Posterize, t => PixelOps.Posterize(t, Args(TimmRandAugmentOp.Posterize, 8).Select(v => (int)v).ToArray()));
        Step(TimmRandAugmentOp.Solarize, t => PixelOps.Solarize(t, Args(TimmRandAugmentOp.Solarize, 256)));
        Step(TimmRandAugmentOp.SolarizeAdd, t => PixelOps.SolarizeAdd(t, Args(TimmRandAugmentOp.SolarizeAdd, 0)));
        Step(TimmRandAugmentOp.Color, t => PixelOps.Saturation(t, Factors(TimmRandAugmentOp.Color)));
        Step(TimmRandAugmentOp.Contrast, t => PixelOps.Contrast(t, Factors(TimmRandAugmentOp.Contrast)));
        Step(TimmRandAugmentOp.Brightness, t => PixelOps.Brightness(t, Factors(TimmRandAugmentOp.Brightness)));
        Step(TimmRandAugmentOp.Sharpness, t => PixelOps.Sharpness(t, Factors(TimmRandAugmentOp.Sharpness)));
        var eq = Chose(TimmRandAugmentOp.Equalize);
        if (eq.Any(b => b))
        {
            var next = PixelOps.Equalize(y, eq);
            y.Dispose();
            y = next;
        }
        return y;
    }

    /// <summary>PIL's <c>rotate(degrees)</c>: counter-clockwise about the centre, as an output → input map.</summary>
    private static double[] Rotation(double degrees)
    {
        double rad = degrees * Math.PI / 180, c = Math.Cos(rad), s = Math.Sin(rad);
        return [c, -s, 0, s, c, 0];
    }
}
