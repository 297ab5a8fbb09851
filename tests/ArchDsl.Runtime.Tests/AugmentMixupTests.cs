using ArchDsl.Compiler;
using ArchDsl.Runtime.Augment;
using ArchDsl.Runtime.Data;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Tests;

/// <summary>timm's Mixup / CutMix (mode batch): targets, λ, the CutMix box and its λ correction, the loss, determinism.</summary>
public class AugmentMixupTests
{
    private const int N = 8, C = 3, H = 10, W = 12, K = 5;

    private static MixupConfig Config(double mixup = 0.8, double cutmix = 1.0, double prob = 1.0, double switchProb = 0.5, bool correct = true, double smoothing = 0.1) =>
        new(mixup, cutmix, prob, switchProb, "batch", correct, smoothing);

    private static (float[] Images, float[] Targets, double Lambda) Mix(Mixup m, ulong seed, long epoch = 0, long batch = 0)
    {
        using var scope = NewDisposeScope();
        var x = torch.tensor(Enumerable.Range(0, N * C * H * W).Select(i => (float)i).ToArray(), new long[] { N, C, H, W });
        var y = torch.tensor(Enumerable.Range(0, N).Select(i => (long)(i % K)).ToArray(), new long[] { N });
        var (img, t, lam) = m.Apply(x, y, K, Mixup.BatchRandom(seed, epoch, batch));
        Assert.Equal(new long[] { N, K }, t.shape);
        return (img.data<float>(), t.data<float>(), lam);
    }

    [Fact]
    public void Target_rows_sum_to_one_and_hold_lambda_and_its_complement()
    {
        var m = new Mixup(Config());
        for (ulong seed = 0; seed < 20; seed++)
        {
            var (_, t, lam) = Mix(m, seed);
            for (int i = 0; i < N; i++)
            {
                Assert.Equal(1.0, t.Skip(i * K).Take(K).Sum(v => (double)v), 5);
                int a = i % K, b = (N - 1 - i) % K;
                double off = 0.1 / K, on = 1 - 0.1 + off;
                double expectA = lam * on + (1 - lam) * (a == b ? on : off);
                Assert.Equal(expectA, t[i * K + a], 5);
                if (a != b) Assert.Equal(lam * off + (1 - lam) * on, t[i * K + b], 5);
            }
        }
    }

    [Fact]
    public void Mixup_blends_each_sample_with_the_reversed_batch()
    {
        var m = new Mixup(Config(mixup: 0.8, cutmix: 0));
        var (img, _, lam) = Mix(m, 3);
        Assert.InRange(lam, 0, 1);
        int size = C * H * W;
        for (int i = 0; i < N; i++)
            for (int p = 0; p < size; p += 37)
                Assert.Equal(lam * (i * size + p) + (1 - lam) * ((N - 1 - i) * size + p), img[i * size + p], 2);
    }

    [Fact]
    public void Cutmix_lambda_is_corrected_to_the_clipped_box_area()
    {
        var m = new Mixup(Config(mixup: 0, cutmix: 1.0));
        int corrected = 0;
        for (ulong seed = 0; seed < 40; seed++)
        {
            var (img, _, lam) = Mix(m, seed);
            int size = C * H * W, fromOther = 0;
            for (int p = 0; p < H * W; p++) if (img[p] != p) fromOther++; // sample 0, channel 0
            Assert.Equal(1 - fromOther / (double)(H * W), lam, 9); // λ is the share of the image kept
            // the same box in every sample and channel
            for (int i = 0; i < N; i++)
                for (int p = 0; p < H * W; p++)
                    Assert.Equal(img[p] != p, img[i * size + 2 * H * W + p] != i * size + 2 * H * W + p);
        }
        // Drawn λ and the box's disagree once the box is clipped at the border: correct_lam: false keeps the drawn one.
        var raw = new Mixup(Config(mixup: 0, cutmix: 1.0, correct: false));
        for (ulong seed = 0; seed < 40; seed++)
        {
            var (img, _, lam) = Mix(raw, seed);
            int fromOther = Enumerable.Range(0, H * W).Count(p => img[p] != p);
            if (Math.Abs(1 - fromOther / (double)(H * W) - lam) > 1e-6) corrected++;
        }
        Assert.True(corrected > 0, "with correct_lam false some drawn λ should differ from the clipped box's area");
    }

    [Fact]
    public void The_box_follows_timms_rand_bbox()
    {
        var m = new Mixup(Config(mixup: 0, cutmix: 1.0));
        // λ = 0.75: sides ⌊10·0.5⌋ = 5 and ⌊12·0.5⌋ = 6, half-sides 2 and 3 about a uniform centre, clipped.
        for (ulong s = 0; s < 50; s++)
        {
            var (y0, y1, x0, x1, lam) = m.CutMixBox(H, W, 0.75, new DeterministicRandom(s));
            Assert.True(y1 - y0 <= 4 && x1 - x0 <= 6 && y0 >= 0 && y1 <= H && x0 >= 0 && x1 <= W);
            Assert.Equal(1 - (y1 - y0) * (x1 - x0) / (double)(H * W), lam, 12);
        }
    }

    [Fact]
    public void No_mixing_with_probability_zero_and_the_same_stream_gives_the_same_batch()
    {
        var (img, t, lam) = Mix(new Mixup(Config(prob: 0)), 1);
        Assert.Equal(1.0, lam);
        Assert.Equal(Enumerable.Range(0, N * C * H * W).Select(i => (float)i), img);
        var m = new Mixup(Config());
        Assert.Equal(Mix(m, 9, 2, 5).Images, Mix(m, 9, 2, 5).Images);
        Assert.NotEqual(Mix(m, 9, 2, 5).Lambda, Mix(m, 9, 2, 6).Lambda);
    }

    [Fact]
    public void Soft_target_cross_entropy_equals_pytorchs_label_smoothed_loss_without_mixing()
    {
        using var scope = NewDisposeScope();
        var logits = ModelTestKit.Rand(4, N, K);
        var y = torch.tensor(Enumerable.Range(0, N).Select(i => (long)(i * 3 % K)).ToArray(), new long[] { N });
        using var t = Mixup.Targets(y, K, 1.0, 0.1);
        double soft = Mixup.SoftTargetCrossEntropy(logits, t).item<float>();
        double hard = nn.functional.cross_entropy(logits, y, label_smoothing: 0.1).item<float>();
        Assert.Equal(hard, soft, 5);
    }

    [Fact]
    public void Beta_draws_have_the_beta_distributions_mean_and_variance()
    {
        foreach (var a in new[] { 0.2, 0.8, 1.0, 2.0 })
        {
            var rng = new DeterministicRandom(11);
            var xs = Enumerable.Range(0, 40_000).Select(_ => Mixup.Beta(rng, a, a)).ToArray();
            double mean = xs.Average(), variance = xs.Select(x => (x - mean) * (x - mean)).Average();
            Assert.InRange(mean, 0.49, 0.51);
            Assert.InRange(variance, 0.95 / (4 * (2 * a + 1)), 1.05 / (4 * (2 * a + 1))); // Var Beta(a, a) = 1 / (4(2a + 1))
            Assert.All(xs, x => Assert.InRange(x, 0, 1));
        }
    }
}
