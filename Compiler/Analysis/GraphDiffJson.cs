using System.Text;
using System.Text.Json;
using ArchDsl.Compiler.Printers;

namespace ArchDsl.Compiler.Analysis;

/// <summary>A <see cref="GraphDiffResult"/> as indented JSON (<c>archc diff --format json</c>).</summary>
internal static class GraphDiffJson
{
    public static string Render(GraphDiffResult r)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, NewLine = "\n" }))
        {
            w.WriteStartObject();
            w.WriteString("before", r.BeforeLabel);
            w.WriteString("after", r.AfterLabel);
            w.WriteBoolean("identical", r.IsEmpty);
            w.WriteStartObject("arch");
            w.WriteString("before", r.Before.Arch);
            w.WriteString("after", r.After.Arch);
            w.WriteEndObject();
            w.WriteStartObject("input");
            w.WriteString("before", r.Before.Input.ToString());
            w.WriteString("after", r.After.Input.ToString());
            w.WriteEndObject();
            w.WriteStartObject("output");
            w.WriteString("before", r.Before.OutputNode.Name);
            w.WriteString("after", r.After.OutputNode.Name);
            w.WriteEndObject();

            w.WriteStartObject("totals");
            foreach (var t in r.Totals)
            {
                w.WriteStartObject(t.Name.Replace('-', '_'));
                w.WriteNumber("before", t.Before);
                w.WriteNumber("after", t.After);
                w.WriteNumber("delta", t.Delta);
                if (t.Percent is { } p) w.WriteNumber("percent", Math.Round(p, 4));
                else w.WriteNull("percent");
                w.WriteEndObject();
            }
            w.WriteEndObject();

            w.WriteStartArray("added");
            foreach (var n in r.Added) WriteNode(w, n, r.After);
            w.WriteEndArray();
            w.WriteStartArray("removed");
            foreach (var n in r.Removed) WriteNode(w, n, r.Before);
            w.WriteEndArray();
            w.WriteStartArray("changed");
            foreach (var c in r.Changed)
            {
                w.WriteStartObject();
                w.WriteString("name", c.Name);
                w.WriteStartArray("fields");
                foreach (var f in c.Fields)
                {
                    w.WriteStartObject();
                    w.WriteString("field", f.Field);
                    w.WritePropertyName("before");
                    WriteValue(w, f.Before);
                    w.WritePropertyName("after");
                    WriteValue(w, f.After);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartArray("groups");
            foreach (var g in r.Groups)
            {
                w.WriteStartObject();
                w.WriteString("kind", g.Kind);
                w.WriteString("pattern", g.Pattern);
                w.WriteString("summary", g.Summary);
                w.WriteStartArray("details");
                foreach (var d in g.Details) w.WriteStringValue(d);
                w.WriteEndArray();
                w.WriteStartArray("nodes");
                foreach (var n in g.Nodes) w.WriteStringValue(n);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartArray("train");
            foreach (var t in r.Train)
            {
                w.WriteStartObject();
                w.WriteString("key", t.Key);
                w.WritePropertyName("before");
                WriteValue(w, t.Before);
                w.WritePropertyName("after");
                WriteValue(w, t.After);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray()) + "\n";
    }

    private static void WriteNode(Utf8JsonWriter w, IrNode n, IrGraph g)
    {
        var byId = g.Nodes.ToDictionary(x => x.Id);
        w.WriteStartObject();
        w.WriteString("name", n.Name);
        w.WriteString("op", n.Op);
        w.WriteStartObject("attrs");
        foreach (var (k, v) in n.Attrs.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            w.WritePropertyName(k);
            WriteValue(w, v);
        }
        w.WriteEndObject();
        w.WriteStartArray("inputs");
        foreach (var id in n.Inputs) w.WriteStringValue(GraphDiff.NameOf(id, byId));
        w.WriteEndArray();
        w.WriteStartArray("input_shapes");
        foreach (var s in n.InputShapes) w.WriteStringValue(s.ToString());
        w.WriteEndArray();
        w.WriteString("output_shape", n.OutputShape.ToString());
        w.WriteNumber("params", n.ParamCount);
        w.WriteNumber("buffers", n.BufferCount);
        w.WriteNumber("mult_adds", n.MultAdds);
        w.WriteEndObject();
    }

    /// <summary>IR values as JSON: numbers, booleans, strings; shapes and calls as their text; tensor shapes and name lists as arrays.</summary>
    private static void WriteValue(Utf8JsonWriter w, object? v)
    {
        switch (v)
        {
            case null: w.WriteNullValue(); break;
            case long l: w.WriteNumberValue(l); break;
            case double d when double.IsFinite(d): w.WriteNumberValue(d); break;
            case bool b: w.WriteBooleanValue(b); break;
            case string s: w.WriteStringValue(s); break;
            case Shape s: w.WriteStringValue(s.ToString()); break;
            case IEnumerable<long> dims:
                w.WriteStartArray();
                foreach (var x in dims) w.WriteNumberValue(x);
                w.WriteEndArray();
                break;
            case IEnumerable<string> names:
                w.WriteStartArray();
                foreach (var x in names) w.WriteStringValue(x);
                w.WriteEndArray();
                break;
            case IEnumerable<Shape> shapes:
                w.WriteStartArray();
                foreach (var x in shapes) w.WriteStringValue(x.ToString());
                w.WriteEndArray();
                break;
            default: w.WriteStringValue(ValueFormat.Value(v)); break;
        }
    }
}
