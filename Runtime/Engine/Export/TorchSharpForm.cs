namespace ArchDsl.Runtime.Export;

/// <summary>
/// How one op appears in an exported TorchSharp file (<see cref="TorchSharpExporter"/>): <see cref="Module"/> writes the
/// C# expression constructing the node's <c>nn.Module&lt;Tensor, Tensor&gt;</c> (<c>nn.Conv2d(3, 32, 2, stride: 2)</c>),
/// whose parameters and buffers are registered under the op's IR tensor names (<c>weight</c>, <c>qkv.bias</c>) so the
/// file's <c>load_state_dict(…, strict: true)</c> takes the weight file as it is; <see cref="Helpers"/> are the classes it
/// needs beyond TorchSharp's <c>nn</c>, written once in the file. The residual <c>add</c> has no module:
/// <see cref="Binary"/> writes it inline (<c>x + h</c>). The TorchSharp twin of <see cref="PyTorchForm"/>; every op
/// module (Runtime/Engine/Model/Ops) states both, and <c>OpCatalogTests</c> checks none is missing.
/// </summary>
public sealed record TorchSharpForm(Func<ExportNode, string>? Module, params CsHelper[] Helpers)
{
    public Func<string, string, string>? Binary { get; init; }
}

/// <summary>A C# class an exported TorchSharp file defines (its name and its whole source, doc comment included).</summary>
public sealed record CsHelper(string Name, string Source);

/// <summary>C# literals for the exported TorchSharp file.</summary>
public static class Cs
{
    /// <summary>A C# literal: <c>true</c>, <c>1E-05</c>, <c>"tanh"</c>, <c>3</c>.</summary>
    public static string Literal(object v) => v switch
    {
        bool b => b ? "true" : "false",
        double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture) is var s && (s.Contains('.') || s.Contains('E')) ? s : s + ".0",
        float f => f.ToString("R", System.Globalization.CultureInfo.InvariantCulture) + "f",
        string s => System.Text.Json.JsonSerializer.Serialize(s),
        _ => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "null",
    };
}
