using System.Globalization;
using ArchDsl.Compiler;
using ArchDsl.Runtime.Training;

// Test-only entry point over Trainer, run as a child process by the resume tests:
//   ArchDsl.TrainHarness train SPEC RUNS_ROOT [--set k=v]... [--checkpoint-every K] [--log-every L] [--threads T] [--step-delay-ms D]
//   ArchDsl.TrainHarness resume RUN_DIR [--step-delay-ms D]
// Prints "RUNDIR <path>" once the run has started, and progress as plain lines. Exit codes: 0 completed,
// 130 interrupted (a checkpoint was saved), 1 a TrainingException (its message on stderr), 2 bad arguments.
// --step-delay-ms slows every step down (in the progress sink, outside the trainer) so a test can signal mid-epoch.

try
{
    if (args.Length < 2 || (args[0] == "train" && args.Length < 3)) return Usage();
    int firstOption = args[0] == "train" ? 3 : 2;
    var sets = new List<string>();
    int checkpointEvery = 200, logEvery = 1, delay = 0;
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
            default: throw new ArgumentException($"unknown argument {args[i]}");
        }
    }
    var sink = new HarnessSink(delay);
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

sealed class HarnessSink(int delayMs) : IProgressSink
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
        if (delayMs > 0) Thread.Sleep(delayMs);
    }

    public void EpochCompleted(EpochInfo epoch) => _plain.EpochCompleted(epoch);
    public void Message(string text) => _plain.Message(text);
    public void RunEnded(TrainResult result) => _plain.RunEnded(result);
}
