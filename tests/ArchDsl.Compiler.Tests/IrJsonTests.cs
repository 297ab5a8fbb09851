using System.Globalization;
using System.Text.Json;
using ArchDsl.Compiler.Analysis;
using ArchDsl.Compiler.Printers;
using ArchDsl.Compiler.Tests.Snapshots;
using YamlDotNet.RepresentationModel;

namespace ArchDsl.Compiler.Tests;

/// <summary>
/// IrJson, the one JSON encoding of the IR: its document is graph.yaml's document key for key and value
/// for value, and every JSON the project writes (graph, summary, diff) encodes a shape the same way.
/// </summary>
public class IrJsonTests
{
    [Fact]
    public void Format() => Snapshot.Verify(IrJson.Write(PrinterFixtures.ConvMixer(depth: 1)));

    [Theory]
    [MemberData(nameof(SnapshotSpecTests.Specs), MemberType = typeof(SnapshotSpecTests))]
    public void Every_spec_writes_the_yaml_document_in_json(string spec) =>
        AssertSameDocument(CompilerTestKit.SpecGraph(spec));

    [Theory]
    [MemberData(nameof(YamlTests.Values), MemberType = typeof(YamlTests))]
    public void Every_ir_value_writes_as_in_yaml(string key, object value)
    {
        var g = PrinterFixtures.ConvMixer(depth: 1);
        var node = g.Nodes[1] with { Attrs = new Dictionary<string, object>(g.Nodes[1].Attrs) { ["v"] = value } };
        AssertSameDocument(g with
        {
            Nodes = g.Nodes.Select(n => n.Id == 1 ? node : n).ToList(),
            Train = new TrainConfig(new Dictionary<string, object>(g.Train.Values) { [key] = value }),
        });
    }

    [Fact]
    public void A_value_outside_the_ir_is_refused_with_its_type()
    {
        var e = Assert.Throws<InvalidOperationException>(() => IrJson.Document(w => IrJson.WriteValue(w, new Uri("http://x"))));
        Assert.Contains("a Uri is not an IR value", e.Message);
    }

    [Fact]
    public void Summary_and_diff_encode_shapes_as_the_graph_does()
    {
        var g = CompilerTestKit.SpecGraph("vit.arch");
        using var graph = JsonDocument.Parse(IrJson.Write(g));
        using var summary = JsonDocument.Parse(Summary.Of(g).ToJson());
        using var diff = JsonDocument.Parse(GraphDiff.Compare(g, CompilerTestKit.SpecGraph("vit.arch", "dim=96")).ToJson());
        var input = graph.RootElement.GetProperty("input").Compact();
        Assert.Equal(input, summary.RootElement.GetProperty("input").Compact());
        Assert.Equal(input, diff.RootElement.GetProperty("input").GetProperty("before").Compact());
        var last = graph.RootElement.GetProperty("nodes")[g.Nodes.Count - 1].GetProperty("output_shape").Compact();
        var rows = summary.RootElement.GetProperty("rows");
        Assert.Equal(last, rows[rows.GetArrayLength() - 1].GetProperty("output_shape").Compact());
        var changed = diff.RootElement.GetProperty("changed").EnumerateArray().First(c => c.GetProperty("name").GetString() == "stem.3")
            .GetProperty("fields").EnumerateArray().Single(f => f.GetProperty("field").GetString() == "output_shape");
        Assert.Equal("tokens", changed.GetProperty("after").GetProperty("layout").GetString());
        Assert.Equal([50, 96], changed.GetProperty("after").GetProperty("dims").EnumerateArray().Select(d => d.GetInt32()));
    }

    private static void AssertSameDocument(IrGraph g)
    {
        using var json = JsonDocument.Parse(IrJson.Write(g));
        var yaml = new YamlStream();
        yaml.Load(new StringReader(GraphYaml.Write(g)));
        Same(json.RootElement, yaml.Documents[0].RootNode, "$");
    }

    /// <summary>Same keys in the same order, same sequence lengths, same scalars (numbers by value; YAML's .nan/.inf as System.Text.Json's named literals).</summary>
    private static void Same(JsonElement j, YamlNode y, string where)
    {
        switch (y)
        {
            case YamlMappingNode m:
                Assert.True(j.ValueKind == JsonValueKind.Object, $"{where}: JSON {j.ValueKind}, YAML mapping");
                var keys = m.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToList();
                Assert.Equal(keys, j.EnumerateObject().Select(p => p.Name));
                foreach (var key in keys) Same(j.GetProperty(key), m.Children[new YamlScalarNode(key)], $"{where}.{key}");
                break;
            case YamlSequenceNode s:
                Assert.True(j.ValueKind == JsonValueKind.Array, $"{where}: JSON {j.ValueKind}, YAML sequence");
                Assert.Equal(s.Children.Count, j.GetArrayLength());
                for (var i = 0; i < s.Children.Count; i++) Same(j[i], s.Children[i], $"{where}[{i}]");
                break;
            case YamlScalarNode sc:
                var text = sc.Value!;
                var plain = sc.Style == YamlDotNet.Core.ScalarStyle.Plain;
                switch (j.ValueKind)
                {
                    case JsonValueKind.Number when long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) && j.TryGetInt64(out var jl) && plain:
                        Assert.True(l == jl, $"{where}: JSON {jl}, YAML {text}");
                        break;
                    case JsonValueKind.Number:
                        Assert.True(plain && double.Parse(text, CultureInfo.InvariantCulture) == j.GetDouble(), $"{where}: JSON {j.Compact()}, YAML {text}");
                        break;
                    case JsonValueKind.True or JsonValueKind.False:
                        Assert.True(plain && text == (j.GetBoolean() ? "true" : "false"), $"{where}: JSON {j.Compact()}, YAML {text}");
                        break;
                    case JsonValueKind.String:
                        var named = plain ? text switch { ".nan" => "NaN", ".inf" => "Infinity", "-.inf" => "-Infinity", _ => null } : null;
                        Assert.True((named ?? text) == j.GetString(), $"{where}: JSON {j.Compact()}, YAML {text}");
                        break;
                    default:
                        Assert.Fail($"{where}: JSON {j.ValueKind}, YAML scalar {text}");
                        break;
                }
                break;
        }
    }
}

internal static class JsonElementText
{
    /// <summary>The element without indentation, so values written at different depths compare equal.</summary>
    public static string Compact(this JsonElement e) => JsonSerializer.Serialize(e);
}
