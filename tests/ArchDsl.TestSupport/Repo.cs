using System.Runtime.CompilerServices;

namespace ArchDsl.TestSupport;

/// <summary>The repository the tests were built from: its root, specs/ and the specs in it.</summary>
public static class Repo
{
    /// <summary>
    /// The folder holding ArchDsl.sln and specs/: found above this source file's compile-time path (so
    /// any build output folder works, <c>--artifacts-path</c> included), else above the test assembly.
    /// </summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The repository's specs/ folder.</summary>
    public static string SpecsDir => Path.Combine(Root, "specs");

    /// <summary>A path under specs/ (<c>Spec("imagenet/vit-b16.arch")</c>).</summary>
    public static string Spec(string relative) => Path.Combine(SpecsDir, relative);

    /// <summary>Every .arch file under specs/ (imagenet/ included), '/'-separated relative to specs/, in ordinal order.</summary>
    public static IReadOnlyList<string> SpecPaths() =>
        Directory.EnumerateFiles(SpecsDir, "*.arch", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(SpecsDir, f).Replace('\\', '/'))
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToList();

    private static string FindRoot([CallerFilePath] string thisFile = "")
    {
        foreach (var start in new[] { Path.GetDirectoryName(thisFile), AppContext.BaseDirectory })
        {
            if (string.IsNullOrEmpty(start)) continue;
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "ArchDsl.sln")) && Directory.Exists(Path.Combine(dir.FullName, "specs")))
                    return dir.FullName;
        }
        throw new DirectoryNotFoundException($"no folder with ArchDsl.sln and specs/ above {thisFile} or {AppContext.BaseDirectory}");
    }
}
