using System.CommandLine;
using ArchDsl.Presentation;
using ArchDsl.Runtime.Sweep;
using ArchDsl.Runtime.Training;

namespace ArchDsl.Cli;

// archc report: a run's own report, several runs compared, or a sweep's report rewritten from its finished runs.
// Argument parsing and output only; the reports are Presentation/ (RunReport, RunComparison, SweepReport).
public static partial class Commands
{
    static Command Report(Output output)
    {
        var targets = new Argument<string[]>("run") { Description = "run directories, or one sweep file (YAML)", Arity = ArgumentArity.OneOrMore };
        var outDir = new Option<string?>("-o", "--output")
        {
            Description = "where the report goes (default: one run: its own report.html; several runs: reports/compare-<time>; a sweep: its report folder)",
        };
        var cmd = new Command("report",
            "draw reports from what runs logged, training nothing: one run's report.html and charts (rewritten in its directory), " +
            "several runs overlaid with their final metrics and configuration differences, or a sweep's results and charts")
            { targets, outDir };
        cmd.SetAction(p =>
        {
            var paths = p.GetValue(targets)!;
            var dir = p.GetValue(outDir);
            try
            {
                if (paths.Length == 1 && File.Exists(paths[0]))
                {
                    var plan = SweepPlan.Expand(SweepFile.Load(paths[0]));
                    if (dir is not null) plan = plan with { ReportDir = Path.GetFullPath(dir) };
                    Runtime.Training.AtomicFile.CreateFolder(plan.ReportDir);
                    var files = SweepReport.WriteAll(plan, SweepResults.Collect(plan, SweepRunner.Compile(plan)));
                    output.Out.WriteLine($"sweep report: {Path.Combine(plan.ReportDir, SweepReport.Html)} ({files.Count} files)");
                    return ExitCodes.Ok;
                }
                if (!PathArguments.Exist(output, "run directory or sweep file", paths)) return ExitCodes.SpecErrors;
                if (paths.FirstOrDefault(File.Exists) is { } file)
                    throw new UsageException($"'{file}' is a file: report takes one sweep file, or run directories");
                if (paths.Length == 1 && dir is null)
                {
                    RunDirectory.ReadRunInfo(paths[0]);   // a located error for a folder that is no run
                    RunReport.Write(paths[0]);
                    output.Out.WriteLine($"run report: {Path.Combine(paths[0], RunReport.HtmlFile)}");
                    return ExitCodes.Ok;
                }
                var names = paths.Select(x => Path.GetFileName(Path.TrimEndingDirectorySeparator(x))).ToList();
                var labels = names.Distinct().Count() == names.Count ? names : paths.ToList();
                var runs = paths.Select((x, i) => ComparedRun.Read(x, labels[i])).ToList();
                dir ??= Path.Combine("reports", "compare-" + DateTime.Now.ToString("yyyyMMdd-HHmmss", System.Globalization.CultureInfo.InvariantCulture));
                RunComparison.Write(runs, dir);
                output.Out.WriteLine($"comparison of {runs.Count} runs: {Path.Combine(dir, RunComparison.HtmlFile)}");
                return ExitCodes.Ok;
            }
            catch (SweepException e) { return SweepErrors(output, e); }
            catch (Exception e) when (e is TrainingException or RunFileException)
            {
                output.Err.WriteLine($"archc: error: {e.Message}");
                return ExitCodes.SpecErrors;
            }
        });
        return cmd;
    }

    /// <summary>Prints a sweep's errors: each located diagnostic of its file, rendered, and their count; else the message.</summary>
    static int SweepErrors(Output output, SweepException e)
    {
        if (e.Diagnostics.Count == 0) output.Err.WriteLine($"archc: error: {e.Message}");
        foreach (var d in e.Diagnostics) output.Err.Write(d.Render());
        if (e.Diagnostics.Count > 0)
            output.Err.WriteLine($"archc: {e.Diagnostics.Count} error{(e.Diagnostics.Count == 1 ? "" : "s")} in {e.Diagnostics[0].Span?.File ?? "the sweep file"}");
        return ExitCodes.SpecErrors;
    }
}
