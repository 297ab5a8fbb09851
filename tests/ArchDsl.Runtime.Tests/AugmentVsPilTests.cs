using System.Diagnostics;
using ArchDsl.Runtime.Augment;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The pixel ops of RandAugment (torchvision's and timm's) and ColorJitter against their references, run live on the
/// same fixed 8-bit RGB images with Debian's python3 (PIL 9.4, torchvision 0.14): PIL's ImageOps / ImageEnhance for the
/// ops timm applies to PIL images, torchvision's tensor functional ops for the float ones. Tolerances: the integer ops
/// (equalize, posterize, solarize, solarize-add, invert) exactly; autocontrast within one 8-bit level (PIL truncates its
/// lookup table to integers, the batch keeps floats); brightness, sharpness and hue within 1e-5; color and contrast, which
/// go through the grey image, within 1e-4 (torchvision's grey weighs R 0.2989 where PIL and this runtime take 0.299).
/// Measured: equalize and posterize 0, the others below 1e-7 except autocontrast 1/255, color 7e-5, contrast 3e-5.
/// </summary>
public class AugmentVsPilTests
{
    private const int N = 4, C = 3, H = 12, W = 10;

    /// <summary>Image 0: spread values; 1: low contrast (60..179); 2: a constant green channel; 3: few levels.</summary>
    private static byte[] Images()
    {
        var b = new byte[N * C * H * W];
        uint state = 12345;
        for (int i = 0; i < N; i++)
            for (int c = 0; c < C; c++)
                for (int p = 0; p < H * W; p++)
                {
                    state = state * 1664525 + 1013904223;
                    int v = (int)(state >> 24);
                    b[(i * C + c) * H * W + p] = (byte)(i switch { 1 => 60 + v % 120, 2 when c == 1 => 77, 3 => v / 64 * 64, _ => v });
                }
        return b;
    }

    private const string Script = """
        import sys, numpy as np, torch
        from PIL import Image, ImageOps, ImageEnhance
        import torchvision.transforms.functional as F
        N, C, H, W = 4, 3, 12, 10
        x = np.fromfile(sys.argv[1], dtype=np.uint8).reshape(N, C, H, W)
        pil = [Image.fromarray(np.ascontiguousarray(x[i].transpose(1, 2, 0)), "RGB") for i in range(N)]
        t = torch.from_numpy(x.astype(np.float32) / 255)
        def solarize_add(img, add, thresh=128):   # timm's auto_augment.solarize_add
            lut = [min(255, i + add) if i < thresh else i for i in range(256)]
            return img.point(lut * 3)
        def pil_all(f): return np.stack([np.asarray(f(im)).transpose(2, 0, 1) for im in pil]).astype(np.float32) / 255
        out = [
            pil_all(ImageOps.equalize), pil_all(lambda im: ImageOps.posterize(im, 3)), pil_all(lambda im: ImageOps.solarize(im, 100)),
            pil_all(lambda im: solarize_add(im, 60)), pil_all(ImageOps.invert), pil_all(ImageOps.autocontrast),
            F.adjust_saturation(t, 1.7).numpy(), F.adjust_contrast(t, 0.4).numpy(), F.adjust_brightness(t, 1.3).numpy(),
            F.adjust_sharpness(t, 1.8).numpy(), F.adjust_hue(t, 0.27).numpy(), F.adjust_hue(t, -0.4).numpy(),
        ]
        sys.stdout.buffer.write(np.concatenate([o.reshape(-1) for o in out]).astype(np.float32).tobytes())
        """;

    private static float[][] Reference(byte[] images, string script = Script)
    {
        var python = TestSupport.Tools.Require(TestSupport.Tools.Python, "python3-torch python3-torchvision python3-pil");
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(file, images);
            var psi = new ProcessStartInfo(python, new[] { "-c", script, file }) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var proc = Process.Start(psi)!;
            using var ms = new MemoryStream();
            var stderrRead = proc.StandardError.ReadToEndAsync();   // read beside stdout: a full stderr pipe would block the child
            proc.StandardOutput.BaseStream.CopyTo(ms);
            string stderr = stderrRead.GetAwaiter().GetResult();
            proc.WaitForExit();
            Assert.True(proc.ExitCode == 0, $"python3 failed ({proc.ExitCode}; needs python3-torchvision and python3-pil):\n{stderr}");
            var all = new float[ms.Length / 4];
            Buffer.BlockCopy(ms.ToArray(), 0, all, 0, (int)ms.Length);
            int size = N * C * H * W;
            return Enumerable.Range(0, all.Length / size).Select(k => all.AsSpan(k * size, size).ToArray()).ToArray();
        }
        finally { File.Delete(file); }
    }

    [Fact]
    public void Pixel_ops_agree_with_PIL_and_torchvision_on_fixed_images()
    {
        var bytes = Images();
        var reference = Reference(bytes);
        using var scope = NewDisposeScope();
        var x = torch.tensor(bytes.Select(b => b / 255f).ToArray(), new long[] { N, C, H, W });
        var all = Enumerable.Repeat(true, N).ToArray();
        float[] F(float f) => Enumerable.Repeat(f, N).ToArray();
        var ours = new (string Name, Tensor Value, double Tolerance)[]
        {
            ("equalize", PixelOps.Equalize(x, all), 1e-6),
            ("posterize", PixelOps.Posterize(x, Enumerable.Repeat(3, N).ToArray()), 1e-6),
            ("solarize", PixelOps.Solarize(x, Enumerable.Repeat(100.0, N).ToArray()), 1e-6),
            ("solarize_add", PixelOps.SolarizeAdd(x, Enumerable.Repeat(60.0, N).ToArray()), 1e-6),
            ("invert", 1.0 - x, 1e-6),
            ("autocontrast", PixelOps.AutoContrast(x), 1.0 / 255 + 1e-6),
            ("color", PixelOps.Saturation(x, F(1.7f)), 1e-4),
            ("contrast", PixelOps.Contrast(x, F(0.4f)), 1e-4),
            ("brightness", PixelOps.Brightness(x, F(1.3f)), 1e-5),
            ("sharpness", PixelOps.Sharpness(x, F(1.8f)), 1e-5),
            ("hue +0.27", ColorJitter.AdjustHue(x, F(0.27f)), 1e-5),
            ("hue -0.4", ColorJitter.AdjustHue(x, F(-0.4f)), 1e-5),
        };
        Assert.Equal(ours.Length, reference.Length);
        for (int k = 0; k < ours.Length; k++)
        {
            var got = ours[k].Value.data<float>();
            double worst = got.Zip(reference[k], (a, b) => Math.Abs(a - b)).Max();
            Assert.True(worst <= ours[k].Tolerance, $"{ours[k].Name}: max difference {worst} > {ours[k].Tolerance}");
        }
    }
}
