using System.Globalization;
using System.Text;
using ArchDsl.Compiler.Printers;

namespace ArchDsl.Compiler.Analysis;

/// <summary>One layer of a summary: a graph node with its output shape and costs.</summary>
public sealed record SummaryRow(string Name, string Op, Shape OutputShape, long Params, long Buffers, long MultAdds);

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

    public long NonTrainableParams => TotalParams - TrainableParams;

    /// <summary>Activations of one sample (the input included) + parameters + buffers.</summary>
    public long EstimatedTotalBytes => ActivationBytes + ParamBytes + BufferBytes;

    /// <summary>The fixed-width table: columns sized to their contents, numbers right-aligned with thousands separators.</summary>
    public string ToText()
    {
        string[] header = ["Layer", "Op", "Output shape", "Params", "Mult-adds"];
        var cells = Rows.Select(r => new[] { r.Name, r.Op, r.OutputShape.ToString(), Dash(r.Params), Dash(r.MultAdds) }).ToList();
        var widths = Enumerable.Range(0, header.Length)
            .Select(c => cells.Select(row => row[c].Length).Append(header[c].Length).Max()).ToArray();
        const string gap = "   ";
        var total = widths.Sum() + gap.Length * (widths.Length - 1);

        string Line(string[] row) =>
            string.Join(gap, row.Select((cell, c) => c >= 3 ? cell.PadLeft(widths[c]) : cell.PadRight(widths[c]))).TrimEnd();

        var rule = new string('=', total);
        var thin = new string('-', total);
        var sb = new StringBuilder();
        sb.Append(Arch).Append(" (input ").Append(Input).Append(")\n");
        sb.Append(rule).Append('\n');
        sb.Append(Line(header)).Append('\n');
        sb.Append(rule).Append('\n');
        foreach (var row in cells) sb.Append(Line(row)).Append('\n');
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
        w.WriteEndObject();
        w.WriteEndObject();
    });

    private static string Dash(long n) => n == 0 ? "--" : ValueFormat.Count(n);

    private static string Bytes(long n) => $"{ValueFormat.Count(n)} bytes ({Scaled(n, "B")})";

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

public static class Summary
{
    public static SummaryTable Of(IrGraph graph)
    {
        var rows = graph.Nodes.Select(n => new SummaryRow(n.Name, n.Op, n.OutputShape, n.ParamCount, n.BufferCount, n.MultAdds)).ToList();
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
            BufferBytes: graph.BufferCount * bpe);
    }
}
