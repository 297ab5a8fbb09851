using System.Text.Json;
using ArchDsl.Compiler.Printers;

namespace ArchDsl.Compiler.Analysis;

/// <summary>
/// A <see cref="GraphDiffResult"/> as indented JSON (<c>archc diff --format json</c>), in the IR's JSON
/// encoding (<see cref="IrJson"/>): shapes are <c>{"layout", "dims"}</c>, values IR values, and every
/// added or removed node is the node object of <c>archc graph --format json</c> — its <c>id</c> and
/// <c>inputs</c> are ids in the after graph (added) or the before graph (removed). Changed nodes are
/// matched by name, so their <c>inputs</c> field change lists the names of the nodes read.
/// </summary>
internal static class GraphDiffJson
{
    public static string Render(GraphDiffResult r) => IrJson.Document(w =>
    {
        w.WriteStartObject();
        w.WriteString("before", r.BeforeLabel);
        w.WriteString("after", r.AfterLabel);
        w.WriteBoolean("identical", r.IsEmpty);
        Pair(w, "arch", r.Before.Arch, r.After.Arch);
        Pair(w, "input", r.Before.Input, r.After.Input);
        Pair(w, "output", r.Before.OutputNode.Name, r.After.OutputNode.Name);

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
        foreach (var n in r.Added) IrJson.WriteNode(w, n);
        w.WriteEndArray();
        w.WriteStartArray("removed");
        foreach (var n in r.Removed) IrJson.WriteNode(w, n);
        w.WriteEndArray();
        w.WriteStartArray("changed");
        foreach (var c in r.Changed)
        {
            w.WriteStartObject();
            w.WriteString("name", c.Name);
            w.WriteStartArray("fields");
            foreach (var f in c.Fields) Change(w, "field", f.Field, f.Before, f.After);
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
            w.WritePropertyName("details");
            IrJson.WriteValue(w, g.Details);
            w.WritePropertyName("nodes");
            IrJson.WriteValue(w, g.Nodes);
            w.WriteEndObject();
        }
        w.WriteEndArray();

        w.WriteStartArray("train");
        foreach (var t in r.Train) Change(w, "key", t.Key, t.Before, t.After);
        w.WriteEndArray();
        if (r.Launch.Count > 0)
        {
            w.WriteStartArray("launch");
            foreach (var t in r.Launch) Change(w, "key", t.Key, t.Before, t.After);
            w.WriteEndArray();
        }
        if (r.Sources is { } s)
        {
            w.WriteStartObject("sources");
            w.WriteStartArray("overrides");
            foreach (var o in s.Overrides) Change(w, "key", o.Key, o.Before, o.After);
            w.WriteEndArray();
            w.WriteString("spec_diff", s.SpecDiff);
            w.WriteEndObject();
        }
        w.WriteEndObject();
    });

    /// <summary><c>"name": {"before": …, "after": …}</c>.</summary>
    private static void Pair(Utf8JsonWriter w, string name, object before, object after)
    {
        w.WriteStartObject(name);
        w.WritePropertyName("before");
        IrJson.WriteValue(w, before);
        w.WritePropertyName("after");
        IrJson.WriteValue(w, after);
        w.WriteEndObject();
    }

    /// <summary><c>{"&lt;label&gt;": what, "before": …, "after": …}</c>; null for an absent side.</summary>
    private static void Change(Utf8JsonWriter w, string label, string what, object? before, object? after)
    {
        w.WriteStartObject();
        w.WriteString(label, what);
        w.WritePropertyName("before");
        IrJson.WriteValue(w, before);
        w.WritePropertyName("after");
        IrJson.WriteValue(w, after);
        w.WriteEndObject();
    }
}
