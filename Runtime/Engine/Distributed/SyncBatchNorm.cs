using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using dist = ArchDsl.Torch.torch.distributed;

namespace ArchDsl.Runtime.Distributed;

/// <summary>
/// Batch normalisation in training with statistics over the whole global batch — every rank's images — as PyTorch's
/// <c>torch.nn.SyncBatchNorm</c>: the per-channel sums and counts, then the centred squares, are all-reduced with a
/// differentiable all-reduce (<see cref="dist.nn.functional.all_reduce"/>), so autograd's gradient is the one of a
/// single batch norm over the concatenated batch. Running statistics are updated as <c>F.batch_norm</c> updates them:
/// <c>running = (1 − momentum)·running + momentum·batch</c>, the variance unbiased (n / (n − 1), n the global count).
/// </summary>
internal static class SyncBatchNorm
{
    /// <param name="x">[N, C, ...] (an image [B, C, H, W] or rows [R, C]).</param>
    /// <param name="group">the ranks whose batches make the statistics.</param>
    /// <returns>normalised x, the same shape.</returns>
    public static Tensor Forward(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                                 double momentum, double eps, dist.ProcessGroup group)
    {
        x = dist.nn.functional.grad_in_input_layout(x); // keeps its gradient in x's layout (channels-last): see that function
        var size = x.shape;
        long channels = size[1];
        var dims = Enumerable.Range(0, size.Length).Where(d => d != 1).Select(d => (long)d).ToArray();
        var perChannel = size.Select((_, d) => d == 1 ? channels : 1L).ToArray();
        // Intermediates belong to the caller's dispose scope (the training step's); autograd keeps what backward needs.
        var total = dist.nn.functional.all_reduce(cat([x.sum(dims), full([1], (double)(x.numel() / channels), x.dtype, x.device)]), group);
        double n = total.narrow(0, channels, 1).item<float>();
        if (n <= 1) throw new ArgumentException($"Expected more than 1 value per channel when training, got {n} over all ranks");
        var mean = total.narrow(0, 0, channels).div(n);
        var centered = x.sub(mean.view(perChannel));
        var var = dist.nn.functional.all_reduce(centered.pow(2).sum(dims), group).div(n);
        using (no_grad())
        {
            runningMean.mul_(1 - momentum).add_(mean.detach(), momentum);
            runningVar.mul_(1 - momentum).add_(var.detach(), momentum * n / (n - 1));
        }
        return centered.mul(var.add(eps).rsqrt().view(perChannel)).mul(weight.view(perChannel)).add(bias.view(perChannel));
    }
}
