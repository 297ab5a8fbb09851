using ArchDsl.Dsl;
using ArchDsl.Torch;

namespace ArchDsl.Runtime.Training;

/// <summary>The BLAS line of a run's log and <c>summary.yaml</c>'s <c>blas:</c>, from what the binding decided
/// (<see cref="BlasKernel.Current"/>): its words and the self-check's error, written as the run's other rounded
/// figures are (<see cref="FloatText.Significant"/>, Python's <c>format(v, '.2g')</c>), whatever the culture.</summary>
public static class BlasKernelText
{
    /// <summary><c>OpenBLAS SkylakeX (chosen: avx512f+bw+vl+dq; library default Prescott; self-check error 2.1e-07)</c>,
    /// <c>OpenBLAS Prescott (default: Haswell (avx2+fma) failed the self-check: error 0.3 &gt; 0.0001)</c>,
    /// <c>not OpenBLAS (…)</c>; <c>not loaded</c> when <paramref name="info"/> is null (libtorch not loaded yet).</summary>
    public static string Describe(BlasKernelInfo? info)
    {
        if (info is null) return "not loaded";
        if (info.Kernel is null) return $"not OpenBLAS ({info.Detail})";
        var check = info.SelfCheckError switch
        {
            null => "",
            double e when e <= BlasKernel.Tolerance => $"; self-check error {FloatText.Significant(e, 2)}",
            double e => $": error {FloatText.Significant(e, 3)} > {FloatText.Format(BlasKernel.Tolerance)}",
        };
        return $"OpenBLAS {info.Kernel} ({info.Source}: {info.Detail}{check})";
    }
}
