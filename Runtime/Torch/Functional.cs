namespace ArchDsl.Torch;

public static partial class torch
{
    public static partial class nn
    {
        public enum Reduction { None = 0, Mean = 1, Sum = 2 }
        public enum Padding { Valid, Same }
        public enum PaddingModes { Constant, Reflect, Replicate, Circular }
        public enum GridSampleMode { Bilinear = 0, Nearest = 1 }
        public enum GridSamplePaddingMode { Zeros = 0, Border = 1, Reflection = 2 }

        /// <summary>Stateless ops, as torch.nn.functional.</summary>
        public static partial class functional
        {
            static long[] Pair(long[]? v, long fallback) =>
                v == null || v.Length == 0 ? new[] { fallback, fallback } : v.Length == 1 ? new[] { v[0], v[0] } : v;
            static IntPtr H(Tensor? t) => t?.Handle ?? IntPtr.Zero;

            /// <summary>2-D convolution; stride/padding/dilation are 1 or 2 numbers (default 1, 0, 1).</summary>
            public static unsafe Tensor conv2d(Tensor input, Tensor weight, Tensor? bias = null, long[]? strides = null,
                long[]? padding = null, long[]? dilation = null, long groups = 1)
            {
                var s = Pair(strides, 1); var p = Pair(padding, 0); var d = Pair(dilation, 1);
                fixed (long* ps = s) fixed (long* pp = p) fixed (long* pd = d)
                    return Tensor.Wrap(Native.ats_conv2d(input.Handle, weight.Handle, H(bias), ps, pp, pd, groups));
            }

            /// <summary>2-D convolution with <c>same</c> or <c>valid</c> padding.</summary>
            public static unsafe Tensor conv2d(Tensor input, Tensor weight, Tensor? bias, long[]? strides, Padding padding,
                long[]? dilation = null, long groups = 1)
            {
                var s = Pair(strides, 1); var d = Pair(dilation, 1);
                fixed (long* ps = s) fixed (long* pd = d)
                    return Tensor.Wrap(Native.ats_conv2d_padmode(input.Handle, weight.Handle, H(bias), ps,
                        padding == Padding.Same ? "same" : "valid", pd, groups));
            }

            /// <summary>
            /// Depthwise 2-D convolution, <c>conv2d(input, weight, bias, stride: 1, padding, dilation: 1, groups: C)</c> for
            /// input <c>[N, C, H, W]</c>, weight <c>[C, 1, K, K]</c> and bias <c>[C]</c> or null; output
            /// <c>[N, C, H + 2·padding − K + 1, W + 2·padding − K + 1]</c>. Not a PyTorch function: on a channels-last
            /// float32/float64 CPU input the shim computes it and its gradients with its own kernels
            /// (<c>src/depthwise.cpp</c>; libtorch 1.13's oneDNN backward is several times slower on it), equal to
            /// <see cref="conv2d(Tensor, Tensor, Tensor?, long[]?, long[]?, long[]?, long)"/> up to float rounding; any other
            /// input (layout, dtype, device) goes to conv2d itself.
            /// </summary>
            /// <exception cref="TorchException">the shapes do not make a depthwise convolution (as conv2d reports them)</exception>
            public static Tensor depthwise_conv2d(Tensor input, Tensor weight, Tensor? bias, long padding) =>
                Tensor.Wrap(Native.ats_depthwise_conv2d(input.Handle, weight.Handle, H(bias), padding));

            /// <summary>
            /// Pointwise (1×1) 2-D convolution, <c>conv2d(input, weight, bias)</c> with stride 1, padding 0, dilation 1 and one
            /// group, for input <c>[N, C, H, W]</c>, weight <c>[O, C, 1, 1]</c> and bias <c>[O]</c> or null; output
            /// <c>[N, O, H, W]</c>. Not a PyTorch function: on a channels-last input where <see cref="linear"/> runs on oneDNN's
            /// sgemm (CPU float32, outside autocast) it is that linear over the image's pixels (the rows <c>[N·H·W, C]</c> of
            /// its memory), forward and backward, returned channels-last; equal to conv2d up to float rounding
            /// (<c>src/linear.cpp</c> has the measurements). Any other input (layout, dtype, device, kernel size) goes to conv2d itself.
            /// </summary>
            /// <exception cref="TorchException">the shapes do not fit (as conv2d reports them)</exception>
            public static Tensor pointwise_conv2d(Tensor input, Tensor weight, Tensor? bias) =>
                Tensor.Wrap(Native.ats_pointwise_conv2d(input.Handle, weight.Handle, H(bias)));

            /// <summary>
            /// PyTorch's <c>F.linear</c>: input <c>[..., in]</c>, weight <c>[out, in]</c>, bias <c>[out]</c> or null; output
            /// <c>[..., out]</c> = input·weightᵀ + bias. On CPU float32 tensors outside autocast, where libtorch loaded oneDNN
            /// as a shared library (Debian's libtorch does), its forward, input-gradient and weight-gradient products run on
            /// oneDNN's sgemm (<c>src/linear.cpp</c>, which has the measurements: 3–51% less CPU time than libtorch's
            /// OpenBLAS products on one thread for the default ViT's and MLP-Mixer's linears, less wall time on two threads
            /// for all but ViT's qkv forward (1.01×), and they run on libtorch's own OpenMP threads); equal to libtorch's
            /// linear up to float rounding. Anything else (another dtype or device, autocast, oneDNN not loaded,
            /// <see cref="linear_onednn"/> off) is libtorch's linear itself.
            /// </summary>
            /// <exception cref="TorchException">the shapes do not fit (as libtorch's linear reports them)</exception>
            public static Tensor linear(Tensor input, Tensor weight, Tensor? bias = null) =>
                Tensor.Wrap(Native.ats_linear(input.Handle, weight.Handle, H(bias)));

            /// <summary>Whether <see cref="linear"/>'s CPU float32 products run on oneDNN's sgemm: oneDNN is loaded with
            /// libtorch and the path is switched on (it is unless the environment has <c>ARCHDSL_ONEDNN_LINEAR=0</c>).</summary>
            public static bool linear_onednn => Native.ats_linear_onednn(-1) != 0;

            /// <summary>Switches <see cref="linear"/>'s oneDNN path on or off for the whole process (tests of the fallback);
            /// returns <see cref="linear_onednn"/> after the switch.</summary>
            internal static bool switch_linear_onednn(bool on) => Native.ats_linear_onednn(on ? 1 : 0) != 0;

            /// <summary>
            /// Batch normalization over dim 1. In training mode the batch statistics normalize and the running
            /// statistics (if given) are updated in place: running = (1 - momentum) * running + momentum * batch
            /// (variance unbiased). In eval mode the running statistics normalize.
            /// </summary>
            /// <exception cref="ArgumentException">in training, one value per channel (N × spatial == 1): the unbiased
            /// variance would divide by zero, so PyTorch's <c>F.batch_norm</c> refuses it (<c>_verify_batch_size</c>) with this message.</exception>
            public static Tensor batch_norm(Tensor input, Tensor? running_mean, Tensor? running_var, Tensor? weight = null,
                Tensor? bias = null, bool training = false, double momentum = 0.1, double eps = 1e-5)
            {
                if (training) CheckBatchSize(input);
                return Tensor.Wrap(Native.ats_batch_norm(input.Handle, H(weight), H(bias), H(running_mean), H(running_var),
                    training ? 1 : 0, momentum, eps));
            }

            /// <summary>PyTorch's <c>_verify_batch_size</c>: training statistics need more than one value per channel.</summary>
            static void CheckBatchSize(Tensor input)
            {
                var size = input.shape;
                long values = size[0];
                for (int i = 2; i < size.Length; i++) values *= size[i];
                if (values == 1)
                    throw new ArgumentException($"Expected more than 1 value per channel when training, got input size torch.Size([{string.Join(", ", size)}])");
            }

            /// <summary>
            /// <c>batch_norm(gelu(input), …)</c> with exact GELU, as <see cref="batch_norm"/> after <see cref="Tensor.gelu"/>
            /// (running statistics updated alike in training). Not a PyTorch function: on a CPU float32/float64 input whose
            /// channels are its fastest-moving dimension (channels-last <c>[N, C, H, W]</c>, or contiguous rows <c>[R, C]</c>)
            /// with weight, bias and running statistics <c>[C]</c>, the shim computes it and its gradients in one fused
            /// kernel (<c>src/gelu_batchnorm.cpp</c>: fewer passes over the activation than the two ops), equal to the two
            /// ops up to float rounding; any other input goes to libtorch's gelu and batch_norm.
            /// With <paramref name="residual"/> (of the input's shape) the result is <c>batch_norm(gelu(input), …) + residual</c>,
            /// the sum made in the kernel's normalising pass where the residual has the input's dtype and layout (one pass
            /// over the activation fewer forward than a separate add; its gradient is the output's), else a separate add.
            /// </summary>
            /// <exception cref="ArgumentException">in training, one value per channel (as <see cref="batch_norm"/>)</exception>
            public static Tensor gelu_batch_norm(Tensor input, Tensor running_mean, Tensor running_var, Tensor weight, Tensor bias,
                bool training, double momentum, double eps, Tensor? residual = null)
            {
                if (training) CheckBatchSize(input);
                return Tensor.Wrap(residual is null
                    ? Native.ats_gelu_batch_norm(input.Handle, weight.Handle, bias.Handle, running_mean.Handle, running_var.Handle,
                        training ? 1 : 0, momentum, eps)
                    : Native.ats_gelu_batch_norm_add(input.Handle, weight.Handle, bias.Handle, running_mean.Handle, running_var.Handle,
                        residual.Handle, training ? 1 : 0, momentum, eps));
            }

            /// <summary>
            /// <c>gelu(input + bias)</c> with exact GELU, <paramref name="bias"/> <c>[C]</c> added along the last dim of
            /// <paramref name="input"/> <c>[..., C]</c> (null: <c>gelu(input)</c>); the output has the input's shape and dtype.
            /// Not a PyTorch function: the first linear of an MLP, run without its bias, then this (<c>LinearGeluFusion</c>).
            /// On a CPU float32 or bfloat16 input with a float32 bias the shim computes it in one pass in float32 and keeps
            /// GELU's derivative for the backward, which then computes no erf and sums the bias gradient in the same pass
            /// (<c>src/bias_gelu.cpp</c>, with its measurements); a bfloat16 result is rounded once. Anything else is
            /// libtorch's <c>gelu(input + bias)</c>, the bias cast to the input's dtype (as autocast's linear casts it).
            /// A double backward through the fused kernel is an error.
            /// </summary>
            /// <exception cref="TorchException">the bias does not fit the input's last dim (as libtorch's add reports it)</exception>
            public static Tensor bias_gelu(Tensor input, Tensor? bias) =>
                Tensor.Wrap(Native.ats_bias_gelu(input.Handle, H(bias)));

            public static unsafe Tensor layer_norm(Tensor input, long[] normalized_shape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
            {
                fixed (long* p = normalized_shape)
                    return Tensor.Wrap(Native.ats_layer_norm(input.Handle, p, normalized_shape.Length, H(weight), H(bias), eps));
            }

            public static Tensor group_norm(Tensor input, long num_groups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5) =>
                Tensor.Wrap(Native.ats_group_norm(input.Handle, num_groups, H(weight), H(bias), eps));

            public static Tensor relu(Tensor x) => x.relu();
            public static Tensor gelu(Tensor x, string approximate = "none") => x.gelu(approximate);
            public static Tensor silu(Tensor x) => x.silu();
            public static Tensor tanh(Tensor x) => x.tanh();
            public static Tensor sigmoid(Tensor x) => x.sigmoid();
            public static Tensor leaky_relu(Tensor x, double negative_slope = 0.01) => Tensor.Wrap(Native.ats_leaky_relu(x.Handle, negative_slope));
            public static Tensor softmax(Tensor x, long dim) => x.softmax(dim);
            public static Tensor log_softmax(Tensor x, long dim) => x.log_softmax(dim);

            /// <summary>Inverted dropout: zeroes with probability p and scales the rest by 1/(1-p) when training; identity otherwise.</summary>
            public static Tensor dropout(Tensor x, double p = 0.5, bool training = true) =>
                Tensor.Wrap(Native.ats_dropout(x.Handle, p, training ? 1 : 0));

            public static unsafe Tensor avg_pool2d(Tensor input, long[] kernel_size, long[]? strides = null, long[]? padding = null,
                bool ceil_mode = false, bool count_include_pad = true)
            {
                var k = Pair(kernel_size, 1); var s = strides == null ? k : Pair(strides, 1); var p = Pair(padding, 0);
                fixed (long* pk = k) fixed (long* ps = s) fixed (long* pp = p)
                    return Tensor.Wrap(Native.ats_avg_pool2d(input.Handle, pk, ps, pp, ceil_mode ? 1 : 0, count_include_pad ? 1 : 0));
            }

            public static unsafe Tensor max_pool2d(Tensor input, long[] kernel_size, long[]? strides = null, long[]? padding = null, bool ceil_mode = false)
            {
                var k = Pair(kernel_size, 1); var s = strides == null ? k : Pair(strides, 1); var p = Pair(padding, 0);
                fixed (long* pk = k) fixed (long* ps = s) fixed (long* pp = p)
                    return Tensor.Wrap(Native.ats_max_pool2d(input.Handle, pk, ps, pp, ceil_mode ? 1 : 0));
            }

            public static unsafe Tensor adaptive_avg_pool2d(Tensor input, long[] output_size)
            {
                var o = Pair(output_size, 1);
                fixed (long* p = o) return Tensor.Wrap(Native.ats_adaptive_avg_pool2d(input.Handle, p));
            }

            /// <summary>[B, C, H, W] → [B, C]: the mean over the spatial dims.</summary>
            public static Tensor global_avg_pool2d(Tensor input) => input.mean(new long[] { -2, -1 });

            public static unsafe Tensor interpolate_bilinear(Tensor input, long[] size, bool align_corners = false)
            {
                fixed (long* p = size) return Tensor.Wrap(Native.ats_upsample_bilinear2d(input.Handle, p, align_corners ? 1 : 0));
            }

            public static unsafe Tensor affine_grid(Tensor theta, long[] size, bool align_corners = false)
            {
                fixed (long* p = size) return Tensor.Wrap(Native.ats_affine_grid(theta.Handle, p, size.Length, align_corners ? 1 : 0));
            }

            public static Tensor grid_sample(Tensor input, Tensor grid, GridSampleMode mode = GridSampleMode.Bilinear,
                GridSamplePaddingMode padding_mode = GridSamplePaddingMode.Zeros, bool align_corners = false) =>
                Tensor.Wrap(Native.ats_grid_sample(input.Handle, grid.Handle, (int)mode, (int)padding_mode, align_corners ? 1 : 0));

            /// <summary>softmax(q kᵀ / √E + mask) v over [..., L, E] queries and [..., S, E] keys/values. A bool mask keeps true entries.</summary>
            public static Tensor scaled_dot_product_attention(Tensor query, Tensor key, Tensor value, Tensor? attn_mask = null,
                double p = 0.0, bool is_causal = false) =>
                Tensor.Wrap(Native.ats_scaled_dot_product_attention(query.Handle, key.Handle, value.Handle, H(attn_mask), p, is_causal ? 1 : 0));

            /// <summary>
            /// Multi-head self-attention on timm's packed qkv: <paramref name="qkv"/> <c>[B, N, 3·heads·d]</c> holds q, k and v
            /// in that order, each split into <paramref name="heads"/> heads of d consecutive features; per head
            /// <c>softmax(q kᵀ / √d) v</c>, heads merged again: <c>[B, N, heads·d]</c>. What timm's <c>Attention</c> computes
            /// between its two projections. Not a PyTorch function: on a float32, bfloat16 or float64 CPU input the shim
            /// computes it and its gradient with its own per-(sample, head) loops over products read in place
            /// (<c>src/attention.cpp</c>: float32 and float64 read q, k and v in place, with no copies; bfloat16 runs on the
            /// processor's bfloat16 dot products where <see cref="packed_attention_bfloat16_dot"/>, else converts each
            /// sample's rows to float32 once, computes in float32, keeps float32 probabilities for the backward and rounds its
            /// output and gradient once; the gradient is written straight into one tensor of qkv's shape); anywhere else
            /// (CUDA, or see <see cref="packed_attention_kernel"/>) it is libtorch's matmul and softmax. On the own blocks,
            /// in every dtype bfloat16 included, a double backward (<c>backward(create_graph: true)</c>) is refused with an
            /// error, as PyTorch's <c>@once_differentiable</c>: the backward is not differentiable.
            /// </summary>
            /// <exception cref="TorchException">qkv is not 3-D or its last dim is not a multiple of 3·heads; in the backward,
            /// a double backward through the own blocks</exception>
            public static Tensor packed_attention(Tensor qkv, long heads) =>
                Tensor.Wrap(Native.ats_packed_attention(qkv.Handle, IntPtr.Zero, heads));

            /// <summary>
            /// As <see cref="packed_attention(Tensor, long)"/> with the queries apart: <paramref name="query"/> <c>[B, L, heads·d]</c>
            /// and keys and values packed in <paramref name="kv"/> <c>[B, S, 2·heads·d]</c> (k, then v): <c>[B, L, heads·d]</c>.
            /// </summary>
            /// <exception cref="TorchException">the shapes do not match as stated</exception>
            public static Tensor packed_attention(Tensor query, Tensor kv, long heads) =>
                Tensor.Wrap(Native.ats_packed_attention(query.Handle, kv.Handle, heads));

            /// <summary>Whether <see cref="packed_attention(Tensor, long)"/> on a CPU tensor of <paramref name="dtype"/> runs on the
            /// shim's own blocks: float32 and bfloat16 where the processor has AVX2 + FMA or AVX-512 (the shim's own
            /// products), float32 elsewhere where oneDNN's dnnl_sgemm was found among the libraries libtorch loaded, float64
            /// where cblas_dgemm was. Where not, it is libtorch's matmul and softmax.</summary>
            public static bool packed_attention_kernel(ScalarType dtype) => Native.ats_packed_attention_kernel((int)dtype) == 1;

            /// <summary>Whether the own blocks' float32 product (bfloat16's too where it computes in float32; its dot products,
            /// <see cref="packed_attention_bfloat16_dot"/>, take the same 512 KiB at 2 bytes a value) with the streamed
            /// operand <c>[k, n]</c> (a sequence length × the head width) runs on the shim's register-blocked kernels; false
            /// where it goes to oneDNN's dnnl_sgemm: past 512 KiB (2,048 tokens at head width 64) where oneDNN is loaded, or
            /// on a processor without AVX2 + FMA (<c>src/attention.cpp</c>, own_product, gives the reason for the bound).</summary>
            public static bool packed_attention_own_product(long n, long k) => Native.ats_packed_attention_own_product(n, k) == 1;

            /// <summary>Whether bfloat16 blocks of an even head width run their products on the processor's AVX512_BF16 dot
            /// products now (bfloat16 pairs summed in float32; the probabilities and the scores' gradient rounded to bfloat16
            /// for their products, as libtorch's bfloat16 math path rounds them; the probabilities kept in bfloat16; the output
            /// and gradients rounded as the float32 blocks round them, to nearest even with NaN as c10's 0x7FC0): where the
            /// processor has them and <see cref="CpuCapability.Current"/> is 2 (avx512). Else bfloat16 computes in float32
            /// (see <see cref="packed_attention(Tensor, long)"/>). Even where this is true a call takes the float32 blocks
            /// when a tensor's data does not start on a 4-byte boundary (a view an odd number of values into its storage:
            /// the dot products read bfloat16 pairs as 32-bit words), or when a sequence is too long for the own kernels'
            /// 512 KiB panel (max(L, S) · d · 2 bytes: more than 4,096 tokens at head width 64; see
            /// <see cref="packed_attention_own_product"/>); a backward takes them when the level was capped below avx512
            /// since its forward.</summary>
            /// <exception cref="TorchException"><see cref="CpuCapability.Variable"/> names no level</exception>
            public static bool packed_attention_bfloat16_dot() => Native.Check(Native.ats_packed_attention_bfloat16_dot()) == 1;

            /// <summary>Pads the last dims: pad = (left, right[, top, bottom, ...]) as in PyTorch.</summary>
            public static unsafe Tensor pad(Tensor input, long[] pad, PaddingModes mode = PaddingModes.Constant, double value = 0)
            {
                fixed (long* p = pad)
                    return Tensor.Wrap(Native.ats_pad(input.Handle, p, pad.Length, mode.ToString().ToLowerInvariant(), value));
            }

            public static Tensor one_hot(Tensor x, long num_classes = -1) => Tensor.Wrap(Native.ats_one_hot(x.Handle, num_classes));

            /// <summary>Cross entropy of logits [B, C] against class indices [B] (int64) or class probabilities [B, C].</summary>
            public static Tensor cross_entropy(Tensor input, Tensor target, Tensor? weight = null, long ignore_index = -100,
                Reduction reduction = Reduction.Mean, double label_smoothing = 0.0) =>
                Tensor.Wrap(Native.ats_cross_entropy(input.Handle, target.Handle, H(weight), (int)reduction, ignore_index, label_smoothing));

            public static Tensor nll_loss(Tensor input, Tensor target, Tensor? weight = null, long ignore_index = -100, Reduction reduction = Reduction.Mean) =>
                Tensor.Wrap(Native.ats_nll_loss(input.Handle, target.Handle, H(weight), (int)reduction, ignore_index));

            public static Tensor mse_loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean) =>
                Tensor.Wrap(Native.ats_mse_loss(input.Handle, target.Handle, (int)reduction));
        }
    }
}
