using System.Globalization;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Augment;

/// <summary>
/// torchvision's <c>RandomResizedCrop(size, scale, ratio)</c> for batches of equal-size images (the in-memory sets), back
/// to the batch's own size: each image draws a crop with torchvision's <c>get_params</c> (up to ten tries of an area
/// fraction uniform in <see cref="MinScale"/>..<see cref="MaxScale"/> and a log-uniform aspect ratio, then the central
/// fallback) and the crops are resized bilinearly in one <c>grid_sample</c> whose source coordinates are clamped to each
/// crop, as <c>interpolate(mode="bilinear", align_corners=False)</c> of the cropped image (no antialiasing, as
/// torchvision's tensor path; it matters only where a crop is larger than the output, which here it never is). Folder images of any size are cropped per sample in the input pipeline instead.
/// </summary>
public sealed class RandomResizedCrop : IAugmentation
{
    public RandomResizedCrop(double minScale = 0.08, double maxScale = 1.0, double minRatio = 3.0 / 4, double maxRatio = 4.0 / 3)
    {
        if (!(minScale > 0 && minScale <= maxScale && maxScale <= 1)) throw new AugmentException($"crop scale must be 0 < min ≤ max ≤ 1, got [{minScale}, {maxScale}]");
        if (!(minRatio > 0 && minRatio <= maxRatio)) throw new AugmentException($"crop ratio must be 0 < min ≤ max, got [{minRatio}, {maxRatio}]");
        MinScale = minScale; MaxScale = maxScale; MinRatio = minRatio; MaxRatio = maxRatio;
    }

    public double MinScale { get; }
    public double MaxScale { get; }
    public double MinRatio { get; }
    public double MaxRatio { get; }

    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"random_resized_crop(scale: [{MinScale}, {MaxScale}], ratio: [{MinRatio}, {MaxRatio}])");

    /// <summary>torchvision's <c>RandomResizedCrop.get_params</c>: top, left, height, width of the crop.</summary>
    public (int Top, int Left, int Height, int Width) Params(int height, int width, Data.DeterministicRandom rng)
    {
        double area = (double)height * width, logLo = Math.Log(MinRatio), logHi = Math.Log(MaxRatio);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * (MinScale + (MaxScale - MinScale) * rng.NextDouble());
            double aspect = Math.Exp(logLo + (logHi - logLo) * rng.NextDouble());
            int w = (int)Math.Round(Math.Sqrt(target * aspect)), h = (int)Math.Round(Math.Sqrt(target / aspect));
            if (w > 0 && w <= width && h > 0 && h <= height)
                return (rng.NextInt(height - h + 1), rng.NextInt(width - w + 1), h, w);
        }
        double inRatio = (double)width / height;
        var (fh, fw) = inRatio < MinRatio ? ((int)Math.Round(width / MinRatio), width)
                     : inRatio > MaxRatio ? (height, (int)Math.Round(height * MaxRatio))
                     : (height, width);
        return ((height - fh) / 2, (width - fw) / 2, fh, fw);
    }

    public Tensor Apply(Tensor batch, AugmentContext context)
    {
        AugmentTensors.CheckBatch(batch, "random_resized_crop");
        int n = (int)batch.size(0), h = (int)batch.size(2), w = (int)batch.size(3);
        var crops = Enumerable.Range(0, n).Select(_ => Params(h, w, context.Random)).ToArray();
        if (crops.All(c => c.Height == h && c.Width == w)) return batch.alias(); // the whole image, resized to itself
        return Resize(batch, crops);
    }

    /// <summary>
    /// Each image's crop (top, left, height, width) resized bilinearly to the image's size: output pixel u samples the
    /// crop at (u + ½)·crop/size − ½, clamped to the crop, as PyTorch's bilinear interpolation of the cropped image.
    /// </summary>
    public static Tensor Resize(Tensor batch, IReadOnlyList<(int Top, int Left, int Height, int Width)> crops)
    {
        int n = crops.Count, h = (int)batch.size(2), w = (int)batch.size(3);
        var grid = new float[(long)n * h * w * 2];
        var xs = new float[w];
        for (int i = 0; i < n; i++)
        {
            var (top, left, ch, cw) = crops[i];
            for (int q = 0; q < w; q++) xs[q] = Normalised(left, cw, w, q);
            for (int r = 0; r < h; r++)
            {
                float y = Normalised(top, ch, h, r);
                long at = ((long)i * h + r) * w * 2;
                for (int q = 0; q < w; q++) { grid[at + 2 * q] = xs[q]; grid[at + 2 * q + 1] = y; }
            }
        }
        using var g = torch.tensor(grid, new long[] { n, h, w, 2 }, batch.device);
        return nn.functional.grid_sample(batch, g, nn.GridSampleMode.Bilinear, nn.GridSamplePaddingMode.Border, align_corners: false);
    }

    /// <summary>grid_sample's coordinate (align_corners false) of output pixel <paramref name="u"/> of <paramref name="size"/>
    /// sampling the span [start, start + length) of an axis of the same size.</summary>
    private static float Normalised(int start, int length, int size, int u)
    {
        double src = Math.Clamp((u + 0.5) * length / size - 0.5, 0, length - 1) + start;
        return (float)((2 * src + 1) / size - 1);
    }
}
