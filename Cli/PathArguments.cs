namespace ArchDsl.Cli;

/// <summary>
/// A path argument that names nothing on disk, for the commands that take a run directory or a file in one place
/// (export, diff: a run or a spec; report: a run or a sweep file; snapshot: a spec file or folder): one wording, <c>no run directory or spec file
/// 'runs/nope'</c>, and exit code 1, as <c>eval</c> and <c>train --resume</c> say it of a missing run — rather than
/// the spec loader's "spec file not found" for what may have been meant as a run.
/// </summary>
internal static class PathArguments
{
    /// <summary>True when each of <paramref name="paths"/> is a directory or a file; else prints
    /// <c>archc: error: no {what} '{path}'</c> for each missing one and returns false.</summary>
    public static bool Exist(Output output, string what, params IEnumerable<string?> paths)
    {
        var ok = true;
        foreach (var path in paths.OfType<string>().Distinct())
        {
            if (Directory.Exists(path) || File.Exists(path)) continue;
            output.Err.WriteLine($"archc: error: no {what} '{path}'");
            ok = false;
        }
        return ok;
    }
}
