using System.Diagnostics;
using ArchDsl.Compiler;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The model tests share process-wide native state (libtorch's RNG and thread count, the live-handle count,
/// the RSS the memory test watches): they run one at a time, after the parallel tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TorchModelCollection
{
    public const string Name = "torch-model";
}

/// <summary>Helpers for the IrModel tests: compiling specs, deterministic data, tensor comparisons, the python reference.</summary>
public static class ModelTestKit
{
    public static string RepoRoot => TestSupport.Repo.Root;

    public static string Spec(string name) => TestSupport.Repo.Spec(name);
    public static string ReferenceDir => Path.Combine(RepoRoot, "tests", "ArchDsl.Runtime.Tests", "reference");

    /// <summary>Compiles a spec file (relative to specs/) with <c>--set</c> overrides; fails the test with the diagnostics otherwise.</summary>
    public static IrGraph CompileSpec(string name, params string[] overrides) =>
        Check(ArchCompiler.CompileFile(Spec(name), Override.ParseAll(overrides)), name);

    public static IrGraph CompileText(string text, params string[] overrides) =>
        Check(ArchCompiler.CompileText(text, "<test>", Override.ParseAll(overrides)), text);

    static IrGraph Check(CompileResult r, string what)
    {
        if (!r.Success) throw new InvalidOperationException($"compiling {what} failed:\n{string.Join("\n", r.Diagnostics)}");
        return r.Graph!;
    }

    /// <summary>Uniform(-1, 1) values made in C# (not by libtorch's RNG), so every side sees exactly the same numbers.</summary>
    public static Tensor Rand(int seed, params long[] shape) => TestSupport.Tensors.Uniform(seed, shape);

    public static Tensor Labels(int seed, int count, int classes) => TestSupport.Tensors.Labels(seed, count, classes);

    public static double MaxAbsDiff(Tensor a, Tensor b) => TestSupport.Tensors.MaxAbsDiff(a, b);

    /// <summary>How many elements of <paramref name="ours"/> differ from <paramref name="reference"/> in value (NaN matches
    /// any NaN; BiasGeluTests.DifferingBits compares bits).</summary>
    public static long Differing(Tensor ours, Tensor reference)
    {
        using var scope = NewDisposeScope();
        var (a, b) = (ours.to(ScalarType.Float64), reference.to(ScalarType.Float64));
        var same = a.eq(b).logical_or(a.isnan().logical_and(b.isnan()));
        return same.numel() - same.sum().item<long>();
    }

    public static double MaxAbs(Tensor a)
    {
        using var scope = NewDisposeScope();
        return a.detach().abs().max().cpu().to(ScalarType.Float64).item<double>();
    }

    /// <summary>Runs a python script with Debian's python3 (PyTorch 1.13 on the same libtorch); fails with its output otherwise.</summary>
    public static string Python(string script, params string[] args) => PythonIn(ReferenceDir, [script, .. args]);

    /// <summary>Runs Debian's python3 with <paramref name="args"/> in <paramref name="dir"/>; its stdout, or an exception with its output.</summary>
    public static string PythonIn(string dir, params string[] args)
    {
        var script = string.Join(" ", args);
        var psi = new ProcessStartInfo(TestSupport.Tools.Require(TestSupport.Tools.Python, "python3-torch")) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"python {script} failed ({p.ExitCode}):\n{err.Result}\n{stdout}");
        return stdout;
    }
}
