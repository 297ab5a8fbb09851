using System.Diagnostics;
using System.Text.Json;
using ArchDsl.Cli;
using static ArchDsl.Cli.Tests.CliHarness;

namespace ArchDsl.Cli.Tests;

/// <summary>
/// What researchers expect of train and eval (issue 15 item 8): <c>--name</c>, <c>--log-every</c>, <c>--threads</c>,
/// <c>--init</c>, <c>--resume … --epochs N</c>; eval's progress on stderr and <c>--format json</c>; an option's bad
/// value located at the option as typed; the exported module's load hint.
/// </summary>
public sealed class TrainEvalOptionTests : IDisposable
{
    const string TinySpec = """
        arch Tiny(dim = 8, classes = 3)
        input image[1, 8, 8]
        stem conv(dim, kernel: 2, stride: 2) -> gelu -> batchnorm
        head global_pool -> linear(classes)
        train {
          data: synthetic(train: 64, test: 48)
          epochs: 2
          batch: 16
          seed: 1
        }
        """;

    readonly string _dir = Directory.CreateTempSubdirectory("archc-train-options-").FullName;
    string Runs => Path.Combine(_dir, "runs");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    string SpecFile()
    {
        var path = Path.Combine(_dir, "tiny.arch");
        File.WriteAllText(path, TinySpec);
        return path;
    }

    string Train(params string[] extra)
    {
        var before = Directory.Exists(Runs) ? Directory.GetDirectories(Runs).ToHashSet() : [];
        var (code, _, err) = Run(["train", SpecFile(), "--runs", Runs, .. extra]);
        Assert.True(code == ExitCodes.Ok, err);
        return Directory.GetDirectories(Runs).Single(d => !before.Contains(d));
    }

    [Fact]
    public void Name_log_every_and_threads_reach_the_run()
    {
        var run = Train("--name", "smoke.lr0.01", "--log-every", "3", "--threads", "1");
        Assert.StartsWith("smoke.lr0.01-", Path.GetFileName(run)); // the whole name (it was cut to "smoke.lr0" as if ".01" were an extension)
        using var info = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "run.json")));
        Assert.Equal(3, info.RootElement.GetProperty("log_every").GetInt32());
        Assert.Equal(1, info.RootElement.GetProperty("threads").GetInt32());
        var steps = File.ReadLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(r => r.GetProperty("kind").GetString() == "step").Select(r => r.GetProperty("step").GetInt64()).ToList();
        Assert.Equal([3L, 4, 6, 8], steps); // every 3rd step and each epoch's last (4 batches an epoch)
    }

    [Fact]
    public void More_threads_than_cores_train_with_a_warning_that_names_the_cores()
    {
        var cores = Environment.ProcessorCount;
        var (code, stdout, err) = Run("train", SpecFile(), "--runs", Runs, "--threads", (cores + 1).ToString(), "--epochs", "1");
        Assert.True(code == ExitCodes.Ok, err);   // a warning, as PyTorch's DataLoader warns of more workers than cores
        Assert.Contains($"warning: {cores + 1} threads, but this machine has {cores} core{(cores == 1 ? "" : "s")}: threads beyond the cores " +
                        $"take turns and slow training; use {cores} or fewer (train's --threads, a sweep's threads:)", stdout);
        Assert.DoesNotContain("warning:", Run("train", SpecFile(), "--runs", Runs, "--threads", cores.ToString(), "--epochs", "1").Out);
    }

    [Theory]
    [InlineData("-5")]
    [InlineData("0")]
    public void Resume_with_a_non_positive_epoch_count_says_so_and_leaves_the_run_as_it_was(string epochs)
    {
        var run = Train("--epochs", "1");
        var runJson = File.ReadAllText(Path.Combine(run, "run.json"));
        var (code, stdout, err) = Run("train", "--resume", run, "--epochs", epochs);
        Assert.Equal(ExitCodes.SpecErrors, code);   // as train SPEC --epochs -5 (AD0141), not "give more than 1"
        Assert.Equal("", stdout);
        Assert.Equal($"archc: error: --epochs must be a positive integer, got {epochs}: with --resume it is the run's new number of epochs in all", err.TrimEnd());
        Assert.Equal(runJson, File.ReadAllText(Path.Combine(run, "run.json")));
    }

    [Fact]
    public void Data_parallel_processes_count_their_threads_together()
    {
        var cores = Environment.ProcessorCount;
        Assert.Null(Runtime.Training.Trainer.OversubscribedThreads(1, cores));
        Assert.Equal($"warning: 2 processes × {cores} threads = {2 * cores}, but this machine has {cores} core{(cores == 1 ? "" : "s")}: " +
                     $"threads beyond the cores take turns and slow training; use {Math.Max(1, cores / 2)} or fewer (train's --threads, a sweep's threads:)",
            Runtime.Training.Trainer.OversubscribedThreads(cores, 2));
    }

    [Theory]
    [InlineData("--log-every", "0", "archc: error: --log-every must be at least 1, got 0")]
    [InlineData("--threads", "0", "archc: error: --threads must be at least 1, got 0")]
    public void Bad_interval_or_thread_counts_are_usage_errors(string option, string value, string message)
    {
        var (code, _, err) = Run("train", SpecFile(), "--runs", Runs, option, value);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal(message, err.TrimEnd());
        Assert.False(Directory.Exists(Runs));
    }

    [Fact]
    public void A_bad_option_value_is_reported_against_the_option_as_typed()
    {
        var (code, _, err) = Run("train", SpecFile(), "--runs", Runs, "--epochs", "0");
        Assert.Equal(ExitCodes.SpecErrors, code);
        var lines = err.Split('\n');
        Assert.Equal("<command line>:1:10: error AD0141: train key 'epochs' expects a positive integer but got the integer 0", lines[0]);
        Assert.Equal(" 1 | --epochs 0", lines[1]);
        Assert.Equal("   |          ^", lines[2]);
        Assert.DoesNotContain("train.epochs=0", err);
    }

    [Fact]
    public void Eval_shows_progress_on_stderr_and_writes_json_that_agrees_with_the_text()
    {
        var run = Train();
        var text = Run("eval", run);
        Assert.True(text.Code == ExitCodes.Ok, text.Err);
        Assert.Contains("evaluating test: 48/48 images (100%)", text.Err);
        var json = Run("eval", run, "--format", "json");
        Assert.True(json.Code == ExitCodes.Ok, json.Err);
        using var doc = JsonDocument.Parse(json.Out);
        var r = doc.RootElement;
        Assert.Equal(48, r.GetProperty("samples").GetInt32());
        Assert.Equal("test", r.GetProperty("set").GetString());
        var accuracy = r.GetProperty("accuracy").GetDouble();
        Assert.Contains($"accuracy {(100 * accuracy).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)}%", text.Out);
        var confusion = r.GetProperty("confusion").EnumerateArray().Select(row => row.EnumerateArray().Select(c => c.GetInt64()).ToArray()).ToArray();
        Assert.Equal(3, confusion.Length);
        Assert.Equal(48, confusion.Sum(row => row.Sum()));
        Assert.Equal(accuracy, (double)Enumerable.Range(0, 3).Sum(i => confusion[i][i]) / 48, 12);
        Assert.Equal(3, r.GetProperty("classes").GetArrayLength());
    }

    [Fact]
    public void Init_reports_the_new_head_and_resume_with_epochs_extends_a_finished_run()
    {
        var source = Train("--name", "source");
        var (code, stdout, err) = Run("train", SpecFile(), "--runs", Runs, "--name", "tuned", "--init", source,
            "--set", "classes=5", "--set", "train.data=synthetic(train: 64, test: 48, classes: 5)");
        Assert.True(code == ExitCodes.Ok, err);
        Assert.Contains("re-initialised, shape differs (2): head.1.weight [3, 8] → [5, 8], head.1.bias [3] → [5]", stdout);

        var unknown = Run("train", SpecFile(), "--runs", Runs, "--init", Path.Combine(_dir, "nope"));
        Assert.Equal(ExitCodes.SpecErrors, unknown.Code);
        Assert.Equal($"archc: error: no run directory or checkpoint '{Path.Combine(_dir, "nope")}'", unknown.Err.TrimEnd());

        var extend = Run("train", "--resume", source, "--epochs", "3");
        Assert.True(extend.Code == ExitCodes.Ok, extend.Err);
        Assert.Contains("epoch 3/3 done", extend.Out);
        Assert.True(File.Exists(Path.Combine(source, "summary.2-epochs.yaml")));
        var mixed = Run("train", "--resume", source, "--name", "x");
        Assert.Equal(ExitCodes.Usage, mixed.Code);
    }

    [Fact]
    public void Export_says_which_python_loads_the_module_and_that_command_works()
    {
        var run = Train();
        var (code, stdout, err) = Run("export", run, "--format", "pytorch");
        Assert.True(code == ExitCodes.Ok, err);
        var command = stdout.Split('\n').Single(l => l.StartsWith("  cd ", StringComparison.Ordinal)).Trim();
        Assert.Contains("/usr/bin/python3 -c", command);
        var (exit, stdoutOf, stderrOf) = TestSupport.ChildProcess.Run(new ProcessStartInfo("bash", ["-c", command]));
        var output = stdoutOf + stderrOf;
        Assert.True(exit == 0, output);
        Assert.Contains("Tiny(", output); // the module's repr: the model printed
    }

    [Fact]
    public void Summary_depth_and_batch_and_the_collapsed_dot_from_the_command_line()
    {
        var vit = Spec("imagenet/vit-b16.arch");
        var (code, stdout, err) = Run("summary", vit, "--depth", "2", "--batch", "8");
        Assert.True(code == ExitCodes.Ok, err);
        Assert.Contains("blocks.{0..11} ×12   8 layers", stdout);
        Assert.Contains("Forward activations at batch 8: ", stdout);
        Assert.Equal(ExitCodes.Usage, Run("summary", vit, "--depth", "0").Code);
        Assert.Equal(ExitCodes.Usage, Run("summary", vit, "--batch", "0").Code);
        var dot = Run("graph", vit, "--format", "dot");
        Assert.Contains("label=\"blocks.{0..11} ×12\";", dot.Out);
        Assert.DoesNotContain("\"blocks.1.", dot.Out);
    }
}
