using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>
/// A <c>--set name=value</c> override: <c>dim=256</c>, <c>act=relu</c>, <c>train.epochs=3</c>,
/// <c>train.optimizer.lr=0.001</c>. The value is a DSL expression, parsed when the spec compiles by the spec
/// grammar itself (<see cref="SpecParser.ParseExpression"/>), so its errors are diagnostics, not exceptions, located
/// in the pseudo-file <see cref="SourceName"/> that holds the assignment: <c>&lt;--set&gt;:1:5</c>.
/// </summary>
public sealed record Override(string Key, string Value)
{
    /// <summary>The file name diagnostics give an override (as <c>&lt;stdin&gt;</c> names standard input).</summary>
    public const string SourceName = "<--set>";

    /// <summary>Splits <c>name=value</c> at the first '='. Text without '=' yields an override that compiling reports as malformed.</summary>
    public static Override Parse(string assignment)
    {
        var eq = assignment.IndexOf('=');
        return eq < 0 ? new Override(assignment.Trim(), "") { Malformed = true } : new Override(assignment[..eq].Trim(), assignment[(eq + 1)..]);
    }

    /// <summary>Parses each of several <c>name=value</c> texts.</summary>
    public static IReadOnlyList<Override> ParseAll(IEnumerable<string> assignments) => assignments.Select(Parse).ToList();

    /// <summary>
    /// The override a command-line option stands for (<c>--epochs 0</c> for <c>train.epochs=0</c>): compiled as
    /// <c>Key=Value</c>, but its diagnostics show and locate what was typed, <c>--epochs 0</c>, in the pseudo-file
    /// <see cref="CommandLineSourceName"/>.
    /// </summary>
    public static Override FromOption(string option, string key, string value) => new(key, value) { Option = option };

    /// <summary>The file name diagnostics give an override typed as an option (<see cref="FromOption"/>).</summary>
    public const string CommandLineSourceName = "<command line>";

    /// <summary>
    /// An override written in a file rather than typed (a sweep file's <c>grid:</c>, <c>set:</c> or <c>budget:</c>
    /// entry): compiled as <c>Key=Value</c>, but its diagnostics locate the key at <paramref name="keySpan"/> and the
    /// value from <paramref name="valueStart"/> in that file, with its line and a caret under what is wrong.
    /// </summary>
    /// <param name="key">the key as it applies (<c>train.epochs</c> for a budget's <c>epochs</c>).</param>
    /// <param name="value">the value as the file's format reads it.</param>
    /// <param name="keySpan">where the key is written (for a budget's <c>epochs</c>, that word); it ends before the value.</param>
    /// <param name="valueStart">the offset in <paramref name="keySpan"/>'s file where the value's text begins.</param>
    public static Override Written(string key, string value, Span keySpan, int valueStart) =>
        new(key, value) { WrittenAt = (keySpan, valueStart) };

    /// <summary>Where a file wrote this override (<see cref="Written"/>); null for one typed on the command line.</summary>
    internal (Span Key, int ValueStart)? WrittenAt { get; init; }

    internal bool Malformed { get; init; }

    /// <summary>The option this override was typed as (<c>--epochs</c>), or null for a <c>--set</c>.</summary>
    public string? Option { get; init; }

    /// <summary>The override as the user typed it: <c>dim=256</c>, or <c>--epochs 0</c> for one from an option.</summary>
    public string Typed => Option is not null ? $"{Option} {Value}" : Malformed ? Key : $"{Key}={Value}";

    public override string ToString() => $"{Key}={Value}";
}

/// <summary>The result of compiling: the graph (null when there are errors) and every diagnostic found.</summary>
public sealed record CompileResult(IrGraph? Graph, IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool Success => Graph is not null && !Diagnostics.Any(d => d.IsError);
    public IEnumerable<Diagnostic> Errors => Diagnostics.Where(d => d.IsError);

    /// <summary>
    /// What training needs of a valid graph beyond compiling (see <c>Analysis/TrainChecks</c>): class scores out,
    /// data that fits the model, no BatchNorm over one value per channel. <c>check</c>, <c>train</c> and sweeps
    /// report them; commands that only inspect or benchmark a model (summary, graph, bench, diff) do not.
    /// </summary>
    public IReadOnlyList<Diagnostic> TrainDiagnostics { get; init; } = [];

    /// <summary>Each given train key's value span (where the train section or a --set wrote it), for checks that depend on the run.</summary>
    internal IReadOnlyDictionary<string, Span> TrainSpans { get; init; } = new Dictionary<string, Span>();

    /// <summary>
    /// This result as training sees it: <see cref="TrainDiagnostics"/> added, and those that depend on the device it trains
    /// on (<see cref="Analysis.TrainChecks.OnDevice"/>), and no graph when one is an error.
    /// </summary>
    /// <param name="device">The device the run was given outside the spec (train's <c>--device</c>, a sweep's <c>device</c>:
    /// <c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>), which wins over the train key; null: the train key's, whose default is the
    /// train table's (<c>cpu</c>).</param>
    public CompileResult ForTraining(string? device = null)
    {
        var train = Graph is null ? TrainDiagnostics : TrainDiagnostics.Concat(Analysis.TrainChecks.OnDevice(Graph, TrainSpans, device)).ToList();
        return train.Count == 0 ? this : new CompileResult(train.Any(d => d.IsError) ? null : Graph, Diagnostics.Concat(train).ToList());
    }
}

/// <summary>
/// The compiler's entry points: bind parameters and overrides, expand blocks, repeats and mixers, infer
/// shapes, and produce the <see cref="IrGraph"/>. See <c>Expander</c> for the node naming scheme and
/// <c>OpCatalog</c> for the mult-add convention.
/// </summary>
public static class ArchCompiler
{
    /// <summary>
    /// Compiles an arch from parsed files. <paramref name="files"/> are all loaded files (imports
    /// included, any order); <paramref name="root"/> is the file asked for. The entry arch is
    /// <paramref name="archName"/> if given (searched in every file), else the last arch of the root file.
    /// </summary>
    public static CompileResult Compile(IReadOnlyList<SpecFile> files, SpecFile root, IReadOnlyList<Override>? overrides = null, string? archName = null)
    {
        var diags = new DiagnosticBag();
        var trainDiags = new DiagnosticBag();
        IrGraph? graph = null;
        var expander = new Expander(files.Contains(root) ? files : files.Append(root).ToList(), diags, trainDiags);
        try
        {
            graph = expander.Run(root, overrides ?? [], archName);
        }
        catch (InsufficientExecutionStackException)
        {
            diags.Report(CompilerDiagnostics.SpecTooDeep, null, null);
        }
        return new CompileResult(diags.HasErrors ? null : graph, diags.Items.ToList()) { TrainDiagnostics = trainDiags.Items.ToList(), TrainSpans = expander.TrainSpans };
    }

    /// <summary>
    /// Compiles what <see cref="SpecLoader"/> loaded: load errors (syntax, imports) are returned as they are,
    /// with no graph; otherwise the root's arch is compiled with the loader's diagnostics (warnings) kept first.
    /// </summary>
    public static CompileResult Compile(LoadResult loaded, IReadOnlyList<Override>? overrides = null, string? archName = null)
    {
        if (loaded.HasErrors || loaded.Root is null) return new CompileResult(null, loaded.Diagnostics);
        var r = Compile(loaded.Files, loaded.Root, overrides, archName);
        return loaded.Diagnostics.Count == 0 ? r : r with { Diagnostics = loaded.Diagnostics.Concat(r.Diagnostics).ToList() };
    }

    /// <summary>Reads, parses (with its imports) and compiles a spec file.</summary>
    public static CompileResult CompileFile(string path, IReadOnlyList<Override>? overrides = null, string? archName = null) =>
        Compile(SpecLoader.Load(path), overrides, archName);

    /// <summary>Parses and compiles a spec held in memory; its imports are read from disk, relative to <paramref name="path"/>'s folder.</summary>
    public static CompileResult CompileText(string text, string path = "<memory>", IReadOnlyList<Override>? overrides = null, string? archName = null)
    {
        var self = Path.GetFullPath(path);
        return Compile(SpecLoader.Load(path, p => Path.GetFullPath(p) == self ? text : File.Exists(p) ? File.ReadAllText(p) : null), overrides, archName);
    }

    /// <summary>Compiles one parsed file that imports nothing.</summary>
    public static CompileResult Compile(SpecFile file, IReadOnlyList<Override>? overrides = null, string? archName = null) =>
        Compile([file], file, overrides, archName);
}
