using System.Runtime.InteropServices;

namespace ArchDsl.Torch;

/// <summary>The binding's entry point, named after TorchSharp's <c>torch</c> (use <c>using static ArchDsl.Torch.torch;</c>).</summary>
public static partial class torch
{
    /// <summary>libtorch's version string (e.g. 1.13.0).</summary>
    public static string __version__ => Marshal.PtrToStringUTF8(Native.ats_torch_version()) ?? "?";

    /// <summary>Opens a dispose scope on this thread; see <see cref="DisposeScope"/>.</summary>
    public static DisposeScope NewDisposeScope() => new();

    /// <summary>Native tensor handles alive in this process (created and not yet freed).</summary>
    public static long LiveTensorHandles => Native.ats_live_tensors();

    // ---- global settings ------------------------------------------------------------------------

    public static void manual_seed(long seed) => Native.Check(Native.ats_manual_seed(unchecked((ulong)seed)));
    public static void random_seed(long seed) => manual_seed(seed);
    /// <summary>Intra-op threads. Debian's libtorch starts with 1; set this to use the cores.</summary>
    public static void set_num_threads(int threads) => Native.Check(Native.ats_set_num_threads(threads));
    public static int get_num_threads() => Native.ats_get_num_threads();
    /// <summary>How many threads the binding's own CPU kernels spread <paramref name="items"/> independent items over: the
    /// intra-op thread count (at most <paramref name="items"/>) when the native shim was built for libtorch's parallel
    /// backend, 1 when its at::parallel_for fell back to the calling thread. Throws <see cref="TorchException"/> on error.</summary>
    internal static int parallel_for_threads(long items) => Native.Check(Native.ats_parallel_for_threads(items));
    /// <summary>Inter-op threads; libtorch allows setting this only once, before any parallel work.</summary>
    public static void set_num_interop_threads(int threads) => Native.Check(Native.ats_set_num_interop_threads(threads));
    public static int get_num_interop_threads() => Native.ats_get_num_interop_threads();

    // ---- grad mode ------------------------------------------------------------------------------

    public static bool is_grad_enabled() => Native.ats_is_grad_enabled() != 0;
    public static void set_grad_enabled(bool enabled) => Native.ats_set_grad_enabled(enabled ? 1 : 0);

    /// <summary><c>using (torch.no_grad()) { ... }</c>: autograd off on this thread until disposed, then restored.</summary>
    public static IDisposable no_grad() => new GradModeGuard(false);
    public static IDisposable enable_grad() => new GradModeGuard(true);

    sealed class GradModeGuard : IDisposable
    {
        readonly bool _previous;
        bool _done;
        public GradModeGuard(bool enabled) => _previous = Native.ats_set_grad_enabled(enabled ? 1 : 0) != 0;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            Native.ats_set_grad_enabled(_previous ? 1 : 0);
        }
    }

    // ---- creation -------------------------------------------------------------------------------

    static string Dev(Device? d) => (d ?? CPU).ToString();

    static unsafe Tensor Factory(delegate*<long*, int, int, string, int, IntPtr> f, long[] size, ScalarType? dtype, Device? device, bool requires_grad)
    {
        fixed (long* p = size) return Tensor.Wrap(f(p, size.Length, (int)(dtype ?? ScalarType.Float32), Dev(device), requires_grad ? 1 : 0));
    }
    public static unsafe Tensor zeros(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) => Factory(&Native.ats_zeros, size, dtype, device, requires_grad);
    public static unsafe Tensor ones(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) => Factory(&Native.ats_ones, size, dtype, device, requires_grad);
    public static unsafe Tensor empty(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) => Factory(&Native.ats_empty, size, dtype, device, requires_grad);
    public static unsafe Tensor rand(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) => Factory(&Native.ats_rand, size, dtype, device, requires_grad);
    public static unsafe Tensor randn(long[] size, ScalarType? dtype = null, Device? device = null, bool requires_grad = false) => Factory(&Native.ats_randn, size, dtype, device, requires_grad);
    public static Tensor zeros(params long[] size) => zeros(size, null);
    public static Tensor ones(params long[] size) => ones(size, null);
    public static Tensor empty(params long[] size) => empty(size, null);
    public static Tensor rand(params long[] size) => rand(size, null);
    public static Tensor randn(params long[] size) => randn(size, null);

    public static unsafe Tensor full(long[] size, double value, ScalarType? dtype = null, Device? device = null)
    {
        fixed (long* p = size) return Tensor.Wrap(Native.ats_full(p, size.Length, value, 0, (int)(dtype ?? ScalarType.Float32), Dev(device)));
    }
    public static unsafe Tensor full(long[] size, long value, ScalarType? dtype = null, Device? device = null)
    {
        fixed (long* p = size) return Tensor.Wrap(Native.ats_full(p, size.Length, value, 1, (int)(dtype ?? ScalarType.Int64), Dev(device)));
    }
    public static Tensor arange(double start, double stop, double step = 1, ScalarType? dtype = null, Device? device = null) =>
        Tensor.Wrap(Native.ats_arange(start, stop, step, (int)(dtype ?? ScalarType.Float32), Dev(device)));
    public static Tensor arange(long start, long stop, long step = 1, ScalarType? dtype = null, Device? device = null) =>
        Tensor.Wrap(Native.ats_arange(start, stop, step, (int)(dtype ?? ScalarType.Int64), Dev(device)));
    public static Tensor arange(long stop, ScalarType? dtype = null, Device? device = null) => arange(0, stop, 1, dtype, device);
    public static unsafe Tensor randint(long low, long high, long[] size, ScalarType? dtype = null, Device? device = null)
    {
        fixed (long* p = size) return Tensor.Wrap(Native.ats_randint(low, high, p, size.Length, (int)(dtype ?? ScalarType.Int64), Dev(device)));
    }
    public static Tensor randint(long high, long[] size, ScalarType? dtype = null, Device? device = null) => randint(0, high, size, dtype, device);
    public static Tensor randperm(long n, ScalarType? dtype = null, Device? device = null) =>
        Tensor.Wrap(Native.ats_randperm(n, (int)(dtype ?? ScalarType.Int64), Dev(device)));
    public static Tensor scalar_tensor(double value, ScalarType? dtype = null, Device? device = null) =>
        Tensor.Wrap(Native.ats_scalar_tensor(value, 0, (int)(dtype ?? ScalarType.Float32), Dev(device)));
    public static Tensor zeros_like(Tensor t) => Tensor.Wrap(Native.ats_zeros_like(t.Handle));
    public static Tensor ones_like(Tensor t) => Tensor.Wrap(Native.ats_ones_like(t.Handle));
    public static Tensor empty_like(Tensor t) => Tensor.Wrap(Native.ats_empty_like(t.Handle));
    public static Tensor rand_like(Tensor t) => Tensor.Wrap(Native.ats_rand_like(t.Handle));
    public static Tensor randn_like(Tensor t) => Tensor.Wrap(Native.ats_randn_like(t.Handle));
    public static Tensor full_like(Tensor t, double value) => Tensor.Wrap(Native.ats_full_like(t.Handle, value, 0));

    /// <summary>A tensor holding a copy of <paramref name="data"/> with the given shape (default: 1-D).</summary>
    public static unsafe Tensor from_array<T>(T[] data, long[]? shape = null, Device? device = null, bool requires_grad = false) where T : unmanaged
    {
        shape ??= new long[] { data.Length };
        var n = shape.Aggregate(1L, (a, b) => a * b);
        if (n != data.Length) throw new ArgumentException($"tensor: {data.Length} values do not fill shape [{string.Join(", ", shape)}]");
        var dtype = DTypeOf<T>();
        fixed (T* d = data)
        fixed (long* s = shape)
            return Tensor.Wrap(Native.ats_from_buffer(d, (long)data.Length * sizeof(T), (int)dtype, s, shape.Length, Dev(device), requires_grad ? 1 : 0));
    }
    public static Tensor tensor(float[] data, long[]? shape = null, Device? device = null, bool requires_grad = false) => from_array(data, shape, device, requires_grad);
    public static Tensor tensor(double[] data, long[]? shape = null, Device? device = null, bool requires_grad = false) => from_array(data, shape, device, requires_grad);
    public static Tensor tensor(long[] data, long[]? shape = null, Device? device = null, bool requires_grad = false) => from_array(data, shape, device, requires_grad);
    public static Tensor tensor(int[] data, long[]? shape = null, Device? device = null, bool requires_grad = false) => from_array(data, shape, device, requires_grad);
    public static Tensor tensor(bool[] data, long[]? shape = null, Device? device = null, bool requires_grad = false) => from_array(data, shape, device, requires_grad);
    public static Tensor tensor(byte[] data, long[]? shape = null, Device? device = null, bool requires_grad = false) => from_array(data, shape, device, requires_grad);
    public static Tensor tensor(float value, Device? device = null) => tensor(new[] { value }, Array.Empty<long>(), device);
    public static Tensor tensor(long value, Device? device = null) => tensor(new[] { value }, Array.Empty<long>(), device);

    /// <summary>A tensor from raw little-endian element bytes (what safetensors stores).</summary>
    public static unsafe Tensor from_bytes(ReadOnlySpan<byte> bytes, ScalarType dtype, long[] shape, Device? device = null)
    {
        fixed (byte* d = bytes)
        fixed (long* s = shape)
            return Tensor.Wrap(Native.ats_from_buffer(d, bytes.Length, (int)dtype, s, shape.Length, Dev(device), 0));
    }

    // ---- functions over several tensors ---------------------------------------------------------

    static unsafe Tensor ListOp(delegate*<IntPtr*, int, long, IntPtr> f, IList<Tensor> tensors, long dim)
    {
        var hs = new IntPtr[tensors.Count];
        for (var i = 0; i < hs.Length; i++) hs[i] = tensors[i].Handle;
        fixed (IntPtr* p = hs) return Tensor.Wrap(f(p, hs.Length, dim));
    }
    public static unsafe Tensor cat(IList<Tensor> tensors, long dim = 0) => ListOp(&Native.ats_cat, tensors, dim);
    public static unsafe Tensor stack(IList<Tensor> tensors, long dim = 0) => ListOp(&Native.ats_stack, tensors, dim);
    public static Tensor where(Tensor condition, Tensor x, Tensor y) => Tensor.Wrap(Native.ats_where(condition.Handle, x.Handle, y.Handle));
    public static Tensor matmul(Tensor a, Tensor b) => a.matmul(b);
    public static Tensor maximum(Tensor a, Tensor b) => a.maximum(b);
    public static Tensor minimum(Tensor a, Tensor b) => a.minimum(b);
    public static Tensor exp(Tensor t) => t.exp();
    public static Tensor log(Tensor t) => t.log();
    public static Tensor sqrt(Tensor t) => t.sqrt();
    public static Tensor pow(Tensor t, double e) => t.pow(e);
    public static Tensor abs(Tensor t) => t.abs();
    public static Tensor sum(Tensor t) => t.sum();
    public static Tensor mean(Tensor t) => t.mean();
    public static Tensor softmax(Tensor t, long dim) => t.softmax(dim);
    public static Tensor log_softmax(Tensor t, long dim) => t.log_softmax(dim);
    public static Tensor argmax(Tensor t, long dim, bool keepdim = false) => t.argmax(dim, keepdim);
    public static Tensor flatten(Tensor t, long start_dim = 0, long end_dim = -1) => t.flatten(start_dim, end_dim);
    public static Tensor clamp(Tensor t, double? min = null, double? max = null) => t.clamp(min, max);

    public static class fft
    {
        public static unsafe Tensor fft2(Tensor input, long[]? dim = null)
        {
            dim ??= new long[] { -2, -1 };
            fixed (long* p = dim) return Tensor.Wrap(Native.ats_fft_fft2(input.Handle, p, dim.Length));
        }
        public static unsafe Tensor fftn(Tensor input, long[] dim)
        {
            fixed (long* p = dim) return Tensor.Wrap(Native.ats_fft_fftn(input.Handle, p, dim.Length));
        }
        /// <summary>1-D FFT over <paramref name="dim"/> (torch.fft.fft; renamed: a member cannot share its class's name).</summary>
        public static Tensor fft1d(Tensor input, long dim = -1) => Tensor.Wrap(Native.ats_fft_fft(input.Handle, dim));
    }

    public static class cuda
    {
        public static bool is_available() => Native.ats_cuda_is_available() != 0;
        public static int device_count() => Native.ats_cuda_device_count();
        /// <summary>Bytes held by tensors on the CUDA device (caching allocator); 0 without CUDA.</summary>
        public static long memory_allocated(int device = 0) => Stats(device).allocated;
        public static long max_memory_allocated(int device = 0) => Stats(device).peak;
        public static long memory_reserved(int device = 0) => Stats(device).reserved;
        public static void reset_peak_memory_stats(int device = 0) => Native.Check(Native.ats_cuda_reset_peak_memory_stats(device));
        public static void empty_cache() => Native.Check(Native.ats_cuda_empty_cache());
        /// <summary>Waits for queued work on the current CUDA stream (a tiny device→host copy), for timing.</summary>
        public static void synchronize(int device = 0)
        {
            if (!is_available()) return;
            using var t = zeros(new long[] { 1 }, device: new Device(DeviceType.CUDA, device)).DetachFromDisposeScope();
            using var c = t.cpu().DetachFromDisposeScope();
        }
        static (long allocated, long peak, long reserved) Stats(int device)
        {
            Native.Check(Native.ats_cuda_memory_stats(device, out var a, out var p, out var r));
            return (a, p, r);
        }
    }
}

/// <summary>This process's resident memory, from /proc/self/status (Linux): what a CPU run watches.</summary>
public static class ProcessMemory
{
    /// <summary>VmRSS in bytes (current resident set), or -1 where /proc is unavailable.</summary>
    public static long CurrentRss => Read("VmRSS:");
    /// <summary>VmHWM in bytes (peak resident set), or -1.</summary>
    public static long PeakRss => Read("VmHWM:");

    static long Read(string key)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(key, StringComparison.Ordinal))
                {
                    var parts = line[key.Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    return long.Parse(parts[0]) * 1024;
                }
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return -1;
    }
}
