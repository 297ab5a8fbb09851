using System.Text.Json.Nodes;
using ArchDsl.Runtime.Data;
using ArchDsl.Torch;
using NetVips;
using static ArchDsl.Runtime.Tests.DataFolderTests;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The JPEG route of the image-folder decoder (JpegDecoder: libjpeg-turbo crop decode + Pillow's bilinear resample in
/// the native shim) against torchvision 0.14.1 on PIL (reference/torchvision_crops.py), and which files it leaves to
/// libvips. Tolerance: a box decoded at full scale is the same bytes as torchvision's (same libjpeg-turbo, same
/// filter and rounding; measured max |Δ| 0 on 200 random boxes of 500×375 photos-like JPEGs); a box decoded at 1/2 or
/// 1/4 scale (DCT scaling, when the box is at least twice the output) differs by mean |Δ| ≤ 1 and 99th percentile ≤ 3
/// of 255 (measured on such JPEGs: mean 0.42–0.53, p99 2, max 7).
/// </summary>
public class DataJpegTests
{
    private const int Size = 32;

    /// <summary>A w×h JPEG (4:2:0 chroma, quality 90, as PIL writes) of a colour gradient plus fixed pseudo-random noise, so every block and chroma edge differs.</summary>
    internal static void WriteNoisy(string path, int w, int h, int bands = 3)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var px = new byte[w * h * bands];
        uint state = 12345;
        for (int i = 0; i < px.Length; i++)
        {
            state = state * 1664525 + 1013904223;
            int pixel = i / bands, x = pixel % w, y = pixel / w, b = i % bands;
            px[i] = (byte)Math.Clamp((b == 0 ? 255 * x / w : b == 1 ? 255 * y / h : 255 * (x + y) / (w + h)) + (int)(state >> 27) - 16, 0, 255);
        }
        using var image = Image.NewFromMemory(px, w, h, bands, Enums.BandFormat.Uchar);
        image.Jpegsave(path, q: 90, subsampleMode: Enums.ForeignSubsample.On);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(1)]
    public void Jpeg_crops_are_torchvisions_bytes_at_full_scale_and_close_when_dct_scaled(int bands)
    {
        using var tmp = new DataTempDir();
        string jpg = tmp["img.jpg"];
        WriteNoisy(jpg, 200, 150, bands);
        // full scale (box under twice the output): odd offsets and sizes, edges; then 1/2 and 1/4 scale
        var full = new[] { new CropBox(31, 17, 50, 41), new CropBox(150, 100, 50, 50), new CropBox(0, 0, 63, 150), new CropBox(5, 7, 60, 128), new CropBox(137, 9, 17, 13) };
        var scaled = new[] { new CropBox(30, 20, 100, 90), new CropBox(0, 0, 200, 150) };
        var boxes = full.Concat(scaled).ToArray();
        var json = JsonNode.Parse(ModelTestKit.PythonIn(ModelTestKit.ReferenceDir, "torchvision_crops.py", jpg, $"{Size}", "0.875",
            "[" + string.Join(",", boxes.Select(b => $"[{b.X},{b.Y},{b.Width},{b.Height}]")) + "]"))!;
        var crops = json["crops"]!.AsArray();
        for (int k = 0; k < 2 * boxes.Length; k++)
        {
            var box = boxes[k % boxes.Length];
            bool simd = k < boxes.Length; // then the portable resample, which must give the same bytes
            bool was = NativeJpeg.UseSimd(simd);
            byte[]? ours;
            int got;
            try { ours = JpegDecoder.TryDecodeBytes(jpg, (w, h) => { Assert.Equal((200, 150), (w, h)); return box; }, Size, Size, 3, out got); }
            finally { NativeJpeg.UseSimd(was); }
            Assert.NotNull(ours); // taken by the JPEG route, not libvips
            Assert.Equal(bands, got);
            var theirs = crops[k % boxes.Length]!.AsArray().Select(v => (int)v!).Where((_, i) => bands == 3 || i % 3 == 0).ToArray();
            Assert.Equal(theirs.Length, ours.Length);
            var d = ours.Select((v, i) => Math.Abs(v - theirs[i])).Order().ToArray();
            double mean = d.Average();
            int p99 = d[(int)(d.Length * 0.99)];
            Console.WriteLine($"{bands} band(s), simd {simd}, box {box}: mean |Δ| {mean:F3}, p99 {p99}, max {d[^1]} of 255");
            if (k % boxes.Length < full.Length) Assert.True(d[^1] == 0, $"box {box} at full scale: max |Δ| {d[^1]}, not torchvision's bytes");
            else Assert.True(mean <= 1 && p99 <= 3, $"box {box} DCT-scaled: mean |Δ| {mean:F2}, p99 {p99} of 255");
        }
    }

    [Fact]
    public void The_batch_floats_are_the_bytes_through_the_tables_and_a_grey_jpeg_feeds_every_channel()
    {
        using var tmp = new DataTempDir();
        WriteNoisy(tmp["rgb.jpg"], 90, 70);
        WriteNoisy(tmp["grey.jpg"], 90, 70, bands: 1);
        var tables = ImageDecoder.Tables(3, new Normalization([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]));
        foreach (var file in new[] { "rgb.jpg", "grey.jpg" })
        {
            var box = new CropBox(3, 5, 61, 52);
            var floats = new float[3 * Size * Size];
            Assert.True(JpegDecoder.TryDecode(tmp[file], (_, _) => box, Size, Size, tables, floats, out var chosen));
            Assert.Equal(box, chosen);
            var bytes = JpegDecoder.TryDecodeBytes(tmp[file], (_, _) => box, Size, Size, 3, out int bands)!;
            var expected = new float[floats.Length];
            ImageDecoder.ToPlanar(bytes, bands, tables, Size * Size, expected);
            Assert.Equal(expected, floats);
        }
    }

    [Theory]
    [InlineData("png")]
    [InlineData("cmyk")]
    [InlineData("exif-rotated")]
    [InlineData("truncated")]
    [InlineData("corrupt-middle")]
    [InlineData("box-outside")]
    public void Files_the_jpeg_route_does_not_take_are_left_to_libvips(string kind)
    {
        using var tmp = new DataTempDir();
        string path = tmp["x.jpg"];
        var box = new CropBox(0, 0, 40, 30);
        switch (kind)
        {
            case "png": WriteGradient(tmp["x.png"], 40, 30); path = tmp["x.png"]; break;
            case "cmyk":
                using (var cmyk = Image.NewFromMemory(new byte[40 * 30 * 4], 40, 30, 4, Enums.BandFormat.Uchar))
                using (var tagged = cmyk.Copy(interpretation: Enums.Interpretation.Cmyk))
                    tagged.Jpegsave(path, q: 95);
                break;
            case "exif-rotated":
                using (var img = Image.NewFromMemory(new byte[40 * 30], 40, 30, 1, Enums.BandFormat.Uchar))
                using (var rotated = img.Mutate(m => m.Set(GValue.GIntType, "orientation", 6)))
                    rotated.Jpegsave(path, q: 95);
                break;
            case "truncated":
                WriteNoisy(path, 40, 30);
                File.WriteAllBytes(path, File.ReadAllBytes(path)[..^200]);
                break;
            case "corrupt-middle": // the end-of-image marker stays; the entropy-coded data is damaged
                WriteNoisy(path, 40, 30);
                var bytes = File.ReadAllBytes(path);
                for (int i = bytes.Length - 300; i < bytes.Length - 100; i++) bytes[i] = 0xFF;
                File.WriteAllBytes(path, bytes);
                break;
            default: WriteNoisy(path, 40, 30); box = new CropBox(10, 0, 40, 30); break;
        }
        Assert.Null(JpegDecoder.TryDecodeBytes(path, (_, _) => box, 8, 8, 3, out _));
        Assert.False(JpegDecoder.TryDecode(path, (_, _) => box, 8, 8, ImageDecoder.Tables(3, null), new float[3 * 64], out _));
    }
}
