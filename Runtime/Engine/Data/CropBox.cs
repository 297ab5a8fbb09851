using ArchDsl.Compiler;

namespace ArchDsl.Runtime.Data;

/// <summary>A box of an image in pixels: left <see cref="X"/>, top <see cref="Y"/>, <see cref="Width"/> × <see cref="Height"/>.</summary>
public readonly record struct CropBox(int X, int Y, int Width, int Height);

/// <summary>
/// Where each per-sample transform crops an image of a given size (the resize to the output size follows), with
/// torchvision 0.14.1's arithmetic: <c>RandomResizedCrop.get_params</c> (ten tries of area fraction uniform in
/// scale and log-uniform aspect ratio, then the central fallback; Python's round-half-to-even), and timm's eval
/// transform <c>Resize(floor(size / crop_pct))</c> + <c>CenterCrop(size)</c> mapped back onto the original image so
/// that the crop happens before the resize.
/// </summary>
public static class CropBoxes
{
    /// <summary>The box <paramref name="transform"/> takes of a <paramref name="width"/>×<paramref name="height"/> image
    /// for an output of <paramref name="outHeight"/>×<paramref name="outWidth"/>; <paramref name="random"/> feeds random crops.</summary>
    public static CropBox For(SampleTransformConfig transform, int width, int height, int outHeight, int outWidth, DeterministicRandom random) => transform switch
    {
        RandomResizedCropConfig r => RandomResized(width, height, r.ScaleMin, r.ScaleMax, r.RatioMin, r.RatioMax, random),
        CenterCropConfig c => Center(width, height, outHeight, outWidth, c.CropPct),
        _ => new CropBox(0, 0, width, height),
    };

    /// <summary>torchvision's <c>RandomResizedCrop.get_params(img, scale, ratio)</c>.</summary>
    public static CropBox RandomResized(int width, int height, double scaleMin, double scaleMax, double ratioMin, double ratioMax, DeterministicRandom random)
    {
        double area = (double)width * height;
        double logMin = Math.Log(ratioMin), logMax = Math.Log(ratioMax);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double target = area * (scaleMin + (scaleMax - scaleMin) * random.NextDouble());
            double aspect = Math.Exp(logMin + (logMax - logMin) * random.NextDouble());
            int w = (int)Math.Round(Math.Sqrt(target * aspect), MidpointRounding.ToEven);
            int h = (int)Math.Round(Math.Sqrt(target / aspect), MidpointRounding.ToEven);
            if (w > 0 && w <= width && h > 0 && h <= height)
            {
                int top = random.NextInt(height - h + 1);
                int left = random.NextInt(width - w + 1);
                return new CropBox(left, top, w, h);
            }
        }
        double inRatio = (double)width / height;
        int cw = width, ch = height;
        if (inRatio < ratioMin) ch = (int)Math.Round(cw / ratioMin, MidpointRounding.ToEven);
        else if (inRatio > ratioMax) cw = (int)Math.Round(ch * ratioMax, MidpointRounding.ToEven);
        return new CropBox((width - cw) / 2, (height - ch) / 2, cw, ch);
    }

    /// <summary>
    /// timm's eval crop: the shorter side resized to floor(size / crop_pct) (torchvision <c>Resize(int)</c>: the
    /// longer side to int(that × long / short)), then a center crop of the output size (top = round((h − th) / 2)),
    /// expressed as the box of the original image that becomes the crop.
    /// </summary>
    public static CropBox Center(int width, int height, int outHeight, int outWidth, double cropPct)
    {
        int scaleSize = (int)Math.Floor(Math.Min(outHeight, outWidth) / cropPct);
        bool wide = width >= height;
        int rw = wide ? (int)((long)scaleSize * width / height) : scaleSize;
        int rh = wide ? scaleSize : (int)((long)scaleSize * height / width);
        int th = Math.Min(outHeight, rh), tw = Math.Min(outWidth, rw);
        double top = Math.Round((rh - th) / 2.0, MidpointRounding.ToEven), left = Math.Round((rw - tw) / 2.0, MidpointRounding.ToEven);
        double sx = (double)width / rw, sy = (double)height / rh;
        int x = (int)Math.Round(left * sx), y = (int)Math.Round(top * sy);
        int w = Math.Clamp((int)Math.Round(tw * sx), 1, width - x), h = Math.Clamp((int)Math.Round(th * sy), 1, height - y);
        return new CropBox(x, y, w, h);
    }
}
