using System.CommandLine;
using ArchDsl.Compiler;
using ArchDsl.Compiler.Analysis;

namespace ArchDsl.Cli;

// Ablations as edits: diff, snapshot, sweep. Argument parsing and output only; the logic lives in
// Compiler/Analysis (GraphDiff, SpecSnapshot) and Runtime/Engine/Sweep.
public static partial class Commands
{
    // ---- diff ----------------------------------------------------------------------------------------

    static Command Diff(Output output)
    {
        var a = new Argument<string>("a") { Description = "the spec (or run directory) to compare from" };
        var b = new Argument<string?>("b") { Description = "the spec (or run directory) to compare to (default: a itself, with the --set overrides)", Arity = ArgumentArity.ZeroOrOne };
        var set = SetOption();
        set.Description = "override a parameter or train key of b (or of a's copy when b is left out; of both sides with --set-a/--set-b): --set kernel=9 (repeatable)";
        var setA = new Option<string[]>("--set-a") { Description = "an override of the 'before' side only, for two override sets on one spec: --set-a kernel=5 --set-b kernel=9 (repeatable)", AllowMultipleArgumentsPerToken = false };
        var setB = new Option<string[]>("--set-b") { Description = "an override of the 'after' side only (repeatable)", AllowMultipleArgumentsPerToken = false };
        var arch = ArchOption();
        var format = FormatOption("text", "json");
        var cmd = new Command("diff",
            "what changed between two compiled graphs — two specs, a spec and its overrides, two override sets on one spec (--set-a/--set-b), " +
            "or two run directories (their graphs and resolved train configs, overrides and spec texts): nodes added, removed and changed, " +
            "params / mult-adds before → after. Exit code 0 whether or not they differ; 1 when a spec or run has errors")
            { a, b, set, setA, setB, arch, format };
        cmd.SetAction(p =>
        {
            var specA = p.GetValue(a)!;
            var sets = p.GetValue(set) ?? [];
            var (onlyA, onlyB) = (p.GetValue(setA) ?? [], p.GetValue(setB) ?? []);
            var json = p.GetValue(format) == "json";
            var what = Directory.Exists(specA) ? "run directory" : "run directory or spec file"; // a run is compared with a run
            if (!PathArguments.Exist(output, what, specA, p.GetValue(b))) return ExitCodes.SpecErrors;
            if (Directory.Exists(specA))
            {
                if (p.GetValue(b) is not { } runB || File.Exists(runB))
                    throw new UsageException($"'{specA}' is a run directory: compare it with another run directory (archc diff RUN_A RUN_B)");
                if (sets.Length + onlyA.Length + onlyB.Length > 0 || p.GetValue(arch) is not null)
                    throw new UsageException("--set, --set-a, --set-b and --arch apply to specs; runs are compared as they were trained");
                return DiffRuns(output, specA, runB, json);
            }
            if (p.GetValue(b) is { } other && Directory.Exists(other))
                throw new UsageException($"'{other}' is a run directory: compare it with another run directory (archc diff RUN_A RUN_B)");
            string label(IEnumerable<string> s) => string.Concat(s.Select(x => " --set " + x));
            IrGraph? before, after;
            string beforeLabel, afterLabel;
            if (onlyA.Length + onlyB.Length > 0)
            {
                if (p.GetValue(b) is not null) throw new UsageException("--set-a and --set-b compare two override sets on one spec: give one spec");
                before = CompileSpec(output, specA, [.. sets, .. onlyA], p.GetValue(arch));
                after = CompileSpec(output, specA, [.. sets, .. onlyB], p.GetValue(arch));
                (beforeLabel, afterLabel) = (specA + label([.. sets, .. onlyA]), specA + label([.. sets, .. onlyB]));
            }
            else
            {
                var specB = p.GetValue(b) ?? specA;
                if (p.GetValue(b) is null && sets.Length == 0)
                    throw new UsageException("diff needs a second spec, at least one --set, or --set-a/--set-b (a spec against itself unchanged has no differences)");
                before = CompileSpec(output, specA, null, p.GetValue(arch));
                after = CompileSpec(output, specB, sets, p.GetValue(arch));
                (beforeLabel, afterLabel) = (specA, specB + label(sets));
            }
            if (before is null || after is null) return ExitCodes.SpecErrors;
            var result = GraphDiff.Compare(before, after, beforeLabel, afterLabel);
            output.Out.Write(json ? result.ToJson() : result.ToText());
            return ExitCodes.Ok;
        });
        return cmd;
    }

    /// <summary>Two run directories: their graphs (nodes and resolved train configs), overrides and spec texts.</summary>
    static int DiffRuns(Output output, string runA, string runB, bool json)
    {
        try
        {
            var (before, sourcesA) = Runtime.Training.RunDirectory.ReadGraphSources(runA);
            var (after, sourcesB) = Runtime.Training.RunDirectory.ReadGraphSources(runB);
            var result = GraphDiff.CompareRuns(before, after, sourcesA, sourcesB, runA, runB) with
            {
                Launch = Runtime.Distributed.RunWorld.Read(runA, before).Compare(Runtime.Distributed.RunWorld.Read(runB, after)),
            };
            output.Out.Write(json ? result.ToJson() : result.ToText());
            return ExitCodes.Ok;
        }
        catch (Runtime.Training.TrainingException e)
        {
            output.Err.WriteLine($"archc: error: {e.Message}");
            return ExitCodes.SpecErrors;
        }
    }

    // ---- snapshot ------------------------------------------------------------------------------------

    static Command Snapshot(Output output)
    {
        var specs = new Argument<string[]>("spec") { Description = "spec files, or folders searched for *.arch", Arity = ArgumentArity.OneOrMore };
        var check = new Option<bool>("--check") { Description = "compare instead of write: exit 1 with a unified diff when a compiled graph drifts from its locked file, or the file is missing" };
        var cmd = new Command("snapshot",
            $"lock each spec's compiled graph text in a file beside it (x.arch → x{SpecSnapshot.LockSuffix}); --check verifies them")
            { specs, check };
        cmd.SetAction(p =>
        {
            // a path that names nothing is an error of the input (exit 1), worded as every command words it (PathArguments)
            if (!PathArguments.Exist(output, "spec file or folder", p.GetValue(specs)!)) return ExitCodes.SpecErrors;
            var found = SpecSnapshot.Expand(p.GetValue(specs)!, out _);
            if (found.Count == 0)
            {
                output.Err.WriteLine($"archc: error: no {SpecSnapshot.SpecExtension} files in '{string.Join("', '", p.GetValue(specs)!)}'");
                return ExitCodes.SpecErrors;
            }
            var isCheck = p.GetValue(check);
            var failed = 0;
            foreach (var spec in found)
            {
                var r = isCheck ? SpecSnapshot.Check(spec) : SpecSnapshot.Write(spec);
                foreach (var d in r.Diagnostics) output.Err.Write(d.Render());
                switch (r.Status)
                {
                    case SnapshotStatus.Clean: output.Out.WriteLine($"ok       {spec}"); break;
                    case SnapshotStatus.Unchanged: output.Out.WriteLine($"same     {r.LockFile}"); break;
                    case SnapshotStatus.Written: output.Out.WriteLine($"wrote    {r.LockFile}"); break;
                    case SnapshotStatus.Missing:
                        output.Out.WriteLine($"MISSING  {r.LockFile} — lock it with: archc snapshot {spec}");
                        break;
                    case SnapshotStatus.Drifted:
                        output.Out.WriteLine($"DRIFTED  {spec} — the compiled graph differs from {r.LockFile}:");
                        output.Out.Write(r.Diff);
                        output.Out.WriteLine($"(if the change is intended, accept it with: archc snapshot {spec})");
                        break;
                    case SnapshotStatus.SpecErrors: output.Err.WriteLine($"archc: {spec} has errors; nothing locked or checked for it"); break;
                }
                if (r.Failed) failed++;
            }
            if (failed > 0) output.Err.WriteLine($"archc: {failed} of {found.Count} spec{(found.Count == 1 ? "" : "s")} failed");
            return failed > 0 ? ExitCodes.SpecErrors : ExitCodes.Ok;
        });
        return cmd;
    }

    // ---- sweep ---------------------------------------------------------------------------------------

    static Command Sweep(Output output)
    {
        var file = new Argument<string>("sweep") { Description = "the sweep file (YAML): specs, grid or points of --set overrides, seeds, budget, output" };
        var dryRun = new Option<bool>("--dry-run") { Description = "compile every configuration and show the plan, what is already done and an estimate of the time left; train nothing" };
        var report = new Option<string?>("--report") { Description = "where results.md/.csv, the charts and index.html go (default: the sweep file's report:, else its output folder)" };
        var cmd = new Command("sweep",
            "train a grid of overrides × seeds point by point (resumable: finished points are skipped, an interrupted one resumes; a point whose configuration changed is trained again), " +
            "then write results.md / results.csv, PNG and SVG charts and index.html. Exit 0 when every point finished, 1 on errors, 130 when interrupted")
            { file, dryRun, report };
        cmd.SetAction(p =>
        {
            try
            {
                var plan = Runtime.Sweep.SweepPlan.Expand(Runtime.Sweep.SweepFile.Load(p.GetValue(file)!));
                if (p.GetValue(report) is { } reportDir) plan = plan with { ReportDir = Path.GetFullPath(reportDir) };
                if (p.GetValue(dryRun))
                {
                    output.Out.Write(Runtime.Sweep.SweepRunner.PlanText(plan, Runtime.Sweep.SweepRunner.Compile(plan)));
                    return ExitCodes.Ok;
                }
                var trainer = new Runtime.Sweep.TrainerPointTrainer(new Presentation.RunReportSink(new Runtime.Training.PlainProgressSink(output.Out, TimeSpan.FromSeconds(30))));
                var summary = new Runtime.Sweep.SweepRunner(trainer, output.Out, Presentation.SweepReport.WriteAll).Run(plan);
                if (summary.Interrupted) return ExitCodes.Interrupted;
                if (summary.Failed.Count > 0)
                {
                    output.Err.WriteLine($"archc: {summary.Failed.Count} point(s) failed: {string.Join(", ", summary.Failed.Select(f => f.Point.Name))}");
                    return ExitCodes.SpecErrors;
                }
                return ExitCodes.Ok;
            }
            catch (Runtime.Sweep.SweepException e) { return SweepErrors(output, e); }
        });
        return cmd;
    }
}
