using ArchDsl.Torch;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// Runs the own kernels' equivalence tests at each instruction-set level (<see cref="CpuCapability"/>: 0 default, 1 avx2,
/// 2 avx512), so that the variants a processor would not choose by itself are held to libtorch too. The cap is
/// process-wide: tests that use it belong to <see cref="TorchModelCollection"/>, which runs alone.
/// </summary>
public static class KernelLevels
{
    /// <summary>Every level the shim's kernels are compiled for.</summary>
    public static readonly int[] Levels = [0, 1, 2];

    /// <summary>Each case of <paramref name="cases"/> at each level, the level first.</summary>
    public static IEnumerable<object[]> Each(IEnumerable<object[]> cases) =>
        from level in Levels from c in cases.ToArray() select (object[])[level, .. c];

    /// <summary>
    /// <paramref name="body"/> with the own kernels capped at <paramref name="level"/>. A level this processor lacks does
    /// not run here; <see cref="KernelLevelTests.This_processor_runs_every_level_CI_runs"/> fails on such a machine.
    /// </summary>
    public static void At(int level, Action body)
    {
        if (level > CpuCapability.Processor) return;
        var before = CpuCapability.Current;
        using (CpuCapability.Limit(CpuCapability.Name(level)))
        {
            Assert.Equal(level, CpuCapability.Current);
            body();
        }
        Assert.Equal(before, CpuCapability.Current); // the cap lifted for the tests after this one
    }
}

[Collection(TorchModelCollection.Name)]
public sealed class KernelLevelTests
{
    /// <summary>The level tests run only the levels the processor has; CI's processors have AVX-512, so a machine without
    /// it did not run the avx512 variants and says so here rather than passing.</summary>
    [Fact]
    public void This_processor_runs_every_level_CI_runs() =>
        Assert.True(CpuCapability.Processor == 2,
            $"this processor's widest level is {CpuCapability.Name(CpuCapability.Processor)}: the avx512 kernels' tests did not run here");
}
