using ArchDsl.Dsl;
using System.Collections;
using System.Text;
using System.Text.Json;

namespace ArchDsl.Compiler.Printers;

/// <summary>
/// The IR as JSON — the one JSON encoding of a graph, a node, a shape, a tensor and an IR value, used
/// wherever the project writes IR as JSON (<c>archc graph --format json</c>, <c>archc summary --format json</c>,
/// <c>archc diff --format json</c>, the graph handed to the PyTorch bench companion). The document is
/// <see cref="GraphYaml"/>'s <c>archdsl-ir/1</c> document with the same keys, in JSON:
/// <code>
/// {"format": "archdsl-ir/1", "arch": "ConvMixer", "input": {"layout": "image", "dims": [1, 28, 28]}, "output": 9,
///  "nodes": [{"id": 1, "name": "stem.0", "op": "conv2d",
///             "attrs": {"bias": true, "groups": 1, "kernel": 2, "out": 128, "padding": 0, "stride": 2},
///             "inputs": [0], "input_shapes": [{"layout": "image", "dims": [1, 28, 28]}],
///             "output_shape": {"layout": "image", "dims": [128, 14, 14]},
///             "params": [{"name": "weight", "shape": [128, 1, 2, 2]}, {"name": "bias", "shape": [128]}],
///             "buffers": [], "mult_adds": 100352, "origin": {"file": "specs/convmixer.arch", "line": 7, "column": 6}}, …],
///  "train": {"optimizer": {"call": "adamw", "args": {"lr": 0.01}}, …}}
/// </code>
/// A shape is always <c>{"layout": image|tokens|vector, "dims": [...]}</c> (per sample, no batch
/// dimension); a node's <c>inputs</c> and the graph's <c>output</c> are node ids (a node's id is its
/// index in <c>nodes</c>). Values: a long or a finite double is a JSON number, a double as Python's
/// <c>json</c> writes it (<c>5.0</c>, <c>1e-05</c>: <see cref="FloatText.Format(double)"/>), a non-finite double the string <c>NaN</c>,
/// <c>Infinity</c> or <c>-Infinity</c> (System.Text.Json's named literals), a bool, a string, a
/// <see cref="TrainCall"/> <c>{"call": name, "args": {...}}</c>, a list an array. Keys of attrs and
/// train are in ordinal order. Output is indented with '\n' line ends.
/// </summary>
public static class IrJson
{
    /// <summary>The whole graph as an indented JSON document ending in '\n'.</summary>
    public static string Write(IrGraph graph) => Document(w => WriteGraph(w, graph));

    /// <summary>Runs <paramref name="write"/> against an indented, '\n'-separated writer and returns the text with a final '\n'.</summary>
    public static string Document(Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, NewLine = "\n" }))
            write(w);
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    public static void WriteGraph(Utf8JsonWriter w, IrGraph graph)
    {
        w.WriteStartObject();
        w.WriteString("format", GraphYaml.FormatTag);
        w.WriteString("arch", graph.Arch);
        w.WritePropertyName("input");
        WriteShape(w, graph.Input);
        w.WriteNumber("output", graph.Output);
        w.WriteStartArray("nodes");
        foreach (var n in graph.Nodes) WriteNode(w, n);
        w.WriteEndArray();
        w.WritePropertyName("train");
        WriteValueMap(w, graph.Train.Values);
        w.WriteEndObject();
    }

    public static void WriteNode(Utf8JsonWriter w, IrNode n)
    {
        w.WriteStartObject();
        w.WriteNumber("id", n.Id);
        w.WriteString("name", n.Name);
        w.WriteString("op", n.Op);
        w.WritePropertyName("attrs");
        WriteValueMap(w, n.Attrs);
        w.WriteStartArray("inputs");
        foreach (var id in n.Inputs) w.WriteNumberValue(id);
        w.WriteEndArray();
        w.WritePropertyName("input_shapes");
        WriteValue(w, n.InputShapes);
        w.WritePropertyName("output_shape");
        WriteShape(w, n.OutputShape);
        w.WritePropertyName("params");
        WriteValue(w, n.Params);
        w.WritePropertyName("buffers");
        WriteValue(w, n.Buffers);
        w.WriteNumber("mult_adds", n.MultAdds);
        if (n.Origin is { } o)
        {
            w.WriteStartObject("origin");
            w.WriteString("file", o.File);
            w.WriteNumber("line", o.Line);
            w.WriteNumber("column", o.Column);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    }

    /// <summary><c>{"layout": "tokens", "dims": [196, 384]}</c>.</summary>
    public static void WriteShape(Utf8JsonWriter w, Shape s)
    {
        w.WriteStartObject();
        w.WriteString("layout", s.Layout.ToString().ToLowerInvariant());
        w.WriteStartArray("dims");
        foreach (var d in s.Dims) w.WriteNumberValue(d);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>An object of IR values, keys in ordinal order.</summary>
    public static void WriteValueMap(Utf8JsonWriter w, IReadOnlyDictionary<string, object> values)
    {
        w.WriteStartObject();
        foreach (var (key, value) in values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            w.WritePropertyName(key);
            WriteValue(w, value);
        }
        w.WriteEndObject();
    }

    /// <summary>
    /// An IR value (see the class summary), a <see cref="Shape"/>, a <see cref="TensorSpec"/>
    /// (<c>{"name", "shape"}</c>) or a list of those; null is JSON null.
    /// </summary>
    /// <exception cref="InvalidOperationException">any other type: it is not part of the IR.</exception>
    public static void WriteValue(Utf8JsonWriter w, object? v)
    {
        switch (v)
        {
            case null: w.WriteNullValue(); break;
            case long l: w.WriteNumberValue(l); break;
            case int i: w.WriteNumberValue(i); break;
            case double d when double.IsFinite(d): w.WriteRawValue(FloatText.Format(d)); break; // 1e-05 as Python's json writes it, not 1E-05
            case double d: w.WriteStringValue(double.IsNaN(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity"); break;
            case bool b: w.WriteBooleanValue(b); break;
            case string s: w.WriteStringValue(s); break;
            case Shape s: WriteShape(w, s); break;
            case TensorSpec t:
                w.WriteStartObject();
                w.WriteString("name", t.Name);
                w.WritePropertyName("shape");
                WriteValue(w, t.Shape);
                w.WriteEndObject();
                break;
            case TrainCall c:
                w.WriteStartObject();
                w.WriteString("call", c.Name);
                w.WritePropertyName("args");
                WriteValueMap(w, c.Args);
                w.WriteEndObject();
                break;
            case IEnumerable e and not IDictionary:
                w.WriteStartArray();
                foreach (var x in e) WriteValue(w, x);
                w.WriteEndArray();
                break;
            default:
                throw new InvalidOperationException($"a {v.GetType().Name} is not an IR value (long, double, bool, string, TrainCall, shape, tensor or a list of those)");
        }
    }
}
