using ArchDsl.Compiler;
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

/// <summary>Normalisation statistics computed from an image folder (FolderSet.ChannelStatistics), streamed a chunk of images at a time.</summary>
public class DataFolderStatisticsTests
{
    [Fact]
    public void Streamed_statistics_equal_the_formula_over_all_images_held_at_once_whatever_the_worker_count()
    {
        using var tmp = new DataTempDir();
        for (int i = 0; i < 41; i++) DataFolderTests.WriteGradient(tmp[$"{(char)('a' + i % 3)}/{i:D2}.jpg"], 20 + i, 16 + i % 7);
        File.WriteAllText(tmp["b/99.jpg"], "not an image"); // left out of the statistics, as of everything else
        var stats = new[] { 1, 3 }.Select(w => DataRegistry.Load(DataFolderTests.Options(tmp.Path, size: 12, transform: RandomResizedCropConfig.Default, workers: w)).Train)
            .Select(s => (Set: (FolderSet)s, Stats: s.ChannelStatistics())).ToList();
        Assert.True(41 > FolderSet.StatisticsChunk(3), "more images than one chunk");
        // the former method: every chosen image (all 41 readable ones, fewer than StatisticsSamples) decoded under the evaluation crop, then one formula
        var eval = stats[0].Set.With(new CenterCropConfig(null, DataCatalog.DefaultCropPct));
        var pixels = new float[eval.Count * eval.SampleSize];
        int read = eval.Fill(Enumerable.Range(0, eval.Count).ToArray(), pixels, new long[eval.Count]);
        Assert.Equal(41, read);
        var expected = new Dataset(pixels[..(read * eval.SampleSize)], new int[read], 3, 12, 12, eval.ClassNames, "all at once").ChannelStatistics();
        foreach (var (_, s) in stats)
        {
            Assert.Equal(expected.Mean, s.Mean); // bit for bit: the same per-image float64 sums, added in the same order
            Assert.Equal(expected.Std, s.Std);
        }
    }

    [Fact]
    public void Statistics_of_constant_images_are_their_values_mean_and_population_std()
    {
        using var tmp = new DataTempDir();
        byte[][] colours = [[0, 100, 255], [50, 100, 0], [250, 100, 51]];
        for (int i = 0; i < colours.Length; i++) DataFolderTests.Write(tmp[$"a/{i}.png"], 8, 8, colours[i]);
        var s = DataRegistry.Load(DataFolderTests.Options(tmp.Path, size: 8)).Train.ChannelStatistics();
        for (int c = 0; c < 3; c++)
        {
            var v = colours.Select(x => x[c] / 255.0).ToArray();
            double mean = v.Average(), std = Math.Sqrt(v.Select(x => (x - mean) * (x - mean)).Average());
            Assert.Equal(mean, s.Mean[c], 6);
            Assert.Equal(std < 1e-8 ? 1 : std, s.Std[c], 6);
        }
    }
}
