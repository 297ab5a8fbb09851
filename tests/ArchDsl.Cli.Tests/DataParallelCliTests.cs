using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using ArchDsl.Torch;

namespace ArchDsl.Cli.Tests;

/// <summary>
/// <c>archc train --nproc 2</c> as a user runs it: real worker processes of the built CLI on loopback (Gloo). Equivalence
/// with one process (parameters after 50 steps, metrics), a killed worker, a resumed run, and the rendezvous errors.
/// </summary>
public class DataParallelCliTests
{
    static string Spec(string norm, int train, bool syncBn) => $$"""
        arch Tiny(dim = 8, depth = 1, kernel = 3, patch = 2, classes = 4, act = gelu, norm = {{norm}}, residual = token)
        input image[1, 8, 8]
        stem conv(dim, kernel: patch, stride: patch) -> act -> norm
        mixer * depth {
          token:    conv(dim, kernel: kernel, groups: dim, padding: same) -> act -> norm
          channel:  conv(dim, kernel: 1) -> act -> norm
          residual: residual
        }
        head avgpool -> linear(classes)
        train {
          data: synthetic(train: {{train}}, test: 64, noise: 0.5)
          epochs: 2
          batch: 32
          optimizer: adamw(lr: 0.01, weight_decay: 0.01)
          seed: 3
          {{(syncBn ? "sync_bn: true" : "")}}
        }
        """;

    static string Temp()
    {
        var dir = Path.Combine(Path.GetTempPath(), "archdsl-ddp-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>The built CLI (beside this test assembly) as a process: <c>dotnet archc.dll args</c>.</summary>
    static Process Start(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = CliHarness.Root };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "archc.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var k in new[] { "RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "TORCHELASTIC_USE_AGENT_STORE" }) psi.Environment.Remove(k);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        return Process.Start(psi)!;
    }

    static (int Code, string Out, string Err) Run(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null, int seconds = 240)
    {
        using var p = Start(args, env);
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(seconds * 1000)) { p.Kill(entireProcessTree: true); throw new TimeoutException($"archc {string.Join(" ", args)} ran over {seconds} s"); }
        p.WaitForExit();
        return (p.ExitCode, output.Result, err.Result);
    }

    static string Train(string spec, string runs, params string[] more)
    {
        var r = Run(["train", spec, "--runs", runs, .. more]);
        Assert.True(r.Code == 0, $"exit {r.Code}\n{r.Out}\n{r.Err}");
        return Directory.GetDirectories(runs).Single();
    }

    static double MaxParamDiff(string runA, string runB)
    {
        var a = Safetensors.Load(Path.Combine(runA, "checkpoints", "last.safetensors"));
        var b = Safetensors.Load(Path.Combine(runB, "checkpoints", "last.safetensors"));
        var keys = a.Keys.Where(k => k.StartsWith("model.", StringComparison.Ordinal) && !k.EndsWith("num_batches_tracked", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(keys);
        return keys.Max(k => TestSupport.Tensors.MaxAbsDiff(a[k], b[k]));
    }

    /// <summary>Every epoch record's losses and accuracies, in order.</summary>
    static List<double> EpochScores(string run) =>
        File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.GetProperty("kind").GetString() == "epoch")
            .SelectMany(e => new[] { "train_loss", "train_acc", "test_loss", "test_acc" }.Select(k => e.GetProperty(k).GetDouble())).ToList();

    /// <summary>
    /// 2 processes × 16 images with sync_bn end 50 steps (800 images, batch 32, 2 epochs) with the parameters and
    /// buffers of 1 process × 32 to within 1e-5, and the same epoch metrics; likewise a LayerNorm model without sync_bn.
    /// </summary>
    [Theory]
    [InlineData("batch", true)]
    [InlineData("layer", false)]
    public void Two_processes_match_one_process_with_the_global_batch(string norm, bool syncBn)
    {
        var dir = Temp();
        var spec = Path.Combine(dir, "tiny.arch");
        File.WriteAllText(spec, Spec(norm, 800, syncBn));
        var one = Train(spec, Path.Combine(dir, "one"), "--threads", "1");
        var two = Train(spec, Path.Combine(dir, "two"), "--nproc", "2");
        var diff = MaxParamDiff(one, two);
        Assert.True(diff <= 1e-5, $"max abs parameter difference after 50 steps: {diff:g4}");
        var (s1, s2) = (EpochScores(one), EpochScores(two));
        Assert.Equal(s1.Count, s2.Count);
        Assert.All(s1.Zip(s2), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-5, $"{p.First} vs {p.Second}"));
        // The evaluation's confusion matrix, summed over the ranks' shards, is the one process's.
        Assert.Equal(Confusion(one), Confusion(two));
        var summary = File.ReadAllText(Path.Combine(two, "summary.yaml"));
        Assert.Contains("world_size: 2", summary);
        Assert.Contains("batch_per: global", summary);
        Assert.Contains("batch_per_rank: 16", summary);
        Assert.Contains("backend: gloo", summary);
        // The all-reduce per step carries every parameter's gradient (float32), in time and bandwidth as measured.
        long parameters = long.Parse(SummaryValue(summary, "parameters"));
        Assert.Equal(4 * parameters, long.Parse(SummaryValue(summary, "bytes_per_step")));
        Assert.True(double.Parse(SummaryValue(summary, "time_per_step_s"), System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.True(double.Parse(SummaryValue(summary, "bandwidth_mb_s"), System.Globalization.CultureInfo.InvariantCulture) > 0);
        Assert.Single(Directory.GetDirectories(Path.Combine(dir, "two")));
    }

    /// <summary>confusion.json's set, epoch and counts (the classes are the same names in both).</summary>
    static string Confusion(string run)
    {
        var root = JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "confusion.json"))).RootElement;
        return $"{root.GetProperty("set")} {root.GetProperty("epoch")} {root.GetProperty("counts").GetRawText()}";
    }

    /// <summary>The value of the first summary.yaml line <c>key: value</c> at any indentation, without its comment.</summary>
    static string SummaryValue(string summary, string key) =>
        summary.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith(key + ": ", StringComparison.Ordinal))[(key.Length + 2)..].Split('#')[0].Trim();

    /// <summary>
    /// A run of 2 processes stopped after epoch 1 (its first epoch ended and saved) resumes with 1 process, and one of
    /// 1 process with 2: positions count global batches, so with LayerNorm both end as the uninterrupted 1-process run
    /// (parameters and epoch metrics within 1e-5); the resumed run's log says what changed, run.json and summary.yaml
    /// keep each start's world size, and archc diff / report show world size and per-rank batch.
    /// </summary>
    [Fact]
    public void A_run_resumes_with_another_world_size()
    {
        var dir = Temp();
        var spec = Path.Combine(dir, "tiny.arch");
        File.WriteAllText(spec, Spec("layer", 800, syncBn: false));
        var whole = Train(spec, Path.Combine(dir, "whole"), "--threads", "1");
        var twoThenOne = Train(spec, Path.Combine(dir, "two-one"), "--nproc", "2", "--epochs", "1");
        var resumed = Run(["train", "--resume", twoThenOne, "--epochs", "2", "--threads", "1"]);
        Assert.True(resumed.Code == 0, resumed.Out + resumed.Err);
        Assert.Contains("world size changed: the checkpoint was saved by 2 processes, this resume runs 1 process", resumed.Out);
        Assert.Contains("each rank's shard of every global batch: 32 images in one process instead of 16 images per rank", resumed.Out);
        var oneThenTwo = Train(spec, Path.Combine(dir, "one-two"), "--threads", "1", "--epochs", "1");
        resumed = Run(["train", "--resume", oneThenTwo, "--epochs", "2", "--nproc", "2"]);
        Assert.True(resumed.Code == 0, resumed.Out + resumed.Err);
        Assert.Contains("16 images per rank instead of 32 images in one process", resumed.Out);
        foreach (var (run, sizes) in new[] { (twoThenOne, "[2, 1]"), (oneThenTwo, "[1, 2]") })
        {
            Assert.True(MaxParamDiff(whole, run) <= 1e-5, $"{run}: max abs parameter difference {MaxParamDiff(whole, run):g4}");
            var (a, b) = (EpochScores(whole), EpochScores(run));
            Assert.Equal(a.Count, b.Count);
            Assert.All(a.Zip(b), p => Assert.True(Math.Abs(p.First - p.Second) <= 1e-5, $"{p.First} vs {p.Second}"));
            Assert.Contains($"world_sizes: {sizes}", File.ReadAllText(Path.Combine(run, "summary.yaml")));
        }

        var diff = Run(["diff", whole, oneThenTwo]);
        Assert.True(diff.Code == 0, diff.Out + diff.Err);
        Assert.Contains("launch: 2 settings\n  ~ world_size: 1 → 2\n  ~ batch_per_rank: 32 → 16\n", diff.Out);
        var report = Run(["report", whole, oneThenTwo, "-o", Path.Combine(dir, "report")]);
        Assert.True(report.Code == 0, report.Out + report.Err);
        var table = File.ReadAllLines(Path.Combine(dir, "report", "metrics.md")).Where(l => l.StartsWith('|')).ToList();
        Assert.EndsWith("| images/s | world size | batch per rank |", table[0]);
        Assert.EndsWith("| 1 | 32 |", table[2]);
        Assert.EndsWith("| 2 | 16 |", table[3]);
    }

    /// <summary>
    /// <c>--device cuda --nproc 2</c> on a libtorch without NCCL (this CPU build): every rank refuses before the rendezvous,
    /// exit 1, the reason and no stack trace. (Which backend a device gets is DataParallelLaunchTests'.)
    /// </summary>
    [Fact]
    public void Cuda_with_nproc_on_a_libtorch_without_nccl_is_a_clear_error()
    {
        if (torch.distributed.ProcessGroupNCCL.is_available) return; // a shim built with NCCL: this refusal does not apply
        var dir = Temp();
        var spec = Path.Combine(dir, "tiny.arch");
        File.WriteAllText(spec, Spec("layer", 64, false));
        var r = Run(["train", spec, "--runs", Path.Combine(dir, "runs"), "--nproc", "2", "--device", "cuda"]);
        Assert.Equal(1, r.Code);
        Assert.Contains("archc: error: data-parallel training on device 'cuda' needs c10d's NCCL backend, which this libtorch does not have", r.Err);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.False(Directory.Exists(Path.Combine(dir, "runs")) && Directory.EnumerateFileSystemEntries(Path.Combine(dir, "runs")).Any());
    }

    /// <summary>
    /// SIGKILL to rank 1 mid-run: the launcher exits 1 within 60 s naming rank 1 (rank 0 stops on its own in seconds,
    /// and the launcher kills it 30 s after the failure at the latest); the run directory resumes with 2 processes and
    /// ends with the metrics of an uninterrupted 2-process run.
    /// </summary>
    /// <summary>The step of the run's last checkpoint under <paramref name="runs"/> when it is a periodic one, else null.</summary>
    static long? PeriodicCheckpointStep(string runs)
    {
        if (!Directory.Exists(runs) || Directory.GetDirectories(runs).SingleOrDefault() is not { } run) return null;
        var last = Path.Combine(run, "checkpoints", "last.safetensors");
        if (!File.Exists(last)) return null; // written by rename: once there, it is whole
        var state = Runtime.Training.Checkpoint.ReadState(last);
        return state.Reason == "periodic" ? state.Step : null;
    }

    [Fact]
    public void A_killed_worker_stops_the_run_naming_its_rank_and_the_run_resumes()
    {
        var dir = Temp();
        var spec = Path.Combine(dir, "tiny.arch");
        File.WriteAllText(spec, Spec("batch", 3200, syncBn: true));
        var runs = Path.Combine(dir, "killed");
        using var p = Start(["train", spec, "--runs", runs, "--nproc", "2", "--checkpoint-every", "5"]);
        var output = p.StandardOutput.ReadToEndAsync();
        int? pid = null;
        var err = new System.Text.StringBuilder();
        while (p.StandardError.ReadLine() is { } line)
        {
            err.AppendLine(line);
            if (line.StartsWith("archc: rank 1 of 2: pid ", StringComparison.Ordinal)) { pid = int.Parse(line.Split(' ').Last()); break; }
        }
        Assert.True(pid is not null, err.ToString());
        // Kill rank 1 as soon as the first periodic checkpoint (step 5 of 200) is saved: mid-run, whatever the load, with
        // 195 steps to go (a fixed wait could outlast the whole run on a fast machine, or end before step 5 on a slow one).
        var deadline = Stopwatch.StartNew();
        while (PeriodicCheckpointStep(runs) is not >= 5)
        {
            Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(300), "no periodic checkpoint within 300 s (a hang guard)");
            Thread.Sleep(20);
        }
        using (var victim = Process.GetProcessById(pid.Value)) victim.Kill();
        var killedAt = Stopwatch.StartNew();
        var rest = p.StandardError.ReadToEndAsync();
        Assert.True(p.WaitForExit(60_000), "the launcher did not exit within 60 s of the kill");
        var stderr = err + rest.Result;
        Assert.True(killedAt.Elapsed < TimeSpan.FromSeconds(60));
        Assert.Equal(1, p.ExitCode);
        Assert.Contains("rank 1", stderr.Split('\n').Last(l => l.Contains("error", StringComparison.Ordinal)));
        var run = Directory.GetDirectories(runs).Single();
        Assert.False(File.Exists(Path.Combine(run, "summary.yaml")), "the killed run finished?");

        var resumed = Run(["train", "--resume", run, "--nproc", "2"]);
        Assert.True(resumed.Code == 0, resumed.Out + resumed.Err);
        var whole = Train(spec, Path.Combine(dir, "whole"), "--nproc", "2");
        Assert.Equal(EpochScores(whole), EpochScores(run));
    }

    /// <summary>
    /// A rendezvous port in use: the launcher, which serves the store, says so before starting any worker; a rank 0
    /// started with torchrun's variables, which serves it itself, says so too. Both exit 1.
    /// </summary>
    [Fact]
    public void A_rendezvous_port_in_use_is_a_clear_error()
    {
        var dir = Temp();
        var spec = Path.Combine(dir, "tiny.arch");
        File.WriteAllText(spec, Spec("layer", 64, false));
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var r = Run(["train", spec, "--runs", Path.Combine(dir, "runs"), "--nproc", "2", "--master-port", port]);
        Assert.Equal(1, r.Code);
        Assert.Contains($"archc: error: cannot listen on 127.0.0.1:{port} for the rendezvous (", r.Err);
        Assert.DoesNotContain("archc: rank", r.Err); // no worker was started
        var rank0 = Run(["train", spec, "--runs", Path.Combine(dir, "runs"), "--threads", "1"],
            new Dictionary<string, string> { ["RANK"] = "0", ["WORLD_SIZE"] = "2", ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = port });
        Assert.Equal(1, rank0.Code);
        Assert.Contains($"rank 0 cannot listen on 127.0.0.1:{port}", rank0.Err);
        Assert.False(Directory.Exists(Path.Combine(dir, "runs")) && Directory.EnumerateFileSystemEntries(Path.Combine(dir, "runs")).Any());
    }

    [Fact]
    public void An_unreachable_master_and_a_world_size_mismatch_are_clear_errors()
    {
        var dir = Temp();
        var spec = Path.Combine(dir, "tiny.arch");
        File.WriteAllText(spec, Spec("layer", 64, false));
        Dictionary<string, string> Env(int rank, int world, int port, int timeout, bool agentStore = false) => new()
        {
            ["RANK"] = $"{rank}", ["WORLD_SIZE"] = $"{world}", ["MASTER_ADDR"] = "127.0.0.1", ["MASTER_PORT"] = $"{port}", ["ARCHDSL_DIST_TIMEOUT"] = $"{timeout}",
            ["TORCHELASTIC_USE_AGENT_STORE"] = agentStore ? "True" : "False",
        };
        // Nobody can listen on a port held closed, for as long as the test holds it (a port that was only free when
        // looked at could meanwhile be another test's rendezvous).
        using (var closed = new TestSupport.ClosedPort())
        {
            var watch = Stopwatch.StartNew();
            var alone = Run(["train", spec, "--runs", Path.Combine(dir, "a"), "--threads", "1"], Env(1, 2, closed.Port, 5));
            // It waits for the master about the 5 s timeout, neither failing at once nor hanging (the upper bound is only a
            // hang guard). c10d's TCPStore counts the timeout from its own connect attempts, so the whole process can end a
            // little under 5 s (4.78 s seen).
            Assert.InRange(watch.Elapsed.TotalSeconds, 3, 240);
            Assert.Equal(1, alone.Code);
            Assert.Contains("rank 1 could not reach the master at 127.0.0.1:", alone.Err);
            // glog is initialised (Torch.GoogleLogging): c10d's own error line still reaches stderr, without the
            // "WARNING: Logging before InitGoogleLogging() is written to STDERR" above it
            Assert.Contains("] [c10d] The client socket has timed out", alone.Err);
            Assert.DoesNotContain("Logging before InitGoogleLogging", alone.Err);
        }

        // The rendezvous store served here, as torchrun's agent serves it (TORCHELASTIC_USE_AGENT_STORE): its port is held
        // from before either process starts, so both meet there whenever each gets to it under load.
        using var store = new torch.distributed.TCPStore("127.0.0.1", 0, 2, is_master: true, TimeSpan.FromSeconds(240), wait_for_workers: false);
        using var master = Start(["train", spec, "--runs", Path.Combine(dir, "b"), "--threads", "1"], Env(0, 2, store.port, 240, agentStore: true));
        var masterErr = master.StandardError.ReadToEndAsync();
        _ = master.StandardOutput.ReadToEndAsync(); // drained, so a full pipe never blocks it
        var worker = Run(["train", spec, "--runs", Path.Combine(dir, "b"), "--threads", "1"], Env(1, 3, store.port, 240, agentStore: true));
        Assert.True(master.WaitForExit(240_000), "rank 0 did not exit within 240 s");
        master.WaitForExit();
        Assert.Equal(1, worker.Code);
        Assert.Equal(1, master.ExitCode);
        Assert.Contains("world size mismatch", worker.Err);
        Assert.Contains("world size mismatch", masterErr.Result);
    }
}
