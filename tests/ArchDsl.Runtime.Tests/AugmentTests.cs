using ArchDsl.Compiler;
using ArchDsl.Runtime.Augment;
using ArchDsl.Runtime.Data;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Tests;

public class AugmentTests
{
    private const int N = 16, C = 1, H = 12, W = 10;

    /// <summary>Distinct values everywhere (so a moved pixel is recognisable), all in (0, 1].</summary>
    private static float[] Pixels(int n = N, int c = C, int h = H, int w = W)
    {
        var a = new float[n * c * h * w];
        for (int i = 0; i < a.Length; i++) a[i] = (i + 1) / (float)(a.Length + 1);
        return a;
    }

    private static float[] Run(IAugmentation op, float[] input, ulong seed = 7, Normalization? norm = null, int n = N, int c = C, int h = H, int w = W)
    {
        using var scope = NewDisposeScope();
        var x = torch.tensor(input, new long[] { n, c, h, w });
        var y = op.Apply(x, new AugmentContext(new DeterministicRandom(seed), norm));
        Assert.Equal(new long[] { n, c, h, w }, y.shape);
        return y.data<float>();
    }

    private static float At(float[] a, int i, int ch, int r, int q, int c = C, int h = H, int w = W) => a[((i * c + ch) * h + r) * w + q];

    [Fact]
    public void Every_op_keeps_the_shape_and_the_input()
    {
        var input = Pixels();
        IAugmentation[] ops = [new HorizontalFlip(), new PadCrop(2), new RandomErasing(1), new RandAugment(2, 9)];
        foreach (var op in ops)
        {
            using var scope = NewDisposeScope();
            var x = torch.tensor(input, new long[] { N, C, H, W });
            var y = op.Apply(x, new AugmentContext(new DeterministicRandom(1)));
            Assert.Equal(x.shape, y.shape);
            Assert.Equal(input, x.data<float>()); // the batch itself is not changed
            Assert.NotEqual(input, y.data<float>()); // and the op did something
        }
    }

    [Fact]
    public void Zero_probability_and_zero_strength_are_the_identity()
    {
        var input = Pixels();
        Assert.Equal(input, Run(new HorizontalFlip(0), input));
        Assert.Equal(input, Run(new RandomErasing(0), input));
        Assert.Equal(input, Run(new PadCrop(0), input));
        Assert.Equal(input, Run(new RandAugment(0, 9), input));
        var pipeline = AugmentPipeline.FromTrain([new EraseConfig(0.0, 0.02, 0.33, 0.3, 3.3, "const")]);
        using var scope = NewDisposeScope();
        var x = torch.tensor(input, new long[] { N, C, H, W });
        Assert.Equal(input, pipeline.Apply(x, 3, 0, 0).data<float>());
        Assert.Equal(input, AugmentPipeline.None.Apply(x, 3, 0, 0).data<float>());
    }

    [Fact]
    public void Flip_reverses_the_columns_of_the_chosen_samples()
    {
        var input = Pixels();
        var all = Run(new HorizontalFlip(1), input);
        for (int i = 0; i < N; i++)
            for (int r = 0; r < H; r++)
                for (int q = 0; q < W; q++)
                    Assert.Equal(At(input, i, 0, r, q), At(all, i, 0, r, W - 1 - q));

        // p = 0.5: each sample is either untouched or mirrored, and both happen in 16 samples.
        var half = Run(new HorizontalFlip(0.5), input);
        int flipped = 0;
        for (int i = 0; i < N; i++)
        {
            bool same = true, mirrored = true;
            for (int r = 0; r < H; r++)
                for (int q = 0; q < W; q++)
                {
                    same &= At(half, i, 0, r, q) == At(input, i, 0, r, q);
                    mirrored &= At(half, i, 0, r, q) == At(input, i, 0, r, W - 1 - q);
                }
            Assert.True(same ^ mirrored, $"sample {i} is neither itself nor its mirror image");
            if (mirrored) flipped++;
        }
        Assert.InRange(flipped, 1, N - 1);
    }

    [Fact]
    public void Crop_moves_each_sample_by_whole_pixels_and_fills_black()
    {
        var input = Pixels();
        var norm = new Normalization(new[] { 0.25 }, new[] { 0.5 });
        float black = (float)(-0.25 / 0.5);
        var output = Run(new PadCrop(2), input, norm: norm);
        var shifts = new HashSet<(int, int)>();
        for (int i = 0; i < N; i++)
        {
            (int, int)? found = null;
            for (int dy = -2; dy <= 2 && found is null; dy++)
                for (int dx = -2; dx <= 2 && found is null; dx++)
                {
                    bool ok = true;
                    for (int r = 0; r < H && ok; r++)
                        for (int q = 0; q < W && ok; q++)
                        {
                            int sr = r + dy, sq = q + dx;
                            float want = sr < 0 || sr >= H || sq < 0 || sq >= W ? black : At(input, i, 0, sr, sq);
                            ok = At(output, i, 0, r, q) == want;
                        }
                    if (ok) found = (dy, dx);
                }
            Assert.True(found.HasValue, $"sample {i} is not a shifted copy of its input");
            shifts.Add(found!.Value);
        }
        Assert.True(shifts.Count > 3, "offsets should vary between samples");
    }

    [Fact]
    public void Erase_blanks_one_rectangle_and_leaves_the_rest()
    {
        var input = Pixels(h: 20, w: 20);
        var output = Run(new RandomErasing(1), input, h: 20, w: 20);
        for (int i = 0; i < N; i++)
        {
            int minR = int.MaxValue, maxR = -1, minQ = int.MaxValue, maxQ = -1, zeros = 0;
            for (int r = 0; r < 20; r++)
                for (int q = 0; q < 20; q++)
                {
                    float o = At(output, i, 0, r, q, h: 20, w: 20);
                    if (o == 0)
                    {
                        zeros++;
                        minR = Math.Min(minR, r); maxR = Math.Max(maxR, r); minQ = Math.Min(minQ, q); maxQ = Math.Max(maxQ, q);
                    }
                    else Assert.Equal(At(input, i, 0, r, q, h: 20, w: 20), o);
                }
            Assert.True(zeros > 0, $"sample {i} was not erased with p = 1");
            Assert.Equal((maxR - minR + 1) * (maxQ - minQ + 1), zeros); // one filled rectangle
            Assert.InRange(zeros / 400.0, 0.01, 0.40);
        }
    }

    [Fact]
    public void Same_stream_same_result_other_batch_other_result()
    {
        var pipeline = AugmentPipeline.FromTrain([new FlipConfig(), new CropConfig(2), new EraseConfig(0.5, 0.02, 0.33, 0.3, 3.3, "const"), new RandAugmentConfig(2, 9)],
            new Normalization(new[] { 0.3 }, new[] { 0.4 }));
        var input = Pixels();
        float[] Once(ulong seed, long epoch, long batch)
        {
            using var scope = NewDisposeScope();
            var x = torch.tensor(input, new long[] { N, C, H, W });
            return pipeline.Apply(x, seed, epoch, batch).data<float>();
        }
        var a = Once(5, 1, 3);
        Assert.Equal(a, Once(5, 1, 3));
        Assert.NotEqual(a, Once(5, 1, 4));
        Assert.NotEqual(a, Once(5, 2, 3));
        Assert.NotEqual(a, Once(6, 1, 3));
    }

    [Fact]
    public void RandAugment_brightness_scales_pixels_by_one_plus_or_minus_the_magnitude()
    {
        var input = Pixels().Select(v => v / 2).ToArray(); // ≤ 0.5: nothing saturates at 1 + 0.3
        var op = new RandAugment(1, 10, [RandAugmentOp.Brightness]);
        var output = Run(op, input);
        double mag = 0.9 * 10 / 30;
        var seen = new HashSet<int>();
        for (int i = 0; i < N; i++)
        {
            double f = At(output, i, 0, 0, 0) / At(input, i, 0, 0, 0);
            int sign = Math.Abs(f - (1 + mag)) < 1e-4 ? 1 : Math.Abs(f - (1 - mag)) < 1e-4 ? -1 : 0;
            Assert.NotEqual(0, sign);
            seen.Add(sign);
            for (int r = 0; r < H; r++)
                for (int q = 0; q < W; q++)
                    Assert.True(Math.Abs(Math.Min(1.0, At(input, i, 0, r, q) * (1 + sign * mag)) - At(output, i, 0, r, q)) < 1e-6);
        }
        Assert.Equal(2, seen.Count);
    }

    [Fact]
    public void RandAugment_translate_moves_whole_rows_and_fills_black()
    {
        var input = Pixels();
        var output = Run(new RandAugment(1, 20, [RandAugmentOp.TranslateY]), input);
        for (int i = 0; i < N; i++)
        {
            int black = 0;
            for (int r = 0; r < H; r++)
            {
                var row = Enumerable.Range(0, W).Select(q => At(output, i, 0, r, q)).ToArray();
                if (row.All(v => v == 0)) { black++; continue; }
                bool matches = Enumerable.Range(0, H).Any(sr => Enumerable.Range(0, W).All(q => At(input, i, 0, sr, q) == row[q]));
                Assert.True(matches, $"sample {i} row {r} is not a row of the input");
            }
            double shift = 150.0 / 331 * H * 20 / 30; // ≈ 3.6 pixels
            Assert.InRange(black, (int)Math.Floor(shift), (int)Math.Ceiling(shift));
        }
    }

    [Fact]
    public void RandAugment_keeps_normalised_pixels_in_the_image_range()
    {
        var norm = new Normalization(new[] { 0.3 }, new[] { 0.4 });
        var pixels = Pixels();
        var input = pixels.Select(v => (float)((v - 0.3) / 0.4)).ToArray();
        var output = Run(new RandAugment(3, 15), input, norm: norm);
        foreach (var v in output) Assert.InRange(v * 0.4 + 0.3, -1e-5, 1 + 1e-5);
    }

    [Fact]
    public void Pipeline_reads_the_train_list_in_a_fixed_order()
    {
        var train = ArchCompiler.CompileText("arch A(classes = 10)\ninput image[1, 28, 28]\nhead avgpool -> linear(classes)\n" +
            "train { augment: [randaugment(n: 2, m: 9), erase(p: 0.25), color_jitter(0.4), flip, crop(pad: 2)] }").Graph!.Train;
        var p = AugmentPipeline.FromTrain(train.Augment);
        Assert.Equal("crop(pad: 2), flip, randaugment(n: 2, m: 9), color_jitter(brightness: 0.4, contrast: 0.0, saturation: 0.0, hue: 0.0), " +
                     "erase(p: 0.25, scale: [0.02, 0.33], ratio: [0.3, 3.3], mode: const)", p.ToString());
        Assert.True(AugmentPipeline.FromTrain([]).IsEmpty);
    }

    /// <summary>The header's augmentation text writes its floats as the optimizer's beside it does, as Python's repr
    /// (<see cref="ArchDsl.Dsl.FloatText.Format(double)"/>): <c>1.0</c>, <c>1e-05</c>, not .NET's <c>1</c>, <c>1E-05</c>.</summary>
    [Fact]
    public void Augmentations_describe_their_floats_as_python_writes_them()
    {
        Assert.Equal("mixup(mixup_alpha: 1.0, cutmix_alpha: 0.0, prob: 1.0, switch_prob: 0.5, mode: batch, correct_lam: true, label_smoothing: 1e-05)",
            new Mixup(new MixupConfig(1.0, 0.0, 1.0, 0.5, "batch", true, 1e-5)).Describe());
        Assert.Equal("color_jitter(brightness: 1.0, contrast: 1e-05, saturation: 0.0, hue: 0.5)", new ColorJitter(1, 1e-5, 0, 0.5).Describe());
        Assert.Equal("erase(p: 1.0, scale: [1e-05, 1.0], ratio: [0.3, 3.3], mode: const)", new RandomErasing(1, 1e-5, 1, 0.3, 3.3).Describe());
    }

    // A train section's bad augmentations are the compiler's (AD0101, AD0141); these are the classes' own guards.
    [Fact]
    public void Bad_augmentation_arguments_say_what_is_wrong()
    {
        Assert.Contains("crop padding must be ≥ 0", Assert.Throws<AugmentException>(() => new PadCrop(-1)).Message);
        Assert.Contains("erase probability must be in [0, 1]", Assert.Throws<AugmentException>(() => new RandomErasing(2)).Message);
        Assert.Contains("flip probability must be in [0, 1]", Assert.Throws<AugmentException>(() => new HorizontalFlip(-0.5)).Message);
        Assert.Contains("magnitude) must be in 0..30", Assert.Throws<AugmentException>(() => new RandAugment(2, 40)).Message);
    }
}
