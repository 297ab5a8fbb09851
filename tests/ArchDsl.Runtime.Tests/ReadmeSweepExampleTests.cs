using System.Reflection;
using ArchDsl.Runtime.Sweep;
using ArchDsl.TestSupport;

namespace ArchDsl.Runtime.Tests;

/// <summary>The README's sweep file example stays true: it is examples/kernel-size/sweep.yaml as shipped, that file parses,
/// and the README's list of keys names every key the sweep reader accepts.</summary>
public sealed class ReadmeSweepExampleTests
{
    static string Readme => File.ReadAllText(Path.Combine(Repo.Root, "README.md"));
    static string Example => Path.Combine(Repo.Root, "examples", "kernel-size", "sweep.yaml");

    [Fact]
    public void The_readme_shows_the_shipped_example_verbatim_and_it_parses()
    {
        var lines = File.ReadAllText(Example).TrimEnd('\n').Split('\n').Select(l => l.Length == 0 ? "" : "    " + l);
        Assert.Contains(string.Join("\n", lines), Readme);
        Assert.Equal("kernel-size", SweepFile.Load(Example).Name);
    }

    [Fact]
    public void The_readme_lists_every_sweep_key()
    {
        var known = (string[])typeof(SweepFile).GetField("KnownKeys", BindingFlags.NonPublic | BindingFlags.Static)!.GetValue(null)!;
        var listed = Readme.Split('\n').Where(l => l.StartsWith("- `", StringComparison.Ordinal)).Select(l => l[3..l.IndexOf('`', 3)]).ToHashSet();
        foreach (var key in known.Where(k => k != "specs")) Assert.Contains(key, listed); // specs: on the spec line, "or specs: [...]"
        Assert.Contains("`specs: [a.arch, b.arch]`", Readme);
    }
}
