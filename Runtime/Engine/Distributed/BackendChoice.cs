using ArchDsl.Runtime.Training;
using ArchDsl.Torch;

namespace ArchDsl.Runtime.Distributed;

/// <summary>c10d's communication backends, as <c>torch.distributed.init_process_group(backend=…)</c> names them.</summary>
public enum Backend { Gloo, Nccl }

/// <summary>
/// The backend and device of one worker, as PyTorch's DDP recipe chooses them: on the CPU, Gloo; on CUDA, NCCL with
/// each worker on <c>cuda:LOCAL_RANK</c> (one GPU per process; a device index in the spec or <c>--device</c> is
/// replaced by the local rank, as torchrun scripts do with <c>torch.cuda.set_device(local_rank)</c>).
/// </summary>
public sealed record BackendChoice(Backend Backend, string Device)
{
    /// <summary>The backend's name as PyTorch spells it (<c>gloo</c>, <c>nccl</c>).</summary>
    public string Name => Backend == Backend.Nccl ? "nccl" : "gloo";

    /// <summary>Chooses for a run on <paramref name="device"/> with this libtorch (<see cref="ForThisLibtorch"/> asks it).</summary>
    /// <param name="ncclAvailable">whether the shim was built with ProcessGroupNCCL (a CUDA libtorch with NCCL).</param>
    /// <param name="cudaDevices">CUDA devices this process sees.</param>
    /// <exception cref="TrainingException">the device is not a device name; CUDA without NCCL or without a GPU for this local rank.</exception>
    public static BackendChoice Select(string device, int localRank, bool ncclAvailable, int cudaDevices)
    {
        torch.Device parsed;
        try { parsed = torch.Device.Parse(device); }
        catch (ArgumentException e) { throw new TrainingException(e.Message, e); }
        if (parsed.type != DeviceType.CUDA) return new BackendChoice(Backend.Gloo, "cpu");
        if (!ncclAvailable)
            throw new TrainingException($"data-parallel training on device '{device}' needs c10d's NCCL backend, which this libtorch does not have " +
                "(ProcessGroupNCCL is compiled only against a CUDA libtorch with NCCL); train data-parallel on the CPU (Gloo) with --device cpu, " +
                "or build the native shim against a CUDA libtorch (Runtime/native/build.sh <torch cmake prefix>)");
        if (localRank >= cudaDevices)
            throw new TrainingException($"LOCAL_RANK {localRank} takes cuda:{localRank}, but this machine sees {cudaDevices} CUDA device(s); " +
                $"start at most {cudaDevices} worker(s) per machine (--nproc)");
        return new BackendChoice(Backend.Nccl, $"cuda:{localRank}");
    }

    /// <summary><see cref="Select"/> with what this process's libtorch has.</summary>
    public static BackendChoice ForThisLibtorch(string device, int localRank) =>
        Select(device, localRank, torch.distributed.ProcessGroupNCCL.is_available, torch.cuda.is_available() ? torch.cuda.device_count() : 0);
}
