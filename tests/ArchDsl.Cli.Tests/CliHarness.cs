namespace ArchDsl.Cli.Tests;

/// <summary>Runs archc in-process as a user would call it, and finds the repository's specs.</summary>
internal static class CliHarness
{
    /// <summary>The repository holding this test's source (the build output may live elsewhere).</summary>
    public static readonly string Root = FindRoot();

    static string FindRoot([System.Runtime.CompilerServices.CallerFilePath] string source = "")
    {
        for (var dir = new DirectoryInfo(Path.GetDirectoryName(source)!); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "ArchDsl.sln"))) return dir.FullName;
        throw new InvalidOperationException("repository root (ArchDsl.sln) not found above " + source);
    }

    /// <summary>archc with these arguments: its exit code, standard output and standard error.</summary>
    public static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var code = Cli.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A new spec file in the temp folder holding <paramref name="text"/>; its path.</summary>
    public static string TempSpec(string text)
    {
        var path = Path.Combine(Path.GetTempPath(), $"archc-cli-{Guid.NewGuid():N}.arch");
        File.WriteAllText(path, text);
        return path;
    }

    /// <summary>A path under specs/.</summary>
    public static string Spec(string relative) => Path.Combine(Root, "specs", relative);
}
