using System.Text;

namespace ArchDsl.Compiler.Printers;

/// <summary>The op catalogue as text (<c>archc ops</c>), generated from the definitions in Compiler/Ops/.</summary>
public static class OpListing
{
    /// <summary>
    /// One entry per op: its usage with defaults, the IR op it becomes (as graphs and weights name it), its aliases,
    /// input → output layouts and what it computes; then the structural IR ops.
    /// </summary>
    public static string ToText()
    {
        var sb = new StringBuilder();
        foreach (var op in OpCatalog.All)
        {
            sb.Append(op.Usage);
            if (op.IrOp != op.Name) sb.Append($"    (IR {op.IrOp})");
            sb.Append('\n');
            if (op.Aliases.Count > 0) sb.Append($"    aliases: {string.Join(", ", op.Aliases)}\n");
            var choices = op.Args.Where(a => a.Choices is not null).Select(a => $"{a.Name}: {string.Join(" | ", a.Choices!)}").ToList();
            if (choices.Count > 0) sb.Append($"    choices: {string.Join("; ", choices)}\n");
            sb.Append($"    {op.Layouts}\n");
            sb.Append($"    {op.Doc}\n\n");
        }
        sb.Append($"IR ops the compiler makes itself: {OpCatalog.InputOp} (the graph's input), {OpCatalog.AddOp} (a residual sum of two equal shapes), {OpCatalog.SubOp} (residual(sub) {{ body }}: body(x) − x), {OpCatalog.MulOp} (residual(mul) {{ body }}: x · body(x); residual(gate) {{ body }}: u · body(v) of the chunk halves u, v).\n");
        sb.Append("Layouts are per sample: image[C,H,W], tokens[N,D], vector[D]. Mult-adds count matrix-product multiply-accumulates only.\n");
        return sb.ToString();
    }
}
