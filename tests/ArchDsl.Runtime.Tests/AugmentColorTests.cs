using ArchDsl.Compiler;
using ArchDsl.Runtime.Augment;
using ArchDsl.Runtime.Data;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Tests;

/// <summary>Colour jitter, erasing's modes, RGB RandAugment and timm's RandAugment on RGB and grey batches.</summary>
public class AugmentColorTests
{
    private const int N = 12, H = 8, W = 10;

    /// <summary>Values in (0, 1), different in every pixel, channel and sample.</summary>
    private static float[] Pixels(int c) => Enumerable.Range(0, N * c * H * W).Select(i => (float)((i * 0.61803398875 % 0.9) + 0.05)).ToArray();

    private static float[] Run(IAugmentation op, int c, ulong seed = 3, Normalization? norm = null)
    {
        using var scope = NewDisposeScope();
        var input = Pixels(c);
        var x = torch.tensor(input, new long[] { N, c, H, W });
        var y = op.Apply(x, new AugmentContext(new DeterministicRandom(seed), norm));
        Assert.Equal(new long[] { N, c, H, W }, y.shape);
        Assert.Equal(input, x.data<float>());
        return y.data<float>();
    }

    [Fact]
    public void Brightness_jitter_scales_each_image_by_one_factor_within_its_range()
    {
        var input = Pixels(3);
        var output = Run(new ColorJitter(0.4, 0, 0, 0), 3);
        int size = 3 * H * W;
        var factors = new HashSet<double>();
        for (int i = 0; i < N; i++)
        {
            int low = Enumerable.Range(i * size, size).MinBy(p => input[p]); // not clipped at 1
            double f = output[low] / input[low];
            Assert.InRange(f, 0.6 - 1e-6, 1.4 + 1e-6);
            for (int p = 0; p < size; p++) Assert.Equal(Math.Min(1, input[i * size + p] * f), output[i * size + p], 4);
            factors.Add(Math.Round(f, 4));
        }
        Assert.True(factors.Count > N / 2, "each image draws its own factor");
    }

    [Fact]
    public void Jitter_is_the_identity_at_zero_and_leaves_grey_images_saturation_and_hue_alone()
    {
        Assert.Equal(Pixels(3), Run(new ColorJitter(0, 0, 0, 0), 3));
        Assert.Equal(Pixels(1), Run(new ColorJitter(0, 0, 0.8, 0.5), 1));
        Assert.NotEqual(Pixels(3), Run(new ColorJitter(0, 0, 0.8, 0.5), 3));
        Assert.Equal(Run(new ColorJitter(0.2, 0.2, 0.2, 0.1), 3, seed: 5), Run(new ColorJitter(0.2, 0.2, 0.2, 0.1), 3, seed: 5));
    }

    [Fact]
    public void Jitter_with_normalisation_works_on_pixel_values_and_keeps_them_in_range()
    {
        var norm = new Normalization(new[] { 0.4, 0.5, 0.6 }, new[] { 0.2, 0.25, 0.3 });
        var output = Run(new ColorJitter(0.9, 0.9, 0.9, 0.5), 3, norm: norm);
        for (int k = 0; k < output.Length; k++)
        {
            int ch = k / (H * W) % 3;
            Assert.InRange(output[k] * norm.Std[ch] + norm.Mean[ch], -1e-5, 1 + 1e-5);
        }
    }

    [Fact]
    public void Erase_modes_fill_the_box_with_zero_one_value_per_channel_or_noise()
    {
        foreach (var mode in new[] { EraseMode.Const, EraseMode.Rand, EraseMode.Pixel })
        {
            var input = Pixels(3);
            var output = Run(new RandomErasing(1, 0.1, 0.3, 0.5, 2, mode), 3);
            int size = 3 * H * W;
            for (int i = 0; i < N; i++)
            {
                var changed = Enumerable.Range(0, H * W).Where(p => output[i * size + p] != input[i * size + p]).ToList();
                Assert.InRange(changed.Count, 1, (int)(0.3 * H * W) + 4); // area 10–30% (rounded sides)
                for (int ch = 0; ch < 3; ch++)
                {
                    var values = changed.Select(p => output[i * size + ch * H * W + p]).Distinct().Count();
                    Assert.Equal(mode switch { EraseMode.Pixel => changed.Count, _ => 1 }, values);
                    if (mode == EraseMode.Const) Assert.Equal(0f, output[i * size + ch * H * W + changed[0]]);
                }
            }
        }
    }

    [Fact]
    public void RandAugment_on_rgb_draws_colour_and_equalize_as_torchvision()
    {
        // Equalize alone equals the pixel op on every image.
        using (var scope = NewDisposeScope())
        {
            var x = torch.tensor(Pixels(3), new long[] { N, 3, H, W });
            var expected = PixelOps.Equalize(x, Enumerable.Repeat(true, N).ToArray()).data<float>();
            Assert.Equal(expected, Run(new RandAugment(1, 9, [RandAugmentOp.Equalize]), 3));
        }
        // Color at m = 30 is a factor 1 ± 0.9 blend with grey: the identity on grey images, a change on RGB ones.
        Assert.Equal(Pixels(1), Run(new RandAugment(1, 30, [RandAugmentOp.Color]), 1));
        Assert.NotEqual(Pixels(3), Run(new RandAugment(1, 30, [RandAugmentOp.Color]), 3));
        Assert.Equal(14, Enum.GetValues<RandAugmentOp>().Length); // torchvision's _augmentation_space
        Assert.NotEqual(Pixels(1), Run(new RandAugment(2, 9), 1)); // grey images still augmented
    }

    [Fact]
    public void Timm_level_functions_at_magnitude_nine()
    {
        var inc = new TimmRandAugment(RandAugmentPolicy.Parse("rand-m9-mstd0.5-inc1"));
        var plain = new TimmRandAugment(RandAugmentPolicy.Parse("rand-m9"));
        Assert.Equal(27, inc.Level(TimmRandAugmentOp.Rotate, 9), 9);
        Assert.Equal(0.27, inc.Level(TimmRandAugmentOp.ShearX, 9), 9);
        Assert.Equal(0.405, inc.Level(TimmRandAugmentOp.TranslateXRel, 9), 9);
        Assert.Equal(0.81, inc.Level(TimmRandAugmentOp.Contrast, 9), 9);    // factor 1 ± 0.81
        Assert.Equal(1.72, plain.Level(TimmRandAugmentOp.Contrast, 9), 9);  // m/10·1.8 + 0.1
        Assert.Equal(1, inc.Level(TimmRandAugmentOp.Posterize, 9));          // 4 − ⌊3.6⌋
        Assert.Equal(3, plain.Level(TimmRandAugmentOp.Posterize, 9));
        Assert.Equal(26, inc.Level(TimmRandAugmentOp.Solarize, 9));          // 256 − ⌊230.4⌋
        Assert.Equal(230, plain.Level(TimmRandAugmentOp.Solarize, 9));
        Assert.Equal(99, inc.Level(TimmRandAugmentOp.SolarizeAdd, 9));
        Assert.True(inc.Signed(TimmRandAugmentOp.Brightness) && !plain.Signed(TimmRandAugmentOp.Brightness));
        var cfg = RandAugmentPolicy.Parse("rand-m9-mstd0.5-inc1");
        Assert.Equal((9.0, 2, 0.5, 10.0, true, 0.5), (cfg.Magnitude, cfg.Ops, cfg.MagnitudeStd, cfg.MagnitudeMax, cfg.Increasing, cfg.Probability));
        Assert.True(double.IsPositiveInfinity(RandAugmentPolicy.Parse("rand-m9-mstd101").MagnitudeStd));
    }

    [Fact]
    public void Timm_rand_augment_is_deterministic_and_never_applies_at_p_zero()
    {
        var op = new TimmRandAugment(RandAugmentPolicy.Parse("rand-m9-mstd0.5-inc1"));
        var norm = new Normalization(new[] { 0.4, 0.5, 0.6 }, new[] { 0.2, 0.25, 0.3 });
        var a = Run(op, 3, 4, norm);
        Assert.Equal(a, Run(op, 3, 4, norm));
        Assert.NotEqual(a, Run(op, 3, 5, norm));
        Assert.NotEqual(Pixels(1), Run(op, 1, 4));
        Assert.Equal(Pixels(3), Run(new TimmRandAugment(RandAugmentPolicy.Parse("rand-m9-n3-p0")), 3));
        for (int k = 0; k < a.Length; k++)
        {
            int ch = k / (H * W) % 3;
            Assert.InRange(a[k] * norm.Std[ch] + norm.Mean[ch], -1e-5, 1 + 1e-5);
        }
    }

    [Fact]
    public void Timm_translate_by_whole_pixels_moves_the_image_and_fills_with_the_mean()
    {
        // TranslateXRel at m such that 0.45·m/10·W = 2 pixels (W = 10): every sample moves 2 columns left or right.
        var op = new TimmRandAugment(new TimmRandAugmentConfig(40.0 / 9, 1, 0, 10, false, 1.0, "test"));
        var norm = new Normalization(new[] { 0.5 }, new[] { 1.0 });
        var input = Pixels(1);
        using var scope = NewDisposeScope();
        // The layer draws its ops at random, so timm's TranslateXRel map goes through the affine helper directly.
        var x = torch.tensor(input, new long[] { N, 1, H, W });
        var theta = new double[N * 6];
        for (int i = 0; i < N; i++) new double[] { 1, 0, 2, 0, 1, 0 }.CopyTo(theta, i * 6); // input x = output x + 2
        var moved = PixelOps.Affine(x, theta, Enumerable.Repeat(true, N).ToArray(), nn.GridSampleMode.Bilinear, [0.5]).data<float>();
        for (int r = 0; r < H; r++)
            for (int q = 0; q < W; q++)
                Assert.Equal(q + 2 < W ? input[r * W + q + 2] : 0.5f, moved[r * W + q], 5);
        Assert.Equal(2, op.Level(TimmRandAugmentOp.TranslateXRel, 40.0 / 9) * W, 9);
    }
}
