using ArchDsl.Compiler;
using ArchDsl.Runtime.Model;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Training;

/// <summary>
/// An exponential moving average of a model's weights, as timm's <c>ModelEmaV2</c> (timm/utils/model_ema.py; the train
/// key <c>ema: decay</c>): a second copy of the model, started equal to it, and after every optimizer step each entry of
/// its state dict — parameters and buffers alike, "everything in the model state_dict" — becomes
/// <code>ema_v.copy_(decay * ema_v + (1. - decay) * model_v)</code>
/// computed with the same tensor ops (so a BatchNorm's float statistics are averaged too, and its integer
/// <c>num_batches_tracked</c> takes that float result truncated, as <c>copy_</c> does in PyTorch). Its tensors are saved
/// in the run's checkpoints under <see cref="Prefix"/>, so a resumed run continues the same average.
/// </summary>
internal sealed class ModelEma : IDisposable
{
    /// <summary>The checkpoint name prefix of the averaged tensors: <c>ema.&lt;IR name&gt;</c>.</summary>
    public const string Prefix = "ema.";

    private ModelEma(IrModel module, double decay) { Module = module; Decay = decay; }

    /// <summary>The decay, in (0, 1).</summary>
    public double Decay { get; }

    /// <summary>The averaged model, evaluated as the raw one is (always in eval mode).</summary>
    public IrModel Module { get; }

    /// <summary>The average of <paramref name="model"/> when <paramref name="graph"/>'s train section asks for one
    /// (<c>ema</c>), started as a copy of its present weights and buffers; else null.</summary>
    public static ModelEma? For(IrGraph graph, IrModel model, Device device)
    {
        if (graph.Train.Ema is not double decay) return null;
        var module = new IrModel(graph, 0, device);
        module.load_state_dict(model.state_dict());
        module.eval();
        return new ModelEma(module, decay);
    }

    /// <summary>One update from <paramref name="model"/> (after an optimizer step): timm's formula on every state entry.</summary>
    public void Update(nn.Module model)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var current = model.state_dict();
        foreach (var (name, e) in Module.state_dict())
        {
            var m = current[name];
            e.copy_(e.mul(Decay).add(m.mul(1.0 - Decay)));
        }
    }

    /// <summary>The averaged tensors under their checkpoint names (the module's own tensors: do not dispose them).</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> Tensors() =>
        Module.state_dict().Select(kv => new KeyValuePair<string, Tensor>(Prefix + kv.Key, kv.Value));

    /// <summary>Restores the average from checkpoint <paramref name="path"/>; every tensor is checked before any is copied.</summary>
    /// <exception cref="TrainingException">the checkpoint lacks an averaged tensor, or one does not fit the model.</exception>
    public void Load(string path)
    {
        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> saved;
        try { saved = Safetensors.Load(path); }
        catch (Exception e) when (e is IOException or InvalidDataException or System.Text.Json.JsonException or ArgumentException or UnauthorizedAccessException)
        {
            throw new TrainingException($"checkpoint '{path}' is corrupt: {e.Message}", e);
        }
        var own = Module.state_dict();
        var problems = new List<string>();
        foreach (var (name, t) in own)
        {
            if (!saved.TryGetValue(Prefix + name, out var s)) problems.Add($"'{Prefix}{name}' is missing");
            else if (!s.shape.SequenceEqual(t.shape) || s.dtype != t.dtype)
                problems.Add($"'{Prefix}{name}' is {s.dtype}[{string.Join(", ", s.shape)}], the model's {t.dtype}[{string.Join(", ", t.shape)}]");
        }
        foreach (var k in saved.Keys.Where(k => k.StartsWith(Prefix, StringComparison.Ordinal) && !own.ContainsKey(k[Prefix.Length..])))
            problems.Add($"'{k}' is not a tensor of the model");
        if (problems.Count > 0)
            throw new TrainingException($"checkpoint '{path}' does not hold the run's weight average (train key ema): {string.Join("; ", problems.Take(8))}" +
                (problems.Count > 8 ? $"; and {problems.Count - 8} more" : ""));
        using var _ = no_grad();
        foreach (var (name, t) in own) t.copy_(saved[Prefix + name]);
    }

    public void Dispose() => Module.Dispose();
}
