using System.Runtime.InteropServices;

namespace ArchDsl.Torch;

/// <summary>
/// The instruction set of the shim's own CPU kernels, each compiled once per set and chosen per call (depthwise
/// convolution, GELU + batch norm, packed attention's products and softmax, bias + GELU): level 2 <c>avx512</c>
/// (AVX-512 F, VL, BW, DQ), 1 <c>avx2</c> (AVX2 with FMA), 0 <c>default</c> (the baseline x86-64 code), as ATen's
/// <c>ATEN_CPU_CAPABILITY</c> names them. The widest the processor runs, capped by the environment variable
/// <see cref="Variable"/> (read once, when the shim first chooses) or by <see cref="Limit"/>; a cap never raises the
/// level above the processor's. A variable that names none of the three stops the shim's loading with a
/// <see cref="TorchNativeLibraryException"/> naming them (archc: exit 1 before anything is written). The definition
/// is the shim's (<c>cpu_vector_level</c>, Runtime/native/src/core.cpp).
/// </summary>
public static class CpuCapability
{
    /// <summary>The environment variable that caps the level for a process: <c>avx512</c>, <c>avx2</c> or <c>default</c>.</summary>
    public const string Variable = "ARCHDSL_CPU_CAPABILITY";

    /// <summary>The widest level this processor runs (0–2).</summary>
    public static int Processor => Native.Check(Native.ats_cpu_capability(1));

    /// <summary>The level the own kernels use now (0–2): <see cref="Processor"/>'s, or the cap's when lower.</summary>
    /// <exception cref="TorchException"><see cref="Variable"/> names no level and no <see cref="Limit"/> is in force</exception>
    public static int Current => Native.Check(Native.ats_cpu_capability(0));

    /// <summary>The name of a level: 0 <c>default</c>, 1 <c>avx2</c>, 2 <c>avx512</c>.</summary>
    public static string Name(int level) => Marshal.PtrToStringUTF8(Native.ats_cpu_capability_name(level))
        ?? throw new ArgumentOutOfRangeException(nameof(level), level, "cpu capability levels are 0 (default), 1 (avx2) and 2 (avx512)");

    /// <summary>
    /// Caps the own kernels' level for the whole process at <paramref name="name"/> (<c>avx512</c>, <c>avx2</c> or
    /// <c>default</c>) until the result is disposed, which lifts the cap (<see cref="Variable"/>'s applies again); while
    /// in force it replaces the variable's.
    /// For tests: the variants a processor would not choose by itself run on it.
    /// </summary>
    /// <exception cref="TorchException">another name (the message names the three)</exception>
    public static IDisposable Limit(string name)
    {
        Native.Check(Native.ats_set_cpu_capability(name));
        return new Lift();
    }

    sealed class Lift : IDisposable
    {
        bool _done;
        public void Dispose()
        {
            if (_done) return;
            _done = true;
            Native.ats_set_cpu_capability(null);
        }
    }

    /// <summary>Right after the shim loads, before any call: a <see cref="Variable"/> that names no level is a
    /// <see cref="TorchNativeLibraryException"/> with the shim's message (the three names).</summary>
    internal static unsafe void CheckVariable(IntPtr library)
    {
        var capability = (delegate* unmanaged<int, int>)NativeLibrary.GetExport(library, "ats_cpu_capability");
        if (capability(0) >= 0) return;
        var error = ((delegate* unmanaged<IntPtr>)NativeLibrary.GetExport(library, "ats_last_error"))();
        throw new TorchNativeLibraryException(Marshal.PtrToStringUTF8(error) ?? $"{Variable} names no instruction set");
    }
}
