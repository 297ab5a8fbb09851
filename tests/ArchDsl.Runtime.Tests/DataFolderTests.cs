using ArchDsl.Runtime.Data;

namespace ArchDsl.Runtime.Tests;

public class DataFolderTests
{
    private static void WriteGrey(string path, int w, int h, byte value)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, DataTestFiles.GrayPng(w, h, Enumerable.Repeat(value, w * h).ToArray()));
    }

    [Fact]
    public void Classes_are_sorted_folder_names_and_images_load_as_planar_floats()
    {
        using var tmp = new DataTempDir();
        WriteGrey(tmp["dog/b.png"], 4, 3, 200);
        WriteGrey(tmp["dog/a.png"], 4, 3, 100);
        WriteGrey(tmp["cat/x.png"], 4, 3, 50);
        File.WriteAllText(tmp["cat/notes.txt"], "ignored");
        var (train, test) = ImageFolderLoader.Load(tmp.Path);
        Assert.Null(test);
        Assert.Equal(new[] { "cat", "dog" }, train.ClassNames);
        Assert.Equal(new[] { 0, 1, 1 }, train.Labels);
        Assert.Equal((1, 3, 4), (train.Channels, train.Height, train.Width));
        Assert.Equal(new[] { 50 / 255f, 100 / 255f, 200 / 255f }, Enumerable.Range(0, 3).Select(i => train.Sample(i)[0]));
    }

    [Fact]
    public void Colour_images_become_three_planes_and_grey_ones_are_repeated()
    {
        using var tmp = new DataTempDir();
        var rgb = new byte[2 * 2 * 3];
        for (int i = 0; i < 4; i++) { rgb[3 * i] = 10; rgb[3 * i + 1] = 20; rgb[3 * i + 2] = (byte)(30 + i); }
        Directory.CreateDirectory(tmp["a"]);
        File.WriteAllBytes(tmp["a/c.png"], DataTestFiles.RgbPng(2, 2, rgb));
        WriteGrey(tmp["b/g.png"], 2, 2, 77);
        var (train, _) = ImageFolderLoader.Load(tmp.Path);
        Assert.Equal(3, train.Channels);
        Assert.Equal(new[] { 10, 10, 10, 10, 20, 20, 20, 20, 30, 31, 32, 33 }.Select(v => v / 255f), train.Sample(0).ToArray());
        Assert.All(train.Sample(1).ToArray(), v => Assert.Equal(77 / 255f, v));
    }

    [Fact]
    public void Train_and_test_subfolders_are_the_splits_with_the_train_class_indices()
    {
        using var tmp = new DataTempDir();
        WriteGrey(tmp["train/a/1.png"], 2, 2, 1);
        WriteGrey(tmp["train/b/1.png"], 2, 2, 2);
        WriteGrey(tmp["train/c/1.png"], 2, 2, 3);
        WriteGrey(tmp["test/c/1.png"], 2, 2, 3);
        var (train, test) = ImageFolderLoader.Load(tmp.Path);
        Assert.Equal(3, train.Count);
        Assert.NotNull(test);
        Assert.Equal(new[] { "a", "b", "c" }, test!.ClassNames);
        Assert.Equal(new[] { 2 }, test.Labels);
    }

    [Fact]
    public void Errors_name_the_offending_file_or_folder()
    {
        using var tmp = new DataTempDir();
        Assert.Contains(tmp["none"], Assert.Throws<DataException>(() => ImageFolderLoader.Load(tmp["none"])).Message);

        WriteGrey(tmp["a/1.png"], 2, 2, 1);
        WriteGrey(tmp["a/2.png"], 3, 2, 1);
        var e = Assert.Throws<DataException>(() => ImageFolderLoader.Load(tmp.Path));
        Assert.Contains(tmp["a/2.png"], e.Message);
        Assert.Contains("same size", e.Message);

        File.Delete(tmp["a/2.png"]);
        File.WriteAllBytes(tmp["a/3.jpg"], new byte[] { 0xFF, 0xD8 });
        e = Assert.Throws<DataException>(() => ImageFolderLoader.Load(tmp.Path));
        Assert.Contains(tmp["a/3.jpg"], e.Message);
        Assert.Contains("PNG", e.Message);

        File.Delete(tmp["a/3.jpg"]);
        File.WriteAllBytes(tmp["a/4.png"], new byte[] { 1, 2, 3 });
        e = Assert.Throws<DataException>(() => ImageFolderLoader.Load(tmp.Path));
        Assert.Contains(tmp["a/4.png"], e.Message);
    }

    [Fact]
    public void Test_class_unknown_to_train_is_refused()
    {
        using var tmp = new DataTempDir();
        WriteGrey(tmp["train/a/1.png"], 2, 2, 1);
        WriteGrey(tmp["test/zebra/1.png"], 2, 2, 1);
        var e = Assert.Throws<DataException>(() => ImageFolderLoader.Load(tmp.Path));
        Assert.Contains("zebra", e.Message);
    }
}
