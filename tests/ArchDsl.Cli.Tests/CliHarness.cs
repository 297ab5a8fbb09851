namespace ArchDsl.Cli.Tests;

/// <summary>Runs archc in-process as a user would call it, and finds the repository's specs.</summary>
internal static class CliHarness
{
    /// <summary>The repository holding this test's source (the build output may live elsewhere).</summary>
    public static string Root => TestSupport.Repo.Root;

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
    public static string Spec(string relative) => TestSupport.Repo.Spec(relative);
}
