using ArchDsl.Dsl;
using ArchDsl.Compiler;
using ArchDsl.Runtime.Data;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Augment;

/// <summary>A train key's augmentation list could not be understood. The message is for the user.</summary>
public sealed class AugmentException : Exception
{
    public AugmentException(string message) : base(message) { }
}

/// <summary>
/// What an augmentation needs besides the batch: the random stream it draws its per-sample choices
/// from, and how the batch was normalised (so that "black" padding and pixel-space ops such as
/// brightness mean what they mean on the original images).
/// </summary>
public sealed class AugmentContext
{
    public AugmentContext(DeterministicRandom random, Normalization? normalization = null, bool overwriteInput = false)
    {
        Random = random;
        Normalization = normalization;
        OverwriteInput = overwriteInput;
    }

    public DeterministicRandom Random { get; }
    public Normalization? Normalization { get; }

    /// <summary>
    /// The batch handed to the pipeline is the caller's to lose (nothing reads it afterwards): an op may write its
    /// result into the batch it gets and return an alias of it instead of a new tensor, so that a per-batch
    /// augmentation allocates nothing (issue 11). False: every op leaves its input as it is.
    /// </summary>
    public bool OverwriteInput { get; }

    /// <summary>The normalised value of a black (0) pixel in channel c: -mean/std, or 0 without normalisation.</summary>
    public double BlackValue(int channel) =>
        Normalization is { } n ? -n.Mean[channel] / n.Std[channel] : 0.0;
}

/// <summary>
/// One augmentation over a whole batch: <c>[N, C, H, W]</c> in, the same shape out (a new tensor in the
/// current dispose scope; the input is left as it is unless <see cref="AugmentContext.OverwriteInput"/>). Random choices are drawn per sample on the host
/// from <see cref="AugmentContext.Random"/>, so a seed fixes them on every device and thread count.
/// </summary>
public interface IAugmentation
{
    /// <summary>The name as written in <c>train { augment: [...] }</c>, with its arguments.</summary>
    string Describe();
    Tensor Apply(Tensor batch, AugmentContext context);
}

internal static class AugmentTensors
{
    /// <summary>A [N, 1, 1, 1] tensor of per-sample values on the batch's device.</summary>
    public static Tensor PerSample(float[] values, Device device) =>
        torch.tensor(values, new long[] { values.Length, 1, 1, 1 }, device);

    public static Tensor PerSampleMask(bool[] values, Device device) =>
        torch.tensor(values, new long[] { values.Length, 1, 1, 1 }, device);

    /// <summary>[1, C, 1, 1] of per-channel values.</summary>
    public static Tensor PerChannel(double[] values, Device device) =>
        torch.tensor(values.Select(v => (float)v).ToArray(), new long[] { 1, values.Length, 1, 1 }, device);

    public static void CheckBatch(Tensor batch, string who)
    {
        if (batch.dim() != 4)
            throw new AugmentException($"{who} works on image batches [N, C, H, W], got [{string.Join(", ", batch.shape)}]");
    }
}

/// <summary>
/// Horizontal flip of each sample with probability <see cref="P"/> (0.5 as torchvision's
/// RandomHorizontalFlip). With <see cref="AugmentContext.OverwriteInput"/> a CPU batch is flipped in place
/// (<see cref="torch.Tensor.flip_samples_"/>: the same pixels, no full-batch temporaries); otherwise, and on a GPU,
/// <c>where(mask, flip(x), x)</c>.
/// </summary>
public sealed class HorizontalFlip : IAugmentation
{
    public HorizontalFlip(double p = 0.5)
    {
        if (!(p >= 0 && p <= 1)) throw new AugmentException($"flip probability must be in [0, 1], got {FloatText.Format(p)}");
        P = p;
    }

    public double P { get; }
    public string Describe() => "flip";

    public Tensor Apply(Tensor batch, AugmentContext context)
    {
        AugmentTensors.CheckBatch(batch, "flip");
        int n = (int)batch.size(0);
        var mask = new bool[n];
        bool any = false;
        for (int i = 0; i < n; i++) any |= mask[i] = context.Random.NextDouble() < P;
        if (!any) return batch.alias();
        if (context.OverwriteInput && batch.CanFlipSamplesInPlace) return batch.flip_samples_(mask).alias();
        using var m = AugmentTensors.PerSampleMask(mask, batch.device);
        using var flipped = batch.flip(3);
        return torch.where(m, flipped, batch);
    }
}

/// <summary>
/// Random crop after padding every side by <see cref="Pad"/> black pixels (torchvision's
/// <c>RandomCrop(size, padding=pad)</c>): each sample moves by a whole number of pixels in
/// [-pad, pad] on each axis, and what moves in is black. Done with two gathers, exactly.
/// </summary>
public sealed class PadCrop : IAugmentation
{
    public PadCrop(int pad)
    {
        if (pad < 0) throw new AugmentException($"crop padding must be ≥ 0, got {pad}");
        Pad = pad;
    }

    public int Pad { get; }
    public string Describe() => $"crop(pad: {Pad})";

    public Tensor Apply(Tensor batch, AugmentContext context)
    {
        AugmentTensors.CheckBatch(batch, "crop");
        var s = batch.shape;
        long n = s[0], c = s[1], h = s[2], w = s[3];
        int p = Pad;
        // Draw every sample's offsets even when the pad is 0, so streams do not depend on arguments' values.
        var oy = new long[n * h];
        var ox = new long[n * w];
        bool moved = false;
        for (int i = 0; i < n; i++)
        {
            int dy = context.Random.NextInt(2 * p + 1), dx = context.Random.NextInt(2 * p + 1);
            moved |= dy != p || dx != p;
            for (int r = 0; r < h; r++) oy[i * h + r] = r + dy;
            for (int q = 0; q < w; q++) ox[i * w + q] = q + dx;
        }
        if (!moved) return batch.alias();
        if (p >= h || p >= w) throw new AugmentException($"crop(pad: {p}) needs images larger than the padding; they are {h}×{w}");
        var dev = batch.device;
        using var padded = PadBlack(batch, p, context);
        using var iy = torch.tensor(oy, new long[] { n, 1, h, 1 }, dev);
        using var iyx = iy.expand(n, c, h, w + 2 * p);
        using var rows = padded.gather(2, iyx);
        using var ix = torch.tensor(ox, new long[] { n, 1, 1, w }, dev);
        using var ixx = ix.expand(n, c, h, w);
        return rows.gather(3, ixx);
    }

    private static Tensor PadBlack(Tensor batch, int p, AugmentContext context)
    {
        var pads = new long[] { p, p, p, p };
        int channels = (int)batch.size(1);
        var black = Enumerable.Range(0, channels).Select(context.BlackValue).ToArray();
        if (black.All(b => b == black[0]))
            return nn.functional.pad(batch, pads, nn.PaddingModes.Constant, black[0]);
        using var fill = AugmentTensors.PerChannel(black, batch.device);
        using var shifted = batch - fill;
        using var padded = nn.functional.pad(shifted, pads);
        return padded + fill;
    }
}

/// <summary>How random erasing fills its rectangle (timm's RandomErasing modes).</summary>
public enum EraseMode
{
    /// <summary>0, the data set's mean after normalisation (torchvision's <c>value=0</c>, timm's 'const').</summary>
    Const,
    /// <summary>One standard-normal value per channel of the rectangle (timm's 'rand').</summary>
    Rand,
    /// <summary>A standard-normal value per pixel and channel (timm's 'pixel').</summary>
    Pixel,
}

/// <summary>
/// Random erasing (Zhong et al.; torchvision's <c>RandomErasing</c> defaults): with probability
/// <see cref="P"/> a rectangle of 2–33% of the image with aspect ratio in [0.3, 3.3] (log-uniform; up to
/// ten tries; a try fits when it is smaller than the image on both sides, as torchvision and timm) is filled
/// by <see cref="Mode"/>: 0 (the data set's mean after normalisation) or, as timm's modes, normal noise.
/// </summary>
public sealed class RandomErasing : IAugmentation
{
    public RandomErasing(double p = 0.25, double minArea = 0.02, double maxArea = 0.33, double minRatio = 0.3, double maxRatio = 3.3,
                         EraseMode mode = EraseMode.Const)
    {
        if (!(p >= 0 && p <= 1)) throw new AugmentException($"erase probability must be in [0, 1], got {FloatText.Format(p)}");
        if (!(minArea > 0 && minArea <= maxArea && maxArea <= 1)) throw new AugmentException($"erase scale must be 0 < min ≤ max ≤ 1, got [{FloatText.Format(minArea)}, {FloatText.Format(maxArea)}]");
        if (!(minRatio > 0 && minRatio <= maxRatio)) throw new AugmentException($"erase ratio must be 0 < min ≤ max, got [{FloatText.Format(minRatio)}, {FloatText.Format(maxRatio)}]");
        P = p; MinArea = minArea; MaxArea = maxArea; MinRatio = minRatio; MaxRatio = maxRatio; Mode = mode;
    }

    public double P { get; }
    public double MinArea { get; }
    public double MaxArea { get; }
    public double MinRatio { get; }
    public double MaxRatio { get; }
    public EraseMode Mode { get; }
    public string Describe() =>
        $"erase(p: {FloatText.Format(P)}, scale: [{FloatText.Format(MinArea)}, {FloatText.Format(MaxArea)}], " +
        $"ratio: [{FloatText.Format(MinRatio)}, {FloatText.Format(MaxRatio)}], mode: {Mode.ToString().ToLowerInvariant()})";

    public Tensor Apply(Tensor batch, AugmentContext context)
    {
        AugmentTensors.CheckBatch(batch, "erase");
        var s = batch.shape;
        int n = (int)s[0], h = (int)s[2], w = (int)s[3];
        var box = new long[4 * n]; // y0 | y1 | x0 | x1, each n long; an empty box erases nothing
        bool any = false;
        double area = (double)h * w, logLo = Math.Log(MinRatio), logHi = Math.Log(MaxRatio);
        var rng = context.Random;
        for (int i = 0; i < n; i++)
        {
            if (!(rng.NextDouble() < P)) continue;
            for (int attempt = 0; attempt < 10; attempt++)
            {
                double target = area * (MinArea + (MaxArea - MinArea) * rng.NextDouble());
                double ratio = Math.Exp(logLo + (logHi - logLo) * rng.NextDouble());
                int eh = (int)Math.Round(Math.Sqrt(target * ratio)), ew = (int)Math.Round(Math.Sqrt(target / ratio));
                if (eh <= 0 || ew <= 0 || eh >= h || ew >= w) continue;
                int y = rng.NextInt(h - eh + 1), x = rng.NextInt(w - ew + 1);
                box[i] = y; box[n + i] = y + eh; box[2 * n + i] = x; box[3 * n + i] = x + ew;
                any = true;
                break;
            }
        }
        if (!any) return batch.alias();
        using var mask = BoxMask(box, n, h, w, batch.device);
        if (Mode == EraseMode.Const) return batch.masked_fill(mask, 0);
        using var fill = Noise(box, n, (int)s[1], h, w, rng, batch.device);
        return torch.where(mask, fill, batch);
    }

    /// <summary>timm's fill: normal values in the boxes (one per channel in mode rand, one per pixel in mode pixel), drawn on the host in a fixed order.</summary>
    private Tensor Noise(long[] box, int n, int c, int h, int w, DeterministicRandom rng, Device device)
    {
        var fill = new float[(long)n * c * h * w];
        for (int i = 0; i < n; i++)
        {
            long y0 = box[i], y1 = box[n + i], x0 = box[2 * n + i], x1 = box[3 * n + i];
            for (int ch = 0; ch < c; ch++)
            {
                float v = Mode == EraseMode.Rand && y1 > y0 ? (float)rng.NextGaussian() : 0;
                for (long y = y0; y < y1; y++)
                    for (long x = x0; x < x1; x++)
                        fill[((i * (long)c + ch) * h + y) * w + x] = Mode == EraseMode.Pixel ? (float)rng.NextGaussian() : v;
            }
        }
        return torch.tensor(fill, new long[] { n, c, h, w }, device);
    }

    /// <summary>[N, 1, H, W]: true inside each sample's box (y0 | y1 | x0 | x1, each n long).</summary>
    private static Tensor BoxMask(long[] box, int n, int h, int w, Device dev)
    {
        using var b = torch.tensor(box, new long[] { 4, n, 1, 1, 1 }, dev);
        using var y0 = b[0]; using var y1 = b[1]; using var x0 = b[2]; using var x1 = b[3];
        using var rows = torch.arange(0L, h, 1, device: dev).view(1, 1, h, 1);
        using var cols = torch.arange(0L, w, 1, device: dev).view(1, 1, 1, w);
        using var a = rows.ge(y0); using var bb = rows.lt(y1); using var c = cols.ge(x0); using var d = cols.lt(x1);
        using var inRows = a.logical_and(bb);
        using var inCols = c.logical_and(d);
        return inRows.logical_and(inCols); // [N, 1, H, W], broadcast over channels
    }
}
