using ArchDsl.Compiler;
using ArchDsl.Dsl;

namespace ArchDsl.Runtime.Sweep;

/// <summary>How one call of an <see cref="IPointTrainer"/> ended: the run directory, and whether the run finished (summary.yaml written) or was interrupted.</summary>
public sealed record PointRunOutcome(string RunDir, bool Completed);

/// <summary>
/// Trains one point of a sweep. The sweep runner decides what to train; an implementation trains it and
/// leaves a run directory the trainer's way (run.json first, metrics.jsonl, summary.yaml last), which
/// is all the runner reads afterwards. <see cref="TrainerPointTrainer"/> is the real one.
/// </summary>
public interface IPointTrainer
{
    /// <summary>Trains <paramref name="graph"/> (the point's spec compiled with its overrides, seed included) in a new run directory under <paramref name="runsRoot"/>.</summary>
    PointRunOutcome Train(SweepPoint point, IrGraph graph, string runsRoot, SweepFile sweep);

    /// <summary>Continues the unfinished run in <paramref name="runDir"/>.</summary>
    PointRunOutcome Resume(SweepPoint point, string runDir, SweepFile sweep);
}

/// <summary>Where a point stands: finished (a run with summary.yaml), started (a run without), or not started — counting only runs of the point's configuration as it is now.</summary>
public enum PointState { Pending, Started, Finished }

/// <summary>A point's state, its run (when started or finished), and the runs in its folder of a configuration that has since changed (kept, never counted).</summary>
public sealed record PointStatus(SweepPoint Point, PointState State, string? RunDir, IReadOnlyList<string> Changed);

/// <summary>A configuration compiled: its parameter and mult-add counts (the same for every seed).</summary>
public sealed record CompiledConfig(SweepConfig Config, IrGraph Graph)
{
    public long Params => Graph.ParamCount;
    public long MultAdds => Graph.MultAdds;
}

/// <summary>What a sweep run did: which points it trained, resumed or skipped, which failed (with the message), whether it was interrupted, and the results.</summary>
public sealed record SweepRunSummary(
    IReadOnlyList<SweepPoint> Trained, IReadOnlyList<SweepPoint> Resumed, IReadOnlyList<SweepPoint> Skipped,
    IReadOnlyList<(SweepPoint Point, string Error)> Failed, bool Interrupted, SweepResults Results, IReadOnlyList<string> Files);

/// <summary>
/// Runs a sweep, one point after another: a point whose folder already holds a finished run
/// (summary.yaml) is not trained again; one holding an unfinished run is resumed through the trainer;
/// the rest are trained from scratch. A run counts for a point only when it trains the
/// point's configuration as compiled now (<see cref="Training.ConfigHash.IsRunOf"/>): after the spec or the sweep file
/// changes what a point trains, its old runs are left in place (nothing written is lost, the log names
/// them) and the point is trained again, so the table never sets one configuration's accuracy beside
/// another's parameter count. (Re-training rather than refusing: a sweep is re-run to bring it up to
/// date with its files, as an interrupted one is; <c>--dry-run</c> shows which points changed first.) Every configuration is compiled first, so a spec error stops the
/// sweep before any training. After the points (or when one is interrupted), the results table and
/// charts are written from every finished run. Rerunning the same command therefore continues an
/// interrupted sweep and rebuilds the report.
/// <para>Layout of the output folder:</para>
/// <code>
/// sweep.yaml                                    the sweep file as it was run
/// points/&lt;config-id&gt;/seed&lt;s&gt;/&lt;run&gt;/           the trainer's run directories
/// results.md, results.csv                       the table (ArchDsl.Presentation.SweepReport)
/// accuracy-vs-params.svg, curves-accuracy.svg, curves-loss.svg, index.html
/// </code>
/// </summary>
/// <param name="trainer">trains a point (<see cref="TrainerPointTrainer"/>).</param>
/// <param name="log">one line per point and per report file.</param>
/// <param name="writeReport">writes the report from the results and returns the files it wrote (the presentation
/// side's <c>ArchDsl.Presentation.SweepReport.WriteAll</c>; the engine only collects the results).</param>
public sealed class SweepRunner(IPointTrainer trainer, TextWriter log, Func<SweepPlan, SweepResults, IReadOnlyList<string>> writeReport)
{
    /// <summary>
    /// Compiles every configuration; a spec error stops the sweep. The message holds each error once, rendered (an
    /// override's at its line and column in the sweep file), with the configurations it stops when not all of them.
    /// </summary>
    public static IReadOnlyList<CompiledConfig> Compile(SweepPlan plan)
    {
        if (MissingSpecs(plan.File) is { Count: > 0 } missing) throw new SweepException(missing);
        var compiled = new List<CompiledConfig>();
        var errors = new Dictionary<string, List<SweepConfig>>();  // rendered error → the configurations it stops, in order
        foreach (var c in plan.Configs)
        {
            var r = ArchCompiler.CompileFile(c.Spec, c.Settings).ForTraining(plan.File.Device); // its points are trained, on the sweep's device
            if (r.Success) { compiled.Add(new CompiledConfig(c, r.Graph!)); continue; }
            foreach (var text in r.Diagnostics.Where(d => d.IsError).Select(d => d.Render()).Distinct())
                (errors.TryGetValue(text, out var configs) ? configs : errors[text] = []).Add(c);
        }
        if (errors.Count == 0) return compiled;
        var failed = plan.Configs.Count - compiled.Count;
        var sb = new System.Text.StringBuilder($"{plan.File.Path}: {failed} of {plan.Configs.Count} configuration(s) do not compile:\n");
        foreach (var (text, configs) in errors)
        {
            sb.Append(text);
            if (configs.Count < plan.Configs.Count)
                sb.Append("  = in ").Append(string.Join(", ", configs.Select(c => $"'{c.Label}'"))).Append('\n');
        }
        throw new SweepException(sb.ToString().TrimEnd('\n'));
    }

    /// <summary>
    /// Each spec the sweep file names that is no file, located where the file names it (AD0221), with the closest
    /// <c>.arch</c> file of its folder as the hint — rather than the spec loader's unlocated "spec file not found".
    /// </summary>
    static List<Diagnostic> MissingSpecs(SweepFile file)
    {
        var missing = new List<Diagnostic>();
        foreach (var (written, at) in file.SpecSpans)
        {
            var path = Path.GetFullPath(Path.Combine(file.Folder, written));
            if (File.Exists(path)) continue;
            var folder = Path.GetDirectoryName(path)!;
            var near = Directory.Exists(folder)
                ? Suggestions.Closest(Path.GetFileName(path), Directory.EnumerateFiles(folder, "*.arch").Select(Path.GetFileName).OfType<string>())
                : null;
            var hint = near is not null ? $"did you mean '{Path.Combine(Path.GetDirectoryName(written) ?? "", near)}'?"
                : $"spec paths are relative to the sweep file's folder, {file.Folder}";
            missing.Add(Diagnostic.Create(CompilerDiagnostics.SweepBadValue, at, hint, "spec", Directory.Exists(path) ? "a spec file, not a folder" : "a spec file that exists", written));
        }
        return missing;
    }

    /// <summary>Where each point stands, from what is on disk.</summary>
    public static IReadOnlyList<PointStatus> Status(SweepPlan plan) =>
        plan.Points.Select(p => StatusOf(p, Training.ConfigHash.Of(CompilePoint(p, plan.File.Device)))).ToList();

    /// <summary>The point's spec compiled with its overrides (seed included): what its run trains, on <paramref name="device"/>
    /// (the sweep's <c>device</c>; null: the train key's).</summary>
    public static IrGraph CompilePoint(SweepPoint point, string? device = null)
    {
        var r = ArchCompiler.CompileFile(point.Config.Spec, point.Settings).ForTraining(device);
        return r.Success ? r.Graph! : throw new SweepException(string.Concat(r.Diagnostics.Where(d => d.IsError).Select(d => d.Render())));
    }

    public static PointStatus StatusOf(SweepPoint p) => StatusOf(p, Training.ConfigHash.Of(CompilePoint(p)));

    /// <summary>Where <paramref name="p"/> stands, counting only runs whose configuration hash is <paramref name="hash"/>.</summary>
    public static PointStatus StatusOf(SweepPoint p, string hash)
    {
        if (!Directory.Exists(p.Directory)) return new PointStatus(p, PointState.Pending, null, []);
        // Run directories are named <name>-<yyyyMMdd-HHmmss>[-n]: ordinal order is creation order.
        var started = Directory.GetDirectories(p.Directory).Order(StringComparer.Ordinal).Where(Training.RunDirectory.IsStarted).ToList();
        var changed = started.Where(r => !Training.ConfigHash.IsRunOf(r, hash)).ToList();
        var runs = started.Except(changed).ToList();
        if (runs.LastOrDefault(Training.RunDirectory.IsFinished) is { } done) return new PointStatus(p, PointState.Finished, done, changed);
        if (runs.LastOrDefault() is { } run) return new PointStatus(p, PointState.Started, run, changed);
        return new PointStatus(p, PointState.Pending, null, changed);
    }

    /// <summary>
    /// What <c>archc sweep --dry-run</c> prints: every configuration with its params, mult-adds and full
    /// overrides, every point with its state on disk, and the time left (<see cref="SweepEstimate"/>) — nothing is trained or written.
    /// </summary>
    public static string PlanText(SweepPlan plan, IReadOnlyList<CompiledConfig> compiled)
    {
        var sb = new System.Text.StringBuilder();
        var statuses = Status(plan);
        sb.Append($"sweep {plan.File.Name}: {plan.Configs.Count} configuration(s) × {plan.File.Seeds.Count} seed(s) = {plan.Points.Count} run(s); output {plan.OutputDir}{(plan.ReportDir == plan.OutputDir ? "" : $"; report {plan.ReportDir}")}\n");
        var byId = compiled.ToDictionary(c => c.Config.Id);
        var width = plan.Configs.Max(c => c.Label.Length);
        foreach (var c in plan.Configs)
        {
            var cc = byId[c.Id];
            var states = statuses.Where(s => s.Point.Config.Id == c.Id).Select(s => $"seed {s.Point.Seed}: {s.State.ToString().ToLowerInvariant()}" +
                (s.Changed.Count > 0 ? $" ({s.Changed.Count} run(s) of a changed configuration)" : ""));
            sb.Append("  ").Append(c.Label.PadRight(width))
              .Append($"  params {cc.Params.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),11}")
              .Append($"  mult-adds {cc.MultAdds.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),14}")
              .Append("  ").Append(string.Join(", ", states)).Append('\n');
            sb.Append("    ").Append(Path.GetRelativePath(plan.File.Folder, c.Spec)).Append(' ')
              .Append(string.Join(" ", c.Overrides.Select(o => "--set " + o))).Append('\n');
        }
        var counts = statuses.GroupBy(s => s.State).OrderBy(g => g.Key).Select(g => $"{g.Count()} {g.Key.ToString().ToLowerInvariant()}");
        sb.Append("points: ").Append(string.Join(", ", counts)).Append('\n');
        sb.Append(SweepEstimate.Of(plan, compiled).Describe()).Append('\n');
        return sb.ToString();
    }

    /// <summary>The point's graph and where it stands (logging runs of a changed configuration); null, logged, when it does not compile.</summary>
    (IrGraph Graph, PointStatus Status)? Locate(SweepPlan plan, SweepPoint point, string tag)
    {
        IrGraph graph;
        try { graph = CompilePoint(point, plan.File.Device); }
        catch (SweepException e)
        {
            log.WriteLine($"{tag}: failed: {e.Message}");
            return null;
        }
        var status = StatusOf(point, Training.ConfigHash.Of(graph));
        if (status.Changed.Count > 0 && status.State != PointState.Finished)
            log.WriteLine($"{tag}: the configuration changed since {string.Join(", ", status.Changed.Select(r => Path.GetRelativePath(plan.OutputDir, r)))} " +
                          "was trained (its graph or train config hash differs); that run is kept but not counted");
        return (graph, status);
    }

    /// <summary>Trains what is not finished, then writes the report. <paramref name="cancel"/> is checked between points.</summary>
    public SweepRunSummary Run(SweepPlan plan, CancellationToken cancel = default)
    {
        var compiled = Compile(plan).ToDictionary(c => c.Config.Id);
        Training.AtomicFile.CreateFolder(plan.OutputDir);
        Training.AtomicFile.WriteAllText(Path.Combine(plan.OutputDir, "sweep.yaml"), File.ReadAllText(plan.File.Path));

        var trained = new List<SweepPoint>();
        var resumed = new List<SweepPoint>();
        var skipped = new List<SweepPoint>();
        var failed = new List<(SweepPoint, string)>();
        var interrupted = false;
        var index = 0;
        foreach (var point in plan.Points)
        {
            index++;
            var tag = $"[{index}/{plan.Points.Count}] {point.Config.Label} seed {point.Seed}";
            if (Locate(plan, point, tag) is not var (graph, status))
            {
                failed.Add((point, "its configuration does not compile"));
                continue;
            }
            if (status.State == PointState.Finished)
            {
                log.WriteLine($"{tag}: done already ({Path.GetRelativePath(plan.OutputDir, status.RunDir!)})");
                skipped.Add(point);
                continue;
            }
            if (cancel.IsCancellationRequested) { interrupted = true; break; }
            try
            {
                PointRunOutcome outcome;
                if (status.State == PointState.Started)
                {
                    log.WriteLine($"{tag}: resuming {Path.GetRelativePath(plan.OutputDir, status.RunDir!)}");
                    outcome = trainer.Resume(point, status.RunDir!, plan.File);
                    resumed.Add(point);
                }
                else
                {
                    log.WriteLine($"{tag}: training");
                    Training.AtomicFile.CreateFolder(point.Directory);
                    outcome = trainer.Train(point, graph, point.Directory, plan.File);
                    trained.Add(point);
                }
                if (!outcome.Completed)
                {
                    log.WriteLine($"{tag}: interrupted; run the same command again to resume it");
                    interrupted = true;
                    break;
                }
                if (!Training.RunDirectory.IsFinished(outcome.RunDir))
                    throw new SweepException($"the trainer reported '{outcome.RunDir}' complete but it has no {Training.RunDirectory.SummaryFile}");
            }
            catch (Exception e) when (e is SweepException or Training.TrainingException or Training.RunFileException)
            {
                log.WriteLine($"{tag}: failed: {e.Message}");
                failed.Add((point, e.Message));
            }
        }

        var results = SweepResults.Collect(plan, compiled.Values.ToList());
        IReadOnlyList<string> files;
        try { files = writeReport(plan, results); }
        catch (Training.RunFileException e) { throw new SweepException($"the sweep's report: {e.Message}", e); }   // its runs stay as they are
        foreach (var f in files) log.WriteLine($"wrote {f}");
        return new SweepRunSummary(trained, resumed, skipped, failed, interrupted, results, files);
    }
}
