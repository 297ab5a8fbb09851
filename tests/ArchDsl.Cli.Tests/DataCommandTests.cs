using static ArchDsl.Cli.Tests.CliHarness;

namespace ArchDsl.Cli.Tests;

/// <summary><c>archc data export | inspect | bench</c> and a folder run through <c>archc train</c>, as a user meets them.</summary>
public sealed class DataCommandTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("archc-data-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A CIFAR-10 binary set of 4 images per batch file (labels r % 3, so three classes appear), a tiny data set to export.</summary>
    string Cifar()
    {
        var dir = Path.Combine(_dir, "cifar");
        Directory.CreateDirectory(dir);
        foreach (var name in Enumerable.Range(1, 5).Select(i => $"data_batch_{i}.bin").Append("test_batch.bin"))
        {
            var data = new byte[4 * 3073];
            for (int r = 0; r < 4; r++)
            {
                data[r * 3073] = (byte)(r % 3);
                for (int i = 0; i < 3072; i++) data[r * 3073 + 1 + i] = (byte)(r * 60 + i % 50);
            }
            File.WriteAllBytes(Path.Combine(dir, name), data);
        }
        return dir;
    }

    [Fact]
    public void Export_writes_an_image_folder_that_inspect_lists_and_train_trains_on()
    {
        var folder = Path.Combine(_dir, "folder");
        var (code, stdout, err) = Run("data", "export", $"cifar10:{Cifar()}", folder);
        Assert.True(code == 0, err);
        Assert.Contains("wrote 20 training and 4 validation images", stdout);
        Assert.True(File.Exists(Path.Combine(folder, "train", "0-airplane", "00.jpg")));

        (code, stdout, err) = Run("data", "inspect", folder, "--workers", "2");
        Assert.True(code == 0, err);
        Assert.Contains($"{Path.Combine(folder, "train")}: 20 images in 10 classes (20 readable)", stdout);
        Assert.Contains("sizes: width 32..32 (median 32), height 32..32 (median 32)", stdout);

        File.WriteAllText(Path.Combine(folder, "train", "0-airplane", "broken.jpg"), "not a jpeg");
        (code, stdout, _) = Run("data", "inspect", folder);
        Assert.Equal(0, code);
        Assert.Contains("unreadable: 1", stdout);
        Assert.Contains("broken.jpg", stdout);

        var spec = TempSpec($$"""
            arch Tiny(dim = 8, classes = 10)
            input image[3, 16, 16]
            stem conv(dim, kernel: 4, stride: 4) -> gelu -> batchnorm
            head global_pool -> linear(classes)
            train { data: folder(path: "{{folder}}", workers: 2), epochs: 1, batch: 8, transform: random_resized_crop(scale: [0.5, 1]), normalize: cifar10 }
            """);
        (code, stdout, err) = Run("train", spec, "--runs", Path.Combine(_dir, "runs"));
        Assert.True(code == 0, err + stdout);
        Assert.Contains("warning: skipping an unreadable image", err + stdout);
        Assert.DoesNotContain("   at ", err);
    }

    [Fact]
    public void Errors_are_located_and_exit_1_or_2_without_a_stack_trace()
    {
        var (code, _, err) = Run("data", "inspect", Path.Combine(_dir, "missing"));
        Assert.Equal(1, code);
        Assert.Contains("does not exist", err);
        Assert.DoesNotContain("   at ", err);

        (code, _, err) = Run("data", "export", "fashion-mnist", _dir, "--quality", "101");
        Assert.Equal(2, code);
        Assert.Contains("--quality", err);

        (code, _, err) = Run("data", "bench", Spec("convmixer.arch"), "--no-torchvision");
        Assert.Equal(1, code);
        Assert.Contains("data bench measures image folders", err);
    }
}
