using System.Text;
using ArchDsl.Compiler.Printers;
using ArchDsl.Dsl;

namespace ArchDsl.Compiler.Analysis;

/// <summary>What became of one spec in <see cref="SpecSnapshot.Write"/> or <see cref="SpecSnapshot.Check"/>.</summary>
public enum SnapshotStatus
{
    /// <summary>Check: the locked file holds exactly the compiled graph's text.</summary>
    Clean,
    /// <summary>Check: the compiled graph differs from the locked text (see <see cref="SnapshotOutcome.Diff"/>).</summary>
    Drifted,
    /// <summary>Check: there is no locked file for the spec yet.</summary>
    Missing,
    /// <summary>Write: the locked file was created or replaced.</summary>
    Written,
    /// <summary>Write: the locked file already held the compiled graph; it was left untouched.</summary>
    Unchanged,
    /// <summary>The spec does not compile (see <see cref="SnapshotOutcome.Diagnostics"/>).</summary>
    SpecErrors,
}

/// <summary>One spec's outcome: its lock file, the status, the unified diff (drift) and diagnostics (errors and warnings).</summary>
public sealed record SnapshotOutcome(string Spec, string LockFile, SnapshotStatus Status, string Diff, IReadOnlyList<Diagnostic> Diagnostics)
{
    /// <summary>Whether <c>archc snapshot --check</c> fails because of this spec.</summary>
    public bool Failed => Status is SnapshotStatus.Drifted or SnapshotStatus.Missing or SnapshotStatus.SpecErrors;
}

/// <summary>
/// Snapshot testing of specs for people who do not write C# tests: each spec's compiled graph, in the
/// text form of <see cref="GraphPrinter.ToText"/> (what <c>archc graph</c> prints), is locked in a file
/// beside it — <c>convmixer.arch</c> → <c>convmixer.graph.txt</c> — and a check compiles the spec again
/// and compares. The locked file is the printer's output byte for byte, so
/// <c>archc graph x.arch | diff x.graph.txt -</c> agrees with <c>archc snapshot --check x.arch</c>.
/// Line ends of the locked file are read as '\n' whatever git's checkout did to them. Writes are
/// atomic (a temporary file in the same folder, then one rename): an interrupted write leaves the old
/// lock or the new one, never half of one.
/// </summary>
public static class SpecSnapshot
{
    public const string LockSuffix = ".graph.txt";
    public const string SpecExtension = ".arch";

    /// <summary>The locked file of a spec: the spec's path with <c>.arch</c> replaced by <c>.graph.txt</c> (appended if the spec has another extension).</summary>
    public static string LockPath(string spec) =>
        spec.EndsWith(SpecExtension, StringComparison.OrdinalIgnoreCase)
            ? spec[..^SpecExtension.Length] + LockSuffix
            : spec + LockSuffix;

    /// <summary>
    /// The spec files named by <paramref name="paths"/>: files as given, folders searched recursively for
    /// <c>*.arch</c> (sorted, ordinal). A path that is neither is returned in <paramref name="missing"/>.
    /// </summary>
    public static IReadOnlyList<string> Expand(IEnumerable<string> paths, out IReadOnlyList<string> missing)
    {
        var specs = new List<string>();
        var notFound = new List<string>();
        foreach (var path in paths)
        {
            if (File.Exists(path)) specs.Add(path);
            else if (Directory.Exists(path))
                specs.AddRange(Directory.GetFiles(path, "*" + SpecExtension, SearchOption.AllDirectories).Order(StringComparer.Ordinal));
            else notFound.Add(path);
        }
        missing = notFound;
        return specs.Distinct(StringComparer.Ordinal).ToList();
    }

    /// <summary>Compiles the spec and returns its snapshot text, or null with the diagnostics when it has errors.</summary>
    public static (string? Text, IReadOnlyList<Diagnostic> Diagnostics) Render(string spec)
    {
        var result = ArchCompiler.CompileFile(spec);
        return (result.Success ? GraphPrinter.ToText(result.Graph!) : null, result.Diagnostics);
    }

    /// <summary>Compiles the spec and writes its graph text to the lock file (atomically), unless it already holds it.</summary>
    public static SnapshotOutcome Write(string spec)
    {
        var lockFile = LockPath(spec);
        var (text, diags) = Render(spec);
        if (text is null) return new SnapshotOutcome(spec, lockFile, SnapshotStatus.SpecErrors, "", diags);
        if (File.Exists(lockFile) && ReadLocked(lockFile) == text && !File.ReadAllText(lockFile).Contains('\r'))
            return new SnapshotOutcome(spec, lockFile, SnapshotStatus.Unchanged, "", diags);
        WriteAtomic(lockFile, text);
        return new SnapshotOutcome(spec, lockFile, SnapshotStatus.Written, "", diags);
    }

    /// <summary>Compiles the spec and compares its graph text with the lock file: clean, drifted (with a unified diff locked → compiled), missing, or spec errors.</summary>
    public static SnapshotOutcome Check(string spec)
    {
        var lockFile = LockPath(spec);
        var (text, diags) = Render(spec);
        if (text is null) return new SnapshotOutcome(spec, lockFile, SnapshotStatus.SpecErrors, "", diags);
        if (!File.Exists(lockFile)) return new SnapshotOutcome(spec, lockFile, SnapshotStatus.Missing, "", diags);
        var locked = ReadLocked(lockFile);
        if (locked == text) return new SnapshotOutcome(spec, lockFile, SnapshotStatus.Clean, "", diags);
        var diff = TextDiff.Unified(locked, text, lockFile + " (locked)", spec + " (compiled)");
        return new SnapshotOutcome(spec, lockFile, SnapshotStatus.Drifted, diff, diags);
    }

    private static string ReadLocked(string path) => File.ReadAllText(path).Replace("\r\n", "\n");

    /// <summary>Writes through a temporary file in the same folder and one rename, so readers see the old file or the new one.</summary>
    internal static void WriteAtomic(string path, string text)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        var tmp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                var bytes = new UTF8Encoding(false).GetBytes(text);
                fs.Write(bytes, 0, bytes.Length);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (Exception) { /* the original error matters more */ }
            throw;
        }
    }
}
