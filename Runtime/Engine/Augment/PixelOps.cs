using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Augment;

/// <summary>
/// Photometric and geometric image ops on whole batches of pixel values in [0, 1] (<c>[N, C, H, W]</c>,
/// C = 1 or 3), each applied to the samples a per-sample mask or factor selects. They follow PIL's
/// <c>ImageOps</c> / <c>ImageEnhance</c> and torchvision's tensor functional ops, on 8-bit levels v·255
/// where those ops work on integers. Every method returns a new tensor in the current dispose scope.
/// </summary>
public static class PixelOps
{
    /// <summary>
    /// Un-normalises the batch to pixel values, runs <paramref name="body"/>, normalises again (the identity
    /// without normalisation). The batch is not changed.
    /// </summary>
    public static Tensor InPixelSpace(Tensor batch, AugmentContext context, Func<Tensor, Tensor> body)
    {
        if (context.Normalization is not { } norm) return body(batch);
        norm.Validate((int)batch.size(1));
        using var mean = AugmentTensors.PerChannel(norm.Mean.ToArray(), batch.device);
        using var std = AugmentTensors.PerChannel(norm.Std.ToArray(), batch.device);
        using var pixels = batch.mul(std).add_(mean);
        using var done = body(pixels);
        return done.sub(mean).div_(std);
    }

    /// <summary>The data set's mean colour in pixel space (0 per channel without normalisation): timm's fill colour.</summary>
    public static double[] MeanColour(AugmentContext context, int channels) =>
        context.Normalization is { } n ? n.Mean.Take(channels).ToArray() : new double[channels];

    /// <summary><c>[N, 1, H, W]</c> luma: ITU-R 601-2 (0.299, 0.587, 0.114) for RGB, as PIL's <c>convert("L")</c> and
    /// torchvision's <c>rgb_to_grayscale</c>; the image itself for one channel.</summary>
    public static Tensor Grey(Tensor x)
    {
        if (x.size(1) == 1) return x.alias();
        using var weights = torch.tensor(new float[] { 0.299f, 0.587f, 0.114f }, new long[] { 1, 3, 1, 1 }, x.device);
        using var weighted = x.mul(weights);
        return weighted.sum(new long[] { 1 }, keepdim: true);
    }

    /// <summary>PIL's <c>ImageEnhance</c> blend (torchvision's <c>_blend</c>): degenerate + f·(image − degenerate), clipped to
    /// [0, 1]; <paramref name="factors"/> per sample (1: unchanged).</summary>
    public static Tensor Blend(Tensor image, Tensor degenerate, float[] factors)
    {
        using var f = AugmentTensors.PerSample(factors, image.device);
        var d = image.sub(degenerate);
        return d.mul_(f).add_(degenerate).clamp_(0, 1); // d, changed in place, is the result
    }

    /// <summary>ImageEnhance.Color / torchvision adjust_saturation: blend with the grey image (the identity on one channel).</summary>
    public static Tensor Saturation(Tensor x, float[] factors)
    {
        if (x.size(1) == 1) return x.alias();
        using var grey = Grey(x);
        using var g = grey.expand(x.shape);
        return Blend(x, g, factors);
    }

    /// <summary>ImageEnhance.Contrast / torchvision adjust_contrast: blend with the mean of the grey image (one value per image).</summary>
    public static Tensor Contrast(Tensor x, float[] factors)
    {
        using var grey = Grey(x);
        using var mean = grey.mean(new long[] { 1, 2, 3 }, keepdim: true);
        using var m = mean.expand(x.shape);
        return Blend(x, m, factors);
    }

    /// <summary>ImageEnhance.Brightness / torchvision adjust_brightness: blend with black.</summary>
    public static Tensor Brightness(Tensor x, float[] factors)
    {
        using var black = torch.zeros_like(x);
        return Blend(x, black, factors);
    }

    /// <summary>ImageEnhance.Sharpness / torchvision adjust_sharpness: blend with the image smoothed by
    /// [[1,1,1],[1,5,1],[1,1,1]]/13, border pixels kept.</summary>
    public static Tensor Sharpness(Tensor x, float[] factors)
    {
        long channels = x.size(1), h = x.size(2), w = x.size(3);
        var k = new float[] { 1, 1, 1, 1, 5, 1, 1, 1, 1 }.Select(v => v / 13f).ToArray();
        var kernel = new float[channels * 9];
        for (int ch = 0; ch < channels; ch++) Array.Copy(k, 0, kernel, ch * 9, 9);
        using var weight = torch.tensor(kernel, new long[] { channels, 1, 3, 3 }, x.device);
        using var smooth = nn.functional.conv2d(x, weight, null, padding: new long[] { 1, 1 }, groups: channels);
        var border = new bool[h * w];
        for (long yy = 0; yy < h; yy++)
            for (long xx = 0; xx < w; xx++) border[yy * w + xx] = yy == 0 || xx == 0 || yy == h - 1 || xx == w - 1;
        using var bm = torch.tensor(border, new long[] { 1, 1, h, w }, x.device);
        using var degenerate = torch.where(bm, x, smooth);
        return Blend(x, degenerate, factors);
    }

    /// <summary>Where <paramref name="chosen"/> (per sample) <paramref name="changed"/>, else <paramref name="x"/>.</summary>
    public static Tensor Select(bool[] chosen, Tensor changed, Tensor x)
    {
        using var mask = AugmentTensors.PerSampleMask(chosen, x.device);
        return torch.where(mask, changed, x);
    }

    /// <summary>ImageOps.posterize: keep the top <c>bits[i]</c> bits of each 8-bit level (8 or more: unchanged; 0: black).</summary>
    public static Tensor Posterize(Tensor x, int[] bits)
    {
        var step = bits.Select(b => (float)Math.Pow(2, 8 - Math.Clamp(b, 0, 8))).ToArray();
        using var s = AugmentTensors.PerSample(step, x.device);
        using var levels = x.mul(255.0).round();
        using var q = levels.div(s).floor().mul_(s).div_(255.0);
        return Select(bits.Select(b => b < 8).ToArray(), q, x);
    }

    /// <summary>ImageOps.solarize: levels ≥ <c>threshold[i]</c> (of 256) inverted; 256 or more: unchanged.</summary>
    public static Tensor Solarize(Tensor x, double[] threshold)
    {
        using var t = AugmentTensors.PerSample(threshold.Select(v => (float)(v / 255.0)).ToArray(), x.device);
        using var levels = x.mul(255.0).round().div_(255.0);
        using var above = levels.ge(t);
        using var inverted = 1.0 - x;
        return torch.where(above, inverted, x);
    }

    /// <summary>timm's solarize_add: levels below 128 get <c>add[i]</c> levels added, clipped at 255.</summary>
    public static Tensor SolarizeAdd(Tensor x, double[] add, double threshold = 128)
    {
        using var a = AugmentTensors.PerSample(add.Select(v => (float)(v / 255.0)).ToArray(), x.device);
        using var levels = x.mul(255.0).round();
        using var below = levels.lt(threshold);
        using var added = x.add(a).clamp_(0, 1);
        return torch.where(below, added, x);
    }

    /// <summary>ImageOps.autocontrast (cutoff 0) per image and channel: stretch [min, max] to [0, 1]; a constant channel stays.</summary>
    public static Tensor AutoContrast(Tensor x)
    {
        var shape = x.shape;
        using var flat = x.reshape(shape[0], shape[1], shape[2] * shape[3]);
        var (lo, loIdx) = flat.min(2, keepdim: true);
        var (hi, hiIdx) = flat.max(2, keepdim: true);
        using (lo) using (loIdx) using (hi) using (hiIdx)
        {
            using var lo4 = lo.unsqueeze(3);
            using var hi4 = hi.unsqueeze(3);
            using var range = hi4 - lo4;
            using var flatRange = range.le(0.0);
            using var safe = range.masked_fill(flatRange, 1.0);
            using var shifted = x - lo4;
            using var stretched = shifted.div(safe);
            using var keep = flatRange.expand(shape);
            return torch.where(keep, x, stretched);
        }
    }

    /// <summary>
    /// ImageOps.equalize (torchvision's equalize, the same algorithm) per image and channel on the samples
    /// <paramref name="chosen"/> selects: over the 8-bit histogram h, step = ⌊(Σh − last non-zero bin) / 255⌋ and
    /// level k maps to ⌊(Σ_{j&lt;k} h_j + ⌊step/2⌋) / step⌋ (clipped to 255); step 0 leaves the channel as it is.
    /// The histograms are counted on the host (only the chosen samples are copied there).
    /// </summary>
    public static Tensor Equalize(Tensor x, bool[] chosen)
    {
        var picked = Enumerable.Range(0, chosen.Length).Where(i => chosen[i]).ToArray();
        if (picked.Length == 0) return x.alias();
        long n = x.size(0), c = x.size(1), hw = x.size(2) * x.size(3);
        using var levels = x.mul(255.0).round().clamp_(0, 255);
        using var index = torch.tensor(picked.Select(i => (long)i).ToArray(), new long[] { picked.Length }, x.device);
        using var sel = levels.index_select(0, index);
        using var host = sel.cpu();
        var values = host.data<float>();
        var lut = new float[n * c * 256];
        for (long row = 0; row < n * c; row++)
            for (int k = 0; k < 256; k++) lut[row * 256 + k] = k / 255f;
        var hist = new long[256];
        for (int p = 0; p < picked.Length; p++)
            for (int ch = 0; ch < c; ch++)
            {
                Array.Clear(hist);
                long offset = (p * c + ch) * hw;
                for (long q = 0; q < hw; q++) hist[(int)values[offset + q]]++;
                int last = 255;
                while (hist[last] == 0) last--;
                long step = (hw - hist[last]) / 255;
                if (step == 0) continue;
                long row = (picked[p] * c + ch) * 256, cum = 0;
                for (int k = 0; k < 256; k++)
                {
                    lut[row + k] = Math.Min(255, (cum + step / 2) / step) / 255f;
                    cum += hist[k];
                }
            }
        using var table = torch.tensor(lut, new long[] { n * c, 256 }, x.device);
        using var idx = levels.reshape(n * c, hw).to_type(ScalarType.Int64);
        using var mapped = table.gather(1, idx);
        using var equalized = mapped.reshape(x.shape);
        return Select(chosen, equalized, x);
    }

    /// <summary>
    /// One affine resampling per sample: <paramref name="theta"/> holds, per sample, the 2×3 map from output to input
    /// pixel coordinates about the image centre (<c>[a00, a01, tx, a10, a11, ty]</c>, pixels); samples not
    /// <paramref name="chosen"/> are kept as they are. What comes in from outside is <paramref name="fill"/> (per channel).
    /// </summary>
    public static Tensor Affine(Tensor x, double[] theta, bool[] chosen, nn.GridSampleMode mode, double[] fill)
    {
        if (!chosen.Any(b => b)) return x.alias();
        long n = x.size(0), h = x.size(2), w = x.size(3);
        var t = new float[n * 6];
        for (int i = 0; i < n; i++)
        {
            var a = chosen[i] ? theta.AsSpan(i * 6, 6) : new double[] { 1, 0, 0, 0, 1, 0 };
            // affine_grid works on normalised coordinates (x/W·2, y/H·2): conjugate by diag(W/2, H/2).
            t[i * 6 + 0] = (float)a[0]; t[i * 6 + 1] = (float)(a[1] * h / w); t[i * 6 + 2] = (float)(2 * a[2] / w);
            t[i * 6 + 3] = (float)(a[3] * w / h); t[i * 6 + 4] = (float)a[4]; t[i * 6 + 5] = (float)(2 * a[5] / h);
        }
        using var th = torch.tensor(t, new long[] { n, 2, 3 }, x.device);
        using var grid = nn.functional.affine_grid(th, x.shape, align_corners: false);
        using var f = AugmentTensors.PerChannel(fill, x.device);
        using var shifted = x.sub(f);
        using var moved = nn.functional.grid_sample(shifted, grid, mode, nn.GridSamplePaddingMode.Zeros, align_corners: false);
        using var back = moved.add(f);
        return Select(chosen, back, x);
    }
}
