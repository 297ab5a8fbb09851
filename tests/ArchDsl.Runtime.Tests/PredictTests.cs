using ArchDsl.Runtime.Export;
using ArchDsl.Runtime.Training;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// <see cref="Predictor"/> (archc predict) on PNG files of an image-folder data set: its top-1 over the test set (images
/// of several sizes, grey and RGB) gives the confusion matrix <c>archc eval</c> gives, so it prepares images as the run's
/// evaluation does; a bad image is reported with its path and the others are predicted.
/// </summary>
[Collection(TorchModelCollection.Name)]
public sealed class PredictTests
{
    static readonly string[] Classes = ["checker", "left", "top"]; // ordinal folder order, as the loader numbers them

    /// <summary>
    /// Grey PNGs in train/ (8×8) and test/ class folders: a checkerboard, a bright left half or top half, with noise. The
    /// test images are of several sizes (8×8 to 10×11) and every other one is RGB, so the run's evaluation converts and
    /// crops them (resize by crop_pct, center crop) as predict must.
    /// </summary>
    static string MakeFolder(string root, int train, int test)
    {
        var rng = new Random(7);
        foreach (var (split, n) in new[] { ("train", train), ("test", test) })
            for (var c = 0; c < Classes.Length; c++)
            {
                var dir = Path.Combine(root, split, Classes[c]);
                Directory.CreateDirectory(dir);
                for (var i = 0; i < n; i++)
                {
                    int w = split == "train" ? 8 : 8 + i % 3, h = split == "train" ? 8 : 8 + i % 4;
                    var px = new byte[w * h];
                    for (var y = 0; y < h; y++)
                        for (var x = 0; x < w; x++)
                        {
                            var on = Classes[c] switch { "left" => x < w / 2, "top" => y < h / 2, _ => (x + y) % 2 == 0 };
                            px[y * w + x] = (byte)Math.Clamp((on ? 170 : 70) + rng.Next(-90, 90), 0, 255);
                        }
                    bool rgb = split == "test" && i % 2 == 1;
                    File.WriteAllBytes(Path.Combine(dir, $"{i:D3}.png"), rgb ? DataTestFiles.RgbPng(w, h, px.SelectMany(v => new[] { v, v, v }).ToArray()) : DataTestFiles.GrayPng(w, h, px));
                }
            }
        return root;
    }

    static string TrainedRun(string root)
    {
        var data = MakeFolder(Path.Combine(root, "data"), train: 24, test: 10);
        var spec = TinySpec.Replace("data: synthetic(train: 192, test: 64, noise: 0.5)", $"data: \"folder:{data}\"")
            .Replace("classes = 4", "classes = 3");
        var graph = Compile(spec, "train.epochs=1", "train.augment=[]");
        return Trainer.Train(graph, Options(root) with { Specs = [new SpecSource("tiny.arch", spec)] }).RunDir;
    }

    [Fact]
    public void Top1_over_the_test_images_equals_evals_confusion_matrix()
    {
        var root = TempRoot();
        var run = TrainedRun(root);
        var eval = Evaluator.Evaluate(run, new EvalOptions { Threads = 1 });

        using var predictor = Predictor.Open(run);
        Assert.Equal(Classes, predictor.Card.Classes);
        var files = Predictor.ImageFiles([Path.Combine(root, "data", "test")]);
        Assert.Equal(30, files.Count);
        var report = predictor.Predict(files, 2);
        Assert.Empty(report.Failures);
        var predictions = report.Predictions;
        var matrix = new long[3, 3];
        foreach (var p in predictions)
        {
            Assert.Equal(2, p.Top.Count);
            Assert.True(p.Top[0].Probability >= p.Top[1].Probability);
            var actual = Array.IndexOf(Classes, Path.GetFileName(Path.GetDirectoryName(p.Image)));
            matrix[actual, Array.IndexOf(Classes, p.Top[0].Class)]++;
        }
        for (var a = 0; a < 3; a++)
            for (var q = 0; q < 3; q++)
                Assert.True(eval.Confusion[a, q] == matrix[a, q], $"eval counts {eval.Confusion[a, q]} images of {Classes[a]} as {Classes[q]}, predict {matrix[a, q]}");
    }

    [Fact]
    public void A_colour_or_larger_image_is_prepared_as_evaluation_does_and_a_bad_one_is_reported_while_the_rest_go_on()
    {
        var root = TempRoot();
        var run = TrainedRun(root);
        using var predictor = Predictor.Open(run);

        var px = DataTestFiles.Pattern(8 * 8, 3);
        var grey = Path.Combine(root, "grey.png");
        File.WriteAllBytes(grey, DataTestFiles.GrayPng(8, 8, px));
        var colour = Path.Combine(root, "colour.png"); // the same picture in RGB, for a model trained on a grey folder
        File.WriteAllBytes(colour, DataTestFiles.RgbPng(8, 8, px.SelectMany(v => new[] { v, v, v }).ToArray()));
        var big = Path.Combine(root, "big.png");
        File.WriteAllBytes(big, DataTestFiles.GrayPng(9, 8, new byte[9 * 8]));
        var junk = Path.Combine(root, "junk.png");
        File.WriteAllText(junk, "not an image");
        var empty = Path.Combine(root, "empty.png");
        File.WriteAllBytes(empty, []);

        var report = predictor.Predict([junk, grey, colour, empty, big], 3);
        Assert.Equal([grey, colour, big], report.Predictions.Select(p => p.Image));
        Assert.Equal([junk, empty], report.Failures.Select(f => f.Image));
        Assert.Contains($"'{junk}' is not an image libvips can read", report.Failures[0].Error);
        Assert.Contains($"'{empty}'", report.Failures[1].Error);
        var (g, c) = (report.Predictions[0].Top, report.Predictions[1].Top);
        Assert.Equal(g.Select(t => t.Class), c.Select(t => t.Class));
        for (var i = 0; i < g.Count; i++) Assert.Equal(g[i].Probability, c[i].Probability, 3); // grey from RGB: within rounding of a level

        var e = Assert.Throws<ExportException>(() => Predictor.ImageFiles([Path.Combine(root, "missing.png")]));
        Assert.Contains("no image or folder", e.Message);
    }

    [Fact]
    public void A_run_without_a_checkpoint_cannot_predict()
    {
        var root = TempRoot();
        var run = TrainedRun(root);
        Directory.Delete(Path.Combine(run, "checkpoints"), recursive: true);
        var e = Assert.Throws<ExportException>(() => Predictor.Open(run));
        Assert.Contains("has no checkpoint", e.Message);
    }
}
