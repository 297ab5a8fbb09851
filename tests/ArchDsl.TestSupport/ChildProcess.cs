using System.Diagnostics;

namespace ArchDsl.TestSupport;

/// <summary>
/// A child process run to its end with its standard output and error read at the same time. Reading one to its end
/// before the other deadlocks as soon as the child fills the other's pipe (64 KiB on Linux) — a Python traceback, a
/// libtorch warning per step — and waits on it: the child blocks writing, the test blocks reading.
/// </summary>
public static class ChildProcess
{
    /// <summary>Runs <paramref name="psi"/> (its output streams are redirected here) and returns its exit code and both outputs.</summary>
    /// <param name="hangGuard">how long before a child that has not ended is killed and the test failed; default 10 minutes
    /// (a guard against a hang, not a bound on the time anything should take).</param>
    public static (int Code, string Out, string Err) Run(ProcessStartInfo psi, TimeSpan? hangGuard = null)
    {
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.UseShellExecute = false;
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {psi.FileName}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(hangGuard ?? TimeSpan.FromMinutes(10)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{psi.FileName} {string.Join(' ', psi.ArgumentList)} did not end within {hangGuard ?? TimeSpan.FromMinutes(10)}");
        }
        p.WaitForExit(); // the streams' ends
        return (p.ExitCode, stdout.GetAwaiter().GetResult(), stderr.GetAwaiter().GetResult());
    }
}
