using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ArchDsl.Compiler;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Model;

/// <summary>One side's figures: a training step is forward + cross-entropy + backward + AdamW step.</summary>
/// <param name="TrainStepMs">median wall time of one training step, ms</param>
/// <param name="InferStepMs">median wall time of one inference forward (eval mode, no grad), ms</param>
/// <param name="PeakMemoryBytes">CPU: the process's peak resident set (VmHWM, reset when timing starts); CUDA: max allocated</param>
/// <param name="BaselineMemoryBytes">CPU: resident set before the model was built; CUDA: allocated before the model was built</param>
public sealed record BenchFigures(int Batch, double TrainStepMs, double InferStepMs, long PeakMemoryBytes, long BaselineMemoryBytes, string MemoryKind)
{
    public double TrainImagesPerSec => Batch / (TrainStepMs / 1000);
    public double InferImagesPerSec => Batch / (InferStepMs / 1000);
}

/// <summary>ArchDsl's figures and PyTorch eager's on the same model, batch, input size, device, thread count and memory format.</summary>
public sealed record BenchResult(
    string Arch, long Parameters, string Input, int Batch, string Device, int Threads, int Warmup, int Iterations,
    BenchFigures ArchDsl, BenchFigures? PyTorch, string? PyTorchVersion, string? PyTorchError, string MemoryFormat = "contiguous",
    string PyTorchMode = "eager", AmpMode Amp = AmpMode.Off, BenchEnvironment PyTorchEnvironment = BenchEnvironment.Same,
    string? Blas = null, string? PyTorchBlas = null, string? LinearGemm = null)
{
    /// <summary>ArchDsl training-step time / PyTorch training-step time (below 1: ArchDsl is faster). Null without the PyTorch run.</summary>
    public double? Ratio => PyTorch is null ? null : ArchDsl.TrainStepMs / PyTorch.TrainStepMs;
    /// <summary>The same ratio for inference.</summary>
    public double? InferenceRatio => PyTorch is null ? null : ArchDsl.InferStepMs / PyTorch.InferStepMs;

    /// <summary>A side-by-side table for the terminal.</summary>
    public string ToText()
    {
        var c = CultureInfo.InvariantCulture;
        string Mb(long b) => b < 0 ? "n/a" : (b / 1048576.0).ToString("F1", c) + " MiB";
        var rows = new List<(string what, string a, string p, string r)>
        {
            ("train step (ms, median)", ArchDsl.TrainStepMs.ToString("F2", c), PyTorch?.TrainStepMs.ToString("F2", c) ?? "-", Ratio?.ToString("F3", c) ?? "-"),
            ("train images/s", ArchDsl.TrainImagesPerSec.ToString("F1", c), PyTorch?.TrainImagesPerSec.ToString("F1", c) ?? "-", ""),
            ("inference (ms, median)", ArchDsl.InferStepMs.ToString("F2", c), PyTorch?.InferStepMs.ToString("F2", c) ?? "-", InferenceRatio?.ToString("F3", c) ?? "-"),
            ("inference images/s", ArchDsl.InferImagesPerSec.ToString("F1", c), PyTorch?.InferImagesPerSec.ToString("F1", c) ?? "-", ""),
            ($"peak memory ({ArchDsl.MemoryKind})", Mb(ArchDsl.PeakMemoryBytes), PyTorch is null ? "-" : Mb(PyTorch.PeakMemoryBytes), ""),
            ("  before the model", Mb(ArchDsl.BaselineMemoryBytes), PyTorch is null ? "-" : Mb(PyTorch.BaselineMemoryBytes), ""),
        };
        var sb = new StringBuilder();
        sb.AppendLine($"{Arch}: {Parameters.ToString("N0", c)} parameters, input {Input}, batch {Batch}, device {Device}, {Threads} thread{(Threads == 1 ? "" : "s")}, " +
                      $"{Warmup} warm-up + {Iterations} timed steps, {MemoryFormat}, {(Amp == AmpMode.Off ? "fp32" : AmpModes.Name(Amp) + " autocast")}{(PyTorch is null ? "" : " (both sides)")}");
        var h = ("", "ArchDsl", PyTorch is null ? "PyTorch" : $"PyTorch {PyTorchVersion} {PyTorchMode}", "ArchDsl/PyTorch");
        var w0 = Math.Max(h.Item1.Length, rows.Max(r => r.what.Length));
        var w1 = Math.Max(h.Item2.Length, rows.Max(r => r.a.Length));
        var w2 = Math.Max(h.Item3.Length, rows.Max(r => r.p.Length));
        var w3 = Math.Max(h.Item4.Length, rows.Max(r => r.r.Length));
        void Row(string a, string b, string p, string r) =>
            sb.AppendLine($"  {a.PadRight(w0)}  {b.PadLeft(w1)}  {p.PadLeft(w2)}  {r.PadLeft(w3)}".TrimEnd());
        Row(h.Item1, h.Item2, h.Item3, h.Item4);
        Row(new string('-', w0), new string('-', w1), new string('-', w2), new string('-', w3));
        foreach (var r in rows) Row(r.what, r.a, r.p, r.r);
        if (PyTorchError != null) sb.AppendLine($"  PyTorch run failed: {PyTorchError}");
        sb.AppendLine($"  BLAS kernel: ArchDsl {Blas ?? "not OpenBLAS"}; PyTorch {PyTorchBlas ?? (PyTorch is null ? "-" : "not OpenBLAS")} " +
                      (PyTorchEnvironment == BenchEnvironment.Same ? "(same kernel and thread-pool settings)" : "(the user's own environment, as PyTorch runs by default)"));
        if (LinearGemm != null) sb.AppendLine($"  ArchDsl's linear layers: {LinearGemm} (ARCHDSL_ONEDNN_LINEAR=0: libtorch's, as PyTorch's)");
        return sb.ToString().TrimEnd('\n');
    }
}

/// <summary>
/// Measures ArchDsl's training step (forward + cross-entropy + backward + AdamW step) and inference (eval, no grad) on a
/// compiled graph, and PyTorch eager's on the same model (<c>reference/bench_pytorch.py</c>, built op by op from the IR
/// with idiomatic torch.nn modules) with the same batch, input size, device and thread count, and in the memory format
/// ArchDsl picks for the graph (<see cref="IrModel.PreferredMemoryFormat"/>: PyTorch's model and input are moved with
/// <c>.to(memory_format=torch.channels_last)</c> for a conv graph, as a user tuning PyTorch would), and under the same
/// OpenMP/OpenBLAS thread-pool settings (<see cref="ThreadPools"/>). PyTorch runs in a child
/// process that waits for commands: ArchDsl steps alternate with PyTorch steps, so only one side computes at a time
/// and both see the same machine load. Inputs are random; figures are medians over the timed steps.
/// The Python is <c>$ARCHDSL_PYTHON</c> if set, else Debian's <c>/usr/bin/python3</c> (python3-torch, CPU only — for
/// <c>cuda</c> point ARCHDSL_PYTHON at a CUDA PyTorch). With <c>compile</c> the PyTorch side times <c>torch.compile(model)</c>
/// (PyTorch 2) instead of the eager model. <see cref="Check"/> (BenchCheck.cs) compares the two sides' values.
/// </summary>
public static partial class Bench
{
    public const string ScriptName = "bench_pytorch.py";

    public static BenchResult Run(IrGraph graph, int batch, string device, int warmup, int iterations) =>
        Run(graph, batch, device, warmup, iterations, runPyTorch: true);

    /// <param name="amp">both sides' precision: ArchDsl's <see cref="IrModel.Amp"/>, PyTorch's torch.autocast (and GradScaler for fp16)</param>
    /// <param name="environment">the PyTorch process's environment: <see cref="BenchEnvironment.Same"/> BLAS kernel and thread-pool
    /// settings as this process (like for like), or <see cref="BenchEnvironment.User"/>'s own (PyTorch as a user runs it)</param>
    public static BenchResult Run(IrGraph graph, int batch, string device, int warmup, int iterations, bool runPyTorch, bool compile = false,
        AmpMode amp = AmpMode.Off, BenchEnvironment environment = BenchEnvironment.Same)
    {
        if (warmup < 0 || iterations < 1) throw new ArgumentException($"need warmup >= 0 and iterations >= 1 (got {warmup}, {iterations})");
        var dev = Validate(graph, batch, device);
        var isCuda = dev.type == DeviceType.CUDA;
        if (AmpModes.Unsupported(amp, isCuda ? "cuda" : "cpu") is { } why) throw new InvalidOperationException($"--amp {AmpModes.Name(amp)}: {why}; use --amp bf16 on the CPU");
        var threads = Environment.ProcessorCount;
        set_num_threads(threads);
        var format = IrModel.PreferredMemoryFormat(graph);

        Companion? py = null;
        string? error = null;
        if (runPyTorch)
        {
            try { py = Companion.Start(graph, batch, dev, threads, format, compile, amp, environment); }
            catch (Exception e) when (IsCompanionFailure(e)) { error = e.Message; }
        }
        // A failure of the companion mid-run is reported, and ArchDsl's own measurement goes on alone.
        JsonObject? Ask(string command)
        {
            if (py is null) return null;
            try { return py.Call(command); }
            catch (Exception e) when (IsCompanionFailure(e))
            {
                error = e.Message;
                py.Dispose();
                py = null;
                return null;
            }
        }
        List<double>? Times(JsonObject? answer) => answer?["times"]?.AsArray().Select(t => (double)t!).ToList();

        try
        {
            GC.Collect();
            var baseline = isCuda ? cuda.memory_allocated() : ProcessMemory.CurrentRss;
            using var model = new IrModel(graph, seed: 0, device: dev, format: format) { Amp = amp };
            using var opt = optim.AdamW(model.named_parameters(), lr: 1e-3, weight_decay: 0.01);
            var scaler = amp == AmpMode.Fp16 ? new GradScaler() : null;
            var shape = new[] { (long)batch }.Concat(graph.Input.Dims.Select(d => (long)d)).ToArray();
            var classes = graph.OutputNode.OutputShape.Dims[^1];
            using var x = randn(shape, device: dev).DetachFromDisposeScope();
            using var y = randint(classes, new long[] { batch }, device: dev).DetachFromDisposeScope();

            void Sync() { if (isCuda) cuda.synchronize(); }
            void TrainStep()
            {
                using var scope = NewDisposeScope();
                opt.zero_grad();
                using var logits = model.forward(x);
                using var loss = F.cross_entropy(logits, y);
                if (scaler is null)
                {
                    loss.backward();
                    opt.step();
                    return;
                }
                scaler.ScaleLoss(loss).backward();
                scaler.Step(model.parameters(), opt.step);
                scaler.Update();
            }
            void InferStep()
            {
                using var scope = NewDisposeScope();
                using var _ = model.forward(x);
            }

            // Alternate: one of our steps, then one of PyTorch's (its process idles meanwhile, ours while it runs), so a
            // change in the machine's load hits both sides alike. Each side times only its own steps.
            var sizes = Enumerable.Repeat(1, iterations).ToArray();

            model.train();
            for (var i = 0; i < warmup; i++) TrainStep();
            Sync();
            Ask($"warmup_train {warmup}");
            if (isCuda) cuda.reset_peak_memory_stats(); else ResetPeakRss();
            Ask("reset_peak");
            var ourTrain = new List<double>();
            var pyTrain = new List<double>();
            foreach (var k in sizes)
            {
                ourTrain.AddRange(Time(k, TrainStep, Sync));
                if (Times(Ask($"train {k}")) is { } t) pyTrain.AddRange(t);
            }
            var peak = isCuda ? cuda.max_memory_allocated() : ProcessMemory.PeakRss;

            model.eval();
            var ourInfer = new List<double>();
            var pyInfer = new List<double>();
            using (no_grad())
            {
                for (var i = 0; i < warmup; i++) InferStep();
                Sync();
                Ask($"warmup_infer {warmup}");
                foreach (var k in sizes)
                {
                    ourInfer.AddRange(Time(k, InferStep, Sync));
                    if (Times(Ask($"infer {k}")) is { } t) pyInfer.AddRange(t);
                }
            }
            peak = Math.Max(peak, isCuda ? cuda.max_memory_allocated() : ProcessMemory.PeakRss);
            var ours = new BenchFigures(batch, Median(ourTrain), Median(ourInfer), peak, baseline, isCuda ? "CUDA max allocated" : "VmHWM");

            BenchFigures? theirs = null;
            var pyPeak = Ask("memory")?["peak_memory_bytes"];
            if (py is not null && pyPeak is not null)
                theirs = new BenchFigures(batch, Median(pyTrain), Median(pyInfer), (long)pyPeak, py.BaselineMemory, py.MemoryKind);
            return new BenchResult(graph.Arch, graph.ParamCount, graph.Input.ToString(), batch, dev.ToString(), threads, warmup, iterations,
                ours, theirs, theirs is null ? null : py!.TorchVersion, theirs is null ? error ?? "no figures from the companion" : null,
                FormatName(format), compile ? "torch.compile" : "eager", amp, environment, BlasKernel.InUse() is { } kernel ? $"OpenBLAS {kernel}" : null, py?.Blas,
                !isCuda && F.linear_onednn ? amp == AmpMode.Off ? "oneDNN sgemm" : "oneDNN sgemm where float32" : null);
        }
        finally
        {
            py?.Dispose();
        }
    }

    /// <summary>The device, after checking the batch, that the graph is a classifier and that CUDA (if asked for) is there.</summary>
    static Device Validate(IrGraph graph, int batch, string device)
    {
        if (batch < 1) throw new ArgumentException($"batch must be at least 1, not {batch}");
        if (graph.OutputNode.OutputShape.Layout != Layout.Vector)
            throw new InvalidOperationException($"bench needs a classifier (output vector[classes]); {graph.Arch} outputs {graph.OutputNode.OutputShape}");
        var dev = Device.TryParse(device, out var why) ?? throw new InvalidOperationException(why); // a user's --device, not a caller's bug
        if (dev.type == DeviceType.CUDA && !cuda.is_available())
            throw new InvalidOperationException("--device cuda: CUDA is not available to this libtorch (is the shim built against a CUDA libtorch?)");
        return dev;
    }

    /// <summary>The memory format as both the table and bench_pytorch.py's <c>--memory-format</c> name it.</summary>
    static string FormatName(memory_format format) => format == memory_format.ChannelsLast ? "channels_last" : "contiguous";

    static bool IsCompanionFailure(Exception e) =>
        e is InvalidOperationException or IOException or System.ComponentModel.Win32Exception or JsonException or FormatException;

    /// <summary>Wall milliseconds of each of <paramref name="n"/> runs of <paramref name="step"/> (each followed by <paramref name="sync"/>).</summary>
    static double[] Time(int n, Action step, Action sync)
    {
        var times = new double[n];
        var sw = new Stopwatch();
        for (var i = 0; i < n; i++)
        {
            sw.Restart();
            step();
            sync();
            times[i] = sw.Elapsed.TotalMilliseconds;
        }
        return times;
    }

    static double Median(IEnumerable<double> values)
    {
        var v = values.OrderBy(t => t).ToArray();
        if (v.Length == 0) return double.NaN;
        return v.Length % 2 == 1 ? v[v.Length / 2] : (v[v.Length / 2 - 1] + v[v.Length / 2]) / 2;
    }

    /// <summary>Resets VmHWM to the current RSS (Linux: write 5 to /proc/self/clear_refs); harmless where unsupported.</summary>
    static void ResetPeakRss()
    {
        try { File.WriteAllText("/proc/self/clear_refs", "5"); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
    }

    // ---- the PyTorch companion ---------------------------------------------------------------------

    /// <summary>Where bench_pytorch.py is: beside the assembly (content file) or in the source tree.</summary>
    public static string? FindScript()
    {
        var candidates = new List<string>
        {
            Path.Combine(AppContext.BaseDirectory, "Model", "reference", ScriptName),
            Path.Combine(Path.GetDirectoryName(typeof(Bench).Assembly.Location) ?? ".", "Model", "reference", ScriptName),
        };
        var root = NativeLibraryLocator.FindRepositoryRoot();
        if (root != null) candidates.Add(Path.Combine(root, "Runtime", "Engine", "Model", "reference", ScriptName));
        return candidates.FirstOrDefault(File.Exists);
    }

    public static string PythonExecutable =>
        Environment.GetEnvironmentVariable("ARCHDSL_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";

    /// <summary>The PyTorch process in <c>--serve</c> mode: it builds the model, then runs timing commands one JSON line each.</summary>
    sealed class Companion : IDisposable
    {
        readonly Process _p;
        readonly string _dir;
        readonly StringBuilder _stderr = new();
        bool _disposed;
        public string TorchVersion { get; private set; } = "?";
        public long BaselineMemory { get; private set; } = -1;
        public string MemoryKind { get; private set; } = "";
        public string? Blas { get; private set; }

        Companion(Process p, string dir) { _p = p; _dir = dir; }

        public static Companion Start(IrGraph graph, int batch, Device dev, int threads, memory_format format, bool compile = false,
            AmpMode amp = AmpMode.Off, BenchEnvironment environment = BenchEnvironment.Same)
        {
            var script = FindScript() ?? throw new IOException($"{ScriptName} not found beside the ArchDsl assembly or in the source tree");
            var dir = Directory.CreateTempSubdirectory("archdsl-bench-").FullName;
            var desc = Path.Combine(dir, "graph.json");
            File.WriteAllText(desc, DescribeGraph(graph));
            var psi = new ProcessStartInfo(PythonExecutable) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { script, desc, "--serve", "--batch", batch.ToString(CultureInfo.InvariantCulture), "--device", dev.ToString(),
                         "--threads", threads.ToString(CultureInfo.InvariantCulture), "--memory-format", FormatName(format) })
                psi.ArgumentList.Add(a);
            if (compile) psi.ArgumentList.Add("--compile");
            psi.ArgumentList.Add("--amp");
            psi.ArgumentList.Add(AmpModes.Name(amp));
            psi.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
            if (environment == BenchEnvironment.Same)
            {
                foreach (var (name, value) in ThreadPools.Effective()) psi.Environment[name] = value; // same thread pools as ours
                if (BlasKernel.InUse() is { } kernel) psi.Environment[BlasKernel.Variable] = kernel;  // and the same BLAS kernel
            }
            Process p;
            try
            {
                p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {PythonExecutable}");
            }
            catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
            {
                TryDelete(dir);
                throw new InvalidOperationException($"could not start {PythonExecutable}: {e.Message}", e);
            }
            var c = new Companion(p, dir);
            p.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (c._stderr) c._stderr.AppendLine(e.Data); };
            p.BeginErrorReadLine();
            try
            {
                var hello = c.Read();
                var pyParams = (long)hello["params"]!;
                if (pyParams != graph.ParamCount)
                    throw new InvalidOperationException($"{ScriptName} built {pyParams} parameters, the graph has {graph.ParamCount}");
                if ((string?)hello["memory_format"] != FormatName(format))
                    throw new InvalidOperationException($"{ScriptName} runs in memory format '{hello["memory_format"]}', not '{FormatName(format)}'");
                c.TorchVersion = (string?)hello["torch_version"] ?? "?";
                c.BaselineMemory = (long)hello["baseline_memory_bytes"]!;
                c.MemoryKind = (string?)hello["memory_kind"] ?? "";
                c.Blas = (string?)hello["blas"] is { } b ? $"OpenBLAS {b}" : null;
                return c;
            }
            catch
            {
                c.Dispose();
                throw;
            }
        }

        JsonObject Read()
        {
            var line = _p.StandardOutput.ReadLine();
            if (line is null)
            {
                // WaitForExit(ms) does not wait for the asynchronous stderr reader; WaitForExit() after it does, so the
                // companion's last lines (its traceback) are all in the message, not only those read by then.
                if (_p.WaitForExit(5000)) _p.WaitForExit();
                string err;
                lock (_stderr) err = _stderr.ToString();
                throw new InvalidOperationException(
                    $"{PythonExecutable} {ScriptName} ended{(_p.HasExited ? $" with exit code {_p.ExitCode}" : "")}: {LastLines(err, 6)}");
            }
            var j = JsonNode.Parse(line)!.AsObject();
            if (j["error"] is { } e) throw new InvalidOperationException($"{ScriptName}: {e}");
            return j;
        }

        public JsonObject Call(string command)
        {
            _p.StandardInput.WriteLine(command);
            _p.StandardInput.Flush();
            return Read();
        }

        public void Dispose()
        {
            if (_disposed) return;
            _disposed = true;
            try
            {
                if (!_p.HasExited)
                {
                    try { _p.StandardInput.WriteLine("quit"); _p.StandardInput.Flush(); } catch (IOException) { }
                    if (!_p.WaitForExit(10_000)) _p.Kill();
                }
            }
            catch (InvalidOperationException) { }
            _p.Dispose();
            TryDelete(_dir);
        }

        static void TryDelete(string dir)
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    static string LastLines(string s, int n) => string.Join(" | ", s.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(n));

    /// <summary>
    /// The graph the PyTorch companion builds its model from: the IR as JSON (<see cref="Compiler.Printers.IrJson"/>,
    /// what <c>archc graph --format json</c> prints).
    /// </summary>
    public static string DescribeGraph(IrGraph graph) => Compiler.Printers.IrJson.Write(graph);
}
