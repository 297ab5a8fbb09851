using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Torch.Tests;

/// <summary>
/// OpenBLAS kernel selection (<see cref="BlasKernel"/>): the choice as a pure function of the processor's features
/// (injected: an Intel Xeon with AVX-512, an AVX2+FMA machine, plain SSE), the decision with an injected trial load
/// (the user's OPENBLAS_CORETYPE wins; a rejected one is an error; a failed self-check keeps the default), and the
/// real trial load and self-check on this machine's OpenBLAS.
/// </summary>
public class BlasKernelTests : TorchTest
{
    // /proc/cpuinfo flags of an Intel Xeon (Cascade/Cooper Lake class) as the machine reported them (abridged).
    static readonly HashSet<string> IntelAvx512 = Flags("fpu sse sse2 ssse3 fma sse4_1 sse4_2 pni avx f16c avx2 bmi2 avx512f avx512dq avx512cd avx512bw avx512vl avx512_bf16 avx512_vnni");
    static readonly HashSet<string> Avx2Fma = Flags("fpu sse sse2 ssse3 pni fma sse4_1 sse4_2 avx f16c avx2 bmi1 bmi2");
    static readonly HashSet<string> PlainSse3 = Flags("fpu sse sse2 pni ssse3");

    static HashSet<string> Flags(string s) => s.Split(' ').ToHashSet();

    [Fact]
    public void The_kernel_follows_the_features_not_the_name()
    {
        Assert.Equal("SkylakeX", BlasKernel.Choose(IntelAvx512));
        Assert.Equal("Haswell", BlasKernel.Choose(Avx2Fma));
        Assert.Equal("Prescott", BlasKernel.Choose(PlainSse3));
        Assert.Equal("Sandybridge", BlasKernel.Choose(Flags("sse sse2 pni avx")));
        // AVX-512 F without BW/VL/DQ (Knights Landing) is not SkylakeX; it still has AVX2+FMA.
        Assert.Equal("Haswell", BlasKernel.Choose(Flags("pni avx avx2 fma avx512f avx512cd")));
        Assert.Null(BlasKernel.Choose(Flags("fpu sse sse2")));
    }

    static Func<string?, BlasProbe> Library(string fallback, double error = 1e-7, params string[] known) => coretype =>
        new(coretype is null || !known.Contains(coretype, StringComparer.OrdinalIgnoreCase) ? fallback : coretype, error);

    [Fact]
    public void A_checked_choice_is_set_and_reported()
    {
        var (set, info) = BlasKernel.Decide(IntelAvx512, null, Library("Prescott", 1e-7, "SkylakeX", "Haswell"));
        Assert.Equal("SkylakeX", set);
        Assert.Equal(("SkylakeX", "chosen"), (info.Kernel, info.Source));
        Assert.Contains("library default Prescott", info.Detail);
        Assert.Equal(1e-7, info.SelfCheckError);
    }

    [Fact]
    public void A_default_of_the_same_class_stays()
    {
        // AMD EPYC (Zen 4): OpenBLAS 0.3.21 picks Cooperlake itself, whose sgemm kernels are SkylakeX's.
        var asked = new List<string?>();
        var (set, info) = BlasKernel.Decide(IntelAvx512, null, c => { asked.Add(c); return Library("Cooperlake", 1e-7, "SkylakeX")(c); });
        Assert.Null(set);
        Assert.Equal(("Cooperlake", "default"), (info.Kernel, info.Source));
        Assert.Equal(new string?[] { null }, asked); // no trial of a choice that would not be better
        // A Zen (Haswell-class) default on an AVX2 machine stays too; on an AVX-512 one SkylakeX is tried.
        Assert.Null(BlasKernel.Decide(Avx2Fma, null, Library("Zen", 1e-7, "Haswell")).Set);
        Assert.Equal("SkylakeX", BlasKernel.Decide(IntelAvx512, null, Library("Zen", 1e-7, "SkylakeX")).Set);
    }

    [Fact]
    public void A_choice_that_fails_the_self_check_keeps_the_default()
    {
        var (set, info) = BlasKernel.Decide(Avx2Fma, null, Library("Prescott", error: 0.3, "Haswell"));
        Assert.Null(set);
        Assert.Equal(("Prescott", "default"), (info.Kernel, info.Source));
        Assert.Contains("failed the self-check", info.Detail);
        Assert.Equal(0.3, info.SelfCheckError);
        var (nanSet, _) = BlasKernel.Decide(Avx2Fma, null, Library("Prescott", error: double.NaN, "Haswell"));
        Assert.Null(nanSet);
    }

    [Fact]
    public void A_choice_the_library_does_not_take_keeps_the_default()
    {
        var (set, info) = BlasKernel.Decide(IntelAvx512, null, Library("Prescott"));
        Assert.Null(set);
        Assert.Contains("was not accepted", info.Detail);
    }

    [Fact]
    public void The_users_coretype_wins_and_one_the_library_rejects_is_an_error()
    {
        var asked = new List<string?>();
        var (set, info) = BlasKernel.Decide(IntelAvx512, "Haswell", c => { asked.Add(c); return Library("Prescott", 1e-7, "Haswell", "SkylakeX")(c); });
        Assert.Null(set); // the user's value is already in the environment
        Assert.Equal(("Haswell", "user"), (info.Kernel, info.Source));
        Assert.Equal(new string?[] { "Haswell" }, asked);

        var e = Assert.Throws<TorchNativeLibraryException>(() => BlasKernel.Decide(IntelAvx512, "Skylake-X", Library("Prescott", 1e-7, "SkylakeX")));
        Assert.Equal("OPENBLAS_CORETYPE=Skylake-X: this OpenBLAS has no kernel of that name (it would use Prescott instead). " +
                     "Unset OPENBLAS_CORETYPE to let ArchDsl choose from the processor's features, or name one of SkylakeX, Haswell, Sandybridge, Prescott.", e.Message);
    }

    [Fact]
    public void Without_OpenBLAS_nothing_is_chosen()
    {
        var (set, info) = BlasKernel.Decide(IntelAvx512, null, _ => new BlasProbe(null, double.NaN));
        Assert.Null(set);
        Assert.Null(info.Kernel);
    }

    /// <summary>This machine's OpenBLAS, loaded for real in a namespace of its own: it takes this processor's choice and
    /// passes the self-check; a name it does not know comes back as another kernel (what makes the user's error).</summary>
    [Fact]
    public void The_trial_load_runs_the_real_library()
    {
        var choice = BlasKernel.Choose(BlasKernel.CpuFeatures());
        Assert.NotNull(choice); // every x86-64 processor has SSE3
        var before = NativeEnv(BlasKernel.Variable);
        var probe = BlasKernel.Probe(choice);
        Assert.Equal(choice, probe.Corename, StringComparer.OrdinalIgnoreCase);
        Assert.InRange(probe.MaxError, 0, BlasKernel.Tolerance);
        var bogus = BlasKernel.Probe("NoSuchCore");
        Assert.NotNull(bogus.Corename);
        Assert.NotEqual("NoSuchCore", bogus.Corename);
        Assert.Equal(before, NativeEnv(BlasKernel.Variable)); // the probes restored the environment
    }

    /// <summary>Once libtorch is loaded, what was decided is what the loaded OpenBLAS reports.</summary>
    [Fact]
    public void The_reported_kernel_is_the_one_in_use()
    {
        using var t = zeros(1); // the native library is loaded by now
        var current = BlasKernel.Current;
        Assert.NotNull(current);
        Assert.Equal(current!.Kernel, BlasKernel.InUse());
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(BlasKernel.Variable)))
            Assert.True(BlasKernel.Rank(current.Kernel) >= BlasKernel.Rank(BlasKernel.Choose(BlasKernel.CpuFeatures())),
                $"in use: {current}; this processor's features call for {BlasKernel.Choose(BlasKernel.CpuFeatures())}");
    }

    static string? NativeEnv(string name) => Libc.GetEnv(name);
}
