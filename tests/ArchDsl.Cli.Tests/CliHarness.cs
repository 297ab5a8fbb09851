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

    /// <summary>A one-stem classifier on 64 synthetic images: a whole <c>archc train</c> takes about a second.</summary>
    public const string TinyTrainSpec = """
        arch Tiny(dim = 8, classes = 3)
        input image[1, 8, 8]
        stem conv(dim, kernel: 2, stride: 2) -> gelu -> batchnorm
        head global_pool -> linear(classes)
        train {
          data: synthetic(train: 64, test: 32)
          epochs: 1
          batch: 32
          seed: 1
        }
        """;

    /// <summary>A path under specs/.</summary>
    public static string Spec(string relative) => TestSupport.Repo.Spec(relative);
}
