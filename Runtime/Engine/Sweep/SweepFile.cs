using System.Globalization;
using YamlDotNet.Core;
using ArchDsl.Compiler;
using ArchDsl.Dsl;
using YamlDotNet.RepresentationModel;

namespace ArchDsl.Runtime.Sweep;

/// <summary>
/// A sweep file is malformed or a sweep cannot go on; the message names the file and the key. Print it, not the stack
/// trace — or, when <see cref="Diagnostics"/> holds the file's located errors, render each of those.
/// </summary>
public sealed class SweepException : Exception
{
    public SweepException(string message, Exception? inner = null) : base(message, inner) => Diagnostics = [];

    /// <summary>The errors of a sweep file, all of them (<see cref="SweepFile.Parse"/>).</summary>
    public SweepException(IReadOnlyList<Diagnostic> diagnostics)
        : base(string.Join("\n", diagnostics.Select(d => d.ToString()))) => Diagnostics = diagnostics;

    public IReadOnlyList<Diagnostic> Diagnostics { get; }
}

/// <summary>One entry of <c>points:</c> — a label, an optional spec of its own, and its overrides.</summary>
public sealed record SweepPointEntry(string? Label, string? Spec, IReadOnlyList<Override> Set);

/// <summary>
/// A parsed sweep file (YAML). The schema (paths are relative to the sweep file's folder):
/// <code>
/// name: kernel-size                # optional; default the file name without extension
/// spec: ../../specs/convmixer.arch # or specs: [a.arch, b.arch] — each point runs on each spec…
/// points:                          # …unless the point names its own spec
///   - label: convmixer             # optional; default spec name + overrides
///     spec: ../../specs/convmixer.arch
///     set: { dim: 96 }             # overrides, as --set key=value
/// grid:                            # cartesian product; crossed with every point (or alone)
///   kernel: [3, 5, 7, 9]
/// set: { depth: 6 }                # overrides for every point
/// budget: { epochs: 1, subset: 6000, test_subset: 2000 }   # train keys for every point (train.&lt;key&gt;)
/// seeds: [0, 1]                    # train.seed of each run; default [0]
/// output: ../../runs/sweeps/kernel  # where the run directories go; default runs/sweeps/&lt;name&gt;
/// report: results                  # where the tables, charts and index.html go; default the output folder
/// log_every: 10                    # metrics.jsonl step records every N steps (learning curves); default 10
/// threads: 2                       # libtorch threads per run; default all cores
/// device: cpu                      # cpu | cuda; default cpu
/// </code>
/// Values are written as they would be after <c>--set key=</c>: <c>9</c>, <c>layer</c>, <c>"layer(eps: 1e-6)"</c>.
/// Each override (<see cref="Set"/>, <see cref="Budget"/>, a point's, a grid value) is <see cref="Override.Written"/> at its
/// place in the file, so a compile error in it names the sweep file's line and column. <see cref="Budget"/>'s keys are
/// written without <c>train.</c>; the plan adds it.
/// </summary>
public sealed record SweepFile(
    string Path,
    string Name,
    IReadOnlyList<string> Specs,
    IReadOnlyList<SweepPointEntry> Points,
    IReadOnlyList<KeyValuePair<string, IReadOnlyList<Override>>> Grid,
    IReadOnlyList<Override> Set,
    IReadOnlyList<Override> Budget,
    IReadOnlyList<long> Seeds,
    string Output,
    string? Report,
    int LogEvery,
    int? Threads,
    string? Device)
{
    private static readonly string[] KnownKeys = ["name", "spec", "specs", "points", "grid", "set", "budget", "seeds", "output", "report", "log_every", "threads", "device"];

    public string Folder => System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!;

    public static SweepFile Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SweepException($"cannot read sweep file '{path}': {e.Message}", e);
        }
        return Parse(text, path);
    }

    /// <summary>
    /// Parses sweep YAML; <paramref name="path"/> names it in errors and anchors relative paths. Every error of the
    /// file is found before any is reported (AD0215 not YAML, AD0217 unknown key, AD0219 a value of the wrong shape,
    /// AD0221 a bad value, AD0223 no spec named), each located at its node.
    /// </summary>
    /// <exception cref="SweepException">the file has errors; <see cref="SweepException.Diagnostics"/> holds them all.</exception>
    public static SweepFile Parse(string text, string path)
    {
        var source = new SourceText(path, text);
        var bag = new DiagnosticBag();
        var file = new SweepFileReader(source, bag).Read();
        // In file order, as a reader fixes them; the file-wide "no spec" last.
        if (bag.HasErrors || file is null)
            throw new SweepException(bag.Items.OrderBy(d => d.Code == CompilerCodes.SweepNoSpec).ThenBy(d => d.Span?.Start ?? 0).ToList());
        return file;
    }

    internal static IReadOnlyList<string> Keys => KnownKeys;

    /// <summary>Where the file names each spec (<c>spec:</c>, <c>specs:</c>, a point's <c>spec:</c>), by the path as written: the first place.</summary>
    public IReadOnlyDictionary<string, Span> SpecSpans { get; init; } = new Dictionary<string, Span>();
}
