using ArchDsl.Compiler;
using ArchDsl.Runtime.Data;
using NetVips;

namespace ArchDsl.Runtime.Tests;

/// <summary>Image folders: layout and classes, formats and colour modes through libvips, the streaming set's transforms and determinism.</summary>
public class DataFolderTests
{
    /// <summary>Writes a w×h image of constant channel values (1, 2, 3 or 4 bands) in the format of the extension.</summary>
    internal static void Write(string path, int w, int h, params byte[] value)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var pixels = new byte[w * h * value.Length];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = value[i % value.Length];
        using var image = Image.NewFromMemory(pixels, w, h, value.Length, Enums.BandFormat.Uchar);
        if (path.EndsWith(".jpg")) image.Jpegsave(path, q: 95);
        else image.WriteToFile(path);
    }

    /// <summary>A w×h RGB gradient (varies in x and y, so crops and flips show), as a JPEG or PNG.</summary>
    internal static void WriteGradient(string path, int w, int h, int quality = 95)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var pixels = new byte[w * h * 3];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int i = (y * w + x) * 3;
                pixels[i] = (byte)(255 * x / Math.Max(1, w - 1));
                pixels[i + 1] = (byte)(255 * y / Math.Max(1, h - 1));
                pixels[i + 2] = (byte)(255 * (x + y) / Math.Max(1, w + h - 2));
            }
        using var image = Image.NewFromMemory(pixels, w, h, 3, Enums.BandFormat.Uchar);
        if (path.EndsWith(".jpg")) image.Jpegsave(path, q: quality);
        else image.WriteToFile(path);
    }

    internal static DataOptions Options(string root, int c = 3, int size = 8, SampleTransformConfig? transform = null, int workers = 1, bool strict = false) => new()
    {
        Source = $"folder:{root}", Input = Shape.Image(c, size, size), Normalize = false, Workers = workers, Strict = strict,
        Transform = transform ?? new ResizeConfig(null), EvalTransform = new ResizeConfig(null),
    };

    internal static float[] All(ImageSet set, int epoch = 0)
    {
        var images = new float[set.Count * set.SampleSize];
        set.Fill(Enumerable.Range(0, set.Count).ToArray(), images, new long[set.Count], epoch);
        return images;
    }

    [Fact]
    public void Classes_are_sorted_folder_names_files_are_found_recursively_and_other_files_ignored()
    {
        using var tmp = new DataTempDir();
        Write(tmp["train/dog/b.png"], 4, 3, 200);
        Write(tmp["train/dog/sub/a.jpg"], 4, 3, 100);
        Write(tmp["train/cat/x.webp"], 4, 3, 50);
        File.WriteAllText(tmp["train/cat/notes.txt"], "ignored");
        Write(tmp["val/dog/v.png"], 4, 3, 10);
        var splits = DataRegistry.Load(Options(tmp.Path, c: 1, size: 4) with { Transform = new ResizeConfig(null) });
        Assert.Equal(new[] { "cat", "dog" }, splits.ClassNames);
        Assert.Equal(new[] { 0, 1, 1 }, splits.Train.Labels);
        Assert.Equal(new[] { 1 }, splits.Test!.Labels);
        var px = All(splits.Train);
        Assert.Equal(new[] { 50 / 255f, 200 / 255f, 100 / 255f }, new[] { px[0], px[16], px[32] }.Select(v => (float)Math.Round(v * 255) / 255f));
    }

    [Theory]
    [InlineData("g.png", new byte[] { 77 }, new[] { 77, 77, 77 })]                   // grey repeated for a colour model
    [InlineData("rgba.png", new byte[] { 10, 20, 30, 0 }, new[] { 10, 20, 30 })]   // alpha dropped, not composited (PIL convert("RGB"))
    [InlineData("ga.png", new byte[] { 90, 255 }, new[] { 90, 90, 90 })]
    [InlineData("rgb.webp", new byte[] { 200, 100, 50 }, new[] { 200, 100, 50 })]
    public void Colour_modes_become_three_channels(string file, byte[] value, int[] expected)
    {
        using var tmp = new DataTempDir();
        Write(tmp[$"a/{file}"], 6, 6, value);
        var set = DataRegistry.Load(Options(tmp.Path, size: 6)).Train;
        var px = All(set);
        for (int c = 0; c < 3; c++) Assert.InRange(px[c * 36 + 14] * 255, expected[c] - 3, expected[c] + 3); // webp is lossy
    }

    [Fact]
    public void Cmyk_jpeg_is_converted_to_rgb_and_exif_orientation_is_applied()
    {
        using var tmp = new DataTempDir();
        Directory.CreateDirectory(tmp["a"]);
        using (var cmyk = Image.NewFromMemory(Enumerable.Repeat(new byte[] { 0, 255, 255, 0 }, 64).SelectMany(x => x).ToArray(), 8, 8, 4, Enums.BandFormat.Uchar))
        using (var tagged = cmyk.Copy(interpretation: Enums.Interpretation.Cmyk))
            tagged.Jpegsave(tmp["a/cmyk.jpg"], q: 95);
        // 8 wide × 4 high, left half black, right half white; orientation 6 (rotate 90° clockwise) makes it 4 × 8, top black.
        var px = new byte[32];
        for (int y = 0; y < 4; y++) for (int x = 4; x < 8; x++) px[y * 8 + x] = 255;
        using (var img = Image.NewFromMemory(px, 8, 4, 1, Enums.BandFormat.Uchar))
        using (var rotated = img.Mutate(m => m.Set(GValue.GIntType, "orientation", 6)))
            { Directory.CreateDirectory(tmp["b"]); rotated.Jpegsave(tmp["b/exif.jpg"], q: 100); }
        var set = DataRegistry.Load(Options(tmp.Path, c: 1, size: 8) with { Transform = new ResizeConfig(null) }).Train;
        var all = All(set);
        var exif = all.AsSpan(64, 64);
        Assert.True(exif[0] < 0.2f && exif[63] > 0.8f, "the top of the rotated image is the black left half");
        var colour = All(DataRegistry.Load(Options(tmp.Path, c: 3, size: 8)).Train);
        Assert.True(colour[0] > 0.8f && colour[64] < 0.3f && colour[128] < 0.3f, $"CMYK (0, 255, 255, 0) is red, got {colour[0]}, {colour[64]}, {colour[128]}");
    }

    [Fact]
    public void Random_crops_depend_on_seed_epoch_and_sample_only_not_on_workers_batches_or_prefetching()
    {
        using var tmp = new DataTempDir();
        for (int i = 0; i < 12; i++) WriteGradient(tmp[$"{(i % 3 == 0 ? "a" : "b")}/{i:D2}.jpg"], 40 + i * 7, 30 + i * 5);
        var rrc = RandomResizedCropConfig.Default;
        var one = DataRegistry.Load(Options(tmp.Path, size: 16, transform: rrc, workers: 1)).Train;
        var four = DataRegistry.Load(Options(tmp.Path, size: 16, transform: rrc, workers: 4)).Train;
        Assert.Equal(All(one, 1), All(four, 1));
        Assert.NotEqual(All(one, 1), All(one, 2));
        Assert.All(All(one, 1), v => Assert.InRange(v, 0f, 1f));
        // one sample alone is the same as in a batch; the prefetched epoch equals the directly filled one
        var single = new float[one.SampleSize];
        one.Fill(new[] { 5 }, single, new long[1], 1);
        Assert.Equal(All(one, 1).AsSpan(5 * one.SampleSize, one.SampleSize).ToArray(), single);
        using var direct = new Batcher(one, 5, seed: 3, prefetch: 0);
        using var ahead = new Batcher(four, 5, seed: 3, prefetch: 2);
        for (int e = 0; e < 2; e++)
            for (int b = 0; b < direct.BatchesPerEpoch; b++)
            {
                float[] x1 = new float[5 * one.SampleSize], x2 = new float[5 * one.SampleSize];
                long[] y1 = new long[5], y2 = new long[5];
                Assert.Equal(direct.FillBatch(e, b, x1, y1), ahead.FillBatch(e, b, x2, y2));
                Assert.Equal(x1, x2);
                Assert.Equal(y1, y2);
            }
        // a jump (a resume in the middle of an epoch) gives the same batch too
        float[] j1 = new float[5 * one.SampleSize], j2 = new float[5 * one.SampleSize];
        direct.FillBatch(1, 1, j1, new long[5]);
        ahead.FillBatch(1, 1, j2, new long[5]);
        Assert.Equal(j1, j2);
    }

    [Fact]
    public void Normalisation_applies_per_channel_to_decoded_pixels()
    {
        using var tmp = new DataTempDir();
        Write(tmp["a/x.png"], 4, 4, 255, 0, 51);
        var splits = DataRegistry.Load(Options(tmp.Path, size: 4) with { Normalize = true, Normalization = new Normalization([0.5, 0.5, 0.5], [0.5, 0.25, 0.2]) });
        var px = All(splits.Train);
        Assert.Equal(1f, px[0], 5);
        Assert.Equal(-2f, px[16], 5);
        Assert.Equal((0.2f - 0.5f) / 0.2f, px[32], 4);
    }
}
