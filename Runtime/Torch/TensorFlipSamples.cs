using System.Runtime.InteropServices;

namespace ArchDsl.Torch;

public static partial class torch
{
    public partial class Tensor
    {
        /// <summary>
        /// Flips, in place, the samples <c>i</c> of this <c>[N, C, H, W]</c> tensor with <c>mask[i]</c> along W (a horizontal
        /// flip): bit for bit what <c>copy_(where(mask.view(N, 1, 1, 1), flip(3), this))</c> leaves, without its two
        /// full-size temporaries (not a PyTorch op; the shim's <c>ats_flip_samples_</c>). Any dtype; the elements must be
        /// dense and not overlap (contiguous, channels-last, or another dimension order).
        /// </summary>
        /// <returns>this tensor</returns>
        /// <exception cref="TorchException"><paramref name="mask"/> does not have N entries, or the tensor is not 4-D, not on the CPU, requires grad, or has overlapping or
        /// gapped elements; it is left untouched.</exception>
        public unsafe Tensor flip_samples_(ReadOnlySpan<bool> mask)
        {
            fixed (byte* m = MemoryMarshal.AsBytes(mask))
                Native.Check(Native.ats_flip_samples_(Handle, m, mask.Length));
            return this;
        }

        /// <summary>Whether <see cref="flip_samples_"/> surely accepts this tensor: 4-D, on the CPU, not requiring grad, and
        /// contiguous (NCHW) or channels-last (the shim accepts any dense order; these are the two a batch comes in).</summary>
        public bool CanFlipSamplesInPlace =>
            dim() == 4 && device.type == DeviceType.CPU && !requires_grad &&
            (is_contiguous() || is_contiguous(channels_last));
    }
}
