using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>
/// What a shape rule (<see cref="OpDef"/>) works with: the bound arguments, the input shape, where the op was
/// written, and builders for its attributes, parameters, buffers and output. The layout was already checked against
/// <see cref="OpDef.Accepts"/>. A rule reports an error through <see cref="Error"/> and returns null.
/// </summary>
internal sealed class OpContext(OpDef op, IReadOnlyDictionary<string, BoundArg> args, Shape x, Span at, DiagnosticBag diags)
{
    private readonly Dictionary<string, object> _attrs = new(StringComparer.Ordinal);
    private readonly List<TensorSpec> _params = new();
    private readonly List<TensorSpec> _buffers = new();

    public OpDef Op => op;
    public Shape X => x;
    public IReadOnlyList<int> D => x.Dims;
    public Span At => at;

    public long L(string arg) => (long)args[arg].Value;
    public double Dbl(string arg) => (double)args[arg].Value;
    public bool B(string arg) => (bool)args[arg].Value;
    public string Str(string arg) => (string)args[arg].Value;
    public BoundArg Arg(string arg) => args[arg];

    public void Attr(string key, object value) => _attrs[key] = value;
    /// <summary>Records argument <paramref name="arg"/> as the attribute of the same name.</summary>
    public void Attrs(params string[] argNames)
    {
        foreach (var a in argNames) _attrs[a] = args[a].Value;
    }

    public void Param(string name, params long[] shape) => _params.Add(T(name, shape));
    public void Buffer(string name, params long[] shape) => _buffers.Add(shape.Length == 0 ? new TensorSpec(name, []) : T(name, shape));

    /// <summary>The node with output <paramref name="output"/>; null when the output could not be made (already reported).</summary>
    public NodeSpec? Done(Shape? output, long multAdds = 0) => output is null ? null : new(_attrs, output, _params, _buffers, multAdds);

    /// <summary>Reports <paramref name="d"/> with <paramref name="args"/> at <paramref name="span"/> (the op's own span when null);
    /// returns null, the node of a failed op.</summary>
    public NodeSpec? Error(DiagnosticDescriptor d, Span? span, string? hint, params object?[] args)
    {
        diags.Report(d, span ?? at, hint, args);
        return null;
    }

    /// <summary>Reports <paramref name="d"/> at argument <paramref name="arg"/>'s value, labelling where that value came from
    /// (a <c>--set</c>, a sweep file, a parameter's default) as <see cref="ValueOrigin"/> does; returns null.</summary>
    public NodeSpec? ArgError(DiagnosticDescriptor d, string arg, string? hint, params object?[] messageArgs)
    {
        var a = args[arg];
        diags.ReportUse(d, a.Span, a.Origins ?? [], hint, messageArgs);
        return null;
    }

    public Shape? Img(long c, long h, long w) => Fits(c, h, w) ? Shape.Image((int)c, (int)h, (int)w) : null;
    public Shape? Tok(long n, long d) => Fits(n, d) ? Shape.Tokens((int)n, (int)d) : null;
    public Shape? Vec(long d) => Fits(d) ? Shape.Vector((int)d) : null;

    /// <summary>Output size of a sliding window (PyTorch's floor formula); 0 when the kernel is larger than the padded input.</summary>
    public static long OutSize(long size, long k, long s, long p) => OutSize(size, k, s, p, p);

    /// <summary>The same with <paramref name="pBegin"/> before and <paramref name="pEnd"/> after.</summary>
    public static long OutSize(long size, long k, long s, long pBegin, long pEnd) =>
        size + pBegin + pEnd < k ? 0 : (size + pBegin + pEnd - k) / s + 1;

    /// <summary>
    /// The padding of a window op: an explicit amount, <c>valid</c> (0) or <c>same</c> ((k-1)/2, which keeps the size only
    /// with stride 1 and an odd kernel — as PyTorch's padding='same' demands). Null after a reported error.
    /// </summary>
    public long? Padding(long k, long s, Func<long, string?>? hint = null) =>
        PaddingSides(k, s, evenSame: false, hint) is { } p ? p.Begin : null;

    /// <summary>
    /// The padding of a window op before and after each spatial dim. <c>same</c> needs stride 1; with
    /// <paramref name="evenSame"/> an even kernel is allowed too, padded as PyTorch's Conv2d(padding='same') does:
    /// k-1 in all, (k-1)/2 on the top/left and the extra one on the bottom/right (torch.nn.modules.conv,
    /// <c>_reversed_padding_repeated_twice</c>). An explicit amount or <c>valid</c> pads both sides alike. Null after a reported error.
    /// </summary>
    public (long Begin, long End)? PaddingSides(long k, long s, bool evenSame, Func<long, string?>? hint = null)
    {
        var pad = args["padding"];
        if (pad.Value is not string mode) return ((long)pad.Value, (long)pad.Value);
        if (mode == "valid") return (0, 0);
        if (s == 1 && (k % 2 == 1 || evenSame)) return ((k - 1) / 2, k - 1 - (k - 1) / 2);
        if (evenSame) ArgError(CompilerDiagnostics.SamePaddingStride, "padding", hint?.Invoke(k), op.Name, s);
        else ArgError(CompilerDiagnostics.SamePaddingStrideOrKernel, "padding", hint?.Invoke(k), op.Name, k, s);
        return null;
    }

    private static TensorSpec T(string name, long[] shape)
    {
        var e = shape.Aggregate(1L, (a, b) => checked(a * b));
        if (e > Limits.MaxElements) throw new OverflowException();
        return new TensorSpec(name, shape);
    }

    private bool Fits(params long[] dims)
    {
        long e = 1;
        foreach (var d in dims)
        {
            e = d > 0 && e <= Limits.MaxElements / d ? e * d : long.MaxValue;
            if (d > int.MaxValue) e = long.MaxValue;
        }
        if (e <= Limits.MaxElements) return true;
        diags.Report(CompilerDiagnostics.OutputTooLarge, at, null, op.Name, string.Join(", ", dims), Limits.MaxElements);
        return false;
    }
}
