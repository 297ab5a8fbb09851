using System.Text.Json.Nodes;
using ArchDsl.Compiler;
using ArchDsl.Runtime.Data;
using static ArchDsl.Runtime.Tests.DataFolderTests;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The per-sample transforms against torchvision 0.14.1 on PIL (reference/torchvision_crops.py): the same crop box
/// resized bilinearly, and timm's eval Resize(size / crop_pct) + CenterCrop(size) — on a lossless PNG so decoding
/// plays no part — and the random crops' geometry (torchvision's get_params rules).
/// Tolerance: libvips' linear kernel and PIL's BILINEAR are both triangle filters widened by the scale when reducing; on
/// a smooth image the same box gives mean |Δ| ≤ 1 and 99th percentile ≤ 2 of 255 (measured 0.10–0.44 and 1). The eval crop
/// is cut before the resize (the box rounded to whole source pixels): mean ≤ 1, p99 ≤ 3 (measured 0.46 and 2).
/// </summary>
public class DataTransformTests
{
    private const int Size = 32;

    private static (double Mean, double P99) Diff(byte[] ours, JsonArray theirs)
    {
        Assert.Equal(theirs.Count, ours.Length);
        var d = ours.Select((v, i) => (double)Math.Abs(v - (int)theirs[i]!)).Order().ToArray();
        return (d.Average(), d[(int)(d.Length * 0.99)]);
    }

    [Fact]
    public void Resized_crops_and_the_eval_center_crop_agree_with_torchvision_on_fixed_boxes()
    {
        using var tmp = new DataTempDir();
        string png = tmp["img.png"];
        WriteGradient(png, 200, 150);
        var boxes = new[] { new CropBox(0, 0, 200, 150), new CropBox(30, 20, 100, 90), new CropBox(150, 100, 20, 16), new CropBox(5, 7, 64, 128) };
        var json = JsonNode.Parse(ModelTestKit.PythonIn(ModelTestKit.ReferenceDir, "torchvision_crops.py", png, $"{Size}", "0.875",
            "[" + string.Join(",", boxes.Select(b => $"[{b.X},{b.Y},{b.Width},{b.Height}]")) + "]"))!;
        Assert.StartsWith("0.14.1", (string?)json["version"]);
        var crops = json["crops"]!.AsArray();
        for (int k = 0; k < boxes.Length; k++)
        {
            var box = boxes[k];
            var ours = ImageDecoder.DecodeBytes(png, (_, _) => box, Size, Size, 3, out int bands);
            Assert.Equal(3, bands);
            var (mean, p99) = Diff(ours, crops[k]!.AsArray());
            Console.WriteLine($"box {box}: mean |Δ| {mean:F2}, p99 {p99} of 255");
            Assert.True(mean <= 1 && p99 <= 2, $"box {box}: mean |Δ| {mean:F2}, p99 {p99} of 255");
        }
        var eval = ImageDecoder.DecodeBytes(png, (w, h) => CropBoxes.Center(w, h, Size, Size, 0.875), Size, Size, 3, out _);
        var (em, ep) = Diff(eval, json["eval"]!.AsArray());
        Console.WriteLine($"eval crop: mean |Δ| {em:F2}, p99 {ep} of 255");
        Assert.True(em <= 1 && ep <= 3, $"eval crop: mean |Δ| {em:F2}, p99 {ep} of 255");
    }

    [Fact]
    public void Random_resized_crop_boxes_follow_torchvisions_rules()
    {
        var random = new DeterministicRandom(5);
        var areas = new List<double>();
        var ratios = new List<double>();
        for (int i = 0; i < 2000; i++)
        {
            var b = CropBoxes.RandomResized(500, 375, 0.08, 1, 3.0 / 4, 4.0 / 3, random);
            Assert.InRange(b.X, 0, 500 - b.Width);
            Assert.InRange(b.Y, 0, 375 - b.Height);
            double ratio = (double)b.Width / b.Height;
            Assert.InRange(ratio, 0.74, 1.35);
            ratios.Add(ratio);
            areas.Add((double)b.Width * b.Height / (500 * 375));
        }
        Assert.InRange(areas.Min(), 0.075, 0.1);
        // the same distribution as torchvision's get_params (4000 draws there): means within sampling error
        var tv = JsonNode.Parse(ModelTestKit.PythonIn(ModelTestKit.ReferenceDir, "torchvision_crops.py", "areas", "500", "375"))!;
        Assert.InRange(areas.Average(), (double)tv["area"]! - 0.03, (double)tv["area"]! + 0.03);
        Assert.InRange(ratios.Average(), (double)tv["ratio"]! - 0.02, (double)tv["ratio"]! + 0.02);
        // the central fallback when no try fits: a 1000×10 strip, ratio clamped to 4/3
        Assert.Equal(new CropBox(493, 0, 13, 10), CropBoxes.RandomResized(1000, 10, 0.9, 1, 3.0 / 4, 4.0 / 3, new DeterministicRandom(1)));
        // timm's eval crop on 500×375 at 224, crop_pct 0.875: shorter side → 256 (longer 341), crop 224 at (58, 16) → ×375/256
        Assert.Equal(new CropBox(85, 23, 328, 328), CropBoxes.Center(500, 375, 224, 224, 0.875));
    }
}
