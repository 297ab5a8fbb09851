namespace ArchDsl.Runtime.Export;

/// <summary>
/// How one op appears in an exported PyTorch file (<see cref="PyTorchExporter"/>): <see cref="Module"/> writes the
/// <c>torch.nn</c> module expression of one node (<c>nn.Conv2d(3, 32, 2, stride=2)</c>), whose parameters and buffers
/// must be named as the op's IR tensors (<c>weight</c>, <c>qkv.bias</c>) so the file loads the weights with
/// <c>strict=True</c>; <see cref="Helpers"/> are the classes it needs beyond <c>torch.nn</c>, written once at the top
/// of the file. The residual <c>add</c> has no module: <see cref="Binary"/> writes it inline (<c>x + h</c>).
/// Every op module (Runtime/Engine/Model/Ops) states its form; <c>OpCatalogTests</c> checks none is missing.
/// </summary>
public sealed record PyTorchForm(Func<ExportNode, string>? Module, params PyHelper[] Helpers)
{
    public Func<string, string, string>? Binary { get; init; }
}

/// <summary>A Python class an exported file defines (its name and its whole source, docstring included).</summary>
public sealed record PyHelper(string Name, string Source);

/// <summary>One IR node as an exporter sees it: its attributes (with the op definition's defaults) and its input shape.</summary>
public sealed class ExportNode
{
    private readonly Func<string, Type, object> _attr;
    internal ExportNode(ArchDsl.Compiler.IrNode node, Func<string, Type, object> attr) { Node = node; _attr = attr; }

    public ArchDsl.Compiler.IrNode Node { get; }
    /// <summary>The per-sample input shape (no batch dimension).</summary>
    public ArchDsl.Compiler.Shape Input => Node.InputShapes[0];
    public bool Image => Input.Layout == ArchDsl.Compiler.Layout.Image;
    public T Attr<T>(string key) => (T)_attr(key, typeof(T));
    public bool Has(string tensor) => Node.Params.Any(p => p.Name == tensor) || Node.Buffers.Any(p => p.Name == tensor);

    /// <summary>A Python literal: <c>True</c>, <c>1e-05</c> (a float as Python's repr writes it: <see cref="ArchDsl.Dsl.FloatText"/>),
    /// <c>float('nan')</c>, <c>'tanh'</c>, <c>3</c>.</summary>
    public static string Py(object v) => v switch
    {
        bool b => b ? "True" : "False",
        double d => PyFloat(d),
        float f => PyFloat(f),
        string s => "'" + s.Replace("\\", "\\\\").Replace("'", "\\'") + "'",
        _ => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture) ?? "None",
    };

    private static string PyFloat(double d) => double.IsFinite(d) ? ArchDsl.Dsl.FloatText.Format(d) : $"float('{ArchDsl.Dsl.FloatText.Format(d)}')";
}
