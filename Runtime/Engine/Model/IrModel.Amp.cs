using ArchDsl.Compiler;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Model;

// Mixed precision of the forward pass: each node computes as its op's AmpPolicy says for the model's device.
public sealed partial class IrModel
{
    /// <summary>
    /// The precision of every forward (train and eval): <see cref="AmpMode.Off"/> (float32, the default),
    /// <see cref="AmpMode.Bf16"/> or <see cref="AmpMode.Fp16"/> — torch.autocast's semantics with each op's
    /// <see cref="AmpPolicy"/>: products low where the policy says so, norms and reductions float32, element-wise ops on
    /// what they are given. Parameters stay float32 (autocast casts them per forward, and their gradients arrive in
    /// float32); the output is float32, so a loss computes in float32.
    /// </summary>
    public AmpMode Amp { get; set; } = AmpMode.Off;

    /// <summary>The precision policy node <paramref name="node"/>'s op stated for itself (null for the input node).</summary>
    internal AmpPolicy? AmpPolicyOf(IrNode node) => _amp[node.Id];

    /// <summary>The low-precision dtype of <paramref name="mode"/> (null for Off).</summary>
    public static ScalarType? LowPrecision(AmpMode mode) => mode switch
    {
        AmpMode.Bf16 => ScalarType.BFloat16,
        AmpMode.Fp16 => ScalarType.Float16,
        _ => null,
    };

    /// <summary>Node <paramref name="i"/>'s kernel on its inputs, in the precision its policy gives it under <paramref name="amp"/>.</summary>
    Tensor Call(int i, NodeKernel k, Tensor a, Tensor? b, bool training, AmpRun? amp)
    {
        if (amp is null) return k.Forward(a, b, training);
        var p = _amp[i]!.On(amp.Device);
        amp.Autocast(p == OpPrecision.Low);
        if (p != OpPrecision.Float32 || (a.dtype == ScalarType.Float32 && b is null or { dtype: ScalarType.Float32 }))
            return k.Forward(a, b, training);
        using var a32 = a.to(ScalarType.Float32);
        using var b32 = b?.to(ScalarType.Float32);
        return k.Forward(a32, b32, training);
    }

    /// <summary>One forward's autocast state: switched only when a node needs the other state; restored and its weight-cast cache cleared at the end.</summary>
    sealed class AmpRun : IDisposable
    {
        readonly ScalarType _dtype;
        readonly bool _before;
        bool _on;
        public DeviceType Device { get; }

        AmpRun(DeviceType device, ScalarType dtype)
        {
            (Device, _dtype) = (device, dtype);
            _before = amp.set_autocast_enabled(device, dtype, false);
        }

        /// <summary>An autocast run for <paramref name="model"/>'s mode and device, or null when amp is off.</summary>
        public static AmpRun? Begin(IrModel model)
        {
            if (LowPrecision(model.Amp) is not { } dtype) return null;
            var device = model.device.type;
            if (AmpModes.Unsupported(model.Amp, device == DeviceType.CUDA ? "cuda" : "cpu") is { } why) throw new InvalidOperationException(why);
            return new AmpRun(device, dtype);
        }

        public void Autocast(bool on)
        {
            if (on == _on) return;
            amp.set_autocast_enabled(Device, _dtype, on);
            _on = on;
        }

        /// <summary><paramref name="t"/> in float32 (a new handle; <paramref name="t"/> is disposed when it was cast).</summary>
        public Tensor Float32(Tensor t)
        {
            if (t.dtype == ScalarType.Float32) return t;
            var f = t.to(ScalarType.Float32);
            t.Dispose();
            return f;
        }

        public void Dispose()
        {
            amp.set_autocast_enabled(Device, _dtype, _before);
            amp.clear_autocast_cache();
        }
    }
}
