using ArchDsl.Compiler;
using ArchDsl.Runtime.Model;

namespace ArchDsl.Runtime.Export;

/// <summary>
/// <c>archc export --format onnx</c>: the model as one ONNX file (opset <see cref="OnnxGraph.Opset"/>, IR version 8)
/// with input <c>pixels</c> <c>[batch, C, H, W]</c> float32 in [0, 1] and output <c>logits</c> <c>[batch, classes]</c>,
/// <c>batch</c> a named (dynamic) dimension; the run's normalisation is the graph's first two nodes and the class
/// names are in its doc string and in <c>&lt;name&gt;.classes.txt</c> beside it (one per line, logit order).
/// Every op module (Runtime/Engine/Model/Ops) states its nodes (<see cref="OnnxForm"/>).
/// </summary>
public static class OnnxExporter
{
    public const string Input = "pixels", Output = "logits";

    /// <summary>Writes <c>&lt;name&gt;.onnx</c> and <c>&lt;name&gt;.classes.txt</c> into <paramref name="outDir"/> (both or neither); returns their paths.</summary>
    public static string[] Write(ExportSource source, string outDir, string? name = null)
    {
        name ??= PyTorchExporter.FileStem(source.Graph.Arch);
        var classes = new System.Text.UTF8Encoding(false).GetBytes(string.Concat(source.Card.Classes.Select(c => c + "\n")));
        return ExportFiles.Write(outDir, [(name + ".onnx", Model(source)), (name + ".classes.txt", classes)]);
    }

    /// <summary>The ModelProto's bytes.</summary>
    public static byte[] Model(ExportSource source)
    {
        var graph = source.Graph;
        var g = new OnnxGraph(source.Model.state_dict());
        var values = new string[graph.Nodes.Count];
        var card = source.Card;
        var input = graph.Nodes.Single(n => n.Op == "input");
        g.Begin(input);
        var c = card.Input.Channels;
        var mean = g.Const((card.Normalization?.Mean ?? Enumerable.Repeat(0.0, c).ToList()).Select(v => (float)v).ToArray(), 1, c, 1, 1);
        var std = g.Const((card.Normalization?.Std ?? Enumerable.Repeat(1.0, c).ToList()).Select(v => (float)v).ToArray(), 1, c, 1, 1);
        values[input.Id] = g.Node("Div", [g.Node("Sub", [Input, mean]), std]);
        foreach (var node in graph.Nodes.Where(n => n.Op != "input"))
        {
            var module = OpModules.For(node) ?? throw new ExportException($"node '{node.Name}' ({node.Op}) cannot be exported");
            g.Begin(node);
            values[node.Id] = module.Onnx.Emit(g, PyTorchForms.Node(node), node.Inputs.Select(i => values[i]).ToArray());
        }
        g.Rename(values[graph.Output], Output);
        var doc = $"{graph.Arch} exported by archc (ArchDsl) from {source.Origin}. Input {Input}: [batch, {c}, {card.Input.Height}, {card.Input.Width}] " +
                  $"float32 pixels in [0, 1] (normalised inside). Output {Output}: [batch, {card.Classes.Length}]. Classes: {string.Join(", ", card.Classes)}.";
        return g.Model(graph.Arch, Input, [c, card.Input.Height, card.Input.Width], Output, [card.Classes.Length], doc);
    }
}
