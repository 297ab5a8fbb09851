using System.Globalization;
using System.Text;
using ArchDsl.Torch;

namespace ArchDsl.Runtime.Training;

/// <summary>The weights' moving average of a run with <c>ema</c> (<see cref="ModelEma"/>): made with the model, updated after
/// each optimizer step, saved in and restored from the checkpoints, evaluated after each epoch and at the end.</summary>
internal sealed partial class TrainSession
{
    private ModelEma? _ema;
    private string? _emaSummary;

    /// <summary>Starts the average (a copy of the freshly made model; a resume then restores it in <see cref="RestoreEma"/>).</summary>
    private void PrepareEma() => _ema = ModelEma.For(_graph, Model, _device);

    /// <summary>After an optimizer step: timm's update.</summary>
    private void UpdateEma() => _ema?.Update(Model);

    /// <summary>The average's tensors for a checkpoint (none without <c>ema</c>).</summary>
    private IEnumerable<KeyValuePair<string, torch.Tensor>>? EmaTensors() => _ema?.Tensors();

    private void RestoreEma(string path) => _ema?.Load(path);

    /// <summary>After an epoch's evaluation: the average on the same set, reported beside the raw weights' score.</summary>
    private void EvaluateEmaEpoch()
    {
        if (_ema is null || _evalSet is null) return;
        var e = Trainer.Evaluate(_ema.Module, _evalSet, _evalBatch, _device, stop: () => _stop.Requested);
        _sink.Message($"epoch {_epoch + 1}: ema (decay {ArchDsl.Dsl.FloatText.Format(_ema.Decay)}) {_evalName} loss {F(e.Loss)} accuracy {F(e.Accuracy)}");
    }

    /// <summary>At the end: the average's last weights on the validation and test sets, for summary.yaml's <c>ema:</c>.</summary>
    private void FinishEma()
    {
        if (_ema is null) return;
        var sb = new StringBuilder($"ema:   # the weights' moving average (timm's ModelEmaV2), its last value; checkpoint tensors {ModelEma.Prefix}*\n  decay: {ArchDsl.Dsl.FloatText.Format(_ema.Decay)}\n");
        foreach (var (name, set) in new[] { ("val", _data.Val), ("test", _data.Test) })
        {
            if (set is null) continue;
            var e = Trainer.Evaluate(_ema.Module, set, _evalBatch, _device);
            sb.Append($"  {name}:\n    loss: {F(e.Loss)}\n    accuracy: {F(e.Accuracy)}\n");
        }
        _emaSummary = sb.ToString();
    }

    private static string F(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);
}
