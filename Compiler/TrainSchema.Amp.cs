using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>
/// The <c>amp</c> train key (and <c>--amp</c>): mixed precision as PyTorch's <c>torch.autocast</c> — convolutions and
/// matrix products in the low precision, norms, softmax, losses and reductions in float32, float32 master weights and
/// optimizer state. Which ops run low on which device is data in each op's runtime definition.
/// </summary>
public enum AmpMode
{
    /// <summary>Everything in float32.</summary>
    Off,
    /// <summary>bfloat16 autocast (CPU and CUDA); no loss scaling (bfloat16 has float32's exponent range).</summary>
    Bf16,
    /// <summary>float16 autocast with dynamic loss scaling (GradScaler's semantics); CUDA only.</summary>
    Fp16,
}

/// <summary>The spellings of <see cref="AmpMode"/> and the rule of which device takes which.</summary>
public static class AmpModes
{
    /// <summary>The values <c>amp</c> takes, as written in a spec and on the command line.</summary>
    public static IReadOnlyList<string> Names { get; } = ["bf16", "fp16", "off"];

    /// <summary>The mode a checked name stands for.</summary>
    public static AmpMode Parse(string name) => name switch
    {
        "bf16" => AmpMode.Bf16,
        "fp16" => AmpMode.Fp16,
        "off" => AmpMode.Off,
        _ => throw new ArgumentException($"amp '{name}' is not one of {Suggest.OrList(Names)}", nameof(name)),
    };

    /// <summary>The name of <paramref name="mode"/> as a spec writes it.</summary>
    public static string Name(AmpMode mode) => Names[mode switch { AmpMode.Bf16 => 0, AmpMode.Fp16 => 1, _ => 2 }];

    /// <summary>
    /// Why <paramref name="mode"/> cannot run on a device of kind <paramref name="deviceType"/> (<c>cpu</c>, <c>cuda</c>), or
    /// null when it can. fp16 needs CUDA: libtorch's CPU autocast computes in bfloat16 only, and its CPU convolutions
    /// and matrix products have no float16 kernels.
    /// </summary>
    public static string? Unsupported(AmpMode mode, string deviceType) =>
        mode == AmpMode.Fp16 && deviceType == "cpu"
            ? "amp: fp16 needs a CUDA device; libtorch's CPU autocast and kernels compute in bfloat16, not float16"
            : null;
}

public static partial class TrainSchema
{
    /// <summary>The <c>amp</c> value checked: one of <see cref="AmpModes.Names"/>. A boolean (the key's earlier form,
    /// which did not say which precision) and anything else are located errors that list the accepted values.</summary>
    private static string? Amp(Val v, DiagnosticBag diags)
    {
        var word = v switch { WordVal w => w.Word, StrVal s => s.Value, _ => null };
        if (word is not null && AmpModes.Names.Contains(word)) return word;
        if (v is BoolVal b)
        {
            diags.Report(CompilerDiagnostics.AmpBoolean, v.Span,
                b.Value ? "write amp: bf16 (CPU, or a GPU with bfloat16), or amp: fp16 (CUDA, with loss scaling)" : "write amp: off", b.Value ? "true" : "false");
            return null;
        }
        var close = word is null ? null : Suggest.Closest(word, AmpModes.Names);
        diags.Report(CompilerDiagnostics.UnknownAmp, v.Span, close is not null ? $"did you mean '{close}'?" : $"write one of {Suggest.OrList(AmpModes.Names)}",
            word ?? Evaluator.Describe(v));
        return null;
    }
}
