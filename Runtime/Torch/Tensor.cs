// Over 400 lines on purpose: this is the binding's Tensor API surface, one method per libtorch operation in the
// order and with the names of TorchSharp's Tensor class, so a reader finds an operation where TorchSharp has it.
using System.Runtime.InteropServices;

namespace ArchDsl.Torch;

public static partial class torch
{
    /// <summary>
    /// A libtorch tensor. Owns one native handle, freed by <see cref="Dispose"/> or by the
    /// <see cref="DisposeScope"/> it was created in; the SafeHandle finalizer is only a safety net.
    /// Every operation returns a new tensor (registered in the current dispose scope) unless its name
    /// ends in <c>_</c> (in place).
    /// </summary>
    public partial class Tensor : IDisposable
    {
        TensorHandle _handle;
        internal DisposeScope? OwningScope;

        internal Tensor(IntPtr handle, bool scoped = true)
        {
            _handle = new TensorHandle(Native.Check(handle));
            if (scoped) DisposeScope.Current?.Register(this);
        }

        internal static Tensor Wrap(IntPtr handle) => new(handle);

        /// <summary>The native <c>at::Tensor*</c>; throws if this tensor was disposed.</summary>
        internal IntPtr Handle
        {
            get
            {
                if (_handle.IsClosed) throw new ObjectDisposedException("Tensor", "the tensor was disposed (by Dispose or its DisposeScope)");
                return _handle.DangerousGetHandle();
            }
        }

        public bool IsDisposed => _handle.IsClosed;

        public void Dispose()
        {
            _handle.Dispose();
            GC.SuppressFinalize(this);
        }

        // ---- dispose scopes ---------------------------------------------------------------------

        /// <summary>Moves this tensor to the scope enclosing its owner (or out of all scopes) so it outlives the current one.</summary>
        public Tensor MoveToOuterDisposeScope()
        {
            if (OwningScope != null) OwningScope.MoveToOuter(this);
            return this;
        }

        /// <summary>Takes this tensor out of its scope: the caller now disposes it.</summary>
        public Tensor DetachFromDisposeScope()
        {
            OwningScope = null;
            return this;
        }

        // ---- metadata ---------------------------------------------------------------------------

        public long[] shape
        {
            get
            {
                var h = Handle;
                var n = Native.ats_dim(h);
                var dims = new long[n];
                unsafe { fixed (long* p = dims) Native.ats_shape(h, p); }
                return dims;
            }
        }
        public long size(int dim)
        {
            var s = shape;
            return s[dim < 0 ? dim + s.Length : dim];
        }
        public int dim() => Native.ats_dim(Handle);
        public int ndim => dim();
        /// <summary>The step in elements between neighbours along each dim (how the tensor lies in memory).</summary>
        public long[] stride()
        {
            var h = Handle;
            var strides = new long[Native.ats_dim(h)];
            unsafe { fixed (long* p = strides) Native.ats_strides(h, p); }
            return strides;
        }
        public long numel() => Native.ats_numel(Handle);
        public long NumberOfElements => numel();
        public ScalarType dtype => (ScalarType)Native.ats_dtype(Handle);
        public Device device
        {
            get
            {
                var h = Handle;
                return new Device((DeviceType)Native.ats_device_type(h), Native.ats_device_index(h));
            }
        }
        public DeviceType device_type => (DeviceType)Native.ats_device_type(Handle);
        public bool is_leaf => Native.ats_is_leaf(Handle) != 0;
        /// <summary>The name of the autograd node that made this tensor (PyTorch's <c>grad_fn.name()</c>, e.g.
        /// <c>AddmmBackward0</c>), or null for a leaf or a tensor made without autograd.</summary>
        public string? grad_fn_name => Marshal.PtrToStringUTF8(Native.ats_grad_fn_name(Handle));
        public bool is_contiguous() => Native.ats_is_contiguous(Handle) != 0;
        public bool is_contiguous(memory_format format) => Native.Check(Native.ats_is_contiguous_format(Handle, (int)format)) != 0;

        public bool requires_grad
        {
            get => Native.ats_requires_grad(Handle) != 0;
            set => Native.Check(Native.ats_requires_grad_(Handle, value ? 1 : 0));
        }
        public Tensor requires_grad_(bool value = true)
        {
            requires_grad = value;
            return this;
        }

        public override string ToString() =>
            IsDisposed ? "Tensor (disposed)" : $"[{string.Join("x", shape)}], type = {dtype}, device = {device}";

        // ---- host data --------------------------------------------------------------------------

        /// <summary>A copy of the elements (row-major) on the host. T must match <see cref="dtype"/>.</summary>
        public T[] data<T>() where T : unmanaged
        {
            var want = DTypeOf<T>();
            var have = dtype;
            if (want != have) throw new InvalidOperationException($"data<{typeof(T).Name}>() on a {have} tensor; convert with .to({want}) first");
            var result = new T[numel()];
            unsafe
            {
                fixed (T* p = result)
                    Native.Check(Native.ats_copy_to_host(Handle, p, (long)result.Length * sizeof(T)));
            }
            return result;
        }
        public T[] ToArray<T>() where T : unmanaged => data<T>();

        /// <summary>The raw bytes (row-major, little-endian) of the elements.</summary>
        public byte[] bytes()
        {
            var result = new byte[numel() * ElementSize(dtype)];
            unsafe
            {
                fixed (byte* p = result)
                    Native.Check(Native.ats_copy_to_host(Handle, p, result.Length));
            }
            return result;
        }

        /// <summary>The value of a one-element tensor as T (converted like PyTorch's item()).</summary>
        public T item<T>() where T : unmanaged
        {
            if (typeof(T) == typeof(long) || typeof(T) == typeof(int) || typeof(T) == typeof(short) ||
                typeof(T) == typeof(byte) || typeof(T) == typeof(sbyte) || typeof(T) == typeof(bool))
            {
                Native.Check(Native.ats_item_long(Handle, out var l));
                return typeof(T) == typeof(bool) ? (T)(object)(l != 0) : (T)Convert.ChangeType(l, typeof(T));
            }
            Native.Check(Native.ats_item_double(Handle, out var d));
            if (typeof(T) == typeof(float)) return (T)(object)(float)d;
            if (typeof(T) == typeof(double)) return (T)(object)d;
            if (typeof(T) == typeof(Half)) return (T)(object)(Half)d;
            throw new NotSupportedException($"item<{typeof(T).Name}>");
        }
        public float ToSingle() => item<float>();
        public double ToDouble() => item<double>();
        public long ToInt64() => item<long>();

        // ---- conversions ------------------------------------------------------------------------

        public Tensor to(Device device, bool non_blocking = false) => Wrap(Native.ats_to_device(Handle, device.ToString(), non_blocking ? 1 : 0));
        public Tensor to(string device) => to(Device.Parse(device));
        public Tensor to(DeviceType type, int index = -1) => to(new Device(type, index));
        public Tensor to(ScalarType type) => Wrap(Native.ats_to_dtype(Handle, (int)type));
        public Tensor to_type(ScalarType type) => to(type);
        public Tensor cpu() => to(CPU);
        public Tensor cuda() => to(CUDA);
        public Tensor @float() => to(ScalarType.Float32);
        public Tensor @long() => to(ScalarType.Int64);
        public Tensor clone() => Wrap(Native.ats_clone(Handle));
        public Tensor detach() => Wrap(Native.ats_detach(Handle));
        public Tensor contiguous() => Wrap(Native.ats_contiguous(Handle));
        /// <summary>This tensor laid out in <paramref name="format"/> (itself, as a new handle, when it already is).</summary>
        public Tensor contiguous(memory_format format) => Wrap(Native.ats_contiguous_format(Handle, (int)format));
        /// <summary>
        /// This tensor in <paramref name="format"/>, as PyTorch's <c>to(memory_format=...)</c>: unlike
        /// <see cref="contiguous(memory_format)"/> it also restrides a tensor whose layout is ambiguous (e.g. one
        /// channel), which is what makes a following convolution pick channels-last.
        /// </summary>
        public Tensor to(memory_format format) => Wrap(Native.ats_to_memory_format(Handle, (int)format));
        /// <summary>A second handle to the same tensor (same storage, same autograd identity).</summary>
        public Tensor alias() => Wrap(Native.ats_alias(Handle));

        // ---- autograd ---------------------------------------------------------------------------

        public void backward(Tensor? gradient = null, bool retain_graph = false, bool create_graph = false) =>
            Native.Check(Native.ats_backward(Handle, gradient?.Handle ?? IntPtr.Zero, retain_graph ? 1 : 0, create_graph ? 1 : 0));

        /// <summary>
        /// The accumulated gradient, or null. Each read returns a new handle (registered in the current
        /// scope) aliasing the gradient; setting replaces it (null drops it).
        /// </summary>
        public Tensor? grad
        {
            get
            {
                var h = Native.CheckNullable(Native.ats_grad(Handle));
                return h == IntPtr.Zero ? null : new Tensor(h);
            }
            set => Native.Check(Native.ats_set_grad(Handle, value?.Handle ?? IntPtr.Zero));
        }

        // ---- in place ---------------------------------------------------------------------------

        public Tensor copy_(Tensor src) { Native.Check(Native.ats_copy_(Handle, src.Handle)); return this; }
        public Tensor zero_() { Native.Check(Native.ats_zero_(Handle)); return this; }
        public Tensor fill_(double value) { Native.Check(Native.ats_fill_(Handle, value, 0)); return this; }
        public Tensor fill_(long value) { Native.Check(Native.ats_fill_(Handle, value, 1)); return this; }
        public Tensor uniform_(double from = 0, double to = 1) { Native.Check(Native.ats_uniform_(Handle, from, to)); return this; }
        public Tensor normal_(double mean = 0, double std = 1) { Native.Check(Native.ats_normal_(Handle, mean, std)); return this; }
        public Tensor bernoulli_(double p = 0.5) { Native.Check(Native.ats_bernoulli_(Handle, p)); return this; }
        public Tensor erfinv_() { Native.Check(Native.ats_erfinv_(Handle)); return this; }
        public Tensor clamp_(double? min = null, double? max = null)
        {
            Native.Check(Native.ats_clamp_(Handle, min ?? 0, min.HasValue ? 1 : 0, max ?? 0, max.HasValue ? 1 : 0));
            return this;
        }
        public Tensor add_(Tensor other, double alpha = 1) { Native.Check(Native.ats_add_(Handle, other.Handle, alpha)); return this; }
        public Tensor sub_(Tensor other, double alpha = 1) { Native.Check(Native.ats_sub_(Handle, other.Handle, alpha)); return this; }
        public Tensor mul_(Tensor other) { Native.Check(Native.ats_mul_(Handle, other.Handle)); return this; }
        public Tensor div_(Tensor other) { Native.Check(Native.ats_div_(Handle, other.Handle)); return this; }
        public Tensor add_(double v) { Native.Check(Native.ats_add_scalar_(Handle, v, 0)); return this; }
        public Tensor add_(long v) { Native.Check(Native.ats_add_scalar_(Handle, v, 1)); return this; }
        public Tensor mul_(double v) { Native.Check(Native.ats_mul_scalar_(Handle, v, 0)); return this; }
        public Tensor div_(double v) { Native.Check(Native.ats_div_scalar_(Handle, v, 0)); return this; }

        // ---- arithmetic -------------------------------------------------------------------------

        public Tensor add(Tensor other, double alpha = 1) => Wrap(Native.ats_add(Handle, other.Handle, alpha));
        public Tensor sub(Tensor other, double alpha = 1) => Wrap(Native.ats_sub(Handle, other.Handle, alpha));
        public Tensor mul(Tensor other) => Wrap(Native.ats_mul(Handle, other.Handle));
        public Tensor div(Tensor other) => Wrap(Native.ats_div(Handle, other.Handle));
        public Tensor pow(Tensor exponent) => Wrap(Native.ats_pow(Handle, exponent.Handle));
        public Tensor pow(double exponent) => Wrap(Native.ats_pow_scalar(Handle, exponent, 0));
        public Tensor remainder(Tensor other) => Wrap(Native.ats_remainder(Handle, other.Handle));
        public Tensor remainder(long v) => Wrap(Native.ats_remainder_scalar(Handle, v, 1));
        public Tensor add(double v) => Wrap(Native.ats_add_scalar(Handle, v, 0));
        public Tensor add(long v) => Wrap(Native.ats_add_scalar(Handle, v, 1));
        public Tensor sub(double v) => Wrap(Native.ats_sub_scalar(Handle, v, 0));
        public Tensor sub(long v) => Wrap(Native.ats_sub_scalar(Handle, v, 1));
        public Tensor mul(double v) => Wrap(Native.ats_mul_scalar(Handle, v, 0));
        public Tensor mul(long v) => Wrap(Native.ats_mul_scalar(Handle, v, 1));
        public Tensor div(double v) => Wrap(Native.ats_div_scalar(Handle, v, 0));
        public Tensor div(long v) => Wrap(Native.ats_div_scalar(Handle, v, 1));
        public Tensor maximum(Tensor other) => Wrap(Native.ats_maximum(Handle, other.Handle));
        public Tensor minimum(Tensor other) => Wrap(Native.ats_minimum(Handle, other.Handle));
        public Tensor matmul(Tensor other) => Wrap(Native.ats_matmul(Handle, other.Handle));
        public Tensor bmm(Tensor other) => Wrap(Native.ats_bmm(Handle, other.Handle));
        public Tensor lerp(Tensor end, double weight) => Wrap(Native.ats_lerp(Handle, end.Handle, weight));
        public Tensor clamp(double? min = null, double? max = null) =>
            Wrap(Native.ats_clamp(Handle, min ?? 0, min.HasValue ? 1 : 0, max ?? 0, max.HasValue ? 1 : 0));
        public Tensor masked_fill(Tensor mask, double value) => Wrap(Native.ats_masked_fill(Handle, mask.Handle, value, 0));

        public static Tensor operator +(Tensor a, Tensor b) => a.add(b);
        public static Tensor operator -(Tensor a, Tensor b) => a.sub(b);
        public static Tensor operator *(Tensor a, Tensor b) => a.mul(b);
        public static Tensor operator /(Tensor a, Tensor b) => a.div(b);
        public static Tensor operator %(Tensor a, Tensor b) => a.remainder(b);
        public static Tensor operator -(Tensor a) => a.neg();
        public static Tensor operator +(Tensor a, double b) => a.add(b);
        public static Tensor operator +(double a, Tensor b) => b.add(a);
        public static Tensor operator +(Tensor a, long b) => a.add(b);
        public static Tensor operator +(long a, Tensor b) => b.add(a);
        public static Tensor operator -(Tensor a, double b) => a.sub(b);
        public static Tensor operator -(Tensor a, long b) => a.sub(b);
        public static Tensor operator -(double a, Tensor b) => Wrap(Native.ats_rsub_scalar(b.Handle, a, 0));
        public static Tensor operator -(long a, Tensor b) => Wrap(Native.ats_rsub_scalar(b.Handle, a, 1));
        public static Tensor operator *(Tensor a, double b) => a.mul(b);
        public static Tensor operator *(double a, Tensor b) => b.mul(a);
        public static Tensor operator *(Tensor a, long b) => a.mul(b);
        public static Tensor operator *(long a, Tensor b) => b.mul(a);
        public static Tensor operator /(Tensor a, double b) => a.div(b);
        public static Tensor operator /(Tensor a, long b) => a.div(b);
        public static Tensor operator /(double a, Tensor b) => Wrap(Native.ats_rdiv_scalar(b.Handle, a, 0));
        public static Tensor operator %(Tensor a, long b) => a.remainder(b);

        // comparisons (op codes match the shim's compare())
        Tensor Cmp(Tensor o, int op) => Wrap(Native.ats_compare(Handle, o.Handle, op));
        Tensor Cmp(double v, bool isInt, int op) => Wrap(Native.ats_compare_scalar(Handle, v, isInt ? 1 : 0, op));
        public Tensor eq(Tensor o) => Cmp(o, 0);
        public Tensor ne(Tensor o) => Cmp(o, 1);
        public Tensor lt(Tensor o) => Cmp(o, 2);
        public Tensor le(Tensor o) => Cmp(o, 3);
        public Tensor gt(Tensor o) => Cmp(o, 4);
        public Tensor ge(Tensor o) => Cmp(o, 5);
        public Tensor eq(double v) => Cmp(v, false, 0);
        public Tensor eq(long v) => Cmp(v, true, 0);
        public Tensor ne(double v) => Cmp(v, false, 1);
        public Tensor lt(double v) => Cmp(v, false, 2);
        public Tensor le(double v) => Cmp(v, false, 3);
        public Tensor gt(double v) => Cmp(v, false, 4);
        public Tensor ge(double v) => Cmp(v, false, 5);
        public Tensor logical_and(Tensor o) => Wrap(Native.ats_logical_and(Handle, o.Handle));
        public Tensor logical_or(Tensor o) => Wrap(Native.ats_logical_or(Handle, o.Handle));
        public Tensor logical_not() => Wrap(Native.ats_logical_not(Handle));
        public bool allclose(Tensor other, double rtol = 1e-5, double atol = 1e-8) => Native.Check(Native.ats_allclose(Handle, other.Handle, rtol, atol)) == 1;

        // ---- elementwise ------------------------------------------------------------------------

        public Tensor neg() => Wrap(Native.ats_neg(Handle));
        public Tensor abs() => Wrap(Native.ats_abs(Handle));
        public Tensor exp() => Wrap(Native.ats_exp(Handle));
        public Tensor log() => Wrap(Native.ats_log(Handle));
        public Tensor sqrt() => Wrap(Native.ats_sqrt(Handle));
        public Tensor rsqrt() => Wrap(Native.ats_rsqrt(Handle));
        public Tensor square() => Wrap(Native.ats_square(Handle));
        public Tensor reciprocal() => Wrap(Native.ats_reciprocal(Handle));
        public Tensor sin() => Wrap(Native.ats_sin(Handle));
        public Tensor cos() => Wrap(Native.ats_cos(Handle));
        public Tensor erf() => Wrap(Native.ats_erf(Handle));
        public Tensor sign() => Wrap(Native.ats_sign(Handle));
        public Tensor floor() => Wrap(Native.ats_floor(Handle));
        public Tensor ceil() => Wrap(Native.ats_ceil(Handle));
        public Tensor round() => Wrap(Native.ats_round(Handle));
        public Tensor tanh() => Wrap(Native.ats_tanh(Handle));
        public Tensor sigmoid() => Wrap(Native.ats_sigmoid(Handle));
        public Tensor relu() => Wrap(Native.ats_relu(Handle));
        public Tensor silu() => Wrap(Native.ats_silu(Handle));
        public Tensor gelu(string approximate = "none") => Wrap(Native.ats_gelu(Handle, approximate));
        public Tensor real => Wrap(Native.ats_real(Handle));
        public Tensor imag => Wrap(Native.ats_imag(Handle));
        public Tensor isnan() => Wrap(Native.ats_isnan(Handle));
        public Tensor isfinite() => Wrap(Native.ats_isfinite(Handle));

        // ---- reductions -------------------------------------------------------------------------

        static unsafe Tensor Reduce(delegate*<IntPtr, long*, int, int, IntPtr> f, IntPtr h, long[] dims, bool keepdim)
        {
            fixed (long* p = dims) return Wrap(f(h, p, dims.Length, keepdim ? 1 : 0));
        }
        public Tensor sum() => Wrap(Native.ats_sum_all(Handle));
        public unsafe Tensor sum(long[] dim, bool keepdim = false) => Reduce(&Native.ats_sum, Handle, dim, keepdim);
        public Tensor sum(long dim, bool keepdim = false) => sum(new[] { dim }, keepdim);
        public Tensor mean() => Wrap(Native.ats_mean_all(Handle));
        public unsafe Tensor mean(long[] dim, bool keepdim = false) => Reduce(&Native.ats_mean, Handle, dim, keepdim);
        public Tensor mean(long dim, bool keepdim = false) => mean(new[] { dim }, keepdim);
        public unsafe Tensor logsumexp(long[] dim, bool keepdim = false) => Reduce(&Native.ats_logsumexp, Handle, dim, keepdim);
        public unsafe Tensor var(long[] dim, bool unbiased = true, bool keepdim = false)
        {
            fixed (long* p = dim) return Wrap(Native.ats_var(Handle, p, dim.Length, unbiased ? 1 : 0, keepdim ? 1 : 0));
        }
        public unsafe Tensor std(long[] dim, bool unbiased = true, bool keepdim = false)
        {
            fixed (long* p = dim) return Wrap(Native.ats_std(Handle, p, dim.Length, unbiased ? 1 : 0, keepdim ? 1 : 0));
        }
        public Tensor max() => Wrap(Native.ats_max_all(Handle));
        public Tensor min() => Wrap(Native.ats_min_all(Handle));
        public (Tensor values, Tensor indexes) max(long dim, bool keepdim = false)
        {
            Native.Check(Native.ats_max_dim(Handle, dim, keepdim ? 1 : 0, out var v, out var i));
            return (Wrap(v), Wrap(i));
        }
        public (Tensor values, Tensor indexes) min(long dim, bool keepdim = false)
        {
            Native.Check(Native.ats_min_dim(Handle, dim, keepdim ? 1 : 0, out var v, out var i));
            return (Wrap(v), Wrap(i));
        }
        public (Tensor values, Tensor indexes) topk(long k, long dim = -1, bool largest = true, bool sorted = true)
        {
            Native.Check(Native.ats_topk(Handle, k, dim, largest ? 1 : 0, sorted ? 1 : 0, out var v, out var i));
            return (Wrap(v), Wrap(i));
        }
        public Tensor argmax() => Wrap(Native.ats_argmax(Handle, 0, 0, 0));
        public Tensor argmax(long dim, bool keepdim = false) => Wrap(Native.ats_argmax(Handle, dim, 1, keepdim ? 1 : 0));
        public Tensor argmin(long dim, bool keepdim = false) => Wrap(Native.ats_argmin(Handle, dim, 1, keepdim ? 1 : 0));
        public Tensor norm(double p = 2) => Wrap(Native.ats_norm(Handle, p));
        public Tensor cumsum(long dim) => Wrap(Native.ats_cumsum(Handle, dim));
        public Tensor softmax(long dim) => Wrap(Native.ats_softmax(Handle, dim));
        public Tensor log_softmax(long dim) => Wrap(Native.ats_log_softmax(Handle, dim));

        // ---- shape and indexing -----------------------------------------------------------------

        public unsafe Tensor reshape(params long[] shape) { fixed (long* p = shape) return Wrap(Native.ats_reshape(Handle, p, shape.Length)); }
        public unsafe Tensor view(params long[] shape) { fixed (long* p = shape) return Wrap(Native.ats_view(Handle, p, shape.Length)); }
        public Tensor flatten(long start_dim = 0, long end_dim = -1) => Wrap(Native.ats_flatten(Handle, start_dim, end_dim));
        public Tensor transpose(long dim0, long dim1) => Wrap(Native.ats_transpose(Handle, dim0, dim1));
        public Tensor t() => transpose(0, 1);
        public Tensor mT => transpose(-2, -1);
        public unsafe Tensor permute(params long[] dims) { fixed (long* p = dims) return Wrap(Native.ats_permute(Handle, p, dims.Length)); }
        public unsafe Tensor expand(params long[] shape) { fixed (long* p = shape) return Wrap(Native.ats_expand(Handle, p, shape.Length)); }
        public unsafe Tensor repeat(params long[] repeats) { fixed (long* p = repeats) return Wrap(Native.ats_repeat(Handle, p, repeats.Length)); }
        public Tensor unsqueeze(long dim) => Wrap(Native.ats_unsqueeze(Handle, dim));
        public Tensor squeeze() => Wrap(Native.ats_squeeze(Handle));
        public Tensor squeeze(long dim) => Wrap(Native.ats_squeeze_dim(Handle, dim));
        public Tensor slice(long dim, long start, long finish, long step = 1) => Wrap(Native.ats_slice(Handle, dim, start, finish, step));
        public Tensor narrow(long dim, long start, long length) => Wrap(Native.ats_narrow(Handle, dim, start, length));
        public Tensor select(long dim, long index) => Wrap(Native.ats_select(Handle, dim, index));
        public Tensor index_select(long dim, Tensor index) => Wrap(Native.ats_index_select(Handle, dim, index.Handle));
        public Tensor gather(long dim, Tensor index) => Wrap(Native.ats_gather(Handle, dim, index.Handle));
        public Tensor masked_select(Tensor mask) => Wrap(Native.ats_masked_select(Handle, mask.Handle));
        public unsafe Tensor flip(params long[] dims) { fixed (long* p = dims) return Wrap(Native.ats_flip(Handle, p, dims.Length)); }
        public unsafe Tensor roll(long[] shifts, long[] dims)
        {
            fixed (long* s = shifts) fixed (long* d = dims) return Wrap(Native.ats_roll(Handle, s, shifts.Length, d, dims.Length));
        }
        public Tensor roll(long shift, long dim) => roll(new[] { shift }, new[] { dim });
        public Tensor tril(long diagonal = 0) => Wrap(Native.ats_tril(Handle, diagonal));
        public Tensor triu(long diagonal = 0) => Wrap(Native.ats_triu(Handle, diagonal));
        public unsafe Tensor[] chunk(long chunks, long dim = 0)
        {
            var outp = new IntPtr[chunks];
            int n;
            fixed (IntPtr* p = outp) n = Native.Check(Native.ats_chunk(Handle, chunks, dim, p, outp.Length));
            var result = new Tensor[n];
            for (var i = 0; i < n; i++) result[i] = Wrap(outp[i]);
            return result;
        }
        /// <summary>t[i] selects along the first dimension; t[i, j] along the first two.</summary>
        public Tensor this[long i] => select(0, i);
        public Tensor this[long i, long j]
        {
            get { using var row = select(0, i); return row.select(0, j); }
        }
    }
}
