using ArchDsl.Runtime.Data;
using static ArchDsl.Runtime.Tests.DataFolderTests;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The bad-data policy of image folders (FolderIndex, FolderSet): what is skipped with a note (not strict) or refused
/// (strict), and what is always an error — each case made on disk.
/// </summary>
public class DataBadFolderTests
{
    private static DataTempDir Good(out string root)
    {
        var tmp = new DataTempDir();
        for (int i = 0; i < 4; i++) { Write(tmp[$"train/a/{i}.png"], 6, 6, (byte)(10 + i)); Write(tmp[$"train/b/{i}.png"], 6, 6, (byte)(100 + i)); }
        root = tmp.Path;
        return tmp;
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("not-an-image")]
    [InlineData("dangling-link")]
    public void An_unreadable_image_is_skipped_with_its_path_or_stops_a_strict_run(string kind)
    {
        using var tmp = Good(out var root);
        string bad = tmp["train/b/9.jpg"];
        switch (kind)
        {
            case "truncated":
                WriteGradient(bad, 64, 64);
                var bytes = File.ReadAllBytes(bad);
                File.WriteAllBytes(bad, bytes[..(bytes.Length / 2)]);
                break;
            case "not-an-image": File.WriteAllText(bad, "this is a text file with an image's name"); break;
            default: File.CreateSymbolicLink(bad, tmp["nowhere.jpg"]); break;
        }
        var warnings = new List<string>();
        var set = DataRegistry.Load(Options(root, size: 6) with { Warn = warnings.Add }).Train;
        Assert.Equal(9, set.Count);
        var labels = new long[9];
        set.Fill(Enumerable.Range(0, 9).ToArray(), new float[9 * set.SampleSize], labels);
        Assert.Equal(0L, labels[8]); // the last sample (b/9) is replaced by the next readable one: a/0
        Assert.Contains(bad, Assert.Single(((FolderSet)set).Skipped).Key);
        Assert.Contains(warnings, w => w.Contains(bad) && w.StartsWith("warning: skipping an unreadable image"));

        var strict = DataRegistry.Load(Options(root, size: 6, strict: true)).Train;
        var e = Assert.Throws<DataException>(() => strict.Fill(new[] { 8 }, new float[strict.SampleSize], new long[1]));
        Assert.Contains(bad, e.Message);
        Assert.Contains("strict", e.Message);
    }

    [Fact]
    public void Zero_byte_files_and_empty_class_folders_are_noted_and_skipped_or_refused_when_strict()
    {
        using var tmp = Good(out var root);
        File.WriteAllBytes(tmp["train/a/empty.jpg"], []);
        Directory.CreateDirectory(tmp["train/c"]);
        File.WriteAllText(tmp["train/c/readme.txt"], "no images here");
        var warnings = new List<string>();
        var splits = DataRegistry.Load(Options(root, size: 6) with { Warn = warnings.Add });
        Assert.Equal(8, splits.Train.Count);
        Assert.Equal(new[] { "a", "b", "c" }, splits.ClassNames); // the empty class keeps its index
        Assert.Contains(warnings, w => w.Contains("1 zero-byte image file(s) skipped") && w.Contains(tmp["train/a/empty.jpg"]));
        Assert.Contains(warnings, w => w.Contains("class folder(s) without images") && w.Contains("'c'"));
        var e = Assert.Throws<DataException>(() => DataRegistry.Load(Options(root, size: 6, strict: true)));
        Assert.Contains("(strict)", e.Message);
        Assert.Contains("empty.jpg", e.Message);
    }

    [Fact]
    public void A_val_class_missing_from_train_a_folder_without_images_and_a_missing_folder_are_errors()
    {
        using var tmp = Good(out var root);
        Write(tmp["val/zebra/1.png"], 6, 6, 1);
        var e = Assert.Throws<DataException>(() => DataRegistry.Load(Options(root, size: 6)));
        Assert.Contains("'zebra' is not among the 2 training classes", e.Message);

        using var empty = new DataTempDir();
        Directory.CreateDirectory(empty["a"]);
        File.WriteAllText(empty["a/x.txt"], "text");
        e = Assert.Throws<DataException>(() => DataRegistry.Load(Options(empty.Path, size: 6)));
        Assert.Contains("holds no images", e.Message);

        e = Assert.Throws<DataException>(() => DataRegistry.Load(Options(empty["missing"], size: 6)));
        Assert.Contains("does not exist", e.Message);
        Assert.Contains(empty["missing"], e.Message);
    }
}
