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

    /// <summary>Makes <paramref name="bad"/> an unreadable image of the given kind.</summary>
    internal static void MakeBad(string bad, string kind, DataTempDir tmp)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(bad)!);
        switch (kind)
        {
            case "truncated":
                WriteGradient(bad, 64, 64);
                var bytes = File.ReadAllBytes(bad);
                File.WriteAllBytes(bad, bytes[..(bytes.Length / 2)]);
                break;
            case "not-an-image": File.WriteAllText(bad, "this is a text file with an image's name"); break;
            case "zero-byte": File.WriteAllBytes(bad, []); break;
            default: File.CreateSymbolicLink(bad, tmp["nowhere.jpg"]); break;
        }
    }

    [Theory]
    [InlineData("truncated")]
    [InlineData("not-an-image")]
    [InlineData("zero-byte")]
    [InlineData("dangling-link")]
    public void An_unreadable_image_is_left_out_of_its_batch_reported_once_or_stops_a_strict_run(string kind)
    {
        using var tmp = Good(out var root);
        string bad = tmp["train/a/9.jpg"]; // sorted between a/3 and b/0: its label (a) differs from the next image's (b)
        MakeBad(bad, kind, tmp);
        var warnings = new List<string>();
        // normalised: the statistics pass (an evaluation view of the same files) meets the bad file first, then training
        var set = DataRegistry.Load(Options(root, size: 6) with { Warn = warnings.Add, Normalize = true }).Train;
        Assert.Equal(9, set.Count);
        var labels = new long[9];
        Assert.Equal(8, set.Fill(Enumerable.Range(0, 9).ToArray(), new float[9 * set.SampleSize], labels));
        Assert.Equal(new long[] { 0, 0, 0, 0, 1, 1, 1, 1, 0 }, labels); // a/0..3, b/0..3: not replaced by b/0 (the last slot is unwritten)
        Assert.Equal(new[] { bad }, set.Unreadable);
        Assert.True(set.IsUnreadable(4));
        Assert.Single(warnings, w => w.Contains(bad)); // once, though two views of the folder read it
        Assert.StartsWith("warning: skipping an unreadable image", warnings.Single(w => w.Contains(bad)));
        if (kind == "dangling-link") Assert.Contains($"'{bad}' cannot be opened for reading", warnings.Single(w => w.Contains(bad))); // the system's reason, not a decoder's
        using var batcher = new Batcher(set, 4, shuffle: false);
        var batches = batcher.Epoch(0).ToList();
        Assert.Equal(new[] { 4, 3, 1 }, batches.Select(b => b.Count));
        Assert.DoesNotContain(4, batches.SelectMany(b => b.Indices));

        if (kind == "zero-byte") { Assert.Throws<DataException>(() => DataRegistry.Load(Options(root, size: 6, strict: true))); return; } // refused by the listing
        var strict = DataRegistry.Load(Options(root, size: 6, strict: true)).Train;
        var e = Assert.Throws<DataException>(() => strict.Fill(new[] { 4 }, new float[strict.SampleSize], new long[1]));
        Assert.Contains(bad, e.Message);
        Assert.Contains("strict", e.Message);
    }

    [Fact]
    public void Reports_stop_after_the_first_few_files_with_one_line_that_points_to_inspect()
    {
        using var tmp = Good(out var root);
        for (int i = 0; i < UnreadableImages.Reported + 3; i++) File.WriteAllText(tmp[$"train/b/x{i}.png"], "not an image");
        var warnings = new List<string>();
        var set = DataRegistry.Load(Options(root, size: 6) with { Warn = warnings.Add }).Train;
        Assert.Equal(8, set.Fill(Enumerable.Range(0, set.Count).ToArray(), new float[set.Count * set.SampleSize], new long[set.Count]));
        Assert.Equal(UnreadableImages.Reported + 3, set.Unreadable.Count);
        Assert.Equal(UnreadableImages.Reported + 1, warnings.Count);
        Assert.Contains($"archc data inspect {root}", warnings[^1]);
    }

    [Fact]
    public void Empty_class_folders_are_noted_or_refused_when_strict_and_so_are_zero_byte_files()
    {
        using var tmp = Good(out var root);
        File.WriteAllBytes(tmp["train/a/empty.jpg"], []);
        Directory.CreateDirectory(tmp["train/c"]);
        File.WriteAllText(tmp["train/c/readme.txt"], "no images here");
        var warnings = new List<string>();
        var splits = DataRegistry.Load(Options(root, size: 6) with { Warn = warnings.Add });
        Assert.Equal(new[] { "a", "b", "c" }, splits.ClassNames); // the empty class keeps its index
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
