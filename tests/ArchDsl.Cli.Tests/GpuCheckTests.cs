using System.Diagnostics;

namespace ArchDsl.Cli.Tests;

/// <summary>
/// scripts/publish.sh's archc, once per test run: the real program a GPU host without .NET receives (build/publish/).
/// </summary>
public sealed class PublishedArchc
{
    public string Dir { get; }
    public string Archc => Path.Combine(Dir, "archc");
    public string Shim { get; } = Path.Combine(CliHarness.Root, "build", "native", "libarchdsl_torch.so");

    public PublishedArchc()
    {
        Dir = Path.Combine(CliHarness.Root, "build", "publish");
        var (code, output) = Script.Run(TimeSpan.FromMinutes(10), null, "scripts/publish.sh");
        if (code != 0) throw new InvalidOperationException($"scripts/publish.sh failed ({code}):\n{output}");
    }
}

/// <summary>Runs a repository script with bash, its output merged, under a time limit.</summary>
internal static class Script
{
    public static (int Code, string Output) Run(TimeSpan limit, IDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("bash") { WorkingDirectory = CliHarness.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"bash {string.Join(' ', args)} ran past {limit}");
        }
        return (p.ExitCode, stdout.Result + stderr.Result);
    }
}

/// <summary>
/// The GPU host's kit (issue 17), run here on the CPU: the published archc and scripts/gpu-check.sh --device cpu,
/// which drives it through every step the GPU run has (equivalence, bench, inference, training).
/// </summary>
public sealed class GpuCheckTests(PublishedArchc published) : IClassFixture<PublishedArchc>
{
    /// <summary>
    /// The GPU host takes a working tree of at most 64 MiB: the tracked files (~2.5 MB), the published archc, and the
    /// Fashion-MNIST files for the training step (30.9 MB as Debian ships them, .gz). 24 MiB leaves ~6 MiB spare.
    /// </summary>
    const long PublishLimitBytes = 24L << 20;

    [Fact]
    public void The_published_archc_fits_the_GPU_hosts_tree_limit()
    {
        var bytes = new DirectoryInfo(published.Dir).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        Assert.True(File.Exists(published.Archc), $"no {published.Archc}");
        Assert.True(File.Exists(Path.Combine(published.Dir, "Model", "reference", "bench_pytorch.py")), "the bench companion is not beside archc");
        Assert.True(bytes <= PublishLimitBytes, $"build/publish holds {bytes:N0} bytes, over the {PublishLimitBytes:N0} limit");
    }

    [Fact]
    public void The_published_archc_finds_the_shim_through_ARCHDSL_NATIVE_and_names_a_wrong_one()
    {
        var spec = CliHarness.Spec("convmixer.arch");
        var missing = Path.Combine(Path.GetTempPath(), "no-such-shim-dir");
        var (code, output) = Script.Run(TimeSpan.FromMinutes(2), new Dictionary<string, string> { ["ARCHDSL_NATIVE"] = missing },
            "-c", $"'{published.Archc}' bench '{spec}' --no-pytorch --batch 2 --warmup 0 --iterations 1");
        Assert.Equal(1, code);
        Assert.Contains($"archc: error: ARCHDSL_NATIVE={missing} does not name libarchdsl_torch.so", output);
        Assert.DoesNotContain("Unhandled exception", output);

        (code, output) = Script.Run(TimeSpan.FromMinutes(2), new Dictionary<string, string> { ["ARCHDSL_NATIVE"] = published.Shim },
            "-c", $"cd /tmp && '{published.Archc}' bench '{spec}' --set dim=8 --set depth=1 --no-pytorch --batch 2 --warmup 0 --iterations 1");
        Assert.True(code == 0, output);
        Assert.Contains("train step (ms, median)", output);
    }

    /// <summary>
    /// The published archc carries SkiaSharp's and HarfBuzz's native libraries (issue 15): a short run, started with a
    /// fresh extraction folder so the libraries must come out of the single file, writes every chart its report.html
    /// shows as a non-empty PNG and SVG, and no "could not be drawn" warning. Fails if the publish leaves them out again.
    /// </summary>
    [Fact]
    public void The_published_archc_draws_the_run_reports_charts()
    {
        var work = Directory.CreateTempSubdirectory("archdsl-published-charts-").FullName;
        try
        {
            var spec = CliHarness.TempSpec(CliHarness.TinyTrainSpec);
            var env = new Dictionary<string, string> { ["ARCHDSL_NATIVE"] = published.Shim, ["DOTNET_BUNDLE_EXTRACT_BASE_DIR"] = Path.Combine(work, "extract") };
            var (code, output) = Script.Run(TimeSpan.FromMinutes(3), env,
                "-c", $"cd '{work}' && '{published.Archc}' train '{spec}' --runs '{work}/runs' --name charts");
            Assert.True(code == 0, output);
            Assert.DoesNotContain("could not be drawn", output);
            var run = Directory.GetDirectories(Path.Combine(work, "runs")).Single();
            var charts = System.Text.RegularExpressions.Regex.Matches(File.ReadAllText(Path.Combine(run, "report.html")), "<img src=\"([^\"]+)\\.svg\"")
                .Select(m => m.Groups[1].Value).ToList();
            Assert.Equal(["train-loss", "lr", "accuracy", "loss", "images-per-s"], charts);
            byte[] png = [0x89, (byte)'P', (byte)'N', (byte)'G'];
            foreach (var chart in charts)
            {
                var bytes = File.ReadAllBytes(Path.Combine(run, chart + ".png"));
                Assert.True(bytes.Length > 1000 && bytes.AsSpan(0, 4).SequenceEqual(png), $"{chart}.png is not a drawn PNG ({bytes.Length} bytes)");
                Assert.Contains("<svg", File.ReadAllText(Path.Combine(run, chart + ".svg")));
            }
        }
        finally { Directory.Delete(work, true); }
    }

    /// <summary>
    /// A user's OPENBLAS_CORETYPE that this OpenBLAS does not have (issue 12's bad input): the kernel is chosen when the
    /// library loads, at a process's start, so only a new process shows it — a clear error naming the kernels it has,
    /// exit 1, no stack trace and no run directory.
    /// </summary>
    [Fact]
    public void A_users_OPENBLAS_CORETYPE_the_library_rejects_stops_archc_before_anything_is_written() =>
        StopsBeforeAnythingIsWritten("OPENBLAS_CORETYPE", "Skylake-X",
            "archc: error: OPENBLAS_CORETYPE=Skylake-X: this OpenBLAS has no kernel of that name",
            "Unset OPENBLAS_CORETYPE to let ArchDsl choose from the processor's features");

    /// <summary>An ARCHDSL_CPU_CAPABILITY that names no level (the own kernels' cap, checked when the shim loads): a clear
    /// error naming the three, exit 1, no stack trace and no run directory — never the widest kernels run instead.</summary>
    [Fact]
    public void An_ARCHDSL_CPU_CAPABILITY_that_names_no_level_stops_archc_before_anything_is_written() =>
        StopsBeforeAnythingIsWritten("ARCHDSL_CPU_CAPABILITY", "avx-2",
            "archc: error: ARCHDSL_CPU_CAPABILITY=avx-2 names no instruction set: expected avx512, avx2 or default");

    /// <summary>ARCHDSL_CPU_CAPABILITY=default (the baseline kernels a processor without AVX2 runs) is read when the shim
    /// loads: the run trains on them and its summary names them.</summary>
    [Fact]
    public void ARCHDSL_CPU_CAPABILITY_caps_a_runs_own_kernels_and_its_summary_names_them()
    {
        var work = Directory.CreateTempSubdirectory("archdsl-capability-").FullName;
        try
        {
            var spec = CliHarness.TempSpec(CliHarness.TinyTrainSpec);
            var env = new Dictionary<string, string> { ["ARCHDSL_NATIVE"] = published.Shim, ["ARCHDSL_CPU_CAPABILITY"] = "default" };
            var (code, output) = Script.Run(TimeSpan.FromMinutes(2), env, "-c", $"'{published.Archc}' train '{spec}' --runs '{work}/runs'");
            Assert.True(code == 0, output);
            var summary = Assert.Single(Directory.GetFiles(Path.Combine(work, "runs"), "summary.yaml", SearchOption.AllDirectories));
            Assert.Contains("\ncpu_kernels: default   #", File.ReadAllText(summary));
        }
        finally { Directory.Delete(work, true); }
    }

    /// <summary>The published archc's train of a tiny spec with <paramref name="variable"/> = <paramref name="value"/>:
    /// exit 1 with each of <paramref name="messages"/>, no stack trace, nothing in the runs folder.</summary>
    void StopsBeforeAnythingIsWritten(string variable, string value, params string[] messages)
    {
        var work = Directory.CreateTempSubdirectory("archdsl-bad-variable-").FullName;
        try
        {
            var spec = CliHarness.TempSpec(CliHarness.TinyTrainSpec);
            var env = new Dictionary<string, string> { ["ARCHDSL_NATIVE"] = published.Shim, [variable] = value };
            var (code, output) = Script.Run(TimeSpan.FromMinutes(2), env, "-c", $"'{published.Archc}' train '{spec}' --runs '{work}/runs'");
            Assert.True(code == 1, output);
            foreach (var message in messages) Assert.Contains(message, output);
            Assert.DoesNotContain("   at ", output);
            Assert.Empty(Directory.Exists(Path.Combine(work, "runs")) ? Directory.GetFileSystemEntries(Path.Combine(work, "runs")) : []);
        }
        finally { Directory.Delete(work, true); }
    }

    [Fact]
    public void Gpu_check_runs_every_step_on_the_cpu_with_the_published_archc()
    {
        var outDir = Directory.CreateTempSubdirectory("archdsl-gpu-check-").FullName;
        try
        {
            var sw = Stopwatch.StartNew();
            var (code, output) = Script.Run(TimeSpan.FromMinutes(8), new Dictionary<string, string> { ["ARCHDSL_NATIVE"] = published.Shim },
                "scripts/gpu-check.sh", "--device", "cpu", "--archc", published.Archc, "--out", outDir);
            var summary = File.ReadAllText(Path.Combine(outDir, "summary.txt"));
            Assert.True(code == 0, $"gpu-check --device cpu exited {code} after {sw.Elapsed}:\n{output}");
            Assert.Contains("result: all steps passed", summary);
            foreach (var arch in new[] { "ConvMixer", "ViT", "Mixer" })
                Assert.Contains($"{arch}: ArchDsl vs PyTorch", summary);
            Assert.Equal(3, summary.Split("equivalence passed").Length - 1);
            foreach (var arch in new[] { "ConvMixer: ", "ViT_S16: ", "ConvMixer_768_32: " })
                Assert.Contains(arch, summary);
            Assert.Matches(@"convmixer-1536-20: inference images/s +\d", summary);
            Assert.Matches(@"convmixer-768-32: inference images/s +\d", summary);
            Assert.Contains("precision: bf16 (autocast", summary);
            Assert.Contains("summary.yaml: amp: bf16", summary);
            Assert.Matches(@"test accuracy \d+\.\d+%", summary);
            // ddp: this shim binds c10d (libtorch 1.x), so a 2-process Gloo training ran and reported its figures.
            Assert.Contains("## (e) data-parallel training (c10d): the shim reports: bound", summary);
            Assert.Matches(@"data-parallel: 2 processes \(gloo", summary);
            Assert.Contains("summary.yaml: world_size: 2", summary);
            Assert.Matches(@"summary.yaml:   bytes_per_step: \d+", summary);
            Assert.True(File.Exists(Path.Combine(outDir, "gpu-check.log")));
            Assert.True(File.Exists(Path.Combine(outDir, "details.tar.gz")));
        }
        finally { Directory.Delete(outDir, true); }
    }

    [Fact]
    public void Gpu_check_fails_when_a_step_fails_and_still_runs_the_others()
    {
        var outDir = Directory.CreateTempSubdirectory("archdsl-gpu-check-").FullName;
        try
        {
            var env = new Dictionary<string, string> { ["ARCHDSL_NATIVE"] = published.Shim, ["GPU_CHECK_EQUIV_CONVMIXER"] = "--set no_such_param=1" };
            var (code, output) = Script.Run(TimeSpan.FromMinutes(4), env,
                "scripts/gpu-check.sh", "--device", "cpu", "--archc", published.Archc, "--out", outDir, "--steps", "equiv");
            var summary = File.ReadAllText(Path.Combine(outDir, "summary.txt"));
            Assert.True(code == 1, $"exit {code}:\n{output}");
            Assert.Matches(@"equiv-convmixer +FAILED \(exit 1\)", summary);
            Assert.Matches(@"equiv-vit +ok", summary);
            Assert.Contains("result: FAILED", summary);
        }
        finally { Directory.Delete(outDir, true); }
    }
}
