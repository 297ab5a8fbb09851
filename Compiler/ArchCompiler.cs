using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>
/// A <c>--set name=value</c> override: <c>dim=256</c>, <c>act=relu</c>, <c>train.epochs=3</c>,
/// <c>train.optimizer.lr=0.001</c>. The value is a DSL expression, parsed when the spec compiles (so
/// its errors are diagnostics, not exceptions).
/// </summary>
public sealed record Override(string Key, string Value)
{
    /// <summary>Splits <c>name=value</c> at the first '='. Text without '=' yields an override that compiling reports as malformed.</summary>
    public static Override Parse(string assignment)
    {
        var eq = assignment.IndexOf('=');
        return eq < 0 ? new Override(assignment.Trim(), "") { Malformed = true } : new Override(assignment[..eq].Trim(), assignment[(eq + 1)..]);
    }

    /// <summary>Parses each of several <c>name=value</c> texts.</summary>
    public static IReadOnlyList<Override> ParseAll(IEnumerable<string> assignments) => assignments.Select(Parse).ToList();

    internal bool Malformed { get; init; }

    public override string ToString() => $"{Key}={Value}";
}

/// <summary>The result of compiling: the graph (null when there are errors) and every diagnostic found.</summary>
public sealed record CompileResult(IrGraph? Graph, IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool Success => Graph is not null && !Diagnostics.Any(d => d.IsError);
    public IEnumerable<Diagnostic> Errors => Diagnostics.Where(d => d.IsError);
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
        IrGraph? graph = null;
        try
        {
            graph = new Expander(files.Contains(root) ? files : files.Append(root).ToList(), diags).Run(root, overrides ?? [], archName);
        }
        catch (InsufficientExecutionStackException)
        {
            diags.Error(CompilerCodes.TooDeep, "the spec nests too deeply to compile", null);
        }
        return new CompileResult(diags.HasErrors ? null : graph, diags.Items.ToList());
    }

    /// <summary>Parses and compiles a spec held in memory (imports resolve relative to <paramref name="path"/>'s folder).</summary>
    public static CompileResult CompileText(string text, string path = "<memory>", IReadOnlyList<Override>? overrides = null, string? archName = null) =>
        CompileLoaded(Load(new SourceText(path, text), path), overrides, archName);

    /// <summary>Reads, parses (with its imports) and compiles a spec file.</summary>
    public static CompileResult CompileFile(string path, IReadOnlyList<Override>? overrides = null, string? archName = null)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return new CompileResult(null, [new Diagnostic("AD0052", $"cannot read {path}: {e.Message}", null)]);
        }
        return CompileLoaded(Load(new SourceText(path, text), path), overrides, archName);
    }

    private static CompileResult CompileLoaded((List<SpecFile> Files, SpecFile Root, List<Diagnostic> Diags) loaded, IReadOnlyList<Override>? overrides, string? archName)
    {
        if (loaded.Diags.Any(d => d.IsError)) return new CompileResult(null, loaded.Diags);
        var r = Compile(loaded.Files, loaded.Root, overrides, archName);
        return r with { Diagnostics = loaded.Diags.Concat(r.Diagnostics).ToList() };
    }

    // Interim loader until the Dsl's SpecLoader lands: parses the root and its imports (relative to the importing file).
    private static (List<SpecFile>, SpecFile, List<Diagnostic>) Load(SourceText root, string path)
    {
        var files = new List<SpecFile>();
        var diags = new List<Diagnostic>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        SpecFile Visit(SourceText src, string full)
        {
            var parsed = SpecParser.Parse(src);
            diags.AddRange(parsed.Diagnostics);
            foreach (var imp in parsed.File.Imports)
            {
                var target = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(full) ?? ".", imp.Path));
                if (!seen.Add(target)) continue;
                if (!File.Exists(target)) { diags.Add(new Diagnostic("AD0050", $"imported file {target} does not exist", imp.Span)); continue; }
                Visit(new SourceText(Path.GetRelativePath(Environment.CurrentDirectory, target), File.ReadAllText(target)), target);
            }
            files.Add(parsed.File);
            return parsed.File;
        }
        var fullRoot = Path.GetFullPath(path);
        seen.Add(fullRoot);
        var rootFile = Visit(root, fullRoot);
        return (files, rootFile, diags);
    }

    /// <summary>Compiles one parsed file that imports nothing.</summary>
    public static CompileResult Compile(SpecFile file, IReadOnlyList<Override>? overrides = null, string? archName = null) =>
        Compile([file], file, overrides, archName);
}
