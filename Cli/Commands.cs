using System.CommandLine;
using ArchDsl.Compiler;
using ArchDsl.Dsl;

namespace ArchDsl.Cli;

/// <summary>Every archc command: its arguments and options, and which library call it makes.</summary>
public static partial class Commands
{
    public static IEnumerable<Command> All(Output output)
    {
        yield return Check(output);
        yield return Summary(output);
        yield return Graph(output);
        yield return Ops(output);
        yield return Train(output);
        yield return Eval(output);
        yield return Bench(output);
        yield return BenchCompiler(output);
        yield return Diff(output);
        yield return Snapshot(output);
        yield return Sweep(output);
        yield return Export(output);
        yield return Predict(output);
        yield return Data(output);
        yield return Report(output);
    }

    // ---- shared arguments -------------------------------------------------------------------------

    static Argument<string> SpecArgument() => new("spec") { Description = "the .arch spec file" };

    static Option<string[]> SetOption() => new("--set")
    {
        Description = "override a parameter or train key: --set dim=256 --set train.epochs=1 (repeatable)",
        AllowMultipleArgumentsPerToken = false,
    };

    static Option<string?> ArchOption() => new("--arch") { Description = "which arch of the file to compile (default: the last one)" };

    static Option<string> FormatOption(params string[] formats)
    {
        var option = new Option<string>("--format") { Description = $"output format: {string.Join(" | ", formats)}", DefaultValueFactory = _ => formats[0] };
        option.AcceptOnlyFromAmong(formats);
        return option;
    }

    /// <summary>Compiles a spec with overrides; prints every diagnostic to stderr. Null when it has errors.
    /// <paramref name="forTraining"/>: also what training needs (<see cref="CompileResult.ForTraining"/>).</summary>
    static IrGraph? CompileSpec(Output output, string spec, string[]? sets, string? arch, bool forTraining = false, string? device = null)
    {
        var result = ArchCompiler.CompileFile(spec, Override.ParseAll(sets ?? []), arch);
        return Report(output, spec, forTraining ? result.ForTraining(device) : result);
    }

    /// <summary>Prints a compile result's diagnostics to stderr; the graph, or null when it has errors.</summary>
    static IrGraph? Report(Output output, string spec, CompileResult result)
    {
        foreach (var d in Diagnostic.InReadingOrder(result.Diagnostics))
            output.Err.Write(d.Render());
        var errors = result.Diagnostics.Count(d => d.IsError);
        if (errors > 0) output.Err.WriteLine($"archc: {errors} error{(errors == 1 ? "" : "s")} in {spec}");
        if (errors > 0 && Directory.Exists(spec) && Runtime.Training.RunDirectory.IsStarted(spec))
            output.Err.WriteLine($"archc: '{spec}' is a run directory: eval, report, export, predict and diff take it");
        return errors > 0 ? null : result.Graph;
    }

    // ---- check / summary / graph ------------------------------------------------------------------

    static Command Check(Output output)
    {
        var spec = SpecArgument(); var set = SetOption(); var arch = ArchOption(); var format = FormatOption("text", "json"); var device = DeviceOption();
        var cmd = new Command("check", "parse, bind and infer shapes, and check what train needs; print diagnostics with file:line:col (or as JSON on stdout)") { spec, set, arch, format, device };
        cmd.SetAction(p =>
        {
            if (UnknownDevice(p.GetValue(device)) is { } badDevice)
            {
                output.Err.WriteLine($"archc: error: {badDevice}");
                return ExitCodes.SpecErrors;
            }
            if (p.GetValue(format) == "json")
            {
                var result = ArchCompiler.CompileFile(p.GetValue(spec)!, Override.ParseAll(p.GetValue(set) ?? []), p.GetValue(arch)).ForTraining(p.GetValue(device));
                output.Out.Write(DiagnosticJson.Write(Diagnostic.InReadingOrder(result.Diagnostics)));
                if (result.Success) WarnDeviceMissing(output, p.GetValue(device) ?? result.Graph!.Train.Loop.Device);
                return result.Success ? ExitCodes.Ok : ExitCodes.SpecErrors;
            }
            var graph = CompileSpec(output, p.GetValue(spec)!, p.GetValue(set), p.GetValue(arch), forTraining: true, p.GetValue(device));
            if (graph is null) return ExitCodes.SpecErrors;
            WarnDeviceMissing(output, p.GetValue(device) ?? graph.Train.Loop.Device);
            output.Out.WriteLine($"{p.GetValue(spec)}: ok — {graph.Arch}, {graph.Nodes.Count} nodes, {graph.ParamCount:N0} params, output {graph.OutputNode.OutputShape}");
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>
    /// check's word on a device this machine lacks: train's own message, as a warning — the spec is sound, and may be
    /// checked here to train on a machine that has the device.
    /// </summary>
    static void WarnDeviceMissing(Output output, string device)
    {
        if (Runtime.Training.Trainer.DeviceUnavailable(device) is { } why)
            output.Err.WriteLine($"archc: warning: {why} (train would stop here with this error)");
    }

    static Command Summary(Output output)
    {
        var spec = SpecArgument(); var set = SetOption(); var arch = ArchOption(); var format = FormatOption("text", "json");
        var depth = new Option<int?>("--depth") { Description = "rows at this depth of the layer names (1: stem, blocks, head; 2: blocks.0 …; default: every layer); identical rows collapse to one (blocks.{0..11} ×12)" };
        var batch = new Option<int>("--batch") { Description = "the batch the activation-memory estimate is given for", DefaultValueFactory = _ => 1 };
        var cmd = new Command("summary", "layer table (torchinfo's columns): input and output shape, kernel / stride, params, mult-adds; totals and memory") { spec, set, arch, format, depth, batch };
        cmd.SetAction(p =>
        {
            if (p.GetValue(depth) is < 1) throw new UsageException($"--depth must be at least 1, got {p.GetValue(depth)}");
            if (p.GetValue(batch) < 1) throw new UsageException($"--batch must be at least 1, got {p.GetValue(batch)}");
            var graph = CompileSpec(output, p.GetValue(spec)!, p.GetValue(set), p.GetValue(arch));
            if (graph is null) return ExitCodes.SpecErrors;
            var table = Compiler.Analysis.Summary.Of(graph, p.GetValue(depth), p.GetValue(batch));
            output.Out.Write(p.GetValue(format) == "json" ? table.ToJson() : table.ToText());
            return ExitCodes.Ok;
        });
        return cmd;
    }

    static Command Graph(Output output)
    {
        var spec = SpecArgument(); var set = SetOption(); var arch = ArchOption(); var format = FormatOption("text", "yaml", "json", "dot");
        var cmd = new Command("graph", "print the compiled graph as text, YAML, JSON or Graphviz DOT") { spec, set, arch, format };
        cmd.SetAction(p =>
        {
            var graph = CompileSpec(output, p.GetValue(spec)!, p.GetValue(set), p.GetValue(arch));
            if (graph is null) return ExitCodes.SpecErrors;
            output.Out.Write(p.GetValue(format) switch
            {
                "yaml" => Compiler.Printers.GraphYaml.Write(graph),
                "json" => Compiler.Printers.IrJson.Write(graph),
                "dot" => Compiler.Printers.GraphDot.ToDot(graph),
                _ => Compiler.Printers.GraphPrinter.ToText(graph),
            });
            return ExitCodes.Ok;
        });
        return cmd;
    }

    static Command Ops(Output output)
    {
        var cmd = new Command("ops", "list the built-in ops: arguments with defaults, aliases, input → output layouts, what each computes");
        cmd.SetAction(_ =>
        {
            output.Out.Write(Compiler.Printers.OpListing.ToText());
            return ExitCodes.Ok;
        });
        return cmd;
    }

    static Command BenchCompiler(Output output)
    {
        var blocks = new Option<int>("--blocks") { Description = "user blocks in the generated spec", DefaultValueFactory = _ => 1000 };
        var iterations = new Option<int>("--iterations") { Description = "timed runs after warm-up", DefaultValueFactory = _ => 20 };
        var cmd = new Command("bench-compiler", "time parsing + compiling a generated spec of many blocks (after warm-up)") { blocks, iterations };
        cmd.SetAction(p =>
        {
            if (p.GetValue(blocks) < 1 || p.GetValue(iterations) < 1) throw new UsageException("--blocks and --iterations must be at least 1");
            output.Out.WriteLine(CompileBenchmark.Run(p.GetValue(blocks), p.GetValue(iterations)).ToString());
            return ExitCodes.Ok;
        });
        return cmd;
    }
}
