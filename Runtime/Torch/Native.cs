using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace ArchDsl.Torch;

/// <summary>A libtorch error surfaced through the shim; <see cref="Exception.Message"/> is libtorch's message.</summary>
public sealed class TorchException : Exception
{
    public TorchException(string message) : base(message) { }
}

/// <summary>Thrown when libarchdsl_torch.so cannot be found or loaded.</summary>
public sealed class TorchNativeLibraryException : DllNotFoundException
{
    public TorchNativeLibraryException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>
/// Locates and loads libarchdsl_torch.so: <c>$ARCHDSL_NATIVE</c> (the file or its folder) first, else
/// <c>build/native/</c> in the nearest ancestor of the application's folder (or the working
/// directory) that has one. Built by <c>Runtime/native/build.sh</c>.
/// </summary>
public static class NativeLibraryLocator
{
    public const string LibraryName = "archdsl_torch";
    public const string FileName = "libarchdsl_torch.so";
    public const string BuildHint =
        "Build it with `Runtime/native/build.sh` from the repository root (needs cmake and libtorch: `apt-get install libtorch-dev`; " +
        "for a CUDA libtorch pass its CMake prefix, e.g. `Runtime/native/build.sh \"$(python -c 'import torch;print(torch.utils.cmake_prefix_path)')\"`), " +
        "or point ARCHDSL_NATIVE at an existing libarchdsl_torch.so.";

    static IntPtr _handle;
    static readonly object Gate = new();

#pragma warning disable CA2255 // a library-level resolver must be installed before the first P/Invoke
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Install() => NativeLibrary.SetDllImportResolver(typeof(NativeLibraryLocator).Assembly, Resolve);

    static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path) =>
        name == LibraryName ? Load() : IntPtr.Zero;

    /// <summary>Folders to search upwards from: the application's, the working directory, and the source tree this assembly was built from.</summary>
    static IEnumerable<string> SearchStarts()
    {
        yield return AppContext.BaseDirectory;
        yield return Directory.GetCurrentDirectory();
        var built = typeof(NativeLibraryLocator).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "ArchDslRepositoryRoot")?.Value;
        if (!string.IsNullOrEmpty(built) && Directory.Exists(built)) yield return built;
    }

    /// <summary>The path the library is (or would be) loaded from, or null when none is found.</summary>
    public static string? FindLibrary()
    {
        var env = Environment.GetEnvironmentVariable("ARCHDSL_NATIVE");
        if (!string.IsNullOrEmpty(env))
        {
            if (File.Exists(env)) return Path.GetFullPath(env);
            var inDir = Path.Combine(env, FileName);
            return File.Exists(inDir) ? Path.GetFullPath(inDir) : null;
        }
        foreach (var start in SearchStarts())
        {
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
            {
                var candidate = Path.Combine(dir.FullName, "build", "native", FileName);
                if (File.Exists(candidate)) return candidate;
            }
        }
        return null;
    }

    /// <summary>The repository root above the application's folder (the folder with Runtime/native/build.sh), if any.</summary>
    public static string? FindRepositoryRoot()
    {
        foreach (var start in SearchStarts())
            for (var dir = new DirectoryInfo(start); dir != null; dir = dir.Parent)
                if (File.Exists(Path.Combine(dir.FullName, "Runtime", "native", "build.sh"))) return dir.FullName;
        return null;
    }

    internal static IntPtr Load()
    {
        lock (Gate)
        {
            if (_handle != IntPtr.Zero) return _handle;
            var path = FindLibrary();
            if (path == null)
            {
                var env = Environment.GetEnvironmentVariable("ARCHDSL_NATIVE");
                throw new TorchNativeLibraryException(
                    (string.IsNullOrEmpty(env)
                        ? $"{FileName} was not found in build/native/ above {AppContext.BaseDirectory}. "
                        : $"ARCHDSL_NATIVE={env} does not name {FileName} or a folder holding it. ") + BuildHint);
            }
            ThreadPools.Apply(); // libgomp and OpenBLAS read their settings when they load, with the shim
            BlasKernel.Apply();  // likewise OpenBLAS's kernel (OPENBLAS_CORETYPE); a user's value it rejects throws
            IntPtr handle;
            try { handle = NativeLibrary.Load(path); }
            catch (Exception e)
            {
                throw new TorchNativeLibraryException($"{path} could not be loaded: {e.Message}. " + BuildHint, e);
            }
            CpuCapability.CheckVariable(handle); // a bad ARCHDSL_CPU_CAPABILITY stops every call here, as a bad OPENBLAS_CORETYPE
            _handle = handle;
            GoogleLogging.Apply(); // the glog the shim loaded: initialised, so c10d's messages come without "Logging before InitGoogleLogging()"
            return _handle;
        }
    }
}

/// <summary>The native tensor handle (an <c>at::Tensor*</c>). Freed by Dispose; the finalizer is only a safety net.</summary>
internal sealed class TensorHandle : SafeHandle
{
    public TensorHandle(IntPtr h) : base(IntPtr.Zero, true) => SetHandle(h);
    public override bool IsInvalid => handle == IntPtr.Zero;
    protected override bool ReleaseHandle()
    {
        Native.ats_free(handle);
        return true;
    }
}

internal static unsafe partial class Native
{
    const string L = NativeLibraryLocator.LibraryName;

    // ---- error plumbing -------------------------------------------------------------------------
    [DllImport(L)] static extern IntPtr ats_last_error();

    internal static string? LastError()
    {
        var p = ats_last_error();
        return p == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(p);
    }

    /// <summary>A handle that must not be null: null means the call failed.</summary>
    internal static IntPtr Check(IntPtr h)
    {
        if (h == IntPtr.Zero) throw new TorchException(LastError() ?? "libtorch shim returned no tensor and no error");
        return h;
    }

    /// <summary>A handle that may legitimately be null (no gradient); throws only when an error was recorded.</summary>
    internal static IntPtr CheckNullable(IntPtr h)
    {
        if (h == IntPtr.Zero && LastError() is { } e) throw new TorchException(e);
        return h;
    }

    internal static int Check(int rc)
    {
        if (rc < 0) throw new TorchException(LastError() ?? "libtorch shim call failed without a message");
        return rc;
    }

    // ---- handles, info --------------------------------------------------------------------------
    [DllImport(L)] internal static extern void ats_free(IntPtr t);
    [DllImport(L)] internal static extern long ats_live_tensors();
    [DllImport(L)] internal static extern IntPtr ats_torch_version();
    [DllImport(L)] internal static extern int ats_test_throw([MarshalAs(UnmanagedType.LPUTF8Str)] string message);

    // ---- creation -------------------------------------------------------------------------------
    [DllImport(L)] internal static extern IntPtr ats_from_buffer(void* data, long nbytes, int dtype, long* shape, int ndim, [MarshalAs(UnmanagedType.LPUTF8Str)] string device, int requires_grad);
    [DllImport(L)] internal static extern IntPtr ats_zeros(long* shape, int ndim, int dtype, [MarshalAs(UnmanagedType.LPUTF8Str)] string device, int requires_grad);
    [DllImport(L)] internal static extern IntPtr ats_ones(long* shape, int ndim, int dtype, [MarshalAs(UnmanagedType.LPUTF8Str)] string device, int requires_grad);
    [DllImport(L)] internal static extern IntPtr ats_empty(long* shape, int ndim, int dtype, [MarshalAs(UnmanagedType.LPUTF8Str)] string device, int requires_grad);
    [DllImport(L)] internal static extern IntPtr ats_rand(long* shape, int ndim, int dtype, [MarshalAs(UnmanagedType.LPUTF8Str)] string device, int requires_grad);
    [DllImport(L)] internal static extern IntPtr ats_randn(long* shape, int ndim, int dtype, [MarshalAs(UnmanagedType.LPUTF8Str)] string device, int requires_grad);
    [DllImport(L)] internal static extern IntPtr ats_full(long* shape, int ndim, double value, int is_int, int dtype, [MarshalAs(UnmanagedType.LPUTF8Str)] string device);
    [DllImport(L)] internal static extern IntPtr ats_arange(double start, double end, double step, int dtype, [MarshalAs(UnmanagedType.LPUTF8Str)] string device);
    [DllImport(L)] internal static extern IntPtr ats_randint(long low, long high, long* shape, int ndim, int dtype, [MarshalAs(UnmanagedType.LPUTF8Str)] string device);
    [DllImport(L)] internal static extern IntPtr ats_randperm(long n, int dtype, [MarshalAs(UnmanagedType.LPUTF8Str)] string device);
    [DllImport(L)] internal static extern IntPtr ats_scalar_tensor(double value, int is_int, int dtype, [MarshalAs(UnmanagedType.LPUTF8Str)] string device);
    [DllImport(L)] internal static extern IntPtr ats_zeros_like(IntPtr t);
    [DllImport(L)] internal static extern IntPtr ats_ones_like(IntPtr t);
    [DllImport(L)] internal static extern IntPtr ats_empty_like(IntPtr t);
    [DllImport(L)] internal static extern IntPtr ats_rand_like(IntPtr t);
    [DllImport(L)] internal static extern IntPtr ats_randn_like(IntPtr t);
    [DllImport(L)] internal static extern IntPtr ats_full_like(IntPtr t, double value, int is_int);

    // ---- host copies, queries -------------------------------------------------------------------
    [DllImport(L)] internal static extern int ats_copy_to_host(IntPtr t, void* dst, long nbytes);
    [DllImport(L)] internal static extern int ats_dim(IntPtr t);
    [DllImport(L)] internal static extern void ats_shape(IntPtr t, long* dst);
    [DllImport(L)] internal static extern void ats_strides(IntPtr t, long* dst);
    [DllImport(L)] internal static extern long ats_numel(IntPtr t);
    [DllImport(L)] internal static extern int ats_dtype(IntPtr t);
    [DllImport(L)] internal static extern int ats_element_size(int dtype);
    [DllImport(L)] internal static extern int ats_device_type(IntPtr t);
    [DllImport(L)] internal static extern int ats_device_index(IntPtr t);
    [DllImport(L)] internal static extern int ats_requires_grad(IntPtr t);
    [DllImport(L)] internal static extern IntPtr ats_grad_fn_name(IntPtr t);
    [DllImport(L)] internal static extern int ats_is_leaf(IntPtr t);
    [DllImport(L)] internal static extern int ats_is_contiguous(IntPtr t);
    [DllImport(L)] internal static extern int ats_is_contiguous_format(IntPtr t, int memory_format);
    [DllImport(L)] internal static extern int ats_item_double(IntPtr t, out double value);
    [DllImport(L)] internal static extern int ats_item_long(IntPtr t, out long value);

    // ---- conversions, in-place ------------------------------------------------------------------
    [DllImport(L)] internal static extern IntPtr ats_to_device(IntPtr t, [MarshalAs(UnmanagedType.LPUTF8Str)] string device, int non_blocking);
    [DllImport(L)] internal static extern IntPtr ats_to_dtype(IntPtr t, int dtype);
    [DllImport(L)] internal static extern IntPtr ats_clone(IntPtr t);
    [DllImport(L)] internal static extern IntPtr ats_detach(IntPtr t);
    [DllImport(L)] internal static extern IntPtr ats_contiguous(IntPtr t);
    [DllImport(L)] internal static extern IntPtr ats_contiguous_format(IntPtr t, int memory_format);
    [DllImport(L)] internal static extern IntPtr ats_to_memory_format(IntPtr t, int memory_format);
    [DllImport(L)] internal static extern int ats_set_data_memory_format(IntPtr t, int memory_format);
    [DllImport(L)] internal static extern IntPtr ats_alias(IntPtr t);
    [DllImport(L)] internal static extern int ats_requires_grad_(IntPtr t, int value);
    [DllImport(L)] internal static extern int ats_set_data_to(IntPtr t, [MarshalAs(UnmanagedType.LPUTF8Str)] string device, int dtype);
    [DllImport(L)] internal static extern int ats_set_data(IntPtr t, IntPtr src);
    [DllImport(L)] internal static extern int ats_copy_(IntPtr dst, IntPtr src);
    [DllImport(L)] internal static extern int ats_zero_(IntPtr t);
    [DllImport(L)] internal static extern int ats_fill_(IntPtr t, double v, int is_int);
    [DllImport(L)] internal static extern int ats_uniform_(IntPtr t, double from, double to);
    [DllImport(L)] internal static extern int ats_normal_(IntPtr t, double mean, double std);
    [DllImport(L)] internal static extern int ats_bernoulli_(IntPtr t, double p);
    [DllImport(L)] internal static extern int ats_erfinv_(IntPtr t);
    [DllImport(L)] internal static extern int ats_clamp_(IntPtr t, double lo, int has_lo, double hi, int has_hi);
    [DllImport(L)] internal static extern int ats_add_(IntPtr a, IntPtr b, double alpha);
    [DllImport(L)] internal static extern int ats_sub_(IntPtr a, IntPtr b, double alpha);
    [DllImport(L)] internal static extern int ats_mul_(IntPtr a, IntPtr b);
    [DllImport(L)] internal static extern int ats_div_(IntPtr a, IntPtr b);
    [DllImport(L)] internal static extern int ats_add_scalar_(IntPtr a, double v, int is_int);
    [DllImport(L)] internal static extern int ats_mul_scalar_(IntPtr a, double v, int is_int);
    [DllImport(L)] internal static extern int ats_div_scalar_(IntPtr a, double v, int is_int);

    // ---- autograd -------------------------------------------------------------------------------
    [DllImport(L)] internal static extern int ats_backward(IntPtr t, IntPtr grad, int retain_graph, int create_graph);
    [DllImport(L)] internal static extern IntPtr ats_grad(IntPtr t);
    [DllImport(L)] internal static extern int ats_set_grad(IntPtr t, IntPtr g);
    [DllImport(L)] internal static extern int ats_clear_grads(IntPtr* ts, int n);
    [DllImport(L)] internal static extern int ats_zero_grads(IntPtr* ts, int n);
    [DllImport(L)] internal static extern int ats_is_grad_enabled();
    [DllImport(L)] internal static extern int ats_set_grad_enabled(int enabled);

    // ---- global settings ------------------------------------------------------------------------
    [DllImport(L)] internal static extern int ats_manual_seed(ulong seed);
    [DllImport(L)] internal static extern int ats_set_num_threads(int n);
    [DllImport(L)] internal static extern int ats_get_num_threads();
    [DllImport(L)] internal static extern int ats_parallel_for_threads(long n);
    [DllImport(L)] internal static extern int ats_cpu_capability(int processor);
    [DllImport(L)] internal static extern int ats_set_cpu_capability([MarshalAs(UnmanagedType.LPUTF8Str)] string? name);
    [DllImport(L)] internal static extern IntPtr ats_cpu_capability_name(int level);
    [DllImport(L)] internal static extern int ats_set_num_interop_threads(int n);
    [DllImport(L)] internal static extern int ats_get_num_interop_threads();
    [DllImport(L)] internal static extern int ats_cuda_is_available();
    [DllImport(L)] internal static extern int ats_cuda_device_count();
    [DllImport(L)] internal static extern int ats_cuda_memory_stats(int device, out long allocated, out long peak, out long reserved);
    [DllImport(L)] internal static extern int ats_cuda_reset_peak_memory_stats(int device);
    [DllImport(L)] internal static extern int ats_cuda_empty_cache();

    // ---- arithmetic -----------------------------------------------------------------------------
    [DllImport(L)] internal static extern IntPtr ats_add(IntPtr a, IntPtr b, double alpha);
    [DllImport(L)] internal static extern IntPtr ats_sub(IntPtr a, IntPtr b, double alpha);
    [DllImport(L)] internal static extern IntPtr ats_mul(IntPtr a, IntPtr b);
    [DllImport(L)] internal static extern IntPtr ats_div(IntPtr a, IntPtr b);
    [DllImport(L)] internal static extern IntPtr ats_pow(IntPtr a, IntPtr b);
    [DllImport(L)] internal static extern IntPtr ats_remainder(IntPtr a, IntPtr b);
    [DllImport(L)] internal static extern IntPtr ats_maximum(IntPtr a, IntPtr b);
    [DllImport(L)] internal static extern IntPtr ats_minimum(IntPtr a, IntPtr b);
    [DllImport(L)] internal static extern IntPtr ats_matmul(IntPtr a, IntPtr b);
    [DllImport(L)] internal static extern IntPtr ats_bmm(IntPtr a, IntPtr b);
    [DllImport(L)] internal static extern IntPtr ats_add_scalar(IntPtr a, double v, int is_int);
    [DllImport(L)] internal static extern IntPtr ats_sub_scalar(IntPtr a, double v, int is_int);
    [DllImport(L)] internal static extern IntPtr ats_rsub_scalar(IntPtr a, double v, int is_int);
    [DllImport(L)] internal static extern IntPtr ats_mul_scalar(IntPtr a, double v, int is_int);
    [DllImport(L)] internal static extern IntPtr ats_div_scalar(IntPtr a, double v, int is_int);
    [DllImport(L)] internal static extern IntPtr ats_rdiv_scalar(IntPtr a, double v, int is_int);
    [DllImport(L)] internal static extern IntPtr ats_pow_scalar(IntPtr a, double v, int is_int);
    [DllImport(L)] internal static extern IntPtr ats_remainder_scalar(IntPtr a, double v, int is_int);
    [DllImport(L)] internal static extern IntPtr ats_compare(IntPtr a, IntPtr b, int op);
    [DllImport(L)] internal static extern IntPtr ats_compare_scalar(IntPtr a, double v, int is_int, int op);
    [DllImport(L)] internal static extern IntPtr ats_logical_and(IntPtr a, IntPtr b);
    [DllImport(L)] internal static extern IntPtr ats_logical_or(IntPtr a, IntPtr b);
    [DllImport(L)] internal static extern IntPtr ats_logical_not(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_where(IntPtr cond, IntPtr a, IntPtr b);
    [DllImport(L)] internal static extern IntPtr ats_masked_fill(IntPtr t, IntPtr mask, double v, int is_int);
    [DllImport(L)] internal static extern IntPtr ats_clamp(IntPtr t, double lo, int has_lo, double hi, int has_hi);
    [DllImport(L)] internal static extern IntPtr ats_lerp(IntPtr a, IntPtr b, double w);

    // ---- unary ----------------------------------------------------------------------------------
    [DllImport(L)] internal static extern IntPtr ats_neg(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_abs(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_exp(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_log(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_sqrt(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_rsqrt(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_square(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_reciprocal(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_sin(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_cos(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_erf(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_sign(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_floor(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_ceil(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_round(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_tanh(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_sigmoid(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_relu(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_silu(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_real(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_imag(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_isnan(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_isfinite(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_gelu(IntPtr a, [MarshalAs(UnmanagedType.LPUTF8Str)] string approximate);
    [DllImport(L)] internal static extern IntPtr ats_leaky_relu(IntPtr a, double slope);

    // ---- reductions -----------------------------------------------------------------------------
    [DllImport(L)] internal static extern IntPtr ats_sum_all(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_sum(IntPtr a, long* dims, int n, int keepdim);
    [DllImport(L)] internal static extern IntPtr ats_mean_all(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_mean(IntPtr a, long* dims, int n, int keepdim);
    [DllImport(L)] internal static extern IntPtr ats_var(IntPtr a, long* dims, int n, int unbiased, int keepdim);
    [DllImport(L)] internal static extern IntPtr ats_std(IntPtr a, long* dims, int n, int unbiased, int keepdim);
    [DllImport(L)] internal static extern IntPtr ats_max_all(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_min_all(IntPtr a);
    [DllImport(L)] internal static extern int ats_max_dim(IntPtr a, long dim, int keepdim, out IntPtr values, out IntPtr indices);
    [DllImport(L)] internal static extern int ats_min_dim(IntPtr a, long dim, int keepdim, out IntPtr values, out IntPtr indices);
    [DllImport(L)] internal static extern int ats_topk(IntPtr a, long k, long dim, int largest, int sorted, out IntPtr values, out IntPtr indices);
    [DllImport(L)] internal static extern IntPtr ats_argmax(IntPtr a, long dim, int has_dim, int keepdim);
    [DllImport(L)] internal static extern IntPtr ats_argmin(IntPtr a, long dim, int has_dim, int keepdim);
    [DllImport(L)] internal static extern IntPtr ats_norm(IntPtr a, double p);
    [DllImport(L)] internal static extern IntPtr ats_logsumexp(IntPtr a, long* dims, int n, int keepdim);
    [DllImport(L)] internal static extern IntPtr ats_cumsum(IntPtr a, long dim);
    [DllImport(L)] internal static extern IntPtr ats_softmax(IntPtr a, long dim);
    [DllImport(L)] internal static extern IntPtr ats_log_softmax(IntPtr a, long dim);
    [DllImport(L)] internal static extern int ats_allclose(IntPtr a, IntPtr b, double rtol, double atol);

    // ---- shape, indexing ------------------------------------------------------------------------
    [DllImport(L)] internal static extern IntPtr ats_reshape(IntPtr a, long* shape, int n);
    [DllImport(L)] internal static extern IntPtr ats_view(IntPtr a, long* shape, int n);
    [DllImport(L)] internal static extern IntPtr ats_flatten(IntPtr a, long start, long end);
    [DllImport(L)] internal static extern IntPtr ats_transpose(IntPtr a, long d0, long d1);
    [DllImport(L)] internal static extern IntPtr ats_permute(IntPtr a, long* dims, int n);
    [DllImport(L)] internal static extern IntPtr ats_expand(IntPtr a, long* shape, int n);
    [DllImport(L)] internal static extern IntPtr ats_repeat(IntPtr a, long* reps, int n);
    [DllImport(L)] internal static extern IntPtr ats_unsqueeze(IntPtr a, long dim);
    [DllImport(L)] internal static extern IntPtr ats_squeeze(IntPtr a);
    [DllImport(L)] internal static extern IntPtr ats_squeeze_dim(IntPtr a, long dim);
    [DllImport(L)] internal static extern IntPtr ats_slice(IntPtr a, long dim, long start, long end, long step);
    [DllImport(L)] internal static extern IntPtr ats_narrow(IntPtr a, long dim, long start, long length);
    [DllImport(L)] internal static extern IntPtr ats_select(IntPtr a, long dim, long index);
    [DllImport(L)] internal static extern IntPtr ats_index_select(IntPtr a, long dim, IntPtr index);
    [DllImport(L)] internal static extern IntPtr ats_gather(IntPtr a, long dim, IntPtr index);
    [DllImport(L)] internal static extern IntPtr ats_masked_select(IntPtr a, IntPtr mask);
    [DllImport(L)] internal static extern IntPtr ats_cat(IntPtr* ts, int n, long dim);
    [DllImport(L)] internal static extern IntPtr ats_stack(IntPtr* ts, int n, long dim);
    [DllImport(L)] internal static extern int ats_chunk(IntPtr a, long chunks, long dim, IntPtr* outp, int capacity);
    [DllImport(L)] internal static extern IntPtr ats_flip(IntPtr a, long* dims, int n);
    [DllImport(L)] internal static extern int ats_flip_samples_(IntPtr x, byte* mask, long n);
    [DllImport(L)] internal static extern IntPtr ats_roll(IntPtr a, long* shifts, int ns, long* dims, int nd);
    [DllImport(L)] internal static extern IntPtr ats_pad(IntPtr a, long* pad, int n, [MarshalAs(UnmanagedType.LPUTF8Str)] string mode, double value);
    [DllImport(L)] internal static extern IntPtr ats_tril(IntPtr a, long diagonal);
    [DllImport(L)] internal static extern IntPtr ats_triu(IntPtr a, long diagonal);
    [DllImport(L)] internal static extern IntPtr ats_one_hot(IntPtr a, long classes);

    // ---- nn -------------------------------------------------------------------------------------
    [DllImport(L)] internal static extern IntPtr ats_conv2d(IntPtr x, IntPtr w, IntPtr b, long* stride, long* padding, long* dilation, long groups);
    [DllImport(L)] internal static extern IntPtr ats_depthwise_conv2d(IntPtr x, IntPtr w, IntPtr b, long padding);
    [DllImport(L)] internal static extern IntPtr ats_pointwise_conv2d(IntPtr x, IntPtr w, IntPtr b);
    [DllImport(L)] internal static extern IntPtr ats_conv2d_padmode(IntPtr x, IntPtr w, IntPtr b, long* stride, [MarshalAs(UnmanagedType.LPUTF8Str)] string padding, long* dilation, long groups);
    [DllImport(L)] internal static extern IntPtr ats_linear(IntPtr x, IntPtr w, IntPtr b);
    [DllImport(L)] internal static extern int ats_linear_onednn(int mode);
    [DllImport(L)] internal static extern IntPtr ats_batch_norm(IntPtr x, IntPtr w, IntPtr b, IntPtr rm, IntPtr rv, int training, double momentum, double eps);
    [DllImport(L)] internal static extern IntPtr ats_gelu_batch_norm(IntPtr x, IntPtr w, IntPtr b, IntPtr rm, IntPtr rv, int training, double momentum, double eps);
    [DllImport(L)] internal static extern IntPtr ats_gelu_batch_norm_add(IntPtr x, IntPtr w, IntPtr b, IntPtr rm, IntPtr rv, IntPtr res, int training, double momentum, double eps);
    [DllImport(L)] internal static extern IntPtr ats_bias_gelu(IntPtr x, IntPtr b);
    [DllImport(L)] internal static extern IntPtr ats_layer_norm(IntPtr x, long* shape, int n, IntPtr w, IntPtr b, double eps);
    [DllImport(L)] internal static extern IntPtr ats_group_norm(IntPtr x, long groups, IntPtr w, IntPtr b, double eps);
    [DllImport(L)] internal static extern IntPtr ats_dropout(IntPtr x, double p, int train);
    [DllImport(L)] internal static extern IntPtr ats_avg_pool2d(IntPtr x, long* kernel, long* stride, long* padding, int ceil_mode, int count_include_pad);
    [DllImport(L)] internal static extern IntPtr ats_max_pool2d(IntPtr x, long* kernel, long* stride, long* padding, int ceil_mode);
    [DllImport(L)] internal static extern IntPtr ats_adaptive_avg_pool2d(IntPtr x, long* size);
    [DllImport(L)] internal static extern IntPtr ats_upsample_bilinear2d(IntPtr x, long* size, int align_corners);
    [DllImport(L)] internal static extern IntPtr ats_affine_grid(IntPtr theta, long* size, int n, int align_corners);
    [DllImport(L)] internal static extern IntPtr ats_grid_sample(IntPtr x, IntPtr grid, int mode, int padding, int align_corners);
    [DllImport(L)] internal static extern IntPtr ats_scaled_dot_product_attention(IntPtr q, IntPtr k, IntPtr v, IntPtr mask, double dropout_p, int causal);
    [DllImport(L)] internal static extern IntPtr ats_packed_attention(IntPtr q, IntPtr kv, long heads);
    [DllImport(L)] internal static extern int ats_packed_attention_kernel(int dtype);
    [DllImport(L)] internal static extern int ats_packed_attention_own_product(long n, long k);
    [DllImport(L)] internal static extern int ats_packed_attention_bfloat16_dot();
    [DllImport(L)] internal static extern IntPtr ats_fft_fft2(IntPtr x, long* dims, int n);
    [DllImport(L)] internal static extern IntPtr ats_fft_fftn(IntPtr x, long* dims, int n);
    [DllImport(L)] internal static extern IntPtr ats_fft_fft(IntPtr x, long dim);
    [DllImport(L)] internal static extern IntPtr ats_cross_entropy(IntPtr x, IntPtr target, IntPtr weight, int reduction, long ignore_index, double label_smoothing);
    [DllImport(L)] internal static extern IntPtr ats_nll_loss(IntPtr x, IntPtr target, IntPtr weight, int reduction, long ignore_index);
    [DllImport(L)] internal static extern IntPtr ats_mse_loss(IntPtr x, IntPtr target, int reduction);

    // ---- optim ----------------------------------------------------------------------------------
    [DllImport(L)] internal static extern int ats_adamw_update(IntPtr param, IntPtr exp_avg, IntPtr exp_avg_sq, IntPtr max_exp_avg_sq, long step, double lr, double beta1, double beta2, double eps, double weight_decay, int maximize);
    [DllImport(L)] internal static extern int ats_sgd_update(IntPtr param, IntPtr buf, out IntPtr new_buf, double lr, double momentum, double dampening, double weight_decay, int nesterov, int maximize);
    [DllImport(L)] internal static extern int ats_clip_grad_norm_(IntPtr* ps, int n, double max_norm, double norm_type, out double total);
}
