namespace ArchDsl.Dsl;

/// <summary>Every file a root spec needs, dependencies first (each once, however often it is imported), the root
/// itself (null when it could not be read), and all diagnostics of reading, parsing and import resolution.</summary>
public sealed record LoadResult(IReadOnlyList<SpecFile> Files, SpecFile? Root, IReadOnlyList<Diagnostic> Diagnostics)
{
    public bool HasErrors => Diagnostics.Any(d => d.IsError);
}

/// <summary>
/// Loads a spec and, recursively, what it imports. An import path is relative to the directory of the file that
/// imports it. Files are identified by their full path, so a file imported along two routes (a diamond) is parsed
/// once; an import that leads back to a file still being loaded is a cycle, reported at that import with the
/// whole chain. Paths in diagnostics are written as the user would: relative ones stay relative.
/// </summary>
public static class SpecLoader
{
    /// <summary>Loads from the file system.</summary>
    public static LoadResult Load(string path) => Load(path, ReadFromDisk);

    /// <summary>Loads through <paramref name="readFile"/>, which returns a file's text or null when there is no such
    /// file (and may throw <see cref="IOException"/> or <see cref="UnauthorizedAccessException"/> when it cannot be read).</summary>
    public static LoadResult Load(string path, Func<string, string?> readFile)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(readFile);
        var state = new State(readFile);
        var root = state.Visit(Normalize(path), importedBy: null);
        return new LoadResult(state.Files, root, state.Diagnostics);
    }

    private static string? ReadFromDisk(string path) =>
        Directory.Exists(path) ? throw new DirectoryGivenException(path) : File.Exists(path) ? File.ReadAllText(path) : null;

    /// <summary>A folder named where a spec file belongs: read as AD0053 "cannot read 'x': it is a directory, not a spec
    /// file", with the spec files it holds as the hint (a run directory holds its spec as <c>spec.arch</c>).</summary>
    private sealed class DirectoryGivenException(string path) : IOException("it is a directory, not a spec file")
    {
        public string Hint { get; } = Directory.EnumerateFiles(path, "*.arch").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList() is { Count: > 0 } specs
            ? $"it holds {string.Join(", ", specs.Take(3))}{(specs.Count > 3 ? $" and {specs.Count - 3} more" : "")}: name the file, as '{Path.Combine(path, specs[0]!)}'"
            : "give a .arch file";
    }

    private sealed class State(Func<string, string?> readFile)
    {
        public readonly List<SpecFile> Files = new();
        public readonly List<Diagnostic> Diagnostics = new();
        private readonly Dictionary<string, SpecFile?> _done = new(PathComparer);
        private readonly List<string> _stack = new(); // display paths of the files being loaded, outermost first
        private readonly HashSet<string> _onStack = new(PathComparer);

        /// <summary>Parses <paramref name="path"/> and its imports; null when it cannot be read.</summary>
        public SpecFile? Visit(string path, ImportDecl? importedBy)
        {
            var key = Key(path);
            if (_done.TryGetValue(key, out var known)) return known;

            string? text;
            try
            {
                text = readFile(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
            {
                Diagnostics.Add(Diagnostic.Create(DslCodes.FileUnreadable, importedBy?.Span, (e as DirectoryGivenException)?.Hint, path, e.Message));
                _done[key] = null;
                return null;
            }
            if (text is null)
            {
                Diagnostics.Add(importedBy is null
                    ? Diagnostic.Create(DslCodes.FileNotFound, null, null, path)
                    : Diagnostic.Create(DslCodes.ImportNotFound, importedBy.Span,
                        $"import paths are relative to the importing file's directory ('{DirectoryOf(importedBy.Span.File)}')", path));
                _done[key] = null;
                return null;
            }

            var parsed = SpecParser.Parse(new SourceText(path, text));
            Diagnostics.AddRange(parsed.Diagnostics);
            _stack.Add(path);
            _onStack.Add(key);
            foreach (var import in parsed.File.Imports)
            {
                var target = Resolve(path, import.Path);
                if (_onStack.Contains(Key(target)))
                {
                    var from = _stack.FindIndex(p => PathComparer.Equals(Key(p), Key(target)));
                    var chain = string.Join(" -> ", _stack.Skip(from).Append(target));
                    Diagnostics.Add(Diagnostic.Create(DslCodes.ImportCycle, import.Span,
                        "a file cannot import itself, directly or through other files; move what both need into a third file", chain));
                    continue;
                }
                Visit(target, import);
            }
            _onStack.Remove(key);
            _stack.RemoveAt(_stack.Count - 1);

            _done[key] = parsed.File;
            Files.Add(parsed.File);
            return parsed.File;
        }
    }

    private static readonly StringComparer PathComparer =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparer.OrdinalIgnoreCase : StringComparer.Ordinal;

    private static string Key(string path) => Path.GetFullPath(path);

    private static string DirectoryOf(string path) => Path.GetDirectoryName(path) is { Length: > 0 } d ? d : ".";

    /// <summary>The import's path as seen from the importing file, normalised but still relative where the importer's was.</summary>
    private static string Resolve(string importer, string import) =>
        Path.IsPathRooted(import) ? Normalize(import) : Normalize(Path.Combine(Path.GetDirectoryName(importer) ?? "", import));

    /// <summary>Collapses '.' and '..' segments and doubled separators without touching the file system.</summary>
    internal static string Normalize(string path)
    {
        if (path.Length == 0) return path;
        var rooted = Path.IsPathRooted(path);
        var root = rooted ? Path.GetPathRoot(path) ?? "" : "";
        var parts = new List<string>();
        foreach (var seg in path[root.Length..].Split('/', '\\'))
        {
            if (seg is "" or ".") continue;
            if (seg == ".." && parts.Count > 0 && parts[^1] != "..") parts.RemoveAt(parts.Count - 1);
            else if (seg == ".." && rooted) continue;
            else parts.Add(seg);
        }
        var joined = string.Join(Path.DirectorySeparatorChar, parts);
        return rooted ? root + joined : joined.Length == 0 ? "." : joined;
    }
}
