using ArchDsl.Runtime.Data;

namespace ArchDsl.Runtime.Tests;

/// <summary>The compact listing of an image folder (FolderIndex, FolderFiles): the same files, order and paths as the directory gives.</summary>
public class DataFolderIndexTests
{
    [Fact]
    public void The_compact_listing_gives_back_each_files_full_path_in_ordinal_order_with_its_class()
    {
        using var tmp = new DataTempDir();
        string[] names = ["b/z.png", "b/sub/deeper/a.JPG", "b/sub.png", "a/é-ñ 日本.jpeg", "a/x y.webp", "a/Ω/1.gif", "c d/0.tiff"];
        foreach (var n in names) { Directory.CreateDirectory(Path.GetDirectoryName(tmp[n])!); File.WriteAllBytes(tmp[n], [1]); }
        File.WriteAllText(tmp["a/notes.txt"], "ignored");
        File.WriteAllBytes(tmp["a/.hidden.png"], [1]);

        var index = FolderIndex.Scan(tmp.Path, null, strict: false);
        Assert.Equal(["a", "b", "c d"], index.Classes);
        Assert.Equal(1, index.OtherFiles);
        var expected = index.Classes.SelectMany((c, k) => Directory.EnumerateFiles(tmp[c], "*", SearchOption.AllDirectories)
                .Where(f => !Path.GetFileName(f).StartsWith('.') && !f.EndsWith(".txt")).Order(StringComparer.Ordinal).Select(f => (f, k)))
            .ToList();
        Assert.Equal(expected.Select(e => e.f), Enumerable.Range(0, index.Files.Count).Select(index.Files.Path));
        Assert.Equal(expected.Select(e => e.k), index.Labels);
        Assert.All(Enumerable.Range(0, index.Files.Count), i => Assert.True(File.Exists(index.Files.Path(i))));
    }

    [Fact]
    public void A_selected_view_maps_its_samples_onto_the_folders_files()
    {
        using var tmp = new DataTempDir();
        for (int i = 0; i < 6; i++) DataFolderTests.Write(tmp[$"{(i < 2 ? "a" : "b")}/{i}.png"], 4, 4, (byte)(i * 40));
        var set = (FolderSet)DataRegistry.Load(DataFolderTests.Options(tmp.Path, c: 1, size: 4)).Train;
        var view = (FolderSet)set.Select([5, 0, 3]).Select([2, 0]);
        Assert.Equal([tmp["b/3.png"], tmp["b/5.png"]], [view.FilePath(0), view.FilePath(1)]);
        Assert.Equal([1, 1], view.Labels);
        Assert.Equal(3 * 40 / 255f, DataFolderTests.All(view)[0], 2);
    }
}
