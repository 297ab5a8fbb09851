using ArchDsl.Runtime.Training;

namespace ArchDsl.Runtime.Tests;

public class MetricsTests
{
    [Fact]
    public void Loss_is_averaged_per_sample_not_per_batch()
    {
        var m = new LossAccuracy();
        Assert.True(double.IsNaN(m.Loss));
        m.Add(meanLoss: 1.0, correct: 90, count: 100);
        m.Add(meanLoss: 4.0, correct: 0, count: 20); // a small last batch counts for its 20 samples
        Assert.Equal((100 * 1.0 + 20 * 4.0) / 120, m.Loss, 12);
        Assert.Equal(90 / 120.0, m.Accuracy, 12);
        Assert.Equal(120, m.Samples);
        Assert.Throws<ArgumentOutOfRangeException>(() => m.Add(0, 5, 4));
        m.Reset();
        Assert.Equal(0, m.Samples);
    }

    [Fact]
    public void Running_mean_is_weighted()
    {
        var r = new RunningMean();
        r.Add(2, 3);
        r.Add(10, 1);
        Assert.Equal(4.0, r.Mean, 12);
    }

    [Fact]
    public void Argmax_and_correct_counts()
    {
        float[] logits = { 0.1f, 2f, -1f,   5f, 5f, 1f,   float.NaN, -3f, -2f };
        var pred = Classification.ArgMax(logits, 3);
        Assert.Equal(new[] { 1, 0, 2 }, pred); // ties: first; NaN never wins
        Assert.Equal(2, Classification.CountCorrect(pred, new long[] { 1, 0, 0 }));
        Assert.Throws<ArgumentException>(() => Classification.ArgMax(new float[5], 3));
    }

    [Fact]
    public void Confusion_matrix_counts_and_per_class_accuracy()
    {
        var cm = new ConfusionMatrix(new[] { "cat", "dog", "bird" });
        cm.Add(new long[] { 0, 0, 0, 0, 1, 1, 2 }, new[] { 0, 0, 0, 1, 1, 0, 1 });
        Assert.Equal(7, cm.Total);
        Assert.Equal(3, cm[0, 0]);
        Assert.Equal(1, cm[0, 1]);
        Assert.Equal(1, cm[2, 1]);
        Assert.Equal(4 / 7.0, cm.Accuracy, 12);
        var acc = cm.PerClassAccuracy();
        Assert.Equal(0.75, acc[0], 12);
        Assert.Equal(0.5, acc[1], 12);
        Assert.Equal(0.0, acc[2], 12);
        Assert.Throws<ArgumentOutOfRangeException>(() => cm.Add(3, 0));
        Assert.True(double.IsNaN(new ConfusionMatrix(new[] { "a", "b" }).PerClassAccuracy()[1])); // no samples: not 0 %
    }

    [Fact]
    public void Confusion_matrix_renders_as_a_fixed_width_table_with_class_names()
    {
        var cm = new ConfusionMatrix(new[] { "T-shirt/top", "Bag" });
        for (int i = 0; i < 1000; i++) cm.Add(0, 0);
        cm.Add(0, 1);
        cm.Add(1, 1);
        cm.Add(1, 0);
        string text = cm.Render();
        // name column as wide as the longest label (16: the corner header), 5-wide count columns, accuracy
        string expected =
            "true \\ predicted" + "    0" + "    1" + "  accuracy\n" +
            "T-shirt/top     " + " 1000" + "    1" + "    99.90%\n" +
            "Bag             " + "    1" + "    1" + "    50.00%\n" +
            "overall         " + "     " + "     " + "    99.80%\n"; // 1001 of 1003
        Assert.Equal(expected, text);
        var lines = text.TrimEnd('\n').Split('\n');
        Assert.All(lines, l => Assert.Equal(lines[0].Length, l.Length));
    }

    [Fact]
    public void Throughput_eta_and_durations()
    {
        Assert.Equal(500, Throughput.ImagesPerSecond(1000, TimeSpan.FromSeconds(2)));
        Assert.Equal(0, Throughput.ImagesPerSecond(1000, TimeSpan.Zero));
        Assert.Equal(TimeSpan.FromSeconds(30), Throughput.Eta(done: 25, total: 100, elapsed: TimeSpan.FromSeconds(10)));
        Assert.Null(Throughput.Eta(0, 100, TimeSpan.FromSeconds(1)));
        Assert.Equal(TimeSpan.Zero, Throughput.Eta(100, 100, TimeSpan.FromSeconds(1)));
        Assert.Equal("1h02m03s", Throughput.Format(new TimeSpan(1, 2, 3)));
        Assert.Equal("4m05s", Throughput.Format(TimeSpan.FromSeconds(245)));
        Assert.Equal("12s", Throughput.Format(TimeSpan.FromSeconds(12.2)));
        Assert.Equal("0.4s", Throughput.Format(TimeSpan.FromSeconds(0.4)));
        Assert.Equal("?", Throughput.Format(null));
    }
}
