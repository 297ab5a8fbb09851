using ArchDsl.Runtime.Data;

namespace ArchDsl.Runtime.Tests;

public class DataSyntheticTests
{
    [Fact]
    public void Same_seed_gives_identical_data_and_another_seed_does_not()
    {
        var a = SyntheticData.Generate(64, 1, 8, 8, 4, seed: 5);
        var b = SyntheticData.Generate(64, 1, 8, 8, 4, seed: 5);
        var c = SyntheticData.Generate(64, 1, 8, 8, 4, seed: 6);
        Assert.Equal(a.Images, b.Images);
        Assert.Equal(a.Labels, b.Labels);
        Assert.NotEqual(a.Images, c.Images);
        Assert.All(a.ClassCounts(), n => Assert.Equal(16, n)); // balanced
    }

    [Fact]
    public void Classes_are_learnable_a_nearest_mean_classifier_beats_chance_by_far()
    {
        // Train and test differ (other noise stream) but share the class patterns.
        var train = SyntheticData.Generate(400, 3, 8, 8, 10, seed: 1, stream: 0);
        var test = SyntheticData.Generate(200, 3, 8, 8, 10, seed: 1, stream: 1);
        Assert.NotEqual(train.Images[..192], test.Images[..192]);
        int s = train.SampleSize;
        var means = new double[10, s];
        var counts = train.ClassCounts();
        for (int n = 0; n < train.Count; n++)
            for (int i = 0; i < s; i++) means[train.Labels[n], i] += train.Images[n * s + i] / (double)counts[train.Labels[n]];
        int correct = 0;
        for (int n = 0; n < test.Count; n++)
        {
            int best = -1; double bestD = double.MaxValue;
            for (int k = 0; k < 10; k++)
            {
                double d = 0;
                for (int i = 0; i < s; i++) { double x = test.Images[n * s + i] - means[k, i]; d += x * x; }
                if (d < bestD) { bestD = d; best = k; }
            }
            if (best == test.Labels[n]) correct++;
        }
        Assert.True(correct >= 180, $"nearest-mean accuracy {correct}/200 on synthetic data");
    }

    [Fact]
    public void Images_are_sized_as_asked()
    {
        var d = SyntheticData.Generate(3, 2, 5, 7, 2, 0);
        Assert.Equal((3, 2, 5, 7), (d.Count, d.Channels, d.Height, d.Width));
        Assert.Equal(3 * 70, d.Images.Length);
    }
}
