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

    /// <summary>Waits for the harness to exit; the limit is a hang guard for a loaded machine, not a speed target.</summary>
    private static void Finish(Child c, int timeoutMs = 300_000)
    {
        if (!c.Process.WaitForExit(timeoutMs))
        {
            c.Process.Kill(entireProcessTree: true);
            Assert.Fail("the harness did not finish in time:\n" + c.Output);
        }
        c.Process.WaitForExit(); // drain the output
    }

    /// <summary>
    /// Waits until the harness, started with <c>--pause-after-step <paramref name="step"/></c>, holds its run there
    /// (it prints <c>PAUSED</c> once a signal would release it), and returns the run directory: the run stands exactly
    /// after that step whatever the load, so what a signal or a kill finds there is fixed.
    /// </summary>
    private static string WaitForPause(Child c, int step)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed < TimeSpan.FromSeconds(300))
        {
            string? dir = null;
            bool paused;
            lock (c.Out)
            {
                dir = c.Out.FirstOrDefault(l => l.StartsWith("RUNDIR ", StringComparison.Ordinal))?["RUNDIR ".Length..];
                paused = c.Out.Contains($"PAUSED {step}");
            }
            if (paused && dir is not null) return dir;
            Assert.False(c.Process.HasExited, "the harness ended before it paused:\n" + c.Output);
            Thread.Sleep(20);
        }
        Assert.Fail("the harness never got that far (a 300 s hang guard):\n" + c.Output);
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
        var child = Start("train", spec, root, "--set", "train.epochs=3", "--threads", "1", "--checkpoint-every", "4", "--pause-after-step", "9");
        var dir = WaitForPause(child, 9); // epoch 2 of 3 (6 steps each), after the step-8 checkpoint
        Assert.Equal(0, kill(child.Process.Id, SIGKILL));
        Finish(child);
        Assert.Equal(137, child.Process.ExitCode);

        var state = Checkpoint.ReadState(Path.Combine(dir, "checkpoints", "last.safetensors"));
        Assert.Equal("periodic", state.Reason);
        Assert.True((state.Step, state.Epoch, state.Batch) == (8, 1, 2), $"expected the mid-epoch checkpoint of step 8, got step {state.Step}, epoch {state.Epoch} batch {state.Batch}");
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
        // The run waits after step 3 for the signal (it cannot finish first, however starved the test process is); the
        // released step then sleeps 500 ms, by when the trainer's own handler, run just after the harness's, has asked it to stop.
        var child = Start("train", spec, root, "--threads", "1", "--checkpoint-every", "0", "--pause-after-step", "3", "--step-delay-ms", "500");
        var dir = WaitForPause(child, 3); // mid epoch 1; no periodic checkpoints at all
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
