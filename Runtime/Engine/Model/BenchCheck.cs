using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using ArchDsl.Compiler;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Model;

/// <summary>The largest |difference| of one kind of value, and the tensor (IR name) where it is.</summary>
public sealed record CheckDiff(string Tensor, double Diff);

/// <summary>
/// <see cref="Bench.Check"/>'s figures: ArchDsl's logits, parameter gradients (cross-entropy loss) and state after a
/// train-mode forward, against PyTorch's on the same weights, batch and device.
/// </summary>
/// <param name="LogitTolerance">bound on the logits and the state (BN running statistics)</param>
/// <param name="GradTolerance">bound on every parameter gradient</param>
public sealed record CheckResult(
    string Arch, string Device, int Batch, string MemoryFormat, string PyTorchVersion, string Tf32,
    CheckDiff TrainLogits, CheckDiff TrainGrad, CheckDiff EvalLogits, CheckDiff EvalGrad, CheckDiff State,
    double MaxAbsLogit, double LogitTolerance, double GradTolerance)
{
    IEnumerable<(string What, CheckDiff Diff, double Tolerance)> Rows =>
    [
        ("train logits", TrainLogits, LogitTolerance), ("train gradients", TrainGrad, GradTolerance),
        ("eval logits", EvalLogits, LogitTolerance), ("eval gradients", EvalGrad, GradTolerance),
        ("state after train", State, LogitTolerance),
    ];

    /// <summary>Every difference within its tolerance.</summary>
    public bool Passed => Rows.All(r => r.Diff.Diff <= r.Tolerance);

    public string ToText()
    {
        var c = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine($"{Arch}: ArchDsl vs PyTorch {PyTorchVersion} on {Device}, same weights and batch {Batch}, {MemoryFormat}, TF32 {Tf32}");
        foreach (var (what, d, tol) in Rows)
            sb.AppendLine($"  {what,-18} max |Δ| {d.Diff.ToString("0.###e+0", c),-10} (tolerance {tol.ToString("0e+0", c)}) " +
                          $"{(d.Diff <= tol ? "ok" : "FAIL")}{(d.Tensor.Length > 0 ? $"  at {d.Tensor}" : "")}");
        sb.Append($"  (max |logit| {MaxAbsLogit.ToString("0.###", c)}) equivalence {(Passed ? "passed" : "FAILED")}");
        return sb.ToString();
    }
}

public static partial class Bench
{
    /// <summary>Default tolerances: the CPU equivalence suite's (EquivalenceTests) and issue 17's targets on CUDA.</summary>
    public static (double Logits, double Grads) DefaultTolerances(Device device) =>
        device.type == DeviceType.CUDA ? (1e-4, 1e-3) : (1e-5, 1e-4);

    /// <summary>
    /// ArchDsl's values against PyTorch's on one device: ArchDsl's model (seeded initial weights, in the graph's memory
    /// format) runs a random batch in train mode and then eval mode (forward, cross-entropy, backward); the companion
    /// (bench_pytorch.py, built from the same IR) loads the same initial weights (IrModel.SaveWeights) and runs the same
    /// batch, and reports the largest |difference| of the logits, of every parameter gradient and of the state after
    /// the train step. The CPU suite (EquivalenceTests) proves ArchDsl against independent reference models on the
    /// CPU; this runs on any device, without the .NET SDK (archc bench --check), so the CUDA kernels are compared too.
    /// On CUDA both sides need TF32 off: the environment must hold NVIDIA_TF32_OVERRIDE=0 (cuBLAS and cuDNN read it;
    /// the companion also sets allow_tf32 = False), else this throws.
    /// </summary>
    /// <exception cref="InvalidOperationException">no classifier, CUDA unavailable or TF32 not off, or the companion failed</exception>
    public static CheckResult Check(IrGraph graph, int batch, string device, long seed = 0, double? logitTolerance = null, double? gradTolerance = null)
    {
        var dev = Validate(graph, batch, device);
        var isCuda = dev.type == DeviceType.CUDA;
        if (isCuda && Environment.GetEnvironmentVariable("NVIDIA_TF32_OVERRIDE") != "0")
            throw new InvalidOperationException("--check on cuda compares without TF32: run it with NVIDIA_TF32_OVERRIDE=0 in the environment");
        var (lt, gt) = DefaultTolerances(dev);
        var format = IrModel.PreferredMemoryFormat(graph);
        var dir = Directory.CreateTempSubdirectory("archdsl-check-").FullName;
        try
        {
            var weights = Path.Combine(dir, "weights.safetensors");
            var ours = Path.Combine(dir, "ours.safetensors");
            RunOurSide(graph, batch, dev, format, seed, weights, ours);
            JsonObject a;
            using (var py = Companion.Start(graph, batch, dev, Environment.ProcessorCount, format))
            {
                a = py.Call($"check {weights} {ours}");
                var version = py.TorchVersion;
                CheckDiff D(string key) => a[key] switch
                {
                    JsonArray pair => new CheckDiff((string)pair[0]!, (double)pair[1]!),
                    JsonNode v => new CheckDiff("", (double)v),
                    null => throw new InvalidOperationException($"{ScriptName} check answered no '{key}'"),
                };
                return new CheckResult(graph.Arch, dev.ToString(), batch, FormatName(format), version,
                    isCuda ? "off (NVIDIA_TF32_OVERRIDE=0)" : "n/a (cpu)",
                    D("train.logits"), D("train.grad"), D("eval.logits"), D("eval.grad"), D("state"),
                    (double)a["max_abs_logit"]!, logitTolerance ?? lt, gradTolerance ?? gt);
            }
        }
        finally
        {
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    /// <summary>Saves the initial weights, then the batch and ArchDsl's train/eval logits, gradients and final state.</summary>
    static void RunOurSide(IrGraph graph, int batch, Device dev, memory_format format, long seed, string weightsPath, string oursPath)
    {
        using var model = new IrModel(graph, seed: seed, device: dev, format: format);
        using var scope = NewDisposeScope();
        model.SaveWeights(weightsPath);
        manual_seed(seed);
        var shape = new[] { (long)batch }.Concat(graph.Input.Dims.Select(d => (long)d)).ToArray();
        var x = randn(shape);
        var y = randint(graph.OutputNode.OutputShape.Dims[^1], new long[] { batch });
        var values = new Dictionary<string, Tensor> { ["x"] = x, ["y"] = y };
        var (xd, yd) = (x.to(dev), y.to(dev));
        foreach (var mode in new[] { "train", "eval" })
        {
            model.train(mode == "train");
            model.zero_grad();
            var logits = model.forward(xd);
            F.cross_entropy(logits, yd).backward();
            values[$"{mode}.logits"] = logits.detach().cpu().clone();
            foreach (var (name, p) in model.named_parameters())
                values[$"{mode}.grad.{name}"] = (p.grad ?? throw new InvalidOperationException($"{name} got no gradient")).detach().cpu().clone();
        }
        foreach (var (name, t) in model.state_dict()) values[$"state.{name}"] = t.detach().cpu().clone();
        Safetensors.Save(oursPath, values);
    }
}
