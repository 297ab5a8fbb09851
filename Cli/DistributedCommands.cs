using System.CommandLine;
using ArchDsl.Runtime.Distributed;

namespace ArchDsl.Cli;

// train's data-parallel flags, as torchrun's: --nproc workers on this machine, --nnodes machines, this one's
// --node-rank, the rendezvous at --master-addr:--master-port. Parsing only; the launcher is Runtime/Engine/Distributed.
public static partial class Commands
{
    sealed record LaunchOptions(Option<int?> Nproc, Option<int> Nnodes, Option<int> NodeRank, Option<string> MasterAddr, Option<int?> MasterPort, Option<int?> Threads);

    static LaunchOptions LaunchFlags(Command cmd, Option<int?> threads)
    {
        var o = new LaunchOptions(
            new Option<int?>("--nproc") { Description = "data-parallel: start N worker processes on this machine (train.batch is the global batch)" },
            new Option<int>("--nnodes") { Description = "with --nproc: machines in the run (default 1)", DefaultValueFactory = _ => 1 },
            new Option<int>("--node-rank") { Description = "with --nproc: this machine's index, 0 … nnodes-1 (default 0)", DefaultValueFactory = _ => 0 },
            new Option<string>("--master-addr") { Description = "with --nproc: rank 0's machine (default 127.0.0.1)", DefaultValueFactory = _ => "127.0.0.1" },
            new Option<int?>("--master-port") { Description = "with --nproc: rank 0's rendezvous port (default: a free port on one machine, else 29500)" },
            threads); // train's own --threads: with --nproc, each worker's (default: the cores split between them)
        foreach (var option in new Option[] { o.Nproc, o.Nnodes, o.NodeRank, o.MasterAddr, o.MasterPort }) cmd.Options.Add(option);
        return o;
    }

    /// <summary>With --nproc: runs the local workers and returns the exit code; without: null (this process trains).</summary>
    static int? Launch(ParseResult p, LaunchOptions o, Output output)
    {
        if (p.GetValue(o.Nproc) is not { } nproc)
        {
            if (p.GetResult(o.Nnodes) is { Implicit: false } || p.GetResult(o.NodeRank) is { Implicit: false } || p.GetResult(o.MasterAddr) is { Implicit: false } || p.GetValue(o.MasterPort) is not null)
                throw new UsageException("--nnodes, --node-rank, --master-addr and --master-port go with --nproc (or set torchrun's variables instead)");
            return null;
        }
        int nnodes = p.GetValue(o.Nnodes), nodeRank = p.GetValue(o.NodeRank);
        if (nproc < 1 || nnodes < 1 || nodeRank < 0 || nodeRank >= nnodes)
            throw new UsageException($"--nproc must be ≥ 1, --nnodes ≥ 1 and --node-rank in [0, nnodes); got {nproc}, {nnodes}, {nodeRank}");
        if (p.GetValue(o.MasterPort) is < 1 or > 65535) throw new UsageException($"--master-port must be in [1, 65535], got {p.GetValue(o.MasterPort)}");
        var world = new DistributedOptions
        {
            WorldSize = nproc * nnodes,
            MasterAddr = p.GetValue(o.MasterAddr)!,
            MasterPort = p.GetValue(o.MasterPort) ?? (nnodes == 1 ? 0 : 29500), // 0: the launcher's store takes a port the system chooses
        };
        if (Environment.GetEnvironmentVariable(Runtime.Distributed.DistributedOptions.TimeoutVar) is { Length: > 0 } t && int.TryParse(t, out var seconds) && seconds > 0)
            world = world with { Timeout = TimeSpan.FromSeconds(seconds) };
        int threads = p.GetValue(o.Threads) ?? Math.Max(1, Environment.ProcessorCount / nproc);
        if (Runtime.Training.Trainer.OversubscribedThreads(threads, nproc) is { } crowded) output.Err.WriteLine($"archc: {crowded}");
        return LocalLauncher.Run(LocalLauncher.WorkerArguments(Environment.GetCommandLineArgs().Skip(1).ToList()), world, nproc, nodeRank, threads, output.Err);
    }
}
