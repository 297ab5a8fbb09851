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
    public void A_folder_runs_bad_files_are_reported_once_each_and_libvips_prints_nothing_of_its_own()
    {
        var folder = Path.Combine(_dir, "photos");
        var noise = new Random(3);
        foreach (var split in new[] { "train", "val" })
            foreach (var c in new[] { "a", "b" })
            {
                Directory.CreateDirectory(Path.Combine(folder, split, c));
                for (int i = 0; i < 6; i++)
                {
                    var px = new byte[24 * 20 * 3];
                    noise.NextBytes(px);
                    using var image = NetVips.Image.NewFromMemory(px, 24, 20, 3, NetVips.Enums.BandFormat.Uchar);
                    image.Jpegsave(Path.Combine(folder, split, c, $"{i}.jpg"), q: 90);
                }
            }
        var good = File.ReadAllBytes(Path.Combine(folder, "val", "a", "0.jpg"));
        var truncated = Path.Combine(folder, "val", "a", "truncated.jpg");
        File.WriteAllBytes(truncated, good[..(good.Length / 2)]); // libjpeg warns "premature end of JPEG file"
        var junk = Path.Combine(folder, "train", "b", "junk.jpg");
        File.WriteAllText(junk, "not an image");
        var spec = TempSpec($$"""
            arch Tiny(dim = 8, classes = 2)
            input image[3, 16, 16]
            stem conv(dim, kernel: 4, stride: 4) -> gelu -> batchnorm
            head global_pool -> linear(classes)
            train { data: "folder:{{folder}}", epochs: 1, batch: 8 }
            """);
        // a process of its own: libvips writes its warnings to the process's stderr, which the in-process harness does not see
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Root };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "archc.dll"), "train", spec, "--runs", Path.Combine(_dir, "runs"), "--threads", "1" })
            psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        var output = stdout + stderr.Result;
        Assert.True(p.ExitCode == 0, output);
        Assert.Single(output.Split('\n'), l => l.StartsWith("warning: skipping") && l.Contains(junk)); // the statistics pass and training share one record
        Assert.Single(output.Split('\n'), l => l.StartsWith("warning: skipping") && l.Contains(truncated));
        Assert.DoesNotContain("VIPS", output);
        Assert.DoesNotContain("JPEG", output.Replace(".jpg", ""));
        var summary = File.ReadAllText(Path.Combine(Directory.GetDirectories(Path.Combine(_dir, "runs")).Single(), "summary.yaml"));
        Assert.Contains("train_samples: 12\n", summary);
        Assert.Contains("samples: 12\n", summary);
    }

    [Fact]
    public void Bench_reads_every_training_image_once_before_timing_either_side_when_both_run()
    {
        var folder = Path.Combine(_dir, "bench");
        long bytes = 0;
        for (int i = 0; i < 6; i++)
        {
            var dir = Path.Combine(folder, "train", i % 2 == 0 ? "a" : "b");
            Directory.CreateDirectory(dir);
            using var image = NetVips.Image.NewFromMemory(Enumerable.Range(0, 40 * 30 * 3).Select(k => (byte)(k * (i + 1))).ToArray(), 40, 30, 3, NetVips.Enums.BandFormat.Uchar);
            image.Jpegsave(Path.Combine(dir, $"{i}.jpg"), q: 90);
            bytes += new FileInfo(Path.Combine(dir, $"{i}.jpg")).Length;
        }
        var (code, stdout, err) = Run("data", "bench", Spec("imagenet/vit-ti16.arch"), "--set", $"train.data=\"folder:{folder}\"", "--set", "classes=2",
            "--set", "size=32", "--batch", "2", "--batches", "1", "--workers", "2"); // with the torchvision side (its figures, or why it did not run)
        Assert.True(code == 0, err);
        var lines = stdout.Split('\n');
        Assert.StartsWith($"  page cache: every training image read once before timing (6 files, {bytes / 1e6:F1} MB)", lines[1]); // before either side's figures
        Assert.StartsWith("  archdsl (", lines[2]);
        (code, stdout, err) = Run("data", "bench", Spec("imagenet/vit-ti16.arch"), "--set", $"train.data=\"folder:{folder}\"", "--set", "classes=2",
            "--set", "size=32", "--batch", "2", "--batches", "1", "--no-torchvision");
        Assert.True(code == 0, err);
        Assert.DoesNotContain("page cache", stdout); // one side alone: the pipeline as it is (scripts/data-memory.sh measures its memory so)
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

        // a misspelled set, and the catalogue's names export cannot write (were "unknown data 'fashion-mnst'; known: …, folder,
        // mnist, synthetic" without a suggestion, and "synthetic data is sized by the model's image input, but the input is unknown")
        foreach (var (data, said) in new[]
                 {
                     ("fashion-mnst", "not 'fashion-mnst'; did you mean 'fashion-mnist'?"),
                     ("synthetic", "not 'synthetic'"),
                     ($"folder:{_dir}", $"not 'folder:{_dir}'"),
                 })
        {
            (code, _, err) = Run("data", "export", data, Path.Combine(_dir, "out"));
            Assert.Equal(1, code);
            Assert.Equal($"archc: error: data export writes fashion-mnist, mnist, cifar10 or cifar100 (name:path for another location), {said}", err.TrimEnd());
            Assert.False(Directory.Exists(Path.Combine(_dir, "out")));
        }

        (code, _, err) = Run("data", "bench", Spec("convmixer.arch"), "--no-torchvision");
        Assert.Equal(1, code);
        Assert.Contains("data bench measures image folders", err);
    }
}
