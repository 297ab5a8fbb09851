using System.Runtime.InteropServices;

namespace ArchDsl.Torch;

/// <summary>
/// Stops libtorch's two CPU thread pools from spinning against each other. Debian's libtorch runs element-wise ops,
/// convolutions and norms on GNU OpenMP threads and matrix products on OpenBLAS's own pthreads; each pool's idle
/// threads busy-wait (OpenBLAS with <c>sched_yield</c>, ~35,000 calls a second) for a while after their work, taking
/// the cores the other pool needs next. On 2 cores a ViT training step spent a quarter of its CPU time in the kernel.
/// <para>Before the native library loads, <see cref="Apply"/> sets, unless the environment already has them,
/// <c>OPENBLAS_THREAD_TIMEOUT=4</c> (OpenBLAS threads sleep after 2⁴ cycles of waiting instead of 2²⁸) and
/// <c>GOMP_SPINCOUNT=10000</c> (OpenMP threads spin 10⁴ rounds, not libgomp's default 3·10⁵, before sleeping). Both libraries read them
/// when they load. Measured with <c>./archc bench specs/vit.arch --batch 128</c> (2 CPU threads): a training step
/// 1,347 ms without them, 778 ms with them; a ConvMixer step (oneDNN convolutions, hardly any BLAS) is unchanged
/// within the noise. Set <c>ARCHDSL_THREAD_ENV=default</c> to leave both libraries' defaults.</para>
/// </summary>
public static class ThreadPools
{
    /// <summary>The variables and the values <see cref="Apply"/> gives them (when they are not set already).</summary>
    public static readonly IReadOnlyList<(string Name, string Value)> Settings = new[]
    {
        ("OPENBLAS_THREAD_TIMEOUT", "4"),
        ("GOMP_SPINCOUNT", "10000"),
    };

    /// <summary>True unless <c>ARCHDSL_THREAD_ENV=default</c> opts out.</summary>
    public static bool Enabled => Environment.GetEnvironmentVariable("ARCHDSL_THREAD_ENV") != "default";

    /// <summary>
    /// The environment a child process running the same libtorch (e.g. the PyTorch companion of <c>archc bench</c>)
    /// should get so that it runs under the same thread-pool settings as this process: the values in effect here.
    /// </summary>
    public static IEnumerable<(string Name, string Value)> Effective()
    {
        foreach (var (name, _) in Settings)
        {
            var value = (OperatingSystem.IsLinux() ? Libc.GetEnv(name) : null) ?? Environment.GetEnvironmentVariable(name);
            if (!string.IsNullOrEmpty(value)) yield return (name, value);
        }
    }

    /// <summary>
    /// Puts <see cref="Settings"/> into the process's native environment (which is what libgomp and OpenBLAS read;
    /// .NET's own environment block is a copy they never see). Must run before the native library is loaded; a
    /// variable the user set is kept. Linux only; elsewhere nothing happens.
    /// </summary>
    internal static void Apply()
    {
        if (!OperatingSystem.IsLinux() || !Enabled) return;
        try
        {
            foreach (var (name, value) in Settings)
                Libc.setenv(name, value, 0); // overwrite = 0: a value the user set stays
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { }
    }
}
