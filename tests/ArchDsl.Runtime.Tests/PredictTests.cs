using ArchDsl.Runtime.Export;
using ArchDsl.Runtime.Training;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// <see cref="Predictor"/> (archc predict) on PNG files of an image-folder data set: its top-1 over the test set gives
/// the confusion matrix <c>archc eval</c> gives; bad images are located errors.
/// </summary>
[Collection(TorchModelCollection.Name)]
public sealed class PredictTests
{
    static readonly string[] Classes = ["checker", "left", "top"]; // ordinal folder order, as the loader numbers them

    /// <summary>8×8 grey PNGs in train/ and test/ class folders: a checkerboard, a bright left half or top half, with noise.</summary>
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
                    var px = new byte[64];
                    for (var y = 0; y < 8; y++)
                        for (var x = 0; x < 8; x++)
                        {
                            var on = Classes[c] switch { "left" => x < 4, "top" => y < 4, _ => (x + y) % 2 == 0 };
                            px[y * 8 + x] = (byte)Math.Clamp((on ? 170 : 70) + rng.Next(-90, 90), 0, 255);
                        }
                    File.WriteAllBytes(Path.Combine(dir, $"{i:D3}.png"), DataTestFiles.GrayPng(8, 8, px));
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
        var predictions = predictor.Predict(files, 2);
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
    public void Bad_images_are_errors_that_name_the_file()
    {
        var root = TempRoot();
        var run = TrainedRun(root);
        using var predictor = Predictor.Open(run);

        var colour = Path.Combine(root, "colour.png");
        File.WriteAllBytes(colour, DataTestFiles.RgbPng(8, 8, new byte[8 * 8 * 3]));
        var e = Assert.Throws<ExportException>(() => predictor.Predict([colour], 1));
        Assert.Contains($"'{colour}' has 3 channels; the model takes 1", e.Message);

        var big = Path.Combine(root, "big.png");
        File.WriteAllBytes(big, DataTestFiles.GrayPng(9, 8, new byte[9 * 8]));
        e = Assert.Throws<ExportException>(() => predictor.Predict([big], 1));
        Assert.Contains($"'{big}' is 9×8 pixels; the model takes 8×8", e.Message);

        var junk = Path.Combine(root, "junk.png");
        File.WriteAllText(junk, "not an image");
        e = Assert.Throws<ExportException>(() => predictor.Predict([junk], 1));
        Assert.Contains($"'{junk}' is not an image libvips can read", e.Message);

        e = Assert.Throws<ExportException>(() => Predictor.ImageFiles([Path.Combine(root, "missing.png")]));
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
