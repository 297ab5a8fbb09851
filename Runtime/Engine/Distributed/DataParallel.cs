using System.Diagnostics;
using System.Text;
using ArchDsl.Runtime.Model;
using ArchDsl.Runtime.Training;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using dist = ArchDsl.Torch.torch.distributed;

namespace ArchDsl.Runtime.Distributed;

/// <summary>
/// One worker's part in a data-parallel run, as PyTorch's DistributedDataParallel does it, on libtorch's c10d
/// (Gloo on the CPU, NCCL on CUDA: <see cref="BackendChoice"/>): the rendezvous and its checks (<see cref="Join"/>), parameters and buffers broadcast from rank 0 and the
/// gradients bucketed and all-reduced during backward by c10d's Reducer (<see cref="Start"/>,
/// <see cref="PrepareForBackward"/>), each rank's share of a global batch (<see cref="Shard"/>), and the reductions
/// that make every rank's metrics and stop decision the same (<see cref="ReduceStep"/>, <see cref="ReduceEvaluation"/>,
/// <see cref="Agree"/>). A failed collective is explained by <see cref="Explain"/>, naming the rank that went away.
/// </summary>
public sealed class DataParallel : IDisposable
{
    private const string Prefix = "archdsl/";
    private readonly dist.TCPStore _store;
    private readonly dist.ProcessGroup _group;
    private dist.Reducer? _reducer;

    public DistributedOptions Options { get; }
    /// <summary>The backend and this rank's device (<c>cpu</c>, or <c>cuda:LOCAL_RANK</c> with NCCL).</summary>
    public BackendChoice Backend { get; }
    private readonly Device _device;
    public int Rank => Options.Rank;
    public int WorldSize => Options.WorldSize;
    public bool IsMain => Options.IsMain;
    /// <summary>Bytes of gradients all-reduced per step: those of the parameters in the Reducer's buckets (every parameter that trains).</summary>
    public long GradientBytes { get; private set; }
    /// <summary>The Reducer's buckets in reduction order (parameter indices), once <see cref="Start"/> ran.</summary>
    public IReadOnlyList<int[]> Buckets => _reducer?.buckets ?? [];

    private DataParallel(DistributedOptions options, BackendChoice backend, dist.TCPStore store, dist.ProcessGroup group) =>
        (Options, Backend, _device, _store, _group) = (options, backend, Device.Parse(backend.Device), store, group);

    /// <summary>
    /// Meets the other workers at rank 0's store (rank 0 listens on MASTER_ADDR:MASTER_PORT), checks that every rank
    /// has the same world size and compiled the same graph and config (<paramref name="configHash"/>), then connects
    /// the group of the backend <paramref name="device"/> calls for (<see cref="BackendChoice"/>), chosen before anything
    /// is started.
    /// </summary>
    /// <exception cref="TrainingException">this shim has no c10d (a libtorch 2.x); the device needs a backend this libtorch lacks; the port is in use, no master
    /// answered, not every rank joined within the timeout, or a rank's world size or config differs — each said as such.</exception>
    public static DataParallel Join(DistributedOptions o, string configHash, string device)
    {
        BackendChoice.RequireC10d($"{DistributedOptions.WorldSizeVar}={o.WorldSize}");
        var backend = BackendChoice.ForThisLibtorch(device, o.LocalRank);
        var at = $"{o.MasterAddr}:{o.MasterPort}";
        dist.TCPStore store;
        try { store = new dist.TCPStore(o.MasterAddr, o.MasterPort, o.WorldSize, o.ServesStore, o.Timeout, wait_for_workers: false); }
        catch (TorchException e) when (o.ServesStore)
        { throw new TrainingException($"rank 0 cannot listen on {at} for the rendezvous ({e.Message}); is the port in use? choose another with --master-port or MASTER_PORT", e); }
        catch (TorchException e)
        { throw new TrainingException($"rank {o.Rank} could not reach the {(o.AgentStore ? "launcher's store" : "master")} at {at} within {o.Timeout.TotalSeconds:0} s ({e.Message}); check MASTER_ADDR/--master-addr and that rank 0 is running", e); }
        try
        {
            CheckWorld(store, o, configHash);
            return new DataParallel(o, backend, store, NewGroup(backend.Backend, store, o));
        }
        catch (Exception) { store.Dispose(); throw; }
    }

    /// <summary>NCCL's group (its interface from <c>NCCL_SOCKET_IFNAME</c>, read by NCCL itself), or Gloo's on <c>GLOO_SOCKET_IFNAME</c>, loopback for a local master.</summary>
    private static dist.ProcessGroup NewGroup(Backend backend, dist.TCPStore store, DistributedOptions o)
    {
        if (backend == Distributed.Backend.Nccl) return new dist.ProcessGroupNCCL(store, o.Rank, o.WorldSize, o.Timeout);
        var loopback = o.MasterAddr is "localhost" || o.MasterAddr.StartsWith("127.", StringComparison.Ordinal);
        var iface = Environment.GetEnvironmentVariable("GLOO_SOCKET_IFNAME") is { Length: > 0 } i ? i : null;
        return new dist.ProcessGroupGloo(store, o.Rank, o.WorldSize, o.Timeout, iface, iface is null && loopback ? "127.0.0.1" : null);
    }

    /// <summary>
    /// Each rank publishes its world size and config hash; each compares all of them with its own. A rank that finds a
    /// difference leaves the reason in the store (and rank 0, whose store it is, keeps it open a moment) so the others
    /// report the same reason rather than a closed connection.
    /// </summary>
    private static void CheckWorld(dist.TCPStore store, DistributedOptions o, string configHash)
    {
        try
        {
            store.set($"{Prefix}join/{o.Rank}", Encoding.UTF8.GetBytes($"{o.WorldSize} {configHash}"));
            var deadline = Stopwatch.StartNew();
            for (int r = 0; r < o.WorldSize; r++)
            {
                var left = o.Timeout - deadline.Elapsed;
                WaitForRank(store, o, r, left > TimeSpan.FromSeconds(1) ? left : TimeSpan.FromSeconds(1));
                if (Mismatch(o, r, Encoding.UTF8.GetString(store.get($"{Prefix}join/{r}")).Split(' ', 2), configHash) is { } why)
                {
                    store.set($"{Prefix}abort", Encoding.UTF8.GetBytes(why));
                    if (o.IsMain) Thread.Sleep(TimeSpan.FromSeconds(2));
                    throw new TrainingException(why);
                }
            }
        }
        catch (TorchException e)
        {
            throw new TrainingException($"rank {o.Rank}: the rendezvous at {o.MasterAddr}:{o.MasterPort} failed: rank 0 (the master) closed it or went away ({e.Message})", e);
        }
    }

    private static string? Mismatch(DistributedOptions o, int r, string[] entry, string configHash) =>
        entry[0] != o.WorldSize.ToString(System.Globalization.CultureInfo.InvariantCulture)
            ? $"world size mismatch: rank {o.Rank} has WORLD_SIZE={o.WorldSize}, rank {r} has {entry[0]}; start every worker with the same --nproc/--nnodes or WORLD_SIZE"
            : entry[1] != configHash
                ? $"rank {o.Rank} and rank {r} compiled different graphs or train configs (config hash {configHash} vs {entry[1]}); every worker must train the same spec with the same --set overrides"
                : null;

    /// <summary>Waits for rank <paramref name="r"/>'s entry, or an abort another rank left; says which ranks joined if it times out.</summary>
    private static void WaitForRank(dist.TCPStore store, DistributedOptions o, int r, TimeSpan timeout)
    {
        var waited = Stopwatch.StartNew();
        while (!store.check($"{Prefix}join/{r}"))
        {
            if (store.check($"{Prefix}abort")) throw new TrainingException(Encoding.UTF8.GetString(store.get($"{Prefix}abort")));
            if (waited.Elapsed > timeout)
            {
                var joined = Enumerable.Range(0, o.WorldSize).Count(q => store.check($"{Prefix}join/{q}"));
                throw new TrainingException($"rank {o.Rank}: only {joined} of WORLD_SIZE={o.WorldSize} ranks joined the rendezvous at {o.MasterAddr}:{o.MasterPort} " +
                    $"within {o.Timeout.TotalSeconds:0} s (rank {r} did not); did every worker start, with the same world size?");
            }
            Thread.Sleep(50);
        }
    }

    /// <summary>Rank 0 tells the others the run directory (or why it has none); the others wait for it.</summary>
    public void PublishRunDirectory(string? runDir, string? error = null) =>
        _store.set($"{Prefix}run_dir", Encoding.UTF8.GetBytes(runDir is not null ? "ok " + runDir : "error " + error));

    /// <exception cref="TrainingException">rank 0 failed before it made the run directory (its message).</exception>
    public string ReceiveRunDirectory()
    {
        var value = Encoding.UTF8.GetString(_store.get($"{Prefix}run_dir")).Split(' ', 2);
        return value[0] == "ok" ? value[1] : throw new TrainingException($"rank 0 stopped before training: {value[1]}");
    }

    /// <summary>
    /// Makes every rank's model rank 0's (parameters and buffers broadcast, as DDP's constructor does), arms c10d's
    /// Reducer on the parameters that train, and with <paramref name="syncBatchNorm"/> makes BatchNorm take its
    /// statistics over the global batch (<see cref="SyncBatchNorm"/>); without it each rank uses its own, as DDP.
    /// </summary>
    public void Start(IrModel model, bool syncBatchNorm)
    {
        BroadcastModel(model);
        var trainable = model.parameters().Where(p => p.requires_grad).Cast<Tensor>().ToList();
        _reducer = new dist.Reducer(trainable, _group);
        GradientBytes = _reducer.buckets.SelectMany(b => b).Sum(i => trainable[i].numel() * ElementSize(trainable[i].dtype));
        if (syncBatchNorm) model.SyncBatchNorm(_group);
        AllReduceSeconds = TimeAllReduce(GradientBytes / 4);
    }

    /// <summary>
    /// Seconds one all-reduce of a step's gradient bytes (as one float32 buffer) takes on its own, the median of 5 after
    /// one untimed, measured at start: the all-reduce time per step, which in training overlaps the rest of backward
    /// (c10d's Reducer starts each bucket's all-reduce from an autograd hook), so a step waits for at most this.
    /// </summary>
    public double AllReduceSeconds { get; private set; }

    /// <summary>Effective all-reduce bandwidth, bytes per second: <see cref="GradientBytes"/> / <see cref="AllReduceSeconds"/>.</summary>
    public double AllReduceBandwidth => GradientBytes / Math.Max(AllReduceSeconds, 1e-9);

    /// <summary>The log's line on the world and its all-reduce: backend, ranks, per-rank batch, bytes, time and bandwidth per step.</summary>
    public string Describe(int batch) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"data-parallel: {WorldSize} processes ({Backend.Name}, this rank on {Backend.Device}); train.batch {batch} is the global batch, " +
        $"{RunWorld.PerRank(batch, WorldSize)} images per rank; all-reduce per step: {GradientBytes:N0} bytes of gradients in {Buckets.Count} " +
        $"bucket(s), {AllReduceSeconds * 1e3:0.###} ms alone ({AllReduceBandwidth / 1e6:0.#} MB/s), overlapped with backward");

    private double TimeAllReduce(long elements)
    {
        using var buffer = zeros(new[] { Math.Max(1, elements) }, device: _device);
        var times = new List<double>();
        for (int i = 0; i < 6; i++)
        {
            var watch = Stopwatch.StartNew();
            dist.all_reduce(buffer, _group);
            if (i > 0) times.Add(watch.Elapsed.TotalSeconds);
        }
        return times.Order().ElementAt(times.Count / 2);
    }

    /// <summary>Overwrites every rank's parameters and buffers with rank 0's.</summary>
    public void BroadcastModel(IrModel model)
    {
        var state = model.parameters().Cast<Tensor>().Concat(model.buffers()).ToList();
        using (no_grad()) dist.broadcast(state, 0, _group, Options.Timeout);
    }

    /// <summary>
    /// Refuses a global batch that leaves a rank without images: <paramref name="batch"/> and the epoch's last batch
    /// (<paramref name="samples"/> mod <paramref name="batch"/>) must each have at least one image per rank.
    /// </summary>
    /// <exception cref="TrainingException">naming the batch that is too small.</exception>
    public void CheckShards(int samples, int batch)
    {
        int last = samples % batch;
        if (Math.Min(batch, samples) < WorldSize || (last > 0 && last < WorldSize))
            throw new TrainingException($"train.batch is the global batch, split between {WorldSize} ranks: " +
                (Math.Min(batch, samples) < WorldSize ? $"a batch of {Math.Min(batch, samples)}" : $"the last batch of each epoch ({last} of {samples} training images)") +
                " leaves a rank without images; use a larger batch, a batch that divides the training set, or fewer ranks");
    }

    /// <summary>Arms the Reducer for the backward of <paramref name="output"/> (DDP's forward does this).</summary>
    public void PrepareForBackward(Tensor output) => (_reducer ?? throw new InvalidOperationException("Start first")).prepare_for_backward(output);

    /// <summary>
    /// This rank's part of a global batch of <paramref name="count"/> samples: contiguous, in rank order, sizes differing
    /// by at most one — so the ranks' parts, concatenated, are the single-process batch.
    /// </summary>
    public (int Offset, int Count) Shard(int count) => Shard(count, Rank, WorldSize);

    public static (int Offset, int Count) Shard(int count, int rank, int world)
    {
        int each = count / world, extra = count % world;
        return (rank * each + Math.Min(rank, extra), each + (rank < extra ? 1 : 0));
    }

    /// <summary>
    /// The factor on this rank's mean loss that makes the Reducer's average over ranks the mean over the global batch:
    /// <c>local · world / global</c> (1 when every rank has the same share).
    /// </summary>
    public double LossScale(int local, int global) => (double)local * WorldSize / global;

    /// <summary>Sums (loss·n, correct, n) over ranks and ORs their stop requests: the step as one process would see it.</summary>
    public (double Loss, long Correct, int Images, bool Stop) ReduceStep(double meanLoss, long correct, int images, bool stop)
    {
        var v = Sum(meanLoss * images, correct, images, stop ? 1 : 0);
        return (v[0] / v[2], (long)v[1], (int)v[2], v[3] > 0);
    }

    /// <summary>The evaluation over every rank's shard, as one process evaluating the whole set would report it.</summary>
    public LossAccuracy ReduceEvaluation(LossAccuracy local)
    {
        var v = Sum(local.Samples > 0 ? local.Loss * local.Samples : 0, local.Correct, local.Samples);
        var total = new LossAccuracy();
        if (v[2] > 0) total.Add(v[0] / v[2], (long)v[1], (long)v[2]);
        return total;
    }

    /// <summary>Sums <paramref name="confusion"/>'s counts over ranks (each rank's from its shard): the whole set's matrix on every rank.</summary>
    public void ReduceConfusion(ConfusionMatrix confusion)
    {
        using var counts = tensor(confusion.ToArray(), device: _device);
        dist.all_reduce(counts, _group, timeout: Options.Timeout);
        using var summed = counts.cpu();
        confusion.SetCounts(summed.data<long>());
    }

    /// <summary>True on every rank when it is true on any (a stop asked of one local worker stops all at the same step).</summary>
    public bool Agree(bool any) => Sum(any ? 1 : 0)[0] > 0;

    /// <summary>Waits until every rank arrives (rank 0 has finished writing, for example).</summary>
    public void Barrier() => dist.barrier(_group, Options.Timeout);

    private double[] Sum(params double[] values)
    {
        using var t = tensor(values, device: _device);
        dist.all_reduce(t, _group);
        using var summed = t.cpu();
        return summed.data<double>();
    }

    /// <summary>
    /// A message for a collective that failed: each surviving rank marks itself in the store and, after a short
    /// wait, the ranks that did not are named as the ones that went away; when the store itself is gone, whoever served
    /// it is (rank 0, or the launcher's agent store).
    /// </summary>
    /// <returns>null when every rank is still there (the failure is not a lost rank).</returns>
    public string? Explain(Exception failure)
    {
        try
        {
            _store.set($"{Prefix}alive/{Rank}", [1]);
            Thread.Sleep(TimeSpan.FromSeconds(3));
            var gone = Enumerable.Range(0, WorldSize).Where(r => !_store.check($"{Prefix}alive/{r}")).ToList();
            if (gone.Count == 0) return null;
            return $"rank {Rank}: rank{(gone.Count > 1 ? "s" : "")} {string.Join(", ", gone)} stopped responding, so training stopped ({failure.Message})";
        }
        catch (TorchException)
        {
            var store = Options.AgentStore ? $"the launcher serving the store at {Options.MasterAddr}:{Options.MasterPort}" : $"rank 0 (the master at {Options.MasterAddr}:{Options.MasterPort})";
            return $"rank {Rank}: {store} stopped responding, so training stopped ({failure.Message})";
        }
    }

    public void Dispose()
    {
        _reducer?.Dispose();
        _group.Dispose();
        _store.Dispose();
    }
}
