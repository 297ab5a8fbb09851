using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using ArchDsl.Runtime.Training;
using ArchDsl.Torch;
using dist = ArchDsl.Torch.torch.distributed;

namespace ArchDsl.Runtime.Distributed;

/// <summary>
/// <c>archc train … --nproc N</c>: starts N workers of this same program on this machine, as torchrun does — each with
/// torchrun's variables (<see cref="DistributedOptions.ToEnvironment"/>) and its share of the cores — and watches them.
/// As torchrun's agent, the launcher of node 0 serves the rendezvous store itself (<c>TORCHELASTIC_USE_AGENT_STORE=True</c>:
/// rank 0 connects to it as the others do): it listens before any worker starts and until all have ended, so no other
/// process can take the port in between — with a port chosen by the system when none is given (one machine) — and the
/// store outlives a rank 0 that dies.
/// A worker that fails (an error exit, or killed) ends the others after a grace period, naming its rank. SIGINT/SIGTERM
/// to the launcher is passed on once to every worker (they agree on a step, rank 0 saves one checkpoint, all stop);
/// the workers run in their own sessions (setsid), so a terminal's Ctrl-C does not reach them twice.
/// </summary>
public static class LocalLauncher
{
    /// <summary>The launcher's own flags (with a value each): a worker's arguments are the launcher's without them.</summary>
    public static readonly string[] Flags = ["--nproc", "--nnodes", "--node-rank", "--master-addr", "--master-port", "--threads"];

    /// <summary>
    /// How long the other workers get to stop on their own once one has failed, before they are killed: torchrun's 30 s
    /// between its SIGTERM and SIGKILL. A survivor needs a few seconds (its next collective fails at once, then it names the
    /// lost rank: <see cref="DataParallel.Explain"/>), so the launcher is gone within about this long of a failure however
    /// a survivor is stuck.
    /// </summary>
    public static TimeSpan GracePeriod { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary><paramref name="args"/> without the launcher's flags and their values (<c>--flag v</c> or <c>--flag=v</c>).</summary>
    public static List<string> WorkerArguments(IReadOnlyList<string> args)
    {
        var kept = new List<string>();
        for (int i = 0; i < args.Count; i++)
        {
            if (Flags.Contains(args[i])) { i++; continue; }
            if (Flags.Any(f => args[i].StartsWith(f + "=", StringComparison.Ordinal))) continue;
            kept.Add(args[i]);
        }
        return kept;
    }

    /// <summary>
    /// Runs ranks <c>nodeRank·nproc … nodeRank·nproc + nproc − 1</c> of <paramref name="world"/> with
    /// <paramref name="workerArgs"/> and <paramref name="threadsEach"/> threads each; returns rank-0-of-this-node's
    /// exit code when all succeed or stop, else 1 after saying which rank failed on <paramref name="err"/> — or, before
    /// any worker starts, why this libtorch cannot train data-parallel (<see cref="BackendChoice.RequireC10d"/>) or why
    /// node 0 cannot serve the rendezvous on <see cref="DistributedOptions.MasterPort"/> (0: a port the system chooses).
    /// </summary>
    public static int Run(IReadOnlyList<string> workerArgs, DistributedOptions world, int nproc, int nodeRank, int threadsEach, TextWriter err)
    {
        dist.TCPStore? store = null;
        if (world.WorldSize > 1)
        {
            try
            {
                BackendChoice.RequireC10d(world.WorldSize == nproc ? $"--nproc {nproc}" : $"--nproc {nproc} --nnodes {world.WorldSize / nproc}");
                world = world with { AgentStore = true };
                if (nodeRank == 0) (store, world) = ServeStore(world);
            }
            catch (TrainingException e)
            {
                err.WriteLine($"archc: error: {e.Message}");
                return 1;
            }
        }
        using (store) return RunWorkers(workerArgs, world, nproc, nodeRank, threadsEach, err);
    }

    /// <summary>
    /// The rendezvous store, listening on <paramref name="world"/>'s port (0: one the system chooses), and the world with
    /// the port it listens on.
    /// </summary>
    /// <exception cref="TrainingException">the port cannot be listened on (in use, or not this machine's address).</exception>
    internal static (dist.TCPStore Store, DistributedOptions World) ServeStore(DistributedOptions world)
    {
        try
        {
            var store = new dist.TCPStore(world.MasterAddr, world.MasterPort, world.WorldSize, is_master: true, world.Timeout, wait_for_workers: false);
            return (store, world with { MasterPort = store.port });
        }
        catch (TorchException e)
        {
            throw new TrainingException($"cannot listen on {world.MasterAddr}:{world.MasterPort} for the rendezvous ({e.Message}); " +
                                        "is the port in use? choose another with --master-port", e);
        }
    }

    private static int RunWorkers(IReadOnlyList<string> workerArgs, DistributedOptions world, int nproc, int nodeRank, int threadsEach, TextWriter err)
    {
        var workers = new List<(int Rank, Process Process)>();
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; Forward(workers, SIGINT); });
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; Forward(workers, SIGINT); });
        for (int local = 0; local < nproc; local++)
        {
            int rank = nodeRank * nproc + local;
            var p = Process.Start(StartInfo(workerArgs, world.ToEnvironment(rank, local), threadsEach))!;
            lock (workers) workers.Add((rank, p));
            err.WriteLine($"archc: rank {rank} of {world.WorldSize}: pid {p.Id}");
        }
        return Watch(workers, err);
    }

    /// <summary>Waits for the workers; the first failure starts the grace period, after which the rest are killed.</summary>
    private static int Watch(List<(int Rank, Process Process)> workers, TextWriter err)
    {
        string? failure = null;
        var sinceFailure = new Stopwatch();
        while (workers.Any(w => !w.Process.HasExited))
        {
            foreach (var (rank, p) in workers)
                if (failure is null && p.HasExited && p.ExitCode is not (0 or ExitInterrupted))
                {
                    failure = p.ExitCode > 128 ? $"rank {rank} (pid {p.Id}) was killed by signal {p.ExitCode - 128}" : $"rank {rank} (pid {p.Id}) failed (exit {p.ExitCode})";
                    sinceFailure.Start();
                }
            if (failure is not null && sinceFailure.Elapsed > GracePeriod)
                foreach (var (_, p) in workers.Where(w => !w.Process.HasExited)) p.Kill();
            Thread.Sleep(100);
        }
        if (failure is null && workers.FirstOrDefault(w => w.Process.ExitCode is not (0 or ExitInterrupted)) is { Process: not null } late)
            failure = $"rank {late.Rank} (pid {late.Process.Id}) failed (exit {late.Process.ExitCode})";
        if (failure is not null)
        {
            err.WriteLine($"archc: error: {failure}; the other workers were stopped");
            return 1;
        }
        return workers[0].Process.ExitCode;
    }

    /// <summary>The CLI's exit code of an interrupted (checkpointed) run.</summary>
    public const int ExitInterrupted = 130;

    private static ProcessStartInfo StartInfo(IReadOnlyList<string> args, IReadOnlyDictionary<string, string> env, int threads)
    {
        var exe = Environment.ProcessPath ?? throw new InvalidOperationException("no process path to start workers from");
        var argv = new List<string>();
        // `dotnet archc.dll …`: the host needs the program's assembly first.
        if (Path.GetFileNameWithoutExtension(exe) == "dotnet") argv.Add(Assembly.GetEntryAssembly()!.Location);
        argv.AddRange(args);
        argv.AddRange(["--threads", threads.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        bool setsid = File.Exists("/usr/bin/setsid");
        var psi = new ProcessStartInfo(setsid ? "/usr/bin/setsid" : exe) { UseShellExecute = false };
        if (setsid) psi.ArgumentList.Add(exe);
        foreach (var a in argv) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;
        return psi;
    }

    private const int SIGINT = 2;
    [DllImport("libc", SetLastError = true)] private static extern int kill(int pid, int sig);

    private static void Forward(List<(int Rank, Process Process)> workers, int signal)
    {
        lock (workers)
            foreach (var (_, p) in workers)
                if (!p.HasExited) kill(p.Id, signal);
    }
}
