using ArchDsl.Runtime.Data;

namespace ArchDsl.Runtime.Tests;

public class DataCifarTests
{
    /// <summary>Record r of file f: label (f + r) % 10, channel c plane filled with (f*31 + r*7 + c*50 + i) % 256.</summary>
    private static void WriteBatches(string dir, int perFile, bool meta = true)
    {
        Directory.CreateDirectory(dir);
        var names = Enumerable.Range(1, 5).Select(i => $"data_batch_{i}.bin").Append("test_batch.bin").ToArray();
        for (int f = 0; f < names.Length; f++)
        {
            var data = new byte[perFile * 3073];
            for (int r = 0; r < perFile; r++)
            {
                data[r * 3073] = (byte)((f + r) % 10);
                for (int c = 0; c < 3; c++)
                    for (int i = 0; i < 1024; i++)
                        data[r * 3073 + 1 + c * 1024 + i] = (byte)((f * 31 + r * 7 + c * 50 + i) % 256);
            }
            File.WriteAllBytes(Path.Combine(dir, names[f]), data);
        }
        if (meta)
            File.WriteAllText(Path.Combine(dir, "batches.meta.txt"),
                "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n");
    }

    [Fact]
    public void Loads_five_train_batches_and_the_test_batch_as_planar_rgb()
    {
        using var tmp = new DataTempDir();
        WriteBatches(tmp.Path, perFile: 3);
        var (train, test) = Cifar10Loader.Load(tmp.Path);
        Assert.Equal(15, train.Count);
        Assert.Equal(3, test.Count);
        Assert.Equal((3, 32, 32), (train.Channels, train.Height, train.Width));
        Assert.Equal(10, train.NumClasses);
        Assert.Equal("truck", train.ClassNames[9]);
        // sample 4 is file 1 (data_batch_2), record 1
        Assert.Equal((1 + 1) % 10, train.Labels[4]);
        var img = train.Sample(4);
        Assert.Equal((31 + 7 + 0 + 5) % 256 / 255f, img[5]);           // R plane, pixel 5
        Assert.Equal((31 + 7 + 50 + 5) % 256 / 255f, img[1024 + 5]);   // G plane
        Assert.Equal((31 + 7 + 100 + 1023) % 256 / 255f, img[2047 + 1024]); // B plane, last pixel
        Assert.Equal((5 + 2) % 10, test.Labels[2]);
    }

    [Fact]
    public void Accepts_the_parent_of_cifar_10_batches_bin_and_falls_back_to_standard_names()
    {
        using var tmp = new DataTempDir();
        WriteBatches(Path.Combine(tmp.Path, "cifar-10-batches-bin"), 1, meta: false);
        var (train, _) = Cifar10Loader.Load(tmp.Path);
        Assert.Equal(5, train.Count);
        Assert.Equal(Cifar10Loader.DefaultClasses, train.ClassNames);
    }

    [Fact]
    public void Truncated_batch_is_reported_with_its_name()
    {
        using var tmp = new DataTempDir();
        WriteBatches(tmp.Path, 2);
        string f = tmp["data_batch_3.bin"];
        File.WriteAllBytes(f, File.ReadAllBytes(f)[..5000]);
        var e = Assert.Throws<DataException>(() => Cifar10Loader.Load(tmp.Path));
        Assert.Contains(f, e.Message);
        Assert.Contains("3073", e.Message);
    }

    [Fact]
    public void Missing_batch_file_is_named()
    {
        using var tmp = new DataTempDir();
        WriteBatches(tmp.Path, 1);
        File.Delete(tmp["test_batch.bin"]);
        var e = Assert.Throws<DataException>(() => Cifar10Loader.Load(tmp.Path));
        Assert.Contains(tmp["test_batch.bin"], e.Message);
    }

    [Fact]
    public void Label_beyond_the_class_list_is_corruption()
    {
        using var tmp = new DataTempDir();
        WriteBatches(tmp.Path, 1);
        var bytes = File.ReadAllBytes(tmp["data_batch_2.bin"]);
        bytes[0] = 200;
        File.WriteAllBytes(tmp["data_batch_2.bin"], bytes);
        var e = Assert.Throws<DataException>(() => Cifar10Loader.Load(tmp.Path));
        Assert.Contains(tmp["data_batch_2.bin"], e.Message);
        Assert.Contains("label 200", e.Message);
    }

    [Fact]
    public void Cifar100_binary_uses_the_fine_label_and_its_names_and_loads_through_the_registry_with_its_statistics()
    {
        using var tmp = new DataTempDir();
        string dir = tmp["cifar-100-binary"];
        Directory.CreateDirectory(dir);
        foreach (var (file, n) in new[] { ("train.bin", 5), ("test.bin", 2) })
        {
            var data = new byte[n * 3074];
            for (int r = 0; r < n; r++)
            {
                data[r * 3074] = (byte)(r % 20);          // coarse label: not the class
                data[r * 3074 + 1] = (byte)(99 - r);      // fine label
                for (int i = 0; i < 3072; i++) data[r * 3074 + 2 + i] = (byte)((r + i) % 256);
            }
            File.WriteAllBytes(Path.Combine(dir, file), data);
        }
        File.WriteAllLines(Path.Combine(dir, "fine_label_names.txt"), Enumerable.Range(0, 100).Select(i => $"fine{i}"));
        var (train, test) = Cifar10Loader.Load100(tmp.Path);
        Assert.Equal((5, 2, 100), (train.Count, test.Count, train.NumClasses));
        Assert.Equal(new[] { 99, 98, 97, 96, 95 }, train.Labels);
        Assert.Equal("fine99", train.ClassNames[train.Labels[0]]);
        Assert.Equal(1 / 255f, train.Sample(1)[0]);
        Assert.Equal(2 / 255f, train.Sample(1)[1]);

        File.WriteAllBytes(Path.Combine(dir, "test.bin"), new byte[3073]);
        var e = Assert.Throws<DataException>(() => Cifar10Loader.Load100(tmp.Path));
        Assert.Contains("3074-byte records", e.Message);
        Assert.Contains("test.bin", e.Message);

        var stats = ArchDsl.Compiler.DataCatalog.Statistics["cifar100"];
        File.WriteAllBytes(Path.Combine(dir, "test.bin"), new byte[3074]);
        var splits = DataRegistry.Load(new DataOptions { Source = $"cifar100:{tmp.Path}", Normalization = new Normalization(stats.Mean, stats.Std) });
        Assert.Equal((0 - 0.5071) / 0.2673, ((Dataset)splits.Test!).Images[0], 4);
    }
}
