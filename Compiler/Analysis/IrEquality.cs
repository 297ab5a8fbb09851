using System.Collections;

namespace ArchDsl.Compiler.Analysis;

/// <summary>
/// Deep structural equality of IR graphs. The IR records hold dictionaries and lists, which records
/// compare by reference; this compares them by content: dictionaries as key sets (order ignored),
/// lists element-wise (whatever their concrete type), values by type and value — a long 1 is not a
/// double 1.0, and doubles are compared by their bits, so NaN equals NaN and 0.0 differs from -0.0.
/// <see cref="Explain"/> names the first difference, for test messages.
/// </summary>
public static class IrEquality
{
    public static bool Equal(IrGraph a, IrGraph b) => Explain(a, b) is null;

    /// <summary>Null when equal, else a path and description of the first difference (<c>nodes[3].attrs.kernel: 5 (Int64) vs 5.0 (Double)</c>).</summary>
    public static string? Explain(IrGraph a, IrGraph b)
    {
        if (a.Arch != b.Arch) return $"arch: {a.Arch} vs {b.Arch}";
        if (!a.Input.Equals(b.Input)) return $"input: {a.Input} vs {b.Input}";
        if (a.Output != b.Output) return $"output: {a.Output} vs {b.Output}";
        if (a.Nodes.Count != b.Nodes.Count) return $"nodes: {a.Nodes.Count} vs {b.Nodes.Count} nodes";
        for (var i = 0; i < a.Nodes.Count; i++)
            if (ExplainNode(a.Nodes[i], b.Nodes[i]) is { } d) return $"nodes[{i}].{d}";
        return ExplainDict(a.Train.Values, b.Train.Values) is { } t ? "train" + t : null;
    }

    public static bool NodeEqual(IrNode a, IrNode b) => ExplainNode(a, b) is null;

    private static string? ExplainNode(IrNode a, IrNode b)
    {
        if (a.Id != b.Id) return $"id: {a.Id} vs {b.Id}";
        if (a.Name != b.Name) return $"name: {a.Name} vs {b.Name}";
        if (a.Op != b.Op) return $"op: {a.Op} vs {b.Op}";
        if (ExplainDict(a.Attrs, b.Attrs) is { } d) return "attrs" + d;
        if (!a.Inputs.SequenceEqual(b.Inputs)) return $"inputs: [{string.Join(", ", a.Inputs)}] vs [{string.Join(", ", b.Inputs)}]";
        if (!a.InputShapes.SequenceEqual(b.InputShapes)) return $"input_shapes: [{string.Join(", ", a.InputShapes)}] vs [{string.Join(", ", b.InputShapes)}]";
        if (!a.OutputShape.Equals(b.OutputShape)) return $"output_shape: {a.OutputShape} vs {b.OutputShape}";
        if (!a.Params.SequenceEqual(b.Params)) return $"params: {Tensors(a.Params)} vs {Tensors(b.Params)}";
        if (!a.Buffers.SequenceEqual(b.Buffers)) return $"buffers: {Tensors(a.Buffers)} vs {Tensors(b.Buffers)}";
        if (a.MultAdds != b.MultAdds) return $"mult_adds: {a.MultAdds} vs {b.MultAdds}";
        if (!Equals(a.Origin, b.Origin)) return $"origin: {a.Origin?.ToString() ?? "null"} vs {b.Origin?.ToString() ?? "null"}";
        return null;
    }

    /// <summary>Deep equality of two IR values (long, double, bool, string, TrainCall, lists of those).</summary>
    public static bool ValueEqual(object? a, object? b) => ExplainValue(a, b) is null;

    private static string? ExplainValue(object? a, object? b)
    {
        switch (a, b)
        {
            case (null, null): return null;
            case (double x, double y):
                return BitConverter.DoubleToInt64Bits(x) == BitConverter.DoubleToInt64Bits(y) ? null : $": {Show(a)} vs {Show(b)}";
            case (TrainCall x, TrainCall y):
                if (x.Name != y.Name) return $": {x.Name}(…) vs {y.Name}(…)";
                return ExplainDict(x.Args, y.Args) is { } d ? $"({x.Name}){d}" : null;
            case (string x, string y):
                return x == y ? null : $": {Show(a)} vs {Show(b)}";
            case (IEnumerable x, IEnumerable y) when a is not (string or IDictionary) && b is not (string or IDictionary):
                var xs = x.Cast<object?>().ToList();
                var ys = y.Cast<object?>().ToList();
                if (xs.Count != ys.Count) return $": list of {xs.Count} vs list of {ys.Count}";
                for (var i = 0; i < xs.Count; i++)
                    if (ExplainValue(xs[i], ys[i]) is { } di) return $"[{i}]{di}";
                return null;
            default:
                return a is not null && b is not null && a.GetType() == b.GetType() && a.Equals(b) ? null : $": {Show(a)} vs {Show(b)}";
        }
    }

    private static string? ExplainDict(IReadOnlyDictionary<string, object> a, IReadOnlyDictionary<string, object> b)
    {
        foreach (var key in a.Keys.Union(b.Keys).OrderBy(k => k, StringComparer.Ordinal))
        {
            var inA = a.TryGetValue(key, out var x);
            var inB = b.TryGetValue(key, out var y);
            if (!inA) return $".{key}: missing vs {Show(y)}";
            if (!inB) return $".{key}: {Show(x)} vs missing";
            if (ExplainValue(x, y) is { } d) return $".{key}{d}";
        }
        return null;
    }

    private static string Show(object? v) => v is null ? "null" : $"{Printers.ValueFormat.Value(v)} ({v.GetType().Name})";

    private static string Tensors(IReadOnlyList<TensorSpec> ts) =>
        "[" + string.Join(", ", ts.Select(t => $"{t.Name}[{string.Join(", ", t.Shape)}]")) + "]";
}
