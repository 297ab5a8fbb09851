using System.CommandLine;
using ArchDsl.Compiler;
using ArchDsl.Dsl;
using ArchDsl.Presentation;
using ArchDsl.Runtime.Model;
using ArchDsl.Runtime.Training;

namespace ArchDsl.Cli;

// Training, evaluation and the runtime benchmark. Argument parsing and output only; the work is done
// by Runtime/Engine (Trainer, Evaluator, Bench); the progress display is Presentation/.
public static partial class Commands
{
    static Option<string?> DeviceOption() => new("--device") { Description = "cpu | cuda | cuda:N (default: the train section's, else cpu)" };

    /// <summary>Why <paramref name="device"/> names no device (the binding's torch.device reading, as train's), or null.</summary>
    static string? UnknownDevice(string? device) => device is not null && Torch.torch.Device.TryParse(device, out var why) is null ? why : null;

    // ---- train ---------------------------------------------------------------------------------------

    static Command Train(Output output)
    {
        var spec = new Argument<string?>("spec") { Description = "the .arch spec to train (leave out with --resume)", Arity = ArgumentArity.ZeroOrOne };
        var set = SetOption(); var arch = ArchOption(); var device = DeviceOption();
        var epochs = new Option<int?>("--epochs") { Description = "same as --set train.epochs=N; with --resume, extend the run to N epochs in all (the schedule is recomputed for N)" };
        var batch = new Option<int?>("--batch") { Description = "same as --set train.batch=N" };
        var seed = new Option<long?>("--seed") { Description = "same as --set train.seed=N" };
        var resume = new Option<string?>("--resume") { Description = "continue the run in this directory from its last checkpoint (with --epochs N: extend it to N epochs)" };
        var init = new Option<string?>("--init") { Description = "start from another run's weights (its best checkpoint if chosen on val, else last; or a checkpoint file): tensors of the same name and shape are loaded, the rest keep their initialisation, and a report says which (as timm's --initial-checkpoint)" };
        var ampTrain = new Option<string?>("--amp") { Description = "bf16 | fp16 | off: same as --set train.amp=X" };
        var runs = new Option<string>("--runs") { Description = "where run directories are made", DefaultValueFactory = _ => "runs" };
        var name = new Option<string?>("--name") { Description = "the run directory's name before its time stamp (default: the spec file's name): runs/<name>-<time>/" };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "also save the last checkpoint every N steps (0: epoch ends only)", DefaultValueFactory = _ => 200 };
        var logEvery = new Option<int>("--log-every") { Description = "write a step record (loss, accuracy, lr) to metrics.jsonl every N steps, and at each epoch's last step", DefaultValueFactory = _ => 50 };
        var threads = new Option<int?>("--threads") { Description = "libtorch CPU threads (default: all cores; a resumed run keeps its own unless given)" };
        var cmd = new Command("train", "train a spec (data, schedule, augmentation from its train section); writes runs/<spec>-<time>/")
            { spec, set, arch, epochs, batch, seed, device, resume, init, runs, name, checkpointEvery, logEvery, threads, ampTrain };
        var launch = LaunchFlags(cmd, threads);
        cmd.SetAction(p =>
        {
            if (p.GetValue(logEvery) < 1) throw new UsageException($"--log-every must be at least 1, got {p.GetValue(logEvery)}");
            if (p.GetValue(checkpointEvery) < 0) throw new UsageException($"--checkpoint-every must be at least 0, got {p.GetValue(checkpointEvery)}");
            if (Launch(p, launch, output) is { } launched) return launched;
            var world = Runtime.Distributed.DistributedOptions.FromEnvironment();
            if (p.GetValue(threads) is < 1) throw new UsageException($"--threads must be at least 1, got {p.GetValue(threads)}");
            var options = new TrainOptions
            {
                RunsRoot = p.GetValue(runs)!,
                RunName = p.GetValue(name),
                Device = p.GetValue(device),
                Threads = p.GetValue(threads),
                CheckpointEvery = p.GetValue(checkpointEvery),
                LogEvery = p.GetValue(logEvery),
                Init = p.GetValue(init),
                Progress = world is { IsMain: false } ? NullProgressSink.Instance : new RunReportSink(ProgressFor(output)),   // report.html + charts in the run directory, each epoch
                Distributed = world,
            };
            if (p.GetValue(resume) is { } runDir)
            {
                if (p.GetValue(spec) is not null || (p.GetValue(set)?.Length ?? 0) > 0 || p.GetValue(batch) is not null || p.GetValue(seed) is not null
                    || p.GetValue(ampTrain) is not null || p.GetValue(init) is not null || p.GetValue(name) is not null || p.GetResult(logEvery) is { Implicit: false } || p.GetResult(checkpointEvery) is { Implicit: false })
                    throw new UsageException("--resume continues a run as it was started: give no spec, --set, --batch, --seed, --amp, --init, --name, --log-every or --checkpoint-every with it (--epochs N extends it to N epochs)");
                return Finish(output, () => Trainer.Resume(runDir, options, extendTo: p.GetValue(epochs)));
            }
            var specPath = p.GetValue(spec) ?? throw new UsageException("train needs a spec file (or --resume RUN_DIR)");
            var sets = (p.GetValue(set) ?? []).ToList();
            var overrides = Override.ParseAll(sets).ToList();
            void Flag(string option, string key, object? value)
            {
                if (value is null) return;
                var text = Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!;
                sets.Add($"{key}={text}");
                overrides.Add(Override.FromOption(option, key, text));
            }
            Flag("--epochs", "train.epochs", p.GetValue(epochs));
            Flag("--batch", "train.batch", p.GetValue(batch));
            Flag("--seed", "train.seed", p.GetValue(seed));
            Flag("--amp", "train.amp", p.GetValue(ampTrain));

            var loaded = SpecLoader.Load(specPath);
            var graph = Report(output, specPath, ArchCompiler.Compile(loaded, overrides, p.GetValue(arch)).ForTraining(p.GetValue(device)));
            if (graph is null) return ExitCodes.SpecErrors;
            var sources = loaded.Files.Reverse().Select(f => new SpecSource(f.Source.Path, f.Source.Text)).ToList();   // root first
            return Finish(output, () => Trainer.Train(graph, options with { Specs = sources, Overrides = sets }));
        });
        return cmd;
    }

    static IProgressSink ProgressFor(Output output) =>
        ReferenceEquals(output.Out, Console.Out) ? SpectreProgressSink.ForConsole() : new PlainProgressSink(output.Out);

    static int Finish(Output output, Func<TrainResult> run)
    {
        try
        {
            var result = run();   // the progress sink has reported it
            return result.Outcome == TrainOutcome.Completed ? ExitCodes.Ok : ExitCodes.Interrupted;
        }
        catch (TrainingException e)
        {
            output.Err.WriteLine($"archc: error: {e.Message}");
            return ExitCodes.SpecErrors;
        }
    }

    // ---- eval ----------------------------------------------------------------------------------------

    static Command Eval(Output output)
    {
        var run = new Argument<string>("run") { Description = "a run directory, or a checkpoint (.safetensors) inside one" };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "best | last (for a run directory; default: best when the run chose weights on a validation split, else last)" };
        checkpoint.AcceptOnlyFromAmong("best", "last");
        var on = new Option<string>("--on") { Description = "test | val | train", DefaultValueFactory = _ => "test" };
        on.AcceptOnlyFromAmong("test", "val", "train");
        var device = DeviceOption();
        var format = FormatOption("text", "json");
        var cmd = new Command("eval", "accuracy, per-class accuracy and the confusion matrix of a trained run (progress on stderr; --format json for tools)") { run, checkpoint, on, device, format };
        cmd.SetAction(p =>
        {
            try
            {
                var set = p.GetValue(on)!;
                var progress = ReferenceEquals(output.Err, Console.Error) ? EvalProgress.ForConsole(set) : new EvalProgress(output.Err, false, set);
                var result = Evaluator.Evaluate(p.GetValue(run)!, new EvalOptions
                {
                    Checkpoint = p.GetValue(checkpoint), Set = set, Device = p.GetValue(device), Progress = progress.Report,
                });
                output.Out.Write(p.GetValue(format) == "json" ? result.ToJson() : result.Render());
                return ExitCodes.Ok;
            }
            catch (TrainingException e)
            {
                output.Err.WriteLine($"archc: error: {e.Message}");
                return ExitCodes.SpecErrors;
            }
        });
        return cmd;
    }

    // ---- bench ---------------------------------------------------------------------------------------

    static Command Bench(Output output)
    {
        var spec = SpecArgument(); var set = SetOption(); var arch = ArchOption();
        var batch = new Option<int>("--batch") { Description = "images per step", DefaultValueFactory = _ => 128 };
        var device = new Option<string>("--device") { Description = "cpu | cuda", DefaultValueFactory = _ => "cpu" };
        var warmup = new Option<int>("--warmup") { Description = "untimed steps first", DefaultValueFactory = _ => 3 };
        var iterations = new Option<int>("--iterations") { Description = "timed steps", DefaultValueFactory = _ => 10 };
        var noPyTorch = new Option<bool>("--no-pytorch") { Description = "skip the PyTorch eager companion run" };
        var compile = new Option<bool>("--compile") { Description = "time torch.compile(model) on the PyTorch side (PyTorch 2)" };
        var check = new Option<bool>("--check") { Description = "instead of timing, compare logits and gradients with PyTorch's on the same weights (exit 1 beyond tolerance)" };
        var amp = new Option<string>("--amp") { Description = "both sides' precision: bf16 | fp16 | off (autocast)", DefaultValueFactory = _ => "off" };
        amp.AcceptOnlyFromAmong([.. AmpModes.Names]);
        var env = new Option<string>("--pytorch-env") { Description = "same: PyTorch gets ArchDsl's BLAS kernel and thread settings (like for like); user: your environment as it is", DefaultValueFactory = _ => "same" };
        env.AcceptOnlyFromAmong("same", "user");
        var cmd = new Command("bench", "training and inference images/s and peak memory, side by side with PyTorch eager on the same libtorch")
            { spec, set, arch, batch, device, warmup, iterations, noPyTorch, compile, check, amp, env };
        cmd.SetAction(p =>
        {
            if (p.GetValue(batch) < 1 || p.GetValue(iterations) < 1 || p.GetValue(warmup) < 0)
                throw new UsageException("--batch and --iterations must be at least 1, --warmup at least 0");
            var graph = CompileSpec(output, p.GetValue(spec)!, p.GetValue(set), p.GetValue(arch));
            if (graph is null) return ExitCodes.SpecErrors;
            try
            {
                if (p.GetValue(check))
                {
                    var checkResult = Runtime.Model.Bench.Check(graph, p.GetValue(batch), p.GetValue(device)!);
                    output.Out.WriteLine(checkResult.ToText());
                    return checkResult.Passed ? ExitCodes.Ok : ExitCodes.SpecErrors;
                }
                var result = Runtime.Model.Bench.Run(graph, p.GetValue(batch), p.GetValue(device)!, p.GetValue(warmup), p.GetValue(iterations),
                    !p.GetValue(noPyTorch), p.GetValue(compile), AmpModes.Parse(p.GetValue(amp)!),
                    p.GetValue(env) == "user" ? Runtime.Model.BenchEnvironment.User : Runtime.Model.BenchEnvironment.Same);
                output.Out.WriteLine(result.ToText());
                return ExitCodes.Ok;
            }
            catch (InvalidOperationException e)
            {
                output.Err.WriteLine($"archc: error: {e.Message}");
                return ExitCodes.SpecErrors;
            }
        });
        return cmd;
    }
}
