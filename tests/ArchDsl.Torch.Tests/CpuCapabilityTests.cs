using ArchDsl.Torch;

namespace ArchDsl.Torch.Tests;

/// <summary>
/// The cap on the own kernels' instruction set (<see cref="CpuCapability"/>): named as ATen's ATEN_CPU_CAPABILITY, never
/// above the processor's widest, lifted when its scope ends, another name refused with the three. (The equivalence
/// tests at each level are the kernels' own, in ArchDsl.Runtime.Tests; a bad ARCHDSL_CPU_CAPABILITY is archc's test.)
/// </summary>
public class CpuCapabilityTests : TorchTest
{
    [Fact]
    public void The_levels_are_named_as_atens()
    {
        Assert.Equal(["default", "avx2", "avx512"], new[] { 0, 1, 2 }.Select(CpuCapability.Name));
        Assert.Throws<ArgumentOutOfRangeException>(() => CpuCapability.Name(3));
    }

    [Fact]
    public void A_cap_lowers_the_level_never_raises_it_and_is_lifted_at_the_end_of_its_scope()
    {
        var (widest, before) = (CpuCapability.Processor, CpuCapability.Current); // before: ARCHDSL_CPU_CAPABILITY's cap, if any
        Assert.InRange(before, 0, widest);
        for (var level = 0; level <= 2; level++)
        {
            using (CpuCapability.Limit(CpuCapability.Name(level)))
                Assert.Equal(Math.Min(level, widest), CpuCapability.Current);
            Assert.Equal(before, CpuCapability.Current);
        }
    }

    [Fact]
    public void Another_name_is_refused_with_the_three_and_leaves_the_level()
    {
        using (CpuCapability.Limit("avx2"))
        {
            var e = Assert.Throws<TorchException>(() => CpuCapability.Limit("AVX2"));
            Assert.Equal("cpu capability 'AVX2' is none of avx512, avx2, default", e.Message);
            Assert.Equal(Math.Min(1, CpuCapability.Processor), CpuCapability.Current); // the cap in force stays
        }
    }
}
