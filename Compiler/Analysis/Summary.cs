using System.Globalization;
using System.Text;
using ArchDsl.Compiler.Printers;

namespace ArchDsl.Compiler.Analysis;

/// <summary>
/// One row of a summary: a graph node, or a group of nodes (<c>blocks.0</c> at <c>--depth 2</c>) with their totals, or
/// <see cref="Count"/> identical ones collapsed (<c>blocks.{0..11}</c>: then <see cref="Params"/>, <see cref="Buffers"/>
/// and <see cref="MultAdds"/> are each one's). <see cref="Kernel"/> is a conv's or pool's <c>9×9 / 1</c> (kernel / stride), else empty.
/// </summary>
public sealed record SummaryRow(string Name, string Op, Shape OutputShape, long Params, long Buffers, long MultAdds)
{
    /// <summary>The shape read (a node's first input); null for the input node.</summary>
    public Shape? InputShape { get; init; }
    public string Kernel { get; init; } = "";
    /// <summary>How many identical layers or groups the row stands for (1: one).</summary>
    public int Count { get; init; } = 1;
}

/// <summary>
/// A torchinfo-style summary of a graph: a row per node and the totals. Memory is estimated as
/// float32 (4 bytes an element) throughout: activations per sample are the output elements of every
/// node, the input node's included, summed (what a forward pass keeps for the backward pass, before
/// any in-place or fused savings) — the same convention as <c>IrGraph.ActivationBytes</c>; the input
/// size is also shown on its own; parameters and buffers are per model.
/// All parameters are trainable (the IR has no frozen ones); buffers (batch norm's running
/// statistics) are the non-trainable state and are counted apart, not as parameters.
/// </summary>
public sealed record SummaryTable(
    string Arch,
    Shape Input,
    IReadOnlyList<SummaryRow> Rows,
    long TotalParams,
    long TrainableParams,
    long Buffers,
    long MultAdds,
    long InputBytes,
    long ActivationBytes,
    long ParamBytes,
    long BufferBytes)
{
    public const int BytesPerElement = 4;

    /// <summary>The batch <see cref="ActivationBytesAtBatch"/> is given for (<c>archc summary --batch</c>; default 1).</summary>
    public int Batch { get; init; } = 1;

    /// <summary>
    /// The forward activations at <see cref="Batch"/>: <see cref="ActivationBytes"/> × batch — every node's output (the input
    /// included) in float32, i.e. what a forward pass keeps for the backward pass before in-place or fused savings.
    /// Gradients, optimizer state and framework workspace are not counted.
    /// </summary>
    public long ActivationBytesAtBatch => ActivationBytes * Batch;

    public long NonTrainableParams => TotalParams - TrainableParams;

    /// <summary>Activations of one sample (the input included) + parameters + buffers.</summary>
    public long EstimatedTotalBytes => ActivationBytes + ParamBytes + BufferBytes;

    /// <summary>The fixed-width table: columns sized to their contents, numbers right-aligned with thousands separators.</summary>
    public string ToText()
    {
        string[] header = ["Layer", "Op", "Input shape", "Output shape", "Kernel / stride", "Params", "Mult-adds"];
        var cells = Rows.Select(r => new[]
        {
            r.Count > 1 ? $"{r.Name} ×{r.Count}" : r.Name, r.Op, r.InputShape?.ToString() ?? "--", r.OutputShape.ToString(),
            r.Kernel.Length == 0 ? "--" : r.Kernel, Dash(r.Params), Dash(r.MultAdds),
        }).ToList();
        var widths = Enumerable.Range(0, header.Length)
            .Select(c => cells.Select(row => row[c].Length).Append(header[c].Length).Max()).ToArray();
        const string gap = "   ";
        var total = widths.Sum() + gap.Length * (widths.Length - 1);

        string Line(string[] row) =>
            string.Join(gap, row.Select((cell, c) => c >= 5 ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]))).TrimEnd();

        var rule = new string('=', total);
        var thin = new string('-', total);
        var sb = new StringBuilder();
        sb.Append(Arch).Append(" (input ").Append(Input).Append(")\n");
        sb.Append(rule).Append('\n');
        sb.Append(Line(header)).Append('\n');
        sb.Append(rule).Append('\n');
        foreach (var row in cells) sb.Append(Line(row)).Append('\n');
        if (Rows.Any(r => r.Count > 1)) sb.Append("×n: n identical layers or blocks in one row; its params and mult-adds are each one's\n");
        sb.Append(rule).Append('\n');
        sb.Append("Total params: ").Append(ValueFormat.Count(TotalParams)).Append('\n');
        sb.Append("Trainable params: ").Append(ValueFormat.Count(TrainableParams)).Append('\n');
        sb.Append("Non-trainable params: ").Append(ValueFormat.Count(NonTrainableParams)).Append('\n');
        sb.Append("Buffers: ").Append(ValueFormat.Count(Buffers)).Append('\n');
        sb.Append("Total mult-adds: ").Append(ValueFormat.Count(MultAdds)).Append(" (").Append(Scaled(MultAdds, "")).Append(")\n");
        sb.Append(thin).Append('\n');
        sb.Append("Input size (per sample): ").Append(Bytes(InputBytes)).Append('\n');
        sb.Append("Activations incl. input (per sample): ").Append(Bytes(ActivationBytes)).Append('\n');
        sb.Append("Params size: ").Append(Bytes(ParamBytes)).Append('\n');
        sb.Append("Buffers size: ").Append(Bytes(BufferBytes)).Append('\n');
        sb.Append("Estimated total size (1 sample): ").Append(Bytes(EstimatedTotalBytes)).Append('\n');
        if (Batch != 1)
        {
            sb.Append("Forward activations at batch ").Append(Batch.ToString(CultureInfo.InvariantCulture)).Append(": ").Append(Bytes(ActivationBytesAtBatch)).Append('\n');
            sb.Append("Estimated total size (batch ").Append(Batch.ToString(CultureInfo.InvariantCulture)).Append("): ")
              .Append(Bytes(ActivationBytesAtBatch + ParamBytes + BufferBytes)).Append('\n');
        }
        sb.Append("(activations: every layer's output, the input included, float32 — what a forward pass keeps for backward; gradients and optimizer state not counted)\n");
        sb.Append(rule).Append('\n');
        return sb.ToString();
    }

    /// <summary>
    /// The summary as indented JSON (snake_case keys, '\n' line ends), for <c>archc summary --format json</c>;
    /// shapes in the IR's JSON encoding (<see cref="IrJson.WriteShape"/>).
    /// </summary>
    public string ToJson() => IrJson.Document(w =>
    {
        w.WriteStartObject();
        w.WriteString("arch", Arch);
        w.WritePropertyName("input");
        IrJson.WriteShape(w, Input);
        w.WriteStartArray("rows");
        foreach (var r in Rows)
        {
            w.WriteStartObject();
            w.WriteString("name", r.Name);
            w.WriteString("op", r.Op);
            w.WritePropertyName("output_shape");
            IrJson.WriteShape(w, r.OutputShape);
            w.WriteNumber("params", r.Params);
            w.WriteNumber("buffers", r.Buffers);
            w.WriteNumber("mult_adds", r.MultAdds);
            w.WriteNumber("count", r.Count);
            w.WritePropertyName("input_shape");
            if (r.InputShape is { } input) IrJson.WriteShape(w, input); else w.WriteNullValue();
            w.WriteString("kernel", r.Kernel);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartObject("totals");
        w.WriteNumber("params", TotalParams);
        w.WriteNumber("trainable_params", TrainableParams);
        w.WriteNumber("non_trainable_params", NonTrainableParams);
        w.WriteNumber("buffers", Buffers);
        w.WriteNumber("mult_adds", MultAdds);
        w.WriteNumber("input_bytes", InputBytes);
        w.WriteNumber("activation_bytes", ActivationBytes);
        w.WriteNumber("param_bytes", ParamBytes);
        w.WriteNumber("buffer_bytes", BufferBytes);
        w.WriteNumber("estimated_total_bytes", EstimatedTotalBytes);
        w.WriteNumber("batch", Batch);
        w.WriteNumber("activation_bytes_at_batch", ActivationBytesAtBatch);
        w.WriteEndObject();
        w.WriteEndObject();
    });

    private static string Dash(long n) => n == 0 ? "--" : ValueFormat.Count(n);

    private static string Bytes(long n) => $"{ValueFormat.Plural(n, "byte")} ({Scaled(n, "B")})";

    /// <summary>Decimal units, as torchinfo: 17.58 G, 346.27 MB.</summary>
    private static string Scaled(long n, string unit)
    {
        (double div, string prefix) = Math.Abs(n) switch
        {
            >= 1_000_000_000_000 => (1e12, "T"),
            >= 1_000_000_000 => (1e9, "G"),
            >= 1_000_000 => (1e6, "M"),
            >= 1_000 => (1e3, "k"),
            _ => (1, ""),
        };
        var value = prefix == "" ? n.ToString(CultureInfo.InvariantCulture) : (n / div).ToString("0.00", CultureInfo.InvariantCulture);
        return $"{value} {prefix}{unit}".TrimEnd();
    }
}

/// <summary>
/// Builds a <see cref="SummaryTable"/>: rows at a depth of the name hierarchy (torchinfo's <c>depth</c>: depth 1 is
/// <c>stem</c>, <c>blocks</c>, <c>head</c>; depth 2 <c>blocks.0</c>…; null every node), with identical rows that differ
/// only in an index collapsed into one (<c>blocks.{0..11}</c> ×12, <see cref="RepeatedBlocks"/>'s notion of identical).
/// </summary>
public static class Summary
{
    /// <param name="depth">name segments a row keeps (≥ 1), or null for one row per node.</param>
    /// <param name="batch">the batch the activation estimate is given for (≥ 1).</param>
    public static SummaryTable Of(IrGraph graph, int? depth = null, int batch = 1)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(depth ?? 1, 1, nameof(depth));
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1, nameof(batch));
        var rows = SummaryRows.Collapse(SummaryRows.AtDepth(graph, depth));
        var activations = graph.Nodes.Sum(n => n.OutputShape.Elements);
        var bpe = SummaryTable.BytesPerElement;
        return new SummaryTable(
            graph.Arch,
            graph.Input,
            rows,
            TotalParams: graph.ParamCount,
            TrainableParams: graph.ParamCount,
            Buffers: graph.BufferCount,
            MultAdds: graph.MultAdds,
            InputBytes: graph.Input.Elements * bpe,
            ActivationBytes: activations * bpe,
            ParamBytes: graph.ParamCount * bpe,
            BufferBytes: graph.BufferCount * bpe) { Batch = batch };
    }
}
