using ArchDsl.Runtime.Distributed;
using ArchDsl.Runtime.Training;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// What a data-parallel launch decides without a second process: the backend and device per local rank (NCCL is
/// only chosen, never run, here), what a resume with another world size says, the per-rank batch, the confusion
/// counts a run sums over ranks.
/// </summary>
public class DataParallelLaunchTests
{
    [Theory]
    [InlineData("cpu", 0, false, 0, Backend.Gloo, "cpu")]
    [InlineData("cpu", 1, true, 2, Backend.Gloo, "cpu")]          // a CUDA build trains on the CPU with Gloo when asked to
    [InlineData("cuda", 1, true, 2, Backend.Nccl, "cuda:1")]      // each local rank on its own GPU
    [InlineData("cuda:0", 1, true, 2, Backend.Nccl, "cuda:1")]    // an index is replaced by LOCAL_RANK, as torchrun scripts do
    [InlineData("cuda:1", 0, true, 8, Backend.Nccl, "cuda:0")]
    public void Cpu_takes_gloo_and_cuda_takes_nccl_on_the_local_ranks_gpu(string device, int localRank, bool nccl, int gpus, Backend backend, string rankDevice)
    {
        var choice = BackendChoice.Select(device, localRank, nccl, gpus);
        Assert.Equal(backend, choice.Backend);
        Assert.Equal(rankDevice, choice.Device);
        Assert.Equal(backend == Backend.Nccl ? "nccl" : "gloo", choice.Name);
    }

    [Fact]
    public void Cuda_without_nccl_or_without_a_gpu_for_the_local_rank_is_a_clear_error()
    {
        var noNccl = Assert.Throws<TrainingException>(() => BackendChoice.Select("cuda", 0, ncclAvailable: false, cudaDevices: 0));
        Assert.Contains("data-parallel training on device 'cuda' needs c10d's NCCL backend, which this libtorch does not have", noNccl.Message);
        Assert.Contains("--device cpu", noNccl.Message);
        var tooFew = Assert.Throws<TrainingException>(() => BackendChoice.Select("cuda", 2, ncclAvailable: true, cudaDevices: 2));
        Assert.Equal("LOCAL_RANK 2 takes cuda:2, but this machine sees 2 CUDA device(s); start at most 2 worker(s) per machine (--nproc)", tooFew.Message);
        Assert.Throws<TrainingException>(() => BackendChoice.Select("tpu", 0, true, 1));
    }

    [Fact]
    public void This_cpu_libtorch_has_no_nccl_so_cuda_is_refused_before_any_rendezvous()
    {
        if (ArchDsl.Torch.torch.cuda.is_available()) return; // a CUDA build: the refusal is of CPU-only libtorch builds (Select covers both)
        Assert.False(ArchDsl.Torch.torch.distributed.ProcessGroupNCCL.is_available);
        Assert.Throws<TrainingException>(() => BackendChoice.ForThisLibtorch("cuda", 0));
        Assert.Equal(Backend.Gloo, BackendChoice.ForThisLibtorch("cpu", 0).Backend);
    }

    [Fact]
    public void Torchruns_variables_place_the_worker()
    {
        Assert.Null(DistributedOptions.FromEnvironment(new System.Collections.Hashtable()));
        Assert.Null(DistributedOptions.FromEnvironment(new System.Collections.Hashtable { ["WORLD_SIZE"] = "1" }));
        var o = DistributedOptions.FromEnvironment(new System.Collections.Hashtable
        {
            ["WORLD_SIZE"] = "8", ["RANK"] = "5", ["LOCAL_RANK"] = "1", ["MASTER_ADDR"] = "10.0.0.1", ["MASTER_PORT"] = "29400",
        })!;
        Assert.Equal((8, 5, 1, "10.0.0.1", 29400, false, false), (o.WorldSize, o.Rank, o.LocalRank, o.MasterAddr, o.MasterPort, o.AgentStore, o.ServesStore));
        // torchrun's static rendezvous serves the store from its agent: rank 0 connects to it as the others do.
        var agent = DistributedOptions.FromEnvironment(new System.Collections.Hashtable { ["WORLD_SIZE"] = "2", ["RANK"] = "0", ["TORCHELASTIC_USE_AGENT_STORE"] = "True" })!;
        Assert.Equal((true, true, false, 0, 29500), (agent.IsMain, agent.AgentStore, agent.ServesStore, agent.LocalRank, agent.MasterPort));
        Assert.True(DistributedOptions.FromEnvironment(new System.Collections.Hashtable { ["WORLD_SIZE"] = "2", ["RANK"] = "0" })!.ServesStore);
        var bad = Assert.Throws<TrainingException>(() => DistributedOptions.FromEnvironment(new System.Collections.Hashtable { ["WORLD_SIZE"] = "2", ["RANK"] = "2" }));
        Assert.Equal("RANK=2: expected an integer in [0, 1]", bad.Message);
        Assert.Throws<TrainingException>(() => DistributedOptions.FromEnvironment(new System.Collections.Hashtable { ["WORLD_SIZE"] = "2" }));
    }

    /// <summary>
    /// The launcher serves the rendezvous store itself, as torchrun's agent does, on a port the system chooses — held from
    /// before the first worker starts, so no other process can take it in between (a port that was only free when looked
    /// at could be) — and tells the workers so: rank 0 connects to it instead of listening. A port already taken is a
    /// clear error before any worker starts.
    /// </summary>
    [Fact]
    public void The_launcher_serves_the_rendezvous_on_a_port_it_holds_and_rank_0_connects_to_it()
    {
        var world = new DistributedOptions { WorldSize = 2, MasterPort = 0, AgentStore = true, Timeout = TimeSpan.FromSeconds(30) };
        var (store, served) = LocalLauncher.ServeStore(world);
        using (store)
        {
            Assert.InRange(served.MasterPort, 1, 65535);
            var rank0 = DistributedOptions.FromEnvironment(new System.Collections.Hashtable(served.ToEnvironment(0, 0).ToDictionary(kv => kv.Key, kv => kv.Value)))!;
            Assert.Equal((true, false, served.MasterPort), (rank0.IsMain, rank0.ServesStore, rank0.MasterPort));
            using (var client = new ArchDsl.Torch.torch.distributed.TCPStore("127.0.0.1", served.MasterPort, 2, is_master: false, world.Timeout))
                client.set("from-a-worker", [7]);
            Assert.Equal(new byte[] { 7 }, store.get("from-a-worker"));
            var taken = Assert.Throws<TrainingException>(() => LocalLauncher.ServeStore(served));
            Assert.StartsWith($"cannot listen on 127.0.0.1:{served.MasterPort} for the rendezvous (", taken.Message);
            Assert.EndsWith("is the port in use? choose another with --master-port", taken.Message);
        }
    }

    [Theory]
    [InlineData(32, 1, "32")]
    [InlineData(32, 2, "16")]
    [InlineData(32, 3, "11/11/10")]
    [InlineData(100, 9, "11–12")]
    public void Per_rank_batch_is_each_ranks_shard_of_the_global_batch(int batch, int world, string expected) =>
        Assert.Equal(expected, RunWorld.PerRank(batch, world));

    [Fact]
    public void Runs_with_other_world_sizes_differ_in_world_size_and_per_rank_batch()
    {
        var changes = new RunWorld(1, 32).Compare(new RunWorld(2, 32));
        Assert.Equal([("world_size", (object?)1L, (object?)2L), ("batch_per_rank", 32L, 16L)], changes.Select(c => (c.Key, c.Before, c.After)));
        Assert.Empty(new RunWorld(2, 32).Compare(new RunWorld(2, 32)));
    }

    [Fact]
    public void A_resume_with_another_world_size_says_what_changes_and_what_stays()
    {
        Assert.Null(WorldChange.Describe(2, 2, 32, syncBatchNorm: false, hasBatchNorm: true));
        Assert.Null(WorldChange.Describe(null, 2, 32, syncBatchNorm: false, hasBatchNorm: true)); // a checkpoint that does not say
        var perRankStats = WorldChange.Describe(2, 1, 32, syncBatchNorm: false, hasBatchNorm: true)!;
        Assert.StartsWith("world size changed: the checkpoint was saved by 2 processes, this resume runs 1 process. Unchanged: the global batch (train.batch = 32)", perRankStats);
        Assert.Contains("each rank's shard of every global batch: 32 images in one process instead of 16 images per rank", perRankStats);
        Assert.Contains("BatchNorm takes its training statistics over each rank's images", perRankStats);
        var synced = WorldChange.Describe(1, 3, 32, syncBatchNorm: true, hasBatchNorm: true)!;
        Assert.Contains("11/11/10 images per rank instead of 32 images in one process", synced);
        Assert.Contains("BatchNorm statistics stay over the global batch (sync_bn: true)", synced);
        Assert.DoesNotContain("BatchNorm", WorldChange.Describe(1, 2, 32, syncBatchNorm: false, hasBatchNorm: false)!);
    }

    [Fact]
    public void Confusion_counts_go_out_and_come_back_row_major()
    {
        var m = new ConfusionMatrix(["a", "b"]);
        m.Add(0, 1);
        m.Add(1, 1);
        Assert.Equal([0L, 1, 0, 1], m.ToArray());
        m.SetCounts([3, 1, 0, 4]); // the sum over ranks
        Assert.Equal((3L, 1L, 0L, 4L, 8L, 7L), (m[0, 0], m[0, 1], m[1, 0], m[1, 1], m.Total, m.Correct));
        Assert.Throws<ArgumentException>(() => m.SetCounts([1, 2, 3]));
        Assert.Throws<ArgumentException>(() => m.SetCounts([1, -2, 3, 4]));
    }
}
