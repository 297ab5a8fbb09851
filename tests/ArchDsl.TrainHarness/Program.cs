using System.Globalization;
using System.Runtime.InteropServices;
using ArchDsl.Compiler;
using ArchDsl.Runtime.Training;

// Test-only entry point over Trainer, run as a child process by the resume tests:
//   ArchDsl.TrainHarness train SPEC RUNS_ROOT [--set k=v]... [--checkpoint-every K] [--log-every L] [--threads T] [--step-delay-ms D] [--pause-after-step S]
//   ArchDsl.TrainHarness resume RUN_DIR [--step-delay-ms D] [--pause-after-step S]
// Prints "RUNDIR <path>" once the run has started, and progress as plain lines. Exit codes: 0 completed,
// 130 interrupted (a checkpoint was saved), 1 a TrainingException (its message on stderr), 2 bad arguments.
// --step-delay-ms slows every step down (in the progress sink, outside the trainer). --pause-after-step holds training
// after step S (whatever the trainer does after a step, a periodic checkpoint, comes after the pause) and prints
// "PAUSED S" once a SIGINT/SIGTERM would release it: a test signals or kills a run that stands exactly there, however
// slow or fast the machine is, instead of racing a running one.

try
{
    if (args.Length < 2 || (args[0] == "train" && args.Length < 3)) return Usage();
    int firstOption = args[0] == "train" ? 3 : 2;
    var sets = new List<string>();
    int checkpointEvery = 200, logEvery = 1, delay = 0;
    long? pauseAfter = null;
    int? threads = null;
    for (int i = firstOption; i < args.Length; i++)
    {
        string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
        switch (args[i])
        {
            case "--set": sets.Add(Next()); break;
            case "--checkpoint-every": checkpointEvery = int.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--log-every": logEvery = int.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--threads": threads = int.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--step-delay-ms": delay = int.Parse(Next(), CultureInfo.InvariantCulture); break;
            case "--pause-after-step": pauseAfter = long.Parse(Next(), CultureInfo.InvariantCulture); break;
            default: throw new ArgumentException($"unknown argument {args[i]}");
        }
    }
    var sink = new HarnessSink(delay, pauseAfter);
    TrainResult result;
    if (args[0] == "train")
    {
        var compiled = ArchCompiler.CompileFile(args[1], Override.ParseAll(sets));
        if (!compiled.Success)
        {
            foreach (var d in compiled.Diagnostics) Console.Error.WriteLine(d);
            return 1;
        }
        result = Trainer.Train(compiled.Graph!, new TrainOptions
        {
            RunsRoot = args[2],
            RunName = "harness",
            Specs = [new SpecSource(args[1], File.ReadAllText(args[1]))],
            Overrides = sets,
            CheckpointEvery = checkpointEvery,
            LogEvery = logEvery,
            Threads = threads,
            Progress = sink,
        });
    }
    else if (args[0] == "resume")
        result = Trainer.Resume(args[1], new TrainOptions { Progress = sink });
    else return Usage();
    return result.Outcome == TrainOutcome.Completed ? 0 : 130;
}
catch (TrainingException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}

static int Usage()
{
    Console.Error.WriteLine("usage: ArchDsl.TrainHarness train SPEC RUNS_ROOT [options] | resume RUN_DIR [options]");
    return 2;
}

sealed class HarnessSink(int delayMs, long? pauseAfter) : IProgressSink
{
    private readonly PlainProgressSink _plain = new(Console.Out, TimeSpan.Zero);

    public void RunStarted(RunStartInfo info)
    {
        Console.Out.WriteLine($"RUNDIR {info.RunDir}");
        _plain.RunStarted(info);
    }

    public void StepCompleted(StepInfo step)
    {
        _plain.StepCompleted(step);
        if (step.Step == pauseAfter) Pause(step.Step);
        if (delayMs > 0) Thread.Sleep(delayMs);
    }

    /// <summary>
    /// Holds the training thread until SIGINT or SIGTERM (SIGKILL ends it here). The handlers are registered now, after
    /// the trainer's: .NET runs a signal's handlers newest first, one after another on one thread, and stops at one that
    /// cancels (the trainer's does), so this one must not cancel and must be the newer; the trainer's sets its stop flag
    /// right after, while the released step still sleeps its delay. A 10-minute limit turns a lost signal into a failure.
    /// </summary>
    private static void Pause(long step)
    {
        using var released = new ManualResetEventSlim();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, _ => released.Set());
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, _ => released.Set());
        Console.Out.WriteLine($"PAUSED {step}");
        Console.Out.Flush();
        if (!released.Wait(TimeSpan.FromMinutes(10))) throw new TimeoutException($"paused after step {step} for 10 minutes without a signal");
    }

    public void EpochCompleted(EpochInfo epoch) => _plain.EpochCompleted(epoch);
    public void Message(string text) => _plain.Message(text);
    public void RunEnded(TrainResult result) => _plain.RunEnded(result);
}
