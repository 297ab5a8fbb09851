using ArchDsl.Compiler;
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

    internal static Device ParseDevice(string name)
    {
        Device device;
        try { device = Device.Parse(name); }
        catch (ArgumentException e) { throw new TrainingException(e.Message, e); }
        if (device.type == DeviceType.CUDA && !torch.cuda.is_available())
            throw new TrainingException($"device '{name}' was asked for, but this libtorch sees no CUDA device; use --device cpu, or build the native shim against a CUDA libtorch");
        return device;
    }

    internal static optim.Optimizer CreateOptimizer(nn.Module model, OptimizerConfig o) => o switch
    {
        SgdConfig s => optim.SGD(model.named_parameters(), s.Lr, s.Momentum, 0, s.WeightDecay, s.Nesterov),
        AdamWConfig a => optim.AdamW(model.named_parameters(), a.Lr, a.Beta1, a.Beta2, a.Eps, a.WeightDecay),
        _ => throw new ArgumentOutOfRangeException(nameof(o), o, "an optimizer the runtime does not implement"),
    };

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
