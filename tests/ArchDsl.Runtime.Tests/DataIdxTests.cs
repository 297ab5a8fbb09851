using ArchDsl.Runtime.Data;

namespace ArchDsl.Runtime.Tests;

public class DataIdxTests
{
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Loads_train_and_test_with_pixels_scaled_and_labels(bool gzip)
    {
        using var tmp = new DataTempDir();
        DataTestFiles.WriteIdxSet(tmp.Path, trainCount: 12, testCount: 5, rows: 4, cols: 3, gzip: gzip);
        var (train, test) = IdxLoader.LoadFashionMnist(tmp.Path);
        Assert.Equal(12, train.Count);
        Assert.Equal(5, test.Count);
        Assert.Equal((1, 4, 3), (train.Channels, train.Height, train.Width));
        Assert.Equal("Ankle boot", train.ClassNames[9]);
        Assert.Equal(Enumerable.Range(0, 12).Select(n => n % 10), train.Labels);
        for (int n = 0; n < 12; n++)
            for (int i = 0; i < 12; i++)
                Assert.Equal((n * 7 + i) % 256 / 255f, train.Sample(n)[i]);
    }

    [Fact]
    public void Missing_default_directory_names_the_path_and_the_apt_package()
    {
        using var tmp = new DataTempDir();
        string missing = tmp["nope"];
        var e = Assert.Throws<DataException>(() => IdxLoader.LoadFashionMnist(missing));
        Assert.Contains(missing, e.Message);
        Assert.Contains("dataset-fashion-mnist", e.Message);
    }

    [Fact]
    public void Missing_file_names_the_file_looked_for()
    {
        using var tmp = new DataTempDir();
        DataTestFiles.WriteIdxSet(tmp.Path, 3, 2);
        File.Delete(tmp["t10k-labels-idx1-ubyte.gz"]);
        var e = Assert.Throws<DataException>(() => IdxLoader.LoadFashionMnist(tmp.Path));
        Assert.Contains(tmp["t10k-labels-idx1-ubyte.gz"], e.Message);
        Assert.Contains("apt-get install dataset-fashion-mnist", e.Message);
    }

    [Fact]
    public void Truncated_images_file_is_reported_with_its_name()
    {
        using var tmp = new DataTempDir();
        DataTestFiles.WriteIdxSet(tmp.Path, 10, 2, gzip: false);
        string f = tmp["train-images-idx3-ubyte"];
        var bytes = File.ReadAllBytes(f);
        File.WriteAllBytes(f, bytes[..^7]);
        var e = Assert.Throws<DataException>(() => IdxLoader.LoadFashionMnist(tmp.Path));
        Assert.Contains(f, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Truncated_gzip_is_reported_with_its_name()
    {
        using var tmp = new DataTempDir();
        DataTestFiles.WriteIdxSet(tmp.Path, 200, 2, rows: 28, cols: 28);
        string f = tmp["train-images-idx3-ubyte.gz"];
        var bytes = File.ReadAllBytes(f);
        File.WriteAllBytes(f, bytes[..(bytes.Length / 2)]);
        var e = Assert.Throws<DataException>(() => IdxLoader.LoadFashionMnist(tmp.Path));
        Assert.Contains(f, e.Message);
    }

    [Fact]
    public void Wrong_magic_number_is_reported()
    {
        using var tmp = new DataTempDir();
        DataTestFiles.WriteIdxSet(tmp.Path, 3, 2, gzip: false);
        // a labels file where an images file belongs
        File.Copy(tmp["train-labels-idx1-ubyte"], tmp["train-images-idx3-ubyte"], overwrite: true);
        var e = Assert.Throws<DataException>(() => IdxLoader.LoadFashionMnist(tmp.Path));
        Assert.Contains(tmp["train-images-idx3-ubyte"], e.Message);
        Assert.Contains("magic", e.Message);
    }

    [Fact]
    public void Image_and_label_counts_must_agree()
    {
        using var tmp = new DataTempDir();
        DataTestFiles.WriteIdxSet(tmp.Path, 3, 2, gzip: false);
        File.WriteAllBytes(tmp["train-labels-idx1-ubyte"], DataTestFiles.IdxLabels(new byte[] { 1, 2 }));
        var e = Assert.Throws<DataException>(() => IdxLoader.LoadFashionMnist(tmp.Path));
        Assert.Contains("3 images", e.Message);
        Assert.Contains("2 labels", e.Message);
    }

    [Fact]
    public void Label_outside_the_classes_is_corruption()
    {
        using var tmp = new DataTempDir();
        DataTestFiles.WriteIdxSet(tmp.Path, 3, 2, gzip: false);
        File.WriteAllBytes(tmp["train-labels-idx1-ubyte"], DataTestFiles.IdxLabels(new byte[] { 1, 12, 2 }));
        var e = Assert.Throws<DataException>(() => IdxLoader.LoadFashionMnist(tmp.Path));
        Assert.Contains("label 12", e.Message);
        Assert.Contains(tmp["train-labels-idx1-ubyte"], e.Message);
    }

    [Fact]
    public void Mnist_missing_directory_explains_what_to_do()
    {
        using var tmp = new DataTempDir();
        var e = Assert.Throws<DataException>(() => IdxLoader.LoadMnist(tmp["mnist"]));
        Assert.Contains(tmp["mnist"], e.Message);
        Assert.Contains("train-images-idx3-ubyte.gz", e.Message);
    }

    [Fact]
    public void Real_fashion_mnist_installed_by_debian_loads()
    {
        if (!Directory.Exists(IdxLoader.FashionMnistDirectory))
            throw new InvalidOperationException($"this test needs `apt-get install dataset-fashion-mnist` ({IdxLoader.FashionMnistDirectory})");
        var (train, test) = IdxLoader.LoadFashionMnist();
        Assert.Equal(60_000, train.Count);
        Assert.Equal(10_000, test.Count);
        Assert.Equal((1, 28, 28), (train.Channels, train.Height, train.Width));
        Assert.Equal(Enumerable.Range(0, 10), train.Labels.Distinct().Order());
        Assert.All(train.ClassCounts(), c => Assert.Equal(6000, c)); // Fashion-MNIST is balanced
        Assert.All(test.ClassCounts(), c => Assert.Equal(1000, c));
        Assert.Equal(9, train.Labels[0]); // the first training image is an ankle boot
        var stats = train.ChannelStatistics();
        Assert.Equal(0.2860, stats.Mean[0], 3); // the commonly quoted Fashion-MNIST mean / std
        Assert.Equal(0.3530, stats.Std[0], 3);
    }
}
