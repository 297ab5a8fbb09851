using ArchDsl.Compiler;
using ArchDsl.Compiler.Analysis;
using ArchDsl.Runtime.Data;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Training;

/// <summary>What a run is set up from, shared by <see cref="TrainSession"/> and <see cref="Evaluator"/>: data, device, optimizer.</summary>
public static partial class Trainer
{
    /// <summary>Loads the data a graph's train section names, checked against the model (shared with <see cref="Evaluator"/>).</summary>
    internal static DataSplits LoadData(IrGraph graph, Normalization? normalization, Action<string>? warn = null)
    {
        try
        {
            var options = DataRegistry.OptionsFrom(graph) with { Warn = warn };
            if (normalization is not null && options.Normalize && options.Normalization is null)
                options = options with { Normalization = normalization };
            var data = DataRegistry.Load(options);
            data.CheckAgainst(graph.Input, Classes(graph));
            return data;
        }
        catch (DataException e) { throw new TrainingException(e.Message, e); }
    }

    internal static int Classes(IrGraph graph) =>
        graph.OutputNode.OutputShape is { Layout: Layout.Vector } v
            ? v.Dims[0]
            : throw new TrainingException($"{graph.Arch} outputs {graph.OutputNode.OutputShape}; a classifier must end in a vector of class scores (e.g. `head avgpool -> linear(classes)`)");

    /// <summary>
    /// A warning when <paramref name="processes"/> processes of <paramref name="threads"/> libtorch threads each ask this
    /// machine for more threads than it has cores (<see cref="Environment.ProcessorCount"/>: the cores this process may run
    /// on, its affinity mask and cgroup quota counted, as Python's <c>os.sched_getaffinity</c>); null when they fit.
    /// Threads beyond the cores take turns on them and slow every step. A warning, not an error, as PyTorch's DataLoader
    /// warns of more workers than its "suggested max number of worker", naming it; <c>torch.set_num_threads</c> takes any count.
    /// </summary>
    public static string? OversubscribedThreads(int threads, int processes = 1)
    {
        var cores = Environment.ProcessorCount;
        if ((long)threads * processes <= cores) return null;
        var asked = processes == 1 ? $"{threads} threads" : $"{processes} processes × {threads} threads = {(long)threads * processes}";
        return $"warning: {asked}, but this machine has {cores} core{(cores == 1 ? "" : "s")}: threads beyond the cores take turns and slow " +
               $"training; use {Math.Max(1, cores / processes)} or fewer (train's --threads, a sweep's threads:)";
    }

    internal static Device ParseDevice(string name)
    {
        var device = Device.TryParse(name, out var why) ?? throw new TrainingException(why!);
        return Unavailable(device, name) is { } missing ? throw new TrainingException(missing) : device;
    }

    /// <summary>
    /// Why training on <paramref name="name"/> (<c>cpu</c>, <c>cuda</c>, <c>cuda:N</c>) cannot start on this machine, as
    /// <c>train</c> says it; null when it can, or when the name is no device (<see cref="Device.TryParse"/> says that).
    /// <c>check</c> warns with the same words. Only a CUDA device loads libtorch to ask.
    /// </summary>
    public static string? DeviceUnavailable(string name) => Device.TryParse(name, out _) is { } d ? Unavailable(d, name) : null;

    private static string? Unavailable(Device device, string name)
    {
        if (device.type != DeviceType.CUDA) return null;
        if (!torch.cuda.is_available())
            return $"device '{name}' was asked for, but this libtorch sees no CUDA device; use --device cpu, or build the native shim against a CUDA libtorch";
        var count = torch.cuda.device_count();
        return device.index >= count   // PyTorch: "CUDA error: invalid device ordinal", at the first tensor moved there
            ? $"device '{name}' was asked for, but this machine has {count} CUDA device{(count == 1 ? "" : "s")} (cuda:0{(count > 1 ? $" to cuda:{count - 1}" : "")})"
            : null;
    }

    /// <summary>
    /// The optimizer over <paramref name="model"/>'s parameters. Those named in <paramref name="noDecay"/> form a first
    /// group with weight decay 0 and the rest a second with the optimizer's, as timm's <c>param_groups_weight_decay</c>
    /// builds them (<see cref="WeightDecayGroups"/>); without it every parameter is decayed.
    /// </summary>
    internal static optim.Optimizer CreateOptimizer(nn.Module model, OptimizerConfig o, IReadOnlySet<string>? noDecay = null)
    {
        var named = model.named_parameters().ToList();
        optim.ParamGroup[] groups = noDecay is null or { Count: 0 }
            ? [new(named)]
            : [new(named.Where(p => noDecay.Contains(p.name)), weight_decay: 0), new(named.Where(p => !noDecay.Contains(p.name)))];
        return o switch
        {
            SgdConfig s => new ArchDsl.Torch.Modules.SGD(groups, s.Lr, s.Momentum, 0, s.WeightDecay, s.Nesterov),
            AdamWConfig a => new ArchDsl.Torch.Modules.AdamW(groups, a.Lr, a.Beta1, a.Beta2, a.Eps, a.WeightDecay),
            _ => throw new ArgumentOutOfRangeException(nameof(o), o, "an optimizer the runtime does not implement"),
        };
    }

    /// <summary>The parameters the graph's <c>weight_decay_rule</c> leaves undecayed (<see cref="WeightDecay.Groups"/>).</summary>
    internal static IReadOnlySet<string> WeightDecayGroups(IrGraph graph) =>
        WeightDecay.Groups(graph, graph.Train.WeightDecayRule).Where(p => !p.Decay).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// Sets the momentum a schedule gives for <paramref name="step"/> (one-cycle cycles it, as PyTorch's OneCycleLR
    /// with cycle_momentum: Adam's β1, SGD's momentum); schedules without one leave the optimizer as it is.
    /// </summary>
    internal static void ApplyMomentum(optim.Optimizer optimizer, ILrSchedule schedule, long step)
    {
        if (schedule.Momentum(step) is not double m) return;
        switch (optimizer)
        {
            case ArchDsl.Torch.Modules.AdamW adam: adam.beta1 = m; break;
            case ArchDsl.Torch.Modules.SGD sgd: sgd.momentum = m; break;
        }
    }
}
