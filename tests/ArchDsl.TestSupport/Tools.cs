namespace ArchDsl.TestSupport;

/// <summary>
/// The outside programs the tests compare against. scripts/setup.sh installs them, so a missing one is a
/// failure with the package to install, never a silent pass.
/// </summary>
public static class Tools
{
    /// <summary>Debian's python3, whose python3-torch is PyTorch 1.13 on the same libtorch as the runtime.</summary>
    public const string Python = "/usr/bin/python3";

    /// <summary>Graphviz's dot.</summary>
    public const string Dot = "/usr/bin/dot";

    /// <summary>Returns <paramref name="path"/>, or fails the test saying which Debian package provides it.</summary>
    public static string Require(string path, string package)
    {
        Assert.True(File.Exists(path), $"{path} is missing: `apt-get install {package}` (scripts/setup.sh installs it)");
        return path;
    }
}
