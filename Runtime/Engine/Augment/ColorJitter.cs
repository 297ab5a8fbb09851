using ArchDsl.Dsl;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Augment;

/// <summary>
/// torchvision's <c>ColorJitter(brightness, contrast, saturation, hue)</c>, batched: every image draws its own order of
/// the four adjustments (a random permutation, as torchvision's <c>randperm(4)</c>), brightness / contrast / saturation
/// factors uniformly in [max(0, 1 − s), 1 + s] and a hue shift uniformly in [−h, h] (fractions of the hue circle).
/// A strength of 0 leaves that adjustment out. On one-channel images saturation and hue are the identity, as in
/// torchvision. Works in pixel space (the batch is un-normalised first).
/// </summary>
public sealed class ColorJitter : IAugmentation
{
    public ColorJitter(double brightness, double contrast, double saturation, double hue)
    {
        if (!(brightness >= 0 && contrast >= 0 && saturation >= 0))
            throw new AugmentException($"color_jitter strengths must be ≥ 0, got {FloatText.Format(brightness)}, {FloatText.Format(contrast)}, {FloatText.Format(saturation)}");
        if (!(hue is >= 0 and <= 0.5)) throw new AugmentException($"color_jitter hue must be in [0, 0.5], got {FloatText.Format(hue)}");
        Brightness = brightness; Contrast = contrast; Saturation = saturation; Hue = hue;
    }

    public double Brightness { get; }
    public double Contrast { get; }
    public double Saturation { get; }
    public double Hue { get; }

    public string Describe() =>
        $"color_jitter(brightness: {FloatText.Format(Brightness)}, contrast: {FloatText.Format(Contrast)}, saturation: {FloatText.Format(Saturation)}, hue: {FloatText.Format(Hue)})";

    public Tensor Apply(Tensor batch, AugmentContext context)
    {
        AugmentTensors.CheckBatch(batch, "color_jitter");
        int n = (int)batch.size(0);
        var rng = context.Random;
        var order = new int[n][];
        var factor = new float[4, n];
        for (int i = 0; i < n; i++)
        {
            order[i] = rng.Permutation(4);
            factor[0, i] = Factor(rng, Brightness);
            factor[1, i] = Factor(rng, Contrast);
            factor[2, i] = Factor(rng, Saturation);
            factor[3, i] = (float)(Hue * (2 * rng.NextDouble() - 1));
        }
        var strengths = new[] { Brightness, Contrast, Saturation, Hue };
        if (strengths.All(s => s == 0)) return batch.alias();
        return PixelOps.InPixelSpace(batch, context, x =>
        {
            var y = x.alias();
            for (int position = 0; position < 4; position++)
                for (int op = 0; op < 4; op++)
                {
                    if (strengths[op] == 0) continue;
                    var chosen = new bool[n];
                    var f = new float[n];
                    for (int i = 0; i < n; i++)
                    {
                        chosen[i] = order[i][position] == op;
                        f[i] = chosen[i] ? factor[op, i] : op == 3 ? 0f : 1f;
                    }
                    if (!chosen.Any(b => b)) continue;
                    using var changed = op switch
                    {
                        0 => PixelOps.Brightness(y, f),
                        1 => PixelOps.Contrast(y, f),
                        2 => PixelOps.Saturation(y, f),
                        _ => AdjustHue(y, f),
                    };
                    var next = PixelOps.Select(chosen, changed, y);
                    y.Dispose();
                    y = next;
                }
            return y;
        });
    }

    private static float Factor(Data.DeterministicRandom rng, double strength)
    {
        double lo = Math.Max(0, 1 - strength), hi = 1 + strength;
        return (float)(lo + (hi - lo) * rng.NextDouble());
    }

    /// <summary>
    /// torchvision's adjust_hue: to HSV (torchvision's <c>_rgb2hsv</c>), hue + shift modulo 1, back to RGB; the identity on
    /// one channel. Back to RGB uses the closed form c = v − v·s·clamp(min(k, 4 − k), 0, 1), k = (n + 6h) mod 6 with
    /// n = 5, 3, 1 for R, G, B, which is torchvision's six-sector table.
    /// </summary>
    public static Tensor AdjustHue(Tensor x, float[] shift)
    {
        if (x.size(1) == 1) return x.alias();
        using var r = x.narrow(1, 0, 1);
        using var g = x.narrow(1, 1, 1);
        using var b = x.narrow(1, 2, 1);
        var (maxc, maxIdx) = x.max(1, keepdim: true);
        var (minc, minIdx) = x.min(1, keepdim: true);
        using (maxc) using (maxIdx) using (minc) using (minIdx)
        {
            using var eqc = maxc.eq(minc);
            using var cr = maxc - minc;
            using var safeMax = maxc.masked_fill(eqc, 1.0);
            using var s = cr.div(safeMax);
            using var divisor = cr.masked_fill(eqc, 1.0);
            using var rc = (maxc - r).div_(divisor);
            using var gc = (maxc - g).div_(divisor);
            using var bc = (maxc - b).div_(divisor);
            using var isR = maxc.eq(r);
            using var isG = maxc.eq(g);
            using var hr = bc - gc;
            using var hg = (rc - bc).add_(2.0);
            using var hb = (gc - rc).add_(4.0);
            using var hgb = torch.where(isG, hg, hb);
            using var h6 = torch.where(isR, hr, hgb); // in (-1, 5]: hue · 6 before wrapping
            using var d = AugmentTensors.PerSample(shift.Select(v => v * 6f).ToArray(), x.device);
            using var hue = h6.add(d);
            using var sectors = torch.tensor(new float[] { 5, 3, 1 }, new long[] { 1, 3, 1, 1 }, x.device);
            using var kRaw = hue.add(sectors); // [N, 3, H, W]
            using var k = kRaw.sub(kRaw.div(6.0).floor().mul_(6.0));
            using var fourMinus = 4.0 - k;
            using var m = k.minimum(fourMinus).clamp_(0, 1);
            using var vs = maxc.mul(s);
            using var drop = m.mul(vs);
            return maxc.sub(drop);
        }
    }
}
