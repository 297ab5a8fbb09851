using System.Diagnostics;
using System.Runtime.InteropServices;
using ArchDsl.Runtime.Training;
using static ArchDsl.Runtime.Tests.TrainerTestSupport;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// Kill-and-resume with real signals: training runs in a child process (tests/ArchDsl.TrainHarness), is
/// stopped mid-epoch by SIGKILL (no chance to save: resume from the last periodic checkpoint) or by
/// SIGINT / SIGTERM (the trainer saves where it is and exits 130), then resumes; the finished run's metrics
/// must equal an uninterrupted run's with the same seed, record for record (timings aside).
/// </summary>
[Collection(TorchModelCollection.Name)]
public class ResumeTests
{
    private const int SIGINT = 2, SIGKILL = 9, SIGTERM = 15;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    private static readonly string Harness = Path.Combine(AppContext.BaseDirectory, "ArchDsl.TrainHarness.dll");

    private static string SpecFile()
    {
        var path = Path.Combine(TempRoot(), "tiny.arch");
        File.WriteAllText(path, TinySpec);
        return path;
    }

    private sealed record Child(Process Process, List<string> Out, List<string> Err)
    {
        public string Output { get { lock (Out) lock (Err) return string.Join("\n", Out) + "\n" + string.Join("\n", Err); } }
    }

    private static Child Start(params string[] args)
    {
        Assert.True(File.Exists(Harness), $"the harness was not built next to the tests: {Harness}");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Harness);
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        var child = new Child(p, new List<string>(), new List<string>());
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (child.Out) child.Out.Add(e.Data); };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (child.Err) child.Err.Add(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return child;
    }

    private static void Finish(Child c, int timeoutMs = 60_000)
    {
        if (!c.Process.WaitForExit(timeoutMs))
        {
            c.Process.Kill(entireProcessTree: true);
            Assert.Fail("the harness did not finish in time:\n" + c.Output);
        }
        c.Process.WaitForExit(); // drain the output
    }

    /// <summary>Waits until the run in <paramref name="root"/> has logged <paramref name="steps"/> step records.</summary>
    private static string WaitForSteps(Child c, string root, int steps)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(60))
        {
            Assert.False(c.Process.HasExited, "the harness ended before it could be stopped:\n" + c.Output);
            var dir = Directory.Exists(root) ? Directory.GetDirectories(root).SingleOrDefault() : null;
            var metrics = dir is null ? null : Path.Combine(dir, RunDirectory.MetricsFile);
            if (metrics is not null && File.Exists(metrics) &&
                MetricsLog.Read(metrics).Records.Count(r => r.GetProperty("kind").GetString() == "step") >= steps)
                return dir!;
            Thread.Sleep(20);
        }
        Assert.Fail("the harness never got that far:\n" + c.Output);
        return null!;
    }

    private static List<string> Uninterrupted(params string[] sets)
    {
        var options = Options(TempRoot(), checkpointEvery: 4, logEvery: 1);
        return Curve(Trainer.Train(CompileTiny(sets), options).RunDir);
    }

    [Fact]
    public void Sigkill_mid_epoch_then_resume_equals_an_uninterrupted_run()
    {
        var spec = SpecFile();
        var root = Path.Combine(Path.GetDirectoryName(spec)!, "runs");
        var child = Start("train", spec, root, "--set", "train.epochs=3", "--threads", "1", "--checkpoint-every", "4", "--step-delay-ms", "150");
        var dir = WaitForSteps(child, root, 9); // epoch 2 of 3, after the step-8 checkpoint
        Assert.Equal(0, kill(child.Process.Id, SIGKILL));
        Finish(child);
        Assert.Equal(137, child.Process.ExitCode);

        var state = Checkpoint.ReadState(Path.Combine(dir, "checkpoints", "last.safetensors"));
        Assert.Equal("periodic", state.Reason);
        Assert.True(state.Step >= 8 && state.Batch is > 0 and < 6, $"expected a mid-epoch checkpoint, got step {state.Step}, epoch {state.Epoch} batch {state.Batch}");
        Assert.False(File.Exists(Path.Combine(dir, RunDirectory.SummaryFile)));

        var resumed = Trainer.Resume(dir, new TrainOptions { HandleSignals = false });
        Assert.Equal(TrainOutcome.Completed, resumed.Outcome);
        Assert.Equal(Uninterrupted("train.epochs=3"), Curve(dir));
        Assert.Contains("resumes: 1", File.ReadAllText(Path.Combine(dir, RunDirectory.SummaryFile)));
    }

    [Theory]
    [InlineData(SIGINT, "SIGINT")]
    [InlineData(SIGTERM, "SIGTERM")]
    public void A_caught_signal_saves_where_it_stands_and_exits_cleanly(int signal, string name)
    {
        var spec = SpecFile();
        var root = Path.Combine(Path.GetDirectoryName(spec)!, "runs");
        // 500 ms a step leaves the signal a window of seconds even when the test process is starved by the suite's other
        // tests (at 150 ms the run once finished before the signal arrived, and exited 0).
        var child = Start("train", spec, root, "--threads", "1", "--checkpoint-every", "0", "--step-delay-ms", "500");
        var dir = WaitForSteps(child, root, 3); // mid epoch 1; no periodic checkpoints at all
        Assert.Equal(0, kill(child.Process.Id, signal));
        Finish(child);
        Assert.True(child.Process.ExitCode == 130, $"exit code {child.Process.ExitCode}:\n{child.Output}");
        Assert.Contains($"stopped by {name}", child.Output);
        Assert.DoesNotContain("   at ", child.Output); // no stack trace

        var state = Checkpoint.ReadState(Path.Combine(dir, "checkpoints", "last.safetensors"));
        Assert.Equal("interrupt", state.Reason);
        Assert.True(state.Step >= 3 && state.Epoch == 0 && state.Batch == state.Step, $"step {state.Step}, epoch {state.Epoch}, batch {state.Batch}");

        var resume = Start("resume", dir);
        Finish(resume);
        Assert.True(resume.Process.ExitCode == 0, resume.Output);
        Assert.Contains("resuming Tiny", resume.Output);
        Assert.Equal(Uninterrupted(), Curve(dir));
    }
}
