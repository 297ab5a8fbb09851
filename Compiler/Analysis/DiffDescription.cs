using System.Text;
using ArchDsl.Compiler.Printers;

namespace ArchDsl.Compiler.Analysis;

/// <summary>
/// How one node difference reads in a diff line: a summary (<c>conv2d kernel 5 → 9, padding 2 → 4</c>)
/// and detail lines (shapes, tensors, mult-adds). Names of nodes read go through a renaming function, so
/// <see cref="DiffCollapse"/> can describe them relative to a block index (<c>{i-1}</c>).
/// </summary>
internal static class DiffDescription
{
    public const string Arrow = " → ";

    /// <summary>Summary line and detail lines of a changed node; node names it reads go through <paramref name="rel"/>.</summary>
    public static (string Summary, List<string> Details) Change(NodeChange c, Func<string, string> rel)
    {
        var a = c.Before;
        var b = c.After;
        var head = new StringBuilder();
        var byField = c.Fields.ToDictionary(f => f.Field);
        if (byField.ContainsKey("op"))
            head.Append(GraphPrinter.OpWithAttrs(a)).Append(Arrow).Append(GraphPrinter.OpWithAttrs(b));
        else
        {
            head.Append(b.Op);
            var attrs = c.Fields.Where(f => f.Field.StartsWith("attrs.", StringComparison.Ordinal))
                .Select(f => $"{f.Field["attrs.".Length..]} {Show(f.Before)}{Arrow}{Show(f.After)}").ToList();
            if (attrs.Count > 0) head.Append(' ').Append(string.Join(", ", attrs));
        }

        var details = new List<string>();
        if (byField.TryGetValue("inputs", out var inputs))
            details.Add($"from {string.Join(", ", ((List<string>)inputs.Before!).Select(rel))}{Arrow}{string.Join(", ", ((List<string>)inputs.After!).Select(rel))}");
        var inChanged = byField.ContainsKey("input_shapes");
        var outChanged = byField.ContainsKey("output_shape");
        if (inChanged && outChanged && a.InputShapes.All(s => s.Equals(a.OutputShape)) && b.InputShapes.All(s => s.Equals(b.OutputShape)))
            details.Add($"shape {a.OutputShape}{Arrow}{b.OutputShape}"); // shape-preserving ops (activations, norms, adds)
        else
        {
            if (inChanged) details.Add($"in {string.Join(", ", a.InputShapes)}{Arrow}{string.Join(", ", b.InputShapes)}");
            if (outChanged) details.Add($"out {a.OutputShape}{Arrow}{b.OutputShape}");
        }
        AddTensorDetail("params", a.ParamCount, b.ParamCount, c.Fields, details);
        AddTensorDetail("buffers", a.BufferCount, b.BufferCount, c.Fields, details);
        if (byField.ContainsKey("mult_adds"))
            details.Add($"mult-adds {ValueFormat.Count(a.MultAdds)}{Arrow}{ValueFormat.Count(b.MultAdds)} ({Signed(b.MultAdds - a.MultAdds)})");
        if (head.ToString() == b.Op && details.Count > 0)
        {
            // Nothing about the op itself changed: lead with the first detail on the same line.
            head.Append(' ').Append(details[0]);
            details.RemoveAt(0);
        }
        return (head.ToString(), details);
    }

    private static void AddTensorDetail(string kind, long before, long after, IReadOnlyList<FieldChange> fields, List<string> details)
    {
        var tensors = fields.Where(f => f.Field.StartsWith(kind + ".", StringComparison.Ordinal)).Select(f =>
        {
            var name = f.Field[(kind.Length + 1)..];
            return f.Before is null ? $"+{name}{Dims(f.After)}"
                : f.After is null ? $"-{name}{Dims(f.Before)}"
                : $"{name} {Dims(f.Before)}{Arrow}{Dims(f.After)}";
        }).ToList();
        if (tensors.Count == 0 && before == after) return;
        var line = $"{kind} {ValueFormat.Count(before)}{Arrow}{ValueFormat.Count(after)}";
        if (before != after) line += $" ({Signed(after - before)})";
        if (tensors.Count > 0) line += ": " + string.Join(", ", tensors);
        details.Add(line);
    }

    /// <summary>The summary of an added or removed node: op with attributes, shapes, the nodes it reads, its costs.</summary>
    public static (string Summary, List<string> Details) Node(IrNode n, Dictionary<int, IrNode> byId, Func<string, string> rel)
    {
        var sb = new StringBuilder(GraphPrinter.OpWithAttrs(n)).Append("  ");
        if (n.InputShapes.Count > 0) sb.Append(string.Join(", ", n.InputShapes)).Append(' ');
        sb.Append("-> ").Append(n.OutputShape);
        if (n.Inputs.Count > 0) sb.Append("  from ").Append(string.Join(", ", n.Inputs.Select(id => rel(GraphDiff.NameOf(id, byId)))));
        if (n.ParamCount != 0) sb.Append("  params ").Append(ValueFormat.Count(n.ParamCount));
        if (n.BufferCount != 0) sb.Append("  buffers ").Append(ValueFormat.Count(n.BufferCount));
        if (n.MultAdds != 0) sb.Append("  mult-adds ").Append(ValueFormat.Count(n.MultAdds));
        return (sb.ToString(), []);
    }

    /// <summary>An IR value as a diff prints it; <c>(none)</c> for an absent one.</summary>
    public static string Show(object? v) => v is null ? "(none)" : ValueFormat.Value(v);

    private static string Dims(object? shape) => shape is IEnumerable<long> dims ? "[" + string.Join(", ", dims) + "]" : "(none)";

    /// <summary>A count with its sign: <c>+7,168</c>, <c>-12</c>, <c>±0</c>.</summary>
    public static string Signed(long n) => (n > 0 ? "+" : n < 0 ? "-" : "±") + ValueFormat.Count(Math.Abs(n));
}
