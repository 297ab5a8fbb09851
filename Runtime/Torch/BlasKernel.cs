using System.Runtime.InteropServices;

namespace ArchDsl.Torch;

/// <summary>What a trial load of OpenBLAS under one <c>OPENBLAS_CORETYPE</c> showed.</summary>
/// <param name="Corename">the kernel the library says it uses (<c>openblas_get_corename()</c>); null when no OpenBLAS was found</param>
/// <param name="MaxError">the self-check's largest |C − C_ref| / (1 + |C_ref|) over a small sgemm; NaN when it did not run</param>
public sealed record BlasProbe(string? Corename, double MaxError);

/// <summary>The BLAS kernel this process uses and how it came to be.</summary>
/// <param name="Kernel">the OpenBLAS kernel in use (<c>openblas_get_corename()</c>), or null when libtorch's BLAS is not OpenBLAS</param>
/// <param name="Source"><c>user</c> (OPENBLAS_CORETYPE was set), <c>chosen</c> (picked from the CPU's features and checked),
/// <c>default</c> (the library's own detection)</param>
/// <param name="Detail">words only: the features it was chosen from and the library's default, or why the default stayed</param>
/// <param name="SelfCheckError">the tried kernel's self-check error (<see cref="BlasProbe.MaxError"/>; NaN when it did not run),
/// compared with <see cref="BlasKernel.Tolerance"/>; null when no kernel was tried. A number, not text: the runtime writes the
/// line for logs and <c>summary.yaml</c> (<c>OpenBLAS SkylakeX (chosen: avx512f+bw+vl+dq; library default Prescott; self-check error 2.1e-07)</c>)
/// with its floats as every other figure there, which this binding does not know.</param>
public sealed record BlasKernelInfo(string? Kernel, string Source, string Detail, double? SelfCheckError = null);

/// <summary>
/// Picks OpenBLAS's kernel from the processor's features before libtorch (and with it OpenBLAS) loads. OpenBLAS built
/// with DYNAMIC_ARCH (Debian's) chooses its kernel by CPU model; on processors it does not know it falls back to its
/// Prescott (SSE3) kernels — measured on an Intel Xeon with AVX-512 (2 threads, 2048³ sgemm): 64 GFLOP/s by default,
/// 281 with <c>OPENBLAS_CORETYPE=SkylakeX</c>, 155 with Haswell (issue 12). The choice follows features, never a name:
/// AVX-512 F+BW+VL+DQ → SkylakeX, AVX2+FMA → Haswell, AVX → Sandybridge, SSE3 → Prescott (the kernels OpenBLAS 0.3.x
/// accepts in OPENBLAS_CORETYPE; its own <c>driver/others/dynamic.c</c> requires the same features for them).
/// <para>The library's own choice stays when it is already of the same class or better (<see cref="Rank"/>): on an AMD EPYC
/// (Zen 4) OpenBLAS 0.3.21 picks Cooperlake by itself, whose single-precision kernels are SkylakeX's.</para>
/// <para>Before it is used, the choice is loaded in a separate linker namespace (<c>dlmopen</c>), asked its name and
/// made to compute a small single-precision product, compared with a double-precision reference; on any mismatch
/// the library's own choice stays. A user's <c>OPENBLAS_CORETYPE</c> always wins; one the library does not know
/// (it would silently use another kernel) is an error.</para>
/// </summary>
public static class BlasKernel
{
    /// <summary>The variable OpenBLAS reads when it loads.</summary>
    public const string Variable = "OPENBLAS_CORETYPE";

    /// <summary>The self-check's tolerance on |C − C_ref| / (1 + |C_ref|) for K = 67 products of values in [−1, 1].</summary>
    public const double Tolerance = 1e-4;

    /// <summary>The kernel for a processor with <paramref name="features"/> (Linux /proc/cpuinfo flag names:
    /// <c>avx512f</c>, <c>avx512bw</c>, <c>avx512vl</c>, <c>avx512dq</c>, <c>avx2</c>, <c>fma</c>, <c>avx</c>, <c>pni</c> = SSE3),
    /// or null when it has none of them (the library's default stays).</summary>
    public static string? Choose(IReadOnlySet<string> features)
    {
        bool Has(params string[] f) => f.All(features.Contains);
        if (Has("avx512f", "avx512bw", "avx512vl", "avx512dq")) return "SkylakeX";
        if (Has("avx2", "fma")) return "Haswell";
        if (Has("avx")) return "Sandybridge";
        if (Has("pni") || Has("sse3")) return "Prescott";
        return null;
    }

    /// <summary>
    /// The decision for this process. <paramref name="user"/> is the user's OPENBLAS_CORETYPE (null or empty: not set);
    /// <paramref name="probe"/> loads OpenBLAS under a coretype (null: unset) and reports it (<see cref="Probe"/>).
    /// Returns the value to put into the environment (null: leave it) and what to report.
    /// </summary>
    /// <exception cref="TorchNativeLibraryException">the user's value names a kernel the library does not have</exception>
    public static (string? Set, BlasKernelInfo Info) Decide(IReadOnlySet<string> features, string? user, Func<string?, BlasProbe> probe)
    {
        if (!string.IsNullOrEmpty(user))
        {
            var got = probe(user);
            if (got.Corename is { } name && !string.Equals(name, user, StringComparison.OrdinalIgnoreCase))
                throw new TorchNativeLibraryException(
                    $"{Variable}={user}: this OpenBLAS has no kernel of that name (it would use {name} instead). " +
                    $"Unset {Variable} to let ArchDsl choose from the processor's features, or name one of SkylakeX, Haswell, Sandybridge, Prescott.");
            return (null, new BlasKernelInfo(got.Corename, "user", $"{Variable}={user}"));
        }
        var choice = Choose(features);
        var fallback = probe(null);
        if (fallback.Corename is null) return (null, new BlasKernelInfo(null, "default", "libtorch's BLAS has no openblas_get_corename"));
        if (choice is null) return (null, new BlasKernelInfo(fallback.Corename, "default", "no AVX-512, AVX2+FMA, AVX or SSE3 reported"));
        var why = FeatureText(choice);
        if (Rank(fallback.Corename) >= Rank(choice))
            return (null, new BlasKernelInfo(fallback.Corename, "default", $"the library's own choice is of the class {why} calls for"));
        var trial = probe(choice);
        if (!string.Equals(trial.Corename, choice, StringComparison.OrdinalIgnoreCase))
            return (null, new BlasKernelInfo(fallback.Corename, "default", $"{choice} ({why}) was not accepted by the library; it chose {trial.Corename}"));
        if (!(trial.MaxError <= Tolerance))
            return (null, new BlasKernelInfo(fallback.Corename, "default", $"{choice} ({why}) failed the self-check", trial.MaxError));
        return (choice, new BlasKernelInfo(choice, "chosen", $"{why}; library default {fallback.Corename}", trial.MaxError));
    }

    /// <summary>
    /// The class of an OpenBLAS kernel name (<c>openblas_get_corename()</c>, lower case in OpenBLAS's
    /// <c>driver/others/dynamic.c</c> table): 4 AVX-512 (SkylakeX, Cooperlake, SapphireRapids), 3 AVX2+FMA (Haswell, Zen),
    /// 2 AVX (Sandybridge, Bulldozer family), 1 SSE-only kernels, 0 a name not known here.
    /// </summary>
    public static int Rank(string? corename) => corename?.ToLowerInvariant() switch
    {
        "skylakex" or "cooperlake" or "sapphirerapids" => 4,
        "haswell" or "zen" => 3,
        "sandybridge" or "bulldozer" or "piledriver" or "steamroller" or "excavator" => 2,
        "prescott" or "core2" or "penryn" or "dunnington" or "nehalem" or "atom" or "opteron" or "opteron_sse3" or "barcelona" or "nano" => 1,
        _ => 0,
    };

    static string FeatureText(string choice) => choice switch
    {
        "SkylakeX" => "avx512f+bw+vl+dq",
        "Haswell" => "avx2+fma",
        "Sandybridge" => "avx",
        _ => "sse3",
    };

    /// <summary>The CPU feature flags of /proc/cpuinfo's first processor (empty elsewhere or when unreadable).</summary>
    public static IReadOnlySet<string> CpuFeatures()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("flags", StringComparison.Ordinal) && line.IndexOf(':') is var i and > 0)
                    return line[(i + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries).ToHashSet(StringComparer.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        return new HashSet<string>();
    }

    /// <summary>What <see cref="Apply"/> decided; null before the native library loaded.</summary>
    public static BlasKernelInfo? Current { get; private set; }

    /// <summary>
    /// Sets OPENBLAS_CORETYPE in the native environment from <see cref="Decide"/> (Linux only), then records what is
    /// in use. Runs once, before the native library loads (<see cref="NativeLibraryLocator"/>).
    /// </summary>
    /// <exception cref="TorchNativeLibraryException">the user's OPENBLAS_CORETYPE is one the library rejects</exception>
    internal static void Apply()
    {
        if (!OperatingSystem.IsLinux()) { Current = new BlasKernelInfo(null, "default", "not Linux"); return; }
        var user = Libc.GetEnv(Variable);
        var (set, info) = Decide(CpuFeatures(), user, Probe);
        if (set != null) Libc.setenv(Variable, set, 1);
        Current = info;
    }

    /// <summary>The kernel the loaded OpenBLAS reports (after libtorch loaded), or null when none is loaded.</summary>
    public static string? InUse()
    {
        if (!OperatingSystem.IsLinux()) return null;
        var h = Libc.dlopen("libopenblas.so.0", Libc.RTLD_NOW | Libc.RTLD_NOLOAD);
        if (h == IntPtr.Zero) return null;
        try { return Corename(h); }
        finally { Libc.dlclose(h); }
    }

    static unsafe string? Corename(IntPtr handle)
    {
        var f = Libc.dlsym(handle, "openblas_get_corename");
        return f == IntPtr.Zero ? null : Marshal.PtrToStringUTF8(((delegate* unmanaged[Cdecl]<IntPtr>)f)())?.Trim();
    }

    /// <summary>
    /// Loads libtorch's BLAS (<c>libblas.so.3</c>) with <see cref="Variable"/> = <paramref name="coretype"/> (null: unset)
    /// in a linker namespace of its own, asks it its kernel and computes a 61×67 · 67×59 sgemm against a double
    /// reference. The process's environment is restored before it returns; nothing stays loaded in this process's
    /// namespace. Linux only.
    /// </summary>
    public static BlasProbe Probe(string? coretype)
    {
        if (!OperatingSystem.IsLinux()) return new BlasProbe(null, double.NaN);
        var before = Libc.GetEnv(Variable);
        if (coretype is null) Libc.unsetenv(Variable); else Libc.setenv(Variable, coretype, 1);
        var h = IntPtr.Zero;
        try
        {
            h = Libc.dlmopen(Libc.LM_ID_NEWLM, "libblas.so.3", Libc.RTLD_NOW | Libc.RTLD_LOCAL);
            if (h == IntPtr.Zero) return new BlasProbe(null, double.NaN);
            var name = Corename(h);
            if (name is null) return new BlasProbe(null, double.NaN);
            var sgemm = Libc.dlsym(h, "cblas_sgemm");
            return new BlasProbe(name, sgemm == IntPtr.Zero ? double.NaN : SelfCheck(sgemm));
        }
        finally
        {
            if (h != IntPtr.Zero) Libc.dlclose(h);
            if (before is null) Libc.unsetenv(Variable); else Libc.setenv(Variable, before, 1);
        }
    }

    /// <summary>C = A·B through cblas_sgemm (row-major) against the same product in double; the largest relative error.</summary>
    static unsafe double SelfCheck(IntPtr sgemm)
    {
        const int m = 61, k = 67, n = 59; // odd sizes: the kernels' edge paths run too
        var rng = new Random(12);
        var a = new float[m * k];
        var b = new float[k * n];
        var c = new float[m * n];
        for (var i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        for (var i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() * 2 - 1);
        fixed (float* pa = a, pb = b, pc = c)
            // cblas_sgemm(Order=RowMajor 101, TransA=NoTrans 111, TransB=NoTrans 111, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
            ((delegate* unmanaged[Cdecl]<int, int, int, int, int, int, float, float*, int, float*, int, float, float*, int, void>)sgemm)(
                101, 111, 111, m, n, k, 1f, pa, k, pb, n, 0f, pc, n);
        var worst = 0.0;
        for (var i = 0; i < m; i++)
            for (var j = 0; j < n; j++)
            {
                double r = 0;
                for (var p = 0; p < k; p++) r += (double)a[i * k + p] * b[p * n + j];
                var e = Math.Abs(c[i * n + j] - r) / (1 + Math.Abs(r));
                if (!(e <= worst)) worst = e; // NaN propagates as the worst
            }
        return worst;
    }
}
