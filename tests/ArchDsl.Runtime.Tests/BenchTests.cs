using ArchDsl.Runtime.Model;
using Xunit.Abstractions;
using static ArchDsl.Runtime.Tests.ModelTestKit;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The benchmark entry point works end to end (not a timing test: the figures are only checked for sanity):
/// both sides run, the PyTorch companion builds the same parameter count from the graph description, and the
/// table shows both columns and the ratio.
/// </summary>
[Collection(TorchModelCollection.Name)]
public sealed class BenchTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("convmixer.arch", "channels_last", new[] { "dim=16", "depth=1", "size=16" })]
    [InlineData("vit.arch", "contiguous", new[] { "dim=24", "depth=1", "heads=2", "size=16", "drop=0.1" })]
    [InlineData("mlp-mixer.arch", "contiguous", new[] { "dim=16", "depth=1", "size=16" })]
    public void Bench_runs_ArchDsl_and_the_PyTorch_companion_on_the_same_model(string spec, string format, string[] overrides)
    {
        var g = CompileSpec(spec, overrides);
        Assert.NotNull(Bench.FindScript());
        var r = Bench.Run(g, batch: 4, device: "cpu", warmup: 1, iterations: 3);
        output.WriteLine(r.ToText());
        Assert.Null(r.PyTorchError);
        Assert.NotNull(r.PyTorch);
        Assert.Equal(g.ParamCount, r.Parameters);
        Assert.Equal(Environment.ProcessorCount, r.Threads);
        foreach (var f in new[] { r.ArchDsl, r.PyTorch! })
        {
            Assert.True(f.TrainStepMs > 0 && double.IsFinite(f.TrainStepMs));
            Assert.True(f.InferStepMs > 0 && double.IsFinite(f.InferStepMs));
            Assert.True(f.PeakMemoryBytes > 0);
            Assert.Equal(4 / (f.TrainStepMs / 1000), f.TrainImagesPerSec, 6);
        }
        Assert.Equal(r.ArchDsl.TrainStepMs / r.PyTorch!.TrainStepMs, r.Ratio!.Value, 9);
        var text = r.ToText();
        Assert.Contains("ArchDsl", text);
        Assert.Contains("PyTorch 1.13", text);
        Assert.Equal(format, r.MemoryFormat); // the companion confirmed it runs in the same format
        Assert.Contains($"{format}, fp32 (both sides)", text);
        // Both sides' BLAS kernels, the same one (the companion ran under this process's OPENBLAS_CORETYPE).
        Assert.Equal(r.Blas, r.PyTorchBlas);
        Assert.Contains($"BLAS kernel: ArchDsl {r.Blas ?? "not OpenBLAS"}; PyTorch {r.PyTorchBlas ?? "not OpenBLAS"} (same kernel and thread-pool settings)", text);
        Assert.Contains("ArchDsl's linear layers: oneDNN sgemm", text); // F.linear's float32 CPU products (src/linear.cpp)
        Assert.Contains("train images/s", text);
        Assert.Contains(r.Ratio.Value.ToString("F3", System.Globalization.CultureInfo.InvariantCulture), text);
    }

    /// <summary>
    /// A companion that dies before answering: the report carries its exit code and the last lines it wrote to stderr
    /// (its traceback) — all of them, read to the end of the stream, not only what the asynchronous reader had by then.
    /// </summary>
    [Fact]
    public void A_companion_that_dies_is_reported_with_its_last_stderr_lines()
    {
        var g = CompileSpec("convmixer.arch", "dim=8", "depth=1", "size=8");
        var dir = Directory.CreateTempSubdirectory("archdsl-fake-python-").FullName;
        var fake = Path.Combine(dir, "python3");
        File.WriteAllText(fake, "#!/bin/sh\nfor i in $(seq 1 2000); do echo \"noise $i\" >&2; done\necho 'RuntimeError: the last line' >&2\nexit 3\n");
        File.SetUnixFileMode(fake, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var old = Environment.GetEnvironmentVariable("ARCHDSL_PYTHON");
        Environment.SetEnvironmentVariable("ARCHDSL_PYTHON", fake);
        try
        {
            var r = Bench.Run(g, batch: 2, device: "cpu", warmup: 0, iterations: 1);
            Assert.Null(r.PyTorch);
            Assert.Contains("ended with exit code 3", r.PyTorchError);
            Assert.EndsWith("noise 2000 | RuntimeError: the last line", r.PyTorchError);
        }
        finally
        {
            Environment.SetEnvironmentVariable("ARCHDSL_PYTHON", old);
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public void A_failing_companion_is_reported_not_thrown()
    {
        var g = CompileSpec("convmixer.arch", "dim=8", "depth=1", "size=8");
        var old = Environment.GetEnvironmentVariable("ARCHDSL_PYTHON");
        Environment.SetEnvironmentVariable("ARCHDSL_PYTHON", "/nonexistent/python3");
        try
        {
            var r = Bench.Run(g, batch: 2, device: "cpu", warmup: 0, iterations: 1);
            Assert.Null(r.PyTorch);
            Assert.Null(r.Ratio);
            Assert.NotNull(r.PyTorchError);
            Assert.Contains("PyTorch run failed", r.ToText());
        }
        finally { Environment.SetEnvironmentVariable("ARCHDSL_PYTHON", old); }
    }
}
