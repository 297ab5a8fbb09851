using System.Collections;
using System.Globalization;
using ArchDsl.Runtime.Training;

namespace ArchDsl.Runtime.Distributed;

/// <summary>
/// Where one worker of a data-parallel run stands, in torchrun's terms: <see cref="Rank"/> of <see cref="WorldSize"/>
/// workers, <see cref="LocalRank"/> on its machine, and the rendezvous (rank 0's TCPStore) at
/// <see cref="MasterAddr"/>:<see cref="MasterPort"/>. Read from the variables torchrun, SLURM wrappers and Kubernetes
/// jobs set (<see cref="FromEnvironment"/>) or made by <c>archc train --nproc</c>.
/// </summary>
public sealed record DistributedOptions
{
    public int Rank { get; init; }
    public int WorldSize { get; init; } = 1;
    public int LocalRank { get; init; }
    public string MasterAddr { get; init; } = "127.0.0.1";
    /// <summary>torchrun's default port.</summary>
    public int MasterPort { get; init; } = 29500;
    /// <summary>How long the rendezvous and each collective may wait for the other ranks (<c>ARCHDSL_DIST_TIMEOUT</c>, seconds; default 300).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMinutes(5);

    public bool IsMain => Rank == 0;

    /// <summary>
    /// The rendezvous store is already served by the launcher: torchrun's static rendezvous (<c>--master-addr</c>/<c>--master-port</c>)
    /// hosts it in its agent and says so with <c>TORCHELASTIC_USE_AGENT_STORE=True</c>, so rank 0 connects to it as the
    /// others do instead of listening on the port, as PyTorch's <c>init_process_group</c> does.
    /// </summary>
    public bool AgentStore { get; init; }

    /// <summary>Whether this worker serves the rendezvous store: rank 0, unless the launcher's agent serves it.</summary>
    public bool ServesStore => IsMain && !AgentStore;

    /// <summary>The environment's variable names, as torchrun sets them.</summary>
    public const string RankVar = "RANK", WorldSizeVar = "WORLD_SIZE", LocalRankVar = "LOCAL_RANK", MasterAddrVar = "MASTER_ADDR",
        MasterPortVar = "MASTER_PORT", TimeoutVar = "ARCHDSL_DIST_TIMEOUT", AgentStoreVar = "TORCHELASTIC_USE_AGENT_STORE";

    /// <summary>
    /// The worker's place from <paramref name="env"/> (default the process environment): null when <c>WORLD_SIZE</c> is
    /// unset or 1 (a single process). <c>RANK</c> is required with it; <c>LOCAL_RANK</c> defaults to <c>RANK</c>,
    /// <c>MASTER_ADDR</c> to 127.0.0.1, <c>MASTER_PORT</c> to 29500.
    /// </summary>
    /// <exception cref="TrainingException">a variable that is not a number in its range, naming it.</exception>
    public static DistributedOptions? FromEnvironment(IDictionary? env = null)
    {
        env ??= Environment.GetEnvironmentVariables();
        string? Get(string name) => env[name] as string is { Length: > 0 } v ? v : null;
        if (Get(WorldSizeVar) is not { } world) return null;
        int size = Int(WorldSizeVar, world, 1, 1 << 20);
        if (size == 1) return null;
        var o = new DistributedOptions
        {
            WorldSize = size,
            Rank = Int(RankVar, Get(RankVar) ?? throw new TrainingException($"{WorldSizeVar}={world} is set but {RankVar} is not: every worker needs its rank"), 0, size - 1),
            MasterAddr = Get(MasterAddrVar) ?? "127.0.0.1",
            MasterPort = Get(MasterPortVar) is { } port ? Int(MasterPortVar, port, 1, 65535) : 29500,
            AgentStore = string.Equals(Get(AgentStoreVar), "True", StringComparison.OrdinalIgnoreCase),
        };
        o = o with { LocalRank = Get(LocalRankVar) is { } lr ? Int(LocalRankVar, lr, 0, size - 1) : o.Rank };
        return Get(TimeoutVar) is { } t ? o with { Timeout = TimeSpan.FromSeconds(Int(TimeoutVar, t, 1, 86400)) } : o;
    }

    /// <summary>The variables that put a worker at <paramref name="rank"/> of this world (what the local launcher sets).</summary>
    public IReadOnlyDictionary<string, string> ToEnvironment(int rank, int localRank) => new Dictionary<string, string>
    {
        [RankVar] = rank.ToString(CultureInfo.InvariantCulture), [WorldSizeVar] = WorldSize.ToString(CultureInfo.InvariantCulture),
        [LocalRankVar] = localRank.ToString(CultureInfo.InvariantCulture), [MasterAddrVar] = MasterAddr,
        [MasterPortVar] = MasterPort.ToString(CultureInfo.InvariantCulture),
        [TimeoutVar] = ((int)Timeout.TotalSeconds).ToString(CultureInfo.InvariantCulture),
        [AgentStoreVar] = AgentStore ? "True" : "False",
    };

    private static int Int(string name, string value, int min, int max) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v >= min && v <= max ? v
            : throw new TrainingException($"{name}={value}: expected an integer in [{min}, {max}]");
}
