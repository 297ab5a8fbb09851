using ArchDsl.Cli;
using static ArchDsl.Cli.Tests.CliHarness;

namespace ArchDsl.Cli.Tests;

/// <summary><c>archc export</c> and <c>archc predict</c> as a user meets them: files written whole or not at all, exit codes, no stack traces.</summary>
public sealed class ExportCommandTests : IDisposable
{
    const string TinySpec = TinyTrainSpec;

    readonly string _dir = Directory.CreateTempSubdirectory("archc-export-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string SpecFile()
    {
        var path = Path.Combine(_dir, "tiny.arch");
        File.WriteAllText(path, TinySpec);
        return path;
    }

    string TrainedRun()
    {
        var (code, _, err) = Run("train", SpecFile(), "--runs", Path.Combine(_dir, "runs"));
        Assert.True(code == ExitCodes.Ok, err);
        return Directory.GetDirectories(Path.Combine(_dir, "runs")).Single();
    }

    [Fact]
    public void Export_of_a_run_writes_the_module_and_its_weights_into_the_run()
    {
        var run = TrainedRun();
        var (code, stdout, stderr) = Run("export", run, "--format", "pytorch");
        Assert.True(code == ExitCodes.Ok, stderr);
        foreach (var f in new[] { "tiny.py", "tiny.safetensors" })
        {
            Assert.True(File.Exists(Path.Combine(run, "export", f)), $"{f} is missing");
            Assert.Contains(Path.Combine(run, "export", f), stdout);
        }
        Assert.Contains("MEAN = (", File.ReadAllText(Path.Combine(run, "export", "tiny.py")));
        Assert.Empty(Directory.GetFiles(Path.Combine(run, "export"), "*.tmp"));
    }

    [Fact]
    public void Per_block_drop_path_reaches_the_exported_module_block_by_block()
    {
        // specs/deit.arch: drop_path: drop * i / (depth - 1) with drop 0.1, depth 6 — none in block 0, then 0.02 … 0.1.
        var (code, _, err) = Run("export", TestSupport.Repo.Spec("deit.arch"), "--format", "pytorch", "--out", Path.Combine(_dir, "deit"));
        Assert.True(code == ExitCodes.Ok, err);
        var source = File.ReadAllText(Directory.GetFiles(Path.Combine(_dir, "deit"), "*.py").Single());
        var rates = System.Text.RegularExpressions.Regex.Matches(source, @"DropPath\(([0-9.e-]+)\)").Select(m => double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal([0.02, 0.02, 0.04, 0.04, 0.06, 0.06, 0.08, 0.08, 0.1, 0.1], rates.Select(r => Math.Round(r, 12)));
    }

    [Fact]
    public void Export_of_a_spec_writes_its_initial_weights_where_asked()
    {
        var out_ = Path.Combine(_dir, "out");
        var (code, _, stderr) = Run("export", SpecFile(), "--out", out_);
        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.Equal(["tiny.py", "tiny.safetensors"], Directory.GetFiles(out_).Select(Path.GetFileName).Order());
    }

    [Fact]
    public void Export_onnx_writes_the_model_and_its_class_names()
    {
        var out_ = Path.Combine(_dir, "onnx");
        var (code, _, stderr) = Run("export", SpecFile(), "--format", "onnx", "--out", out_);
        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.Equal(["tiny.classes.txt", "tiny.onnx"], Directory.GetFiles(out_).Select(Path.GetFileName).Order());
        Assert.Equal(["class_0", "class_1", "class_2"], File.ReadAllLines(Path.Combine(out_, "tiny.classes.txt")));
    }

    [Fact]
    public void Export_torchsharp_writes_the_CSharp_module_and_its_weights()
    {
        var out_ = Path.Combine(_dir, "ts");
        var (code, _, stderr) = Run("export", SpecFile(), "--format", "torchsharp", "--out", out_);
        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.Equal(["tiny.cs", "tiny.safetensors"], Directory.GetFiles(out_).Select(Path.GetFileName).Order());
        var source = File.ReadAllText(Path.Combine(out_, "tiny.cs"));
        Assert.Contains("namespace Exported.Tiny;", source);
        Assert.Contains("public sealed class Tiny : nn.Module<Tensor, Tensor>", source);
    }

    [Fact]
    public void A_run_made_before_model_json_exports_the_same_files_from_its_checkpoint_spec_and_data()
    {
        var run = TrainedRun();
        var (code, _, stderr) = Run("export", run, "--out", Path.Combine(_dir, "with-card"));
        Assert.True(code == ExitCodes.Ok, stderr);
        File.Delete(Path.Combine(run, "model.json"));
        (code, _, stderr) = Run("export", run, "--out", Path.Combine(_dir, "old-run"));
        Assert.True(code == ExitCodes.Ok, stderr);
        foreach (var f in new[] { "tiny.py", "tiny.safetensors" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(_dir, "with-card", f)), File.ReadAllBytes(Path.Combine(_dir, "old-run", f)));
        Assert.False(File.Exists(Path.Combine(run, "model.json")), "export must not write into the run");
    }

    [Fact]
    public void A_run_without_a_checkpoint_is_an_error_and_nothing_is_written()
    {
        var run = TrainedRun();
        Directory.Delete(Path.Combine(run, "checkpoints"), recursive: true);
        var (code, _, stderr) = Run("export", run);
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.Contains("has no checkpoint", stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.False(Directory.Exists(Path.Combine(run, "export")));
    }

    [Fact]
    public void An_unwritable_output_folder_is_an_error_and_earlier_files_stay()
    {
        var blocker = Path.Combine(_dir, "a-file");
        File.WriteAllText(blocker, "not a folder");
        var (code, _, stderr) = Run("export", SpecFile(), "--out", Path.Combine(blocker, "sub"));
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.Equal($"archc: error: could not write the export to '{Path.Combine(blocker, "sub")}': '{blocker}' is a file, not a folder", stderr.TrimEnd());
        Assert.DoesNotContain("   at ", stderr);
        Assert.Equal("not a folder", File.ReadAllText(blocker));
        // --out naming the file itself: the same words (was .NET's "The file … already exists.")
        Assert.Contains($"'{blocker}' is a file, not a folder", Run("export", SpecFile(), "--out", blocker).Err);
    }

    [Fact]
    public void Set_with_a_run_is_a_usage_error()
    {
        var (code, _, stderr) = Run("export", _dir, "--set", "dim=4");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("--set and --arch apply to a spec", stderr);
    }

    [Fact]
    public void Predict_prints_the_top_classes_as_json_converts_a_colour_image_and_reports_each_bad_file_then_exits_1()
    {
        var run = TrainedRun();
        var grey = Path.Combine(_dir, "grey.png");
        using (var image = NetVips.Image.Black(8, 8)) image.WriteToFile(grey);
        var (code, stdout, stderr) = Run("predict", run, grey, "--top", "2", "--format", "json");
        Assert.True(code == ExitCodes.Ok, stderr);
        var json = System.Text.Json.JsonDocument.Parse(stdout).RootElement;
        Assert.Equal(grey, json[0].GetProperty("image").GetString());
        var top = json[0].GetProperty("top");
        Assert.Equal(2, top.GetArrayLength());
        Assert.True(top[0].GetProperty("probability").GetDouble() >= top[1].GetProperty("probability").GetDouble());
        Assert.StartsWith("class", top[0].GetProperty("class").GetString());

        // a folder: a colour image (made grey, as the training loader would) and two bad files among good ones
        var folder = Path.Combine(_dir, "photos");
        Directory.CreateDirectory(folder);
        using (var image = NetVips.Image.Black(8, 8, bands: 3)) image.WriteToFile(Path.Combine(folder, "b-colour.png"));
        File.Copy(grey, Path.Combine(folder, "d-grey.png"));
        File.WriteAllText(Path.Combine(folder, "a-junk.jpg"), "not an image");
        File.WriteAllBytes(Path.Combine(folder, "c-empty.png"), []);
        (code, stdout, stderr) = Run("predict", run, folder);
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.Contains(Path.Combine(folder, "b-colour.png") + "\t", stdout);
        Assert.Contains(Path.Combine(folder, "d-grey.png") + "\t", stdout);
        Assert.Contains($"'{Path.Combine(folder, "a-junk.jpg")}' is not an image", stderr);
        Assert.Contains($"'{Path.Combine(folder, "c-empty.png")}'", stderr);
        Assert.Contains("2 of 4 image(s) could not be predicted", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }
}
