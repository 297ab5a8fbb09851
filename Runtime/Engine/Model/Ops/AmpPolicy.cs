using ArchDsl.Torch;

namespace ArchDsl.Runtime.Model;

/// <summary>How one op computes under <c>amp</c> (see <see cref="AmpPolicy"/>).</summary>
internal enum OpPrecision
{
    /// <summary>Runs on whatever it is given (element-wise ops, reshapes); a binary op promotes bf16 + fp32 to fp32, as in PyTorch.</summary>
    Follow,
    /// <summary>Runs under libtorch's autocast: its convolutions and matrix products cast their inputs and weights to the low precision.</summary>
    Low,
    /// <summary>Its input is cast to float32 and autocast is off: norms, reductions, FFTs (torch.autocast's float32 list).</summary>
    Float32,
}

/// <summary>
/// An op's precision under <c>amp</c> on each device: data stated in each op's definition (<see cref="OpModule.Amp"/>),
/// so that the choice follows the op and the backend rather than one global list. On CUDA it is torch.autocast's:
/// convolutions and matrix products low, norms and reductions float32. On the CPU a low-precision kernel is used only
/// where it was measured faster than float32 — see <see cref="Product"/>.
/// </summary>
internal sealed record AmpPolicy(OpPrecision Cpu, OpPrecision Cuda)
{
    /// <summary>Element-wise and shape ops.</summary>
    public static readonly AmpPolicy Follow = new(OpPrecision.Follow, OpPrecision.Follow);
    /// <summary>Norms, reductions, FFTs: float32 everywhere.</summary>
    public static readonly AmpPolicy Float32 = new(OpPrecision.Float32, OpPrecision.Float32);

    /// <summary>
    /// The smallest reduction length and output width at which a CPU matrix product or convolution runs in bfloat16.
    /// Measured with PyTorch 1.13 on the same libtorch (AMD EPYC, AVX512_BF16, 2 threads, forward + backward, batch 128,
    /// under load, bf16 time / fp32 time): linear 128→512 0.48, 512→128 0.76, 192→768 0.81, 192→576 0.61,
    /// 1×1 conv 128→128 0.88, attention's batched products 0.64 — but 49→64 1.03, 64→49 1.54, 192→10 2.6, a 2×2 stem
    /// conv from 1 channel 1.75, and a 5×5 depthwise conv 1.85 (oneDNN has no fast bf16 depthwise kernel here).
    /// </summary>
    public const long CpuMinSize = 128;

    /// <summary>A matrix product or convolution reducing over <paramref name="reduce"/> values into <paramref name="outputs"/>
    /// features: low on CUDA; on the CPU low only when both are at least <see cref="CpuMinSize"/> and it is not depthwise.</summary>
    public static AmpPolicy Product(long reduce, long outputs, bool depthwise = false) =>
        new(!depthwise && Math.Min(reduce, outputs) >= CpuMinSize ? OpPrecision.Low : OpPrecision.Float32, OpPrecision.Low);

    /// <summary>The precision on a device of <paramref name="type"/>.</summary>
    public OpPrecision On(DeviceType type) => type == DeviceType.CUDA ? Cuda : Cpu;
}
