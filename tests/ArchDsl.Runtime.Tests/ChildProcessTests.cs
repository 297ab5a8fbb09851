using System.Diagnostics;
using System.Text.RegularExpressions;
using ArchDsl.TestSupport;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// A child's standard output and error are read at the same time (<see cref="ChildProcess"/>): reading one to its end
/// first deadlocks once the child fills the other's 64 KiB pipe.
/// </summary>
public sealed class ChildProcessTests
{
    [Fact]
    public void A_child_that_writes_more_than_a_pipe_holds_to_stderr_before_stdout_ends_with_both_read()
    {
        // 256 KiB on stderr first: a reader of stdout to its end would wait forever on a child blocked writing stderr
        var (code, stdout, stderr) = ChildProcess.Run(
            new ProcessStartInfo("bash", ["-c", "head -c 262144 /dev/zero | tr '\\0' e >&2; echo out; exit 3"]), TimeSpan.FromMinutes(5));
        Assert.Equal(3, code);
        Assert.Equal("out\n", stdout);
        Assert.Equal(262144, stderr.Length);
    }

    /// <summary>The whole kind: no source reads a child's two streams one after the other, each synchronously to its end.</summary>
    [Fact]
    public void No_source_reads_a_childs_stdout_to_its_end_and_then_its_stderr()
    {
        var sync = new Regex(@"\.Standard(Output|Error)\.(ReadToEnd\(\)|BaseStream\.CopyTo\()");
        var offenders = new[] { "Cli", "Runtime", "Presentation", "Compiler", "tests" }
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(Repo.Root, d), "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .Where(f => sync.Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value).Distinct().Count() == 2)
            .Select(f => Path.GetRelativePath(Repo.Root, f)).ToList();
        Assert.True(offenders.Count == 0, "these read stdout and stderr one after the other; use TestSupport.ChildProcess.Run or read one asynchronously: " + string.Join(", ", offenders));
    }
}
