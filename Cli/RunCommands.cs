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

    // ---- train ---------------------------------------------------------------------------------------

    static Command Train(Output output)
    {
        var spec = new Argument<string?>("spec") { Description = "the .arch spec to train (leave out with --resume)", Arity = ArgumentArity.ZeroOrOne };
        var set = SetOption(); var arch = ArchOption(); var device = DeviceOption();
        var epochs = new Option<int?>("--epochs") { Description = "same as --set train.epochs=N" };
        var batch = new Option<int?>("--batch") { Description = "same as --set train.batch=N" };
        var seed = new Option<long?>("--seed") { Description = "same as --set train.seed=N" };
        var resume = new Option<string?>("--resume") { Description = "continue the run in this directory from its last checkpoint" };
        var runs = new Option<string>("--runs") { Description = "where run directories are made", DefaultValueFactory = _ => "runs" };
        var checkpointEvery = new Option<int>("--checkpoint-every") { Description = "also save the last checkpoint every N steps (0: epoch ends only)", DefaultValueFactory = _ => 200 };
        var cmd = new Command("train", "train a spec (data, schedule, augmentation from its train section); writes runs/<spec>-<time>/")
            { spec, set, arch, epochs, batch, seed, device, resume, runs, checkpointEvery };
        cmd.SetAction(p =>
        {
            var options = new TrainOptions
            {
                RunsRoot = p.GetValue(runs)!,
                Device = p.GetValue(device),
                CheckpointEvery = p.GetValue(checkpointEvery),
                Progress = new RunReportSink(ProgressFor(output)),   // report.html + charts in the run directory, each epoch
            };
            if (p.GetValue(resume) is { } runDir)
            {
                if (p.GetValue(spec) is not null || (p.GetValue(set)?.Length ?? 0) > 0 || p.GetValue(epochs) is not null || p.GetValue(batch) is not null || p.GetValue(seed) is not null)
                    throw new UsageException("--resume continues a run as it was started: give no spec, --set, --epochs, --batch or --seed with it");
                return Finish(output, () => Trainer.Resume(runDir, options));
            }
            var specPath = p.GetValue(spec) ?? throw new UsageException("train needs a spec file (or --resume RUN_DIR)");
            var sets = (p.GetValue(set) ?? []).ToList();
            if (p.GetValue(epochs) is { } e) sets.Add($"train.epochs={e}");
            if (p.GetValue(batch) is { } b) sets.Add($"train.batch={b}");
            if (p.GetValue(seed) is { } s) sets.Add($"train.seed={s}");

            var loaded = SpecLoader.Load(specPath);
            var graph = Report(output, specPath, ArchCompiler.Compile(loaded, Override.ParseAll(sets), p.GetValue(arch)).ForTraining());
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
        var cmd = new Command("eval", "accuracy, per-class accuracy and the confusion matrix of a trained run") { run, checkpoint, on, device };
        cmd.SetAction(p =>
        {
            try
            {
                var result = Evaluator.Evaluate(p.GetValue(run)!, new EvalOptions { Checkpoint = p.GetValue(checkpoint), Set = p.GetValue(on)!, Device = p.GetValue(device) });
                output.Out.Write(result.Render());
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
        var cmd = new Command("bench", "training and inference images/s and peak memory, side by side with PyTorch eager on the same libtorch")
            { spec, set, arch, batch, device, warmup, iterations, noPyTorch, compile, check };
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
                    !p.GetValue(noPyTorch), p.GetValue(compile));
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
