using ArchDsl.Dsl;
using System.Collections;
using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace ArchDsl.Compiler.Printers;

/// <summary>
/// The whole IR as YAML, and back: <c>Read(Write(g))</c> is structurally equal to <c>g</c>
/// (<see cref="Analysis.IrEquality"/>). Value types survive: a long is a plain integer (<c>5</c>), a
/// double always has a point or exponent (<c>5.0</c>, <c>1E-06</c>, <c>.inf</c>, <c>.nan</c>) in its
/// shortest round-trip form, a bool is <c>true</c>/<c>false</c>, and a string that would read as
/// anything else is quoted. A <see cref="TrainCall"/> is <c>{call: adamw, args: {lr: 0.01}}</c>, a list
/// a sequence.
/// <code>
/// format: archdsl-ir/1
/// arch: ConvMixer
/// input: {layout: image, dims: [1, 28, 28]}
/// output: 9
/// nodes:
/// - id: 1
///   name: stem.0
///   op: conv2d
///   attrs: {bias: true, groups: 1, kernel: 2, out: 128, padding: 0, stride: 2}
///   inputs: [0]
///   input_shapes: [{layout: image, dims: [1, 28, 28]}]
///   output_shape: {layout: image, dims: [128, 14, 14]}
///   params: [{name: weight, shape: [128, 1, 2, 2]}, {name: bias, shape: [128]}]
///   buffers: []
///   mult_adds: 100352
///   origin: {file: specs/convmixer.arch, line: 7, column: 6}
/// train:
///   optimizer: {call: adamw, args: {lr: 0.01}}
/// </code>
/// </summary>
public static partial class GraphYaml
{
    public const string FormatTag = "archdsl-ir/1";

    public static string Write(IrGraph graph)
    {
        var root = new YamlMappingNode
        {
            { "format", Plain(FormatTag) },
            { "arch", Str(graph.Arch) },
            { "input", ShapeNode(graph.Input) },
            { "output", Long(graph.Output) },
        };
        var nodes = new YamlSequenceNode();
        foreach (var n in graph.Nodes) nodes.Add(NodeNode(n));
        root.Add("nodes", nodes);
        root.Add("train", ValueMap(graph.Train.Values, "train", flow: false));

        var writer = new StringWriter(CultureInfo.InvariantCulture) { NewLine = "\n" };
        new YamlStream(new YamlDocument(root)).Save(writer, assignAnchors: false);
        var text = writer.ToString().Replace("\r\n", "\n");
        // The emitter closes the stream with an explicit document end marker; it carries nothing.
        if (text.EndsWith("...\n", StringComparison.Ordinal)) text = text[..^4];
        return text;
    }

    private static YamlMappingNode NodeNode(IrNode n)
    {
        var where = $"node {n.Name}";
        var m = new YamlMappingNode
        {
            { "id", Long(n.Id) },
            { "name", Str(n.Name) },
            { "op", Str(n.Op) },
            { "attrs", ValueMap(n.Attrs, where + " attrs", flow: true) },
            { "inputs", FlowSeq(n.Inputs.Select(i => (YamlNode)Long(i))) },
            { "input_shapes", FlowSeq(n.InputShapes.Select(s => (YamlNode)ShapeNode(s))) },
            { "output_shape", ShapeNode(n.OutputShape) },
            { "params", FlowSeq(n.Params.Select(t => (YamlNode)TensorNode(t))) },
            { "buffers", FlowSeq(n.Buffers.Select(t => (YamlNode)TensorNode(t))) },
            { "mult_adds", Long(n.MultAdds) },
        };
        if (n.Origin is { } o)
            m.Add("origin", new YamlMappingNode { { "file", Str(o.File) }, { "line", Long(o.Line) }, { "column", Long(o.Column) } }.Flow());
        return m;
    }

    private static YamlMappingNode ShapeNode(Shape s) => new YamlMappingNode
    {
        { "layout", Plain(s.Layout.ToString().ToLowerInvariant()) },
        { "dims", FlowSeq(s.Dims.Select(d => (YamlNode)Long(d))) },
    }.Flow();

    private static YamlMappingNode TensorNode(TensorSpec t) => new YamlMappingNode
    {
        { "name", Str(t.Name) },
        { "shape", FlowSeq(t.Shape.Select(d => (YamlNode)Long(d))) },
    }.Flow();

    private static YamlMappingNode ValueMap(IReadOnlyDictionary<string, object> values, string where, bool flow)
    {
        var m = new YamlMappingNode();
        if (flow) m.Style = MappingStyle.Flow;
        foreach (var (key, value) in values.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            m.Add(Str(key), Value(value, $"{where}.{key}"));
        return m;
    }

    private static YamlNode Value(object? v, string where) => v switch
    {
        long l => Long(l),
        double d => Plain(YamlDouble(d)),
        bool b => Plain(b ? "true" : "false"),
        string s => Str(s),
        TrainCall c => new YamlMappingNode { { "call", Str(c.Name) }, { "args", ValueMap(c.Args, where, flow: true) } }.Flow(),
        IEnumerable e and not IDictionary => FlowSeq(e.Cast<object?>().Select((x, i) => Value(x, $"{where}[{i}]"))),
        _ => throw new InvalidOperationException(
            $"{where}: {(v is null ? "null" : $"a {v.GetType().Name}")} is not an IR value (long, double, bool, string, TrainCall or a list of those)"),
    };

    private static string YamlDouble(double d) =>
        double.IsNaN(d) ? ".nan" : double.IsPositiveInfinity(d) ? ".inf" : double.IsNegativeInfinity(d) ? "-.inf" : FloatText.Format(d);

    private static YamlScalarNode Long(long v) => Plain(v.ToString(CultureInfo.InvariantCulture));

    private static YamlScalarNode Plain(string s) => new(s) { Style = ScalarStyle.Plain };

    /// <summary>A string: plain where it reads back as a string, double-quoted where plain would read as a number, bool or null.</summary>
    private static YamlScalarNode Str(string s) =>
        new(s) { Style = Classify(s) is string && s.Length > 0 && s.Trim() == s ? ScalarStyle.Plain : ScalarStyle.DoubleQuoted };

    private static YamlSequenceNode FlowSeq(IEnumerable<YamlNode> items) => new(items) { Style = SequenceStyle.Flow };

    private static YamlMappingNode Flow(this YamlMappingNode m)
    {
        m.Style = MappingStyle.Flow;
        return m;
    }

    // ---- reading -------------------------------------------------------------------------------

    /// <summary>Reads what <see cref="Write"/> wrote. Throws <see cref="FormatException"/> naming the line and the key on anything else.</summary>
    public static IrGraph Read(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            throw new FormatException($"IR YAML: {e.Start.Line}:{e.Start.Column}: {e.Message}", e);
        }
        if (stream.Documents.Count != 1) throw new FormatException($"IR YAML: expected one document, found {stream.Documents.Count}");
        var root = AsMap(stream.Documents[0].RootNode, "the document");
        var format = ScalarText(Get(root, "format", "the document"), "format");
        if (format != FormatTag) throw new FormatException($"IR YAML: format '{format}' is not {FormatTag}");

        var arch = ScalarText(Get(root, "arch", "the document"), "arch");
        var input = ReadShape(Get(root, "input", "the document"), "input");
        var output = (int)ReadLong(Get(root, "output", "the document"), "output");
        var nodes = AsSeq(Get(root, "nodes", "the document"), "nodes").Children
            .Select((n, i) => ReadNode(n, $"nodes[{i}]")).ToList();
        var train = ReadValueMap(Get(root, "train", "the document"), "train");
        return new IrGraph(arch, input, nodes, output, new TrainConfig(train));
    }

    private static IrNode ReadNode(YamlNode node, string where)
    {
        var m = AsMap(node, where);
        SourceLocation? origin = null;
        if (TryGet(m, "origin") is { } o && !(o is YamlScalarNode { Style: ScalarStyle.Plain, Value: "null" or "~" }))
        {
            var om = AsMap(o, where + ".origin");
            origin = new SourceLocation(
                ScalarText(Get(om, "file", where + ".origin"), where + ".origin.file"),
                (int)ReadLong(Get(om, "line", where + ".origin"), where + ".origin.line"),
                (int)ReadLong(Get(om, "column", where + ".origin"), where + ".origin.column"));
        }
        return new IrNode(
            (int)ReadLong(Get(m, "id", where), where + ".id"),
            ScalarText(Get(m, "name", where), where + ".name"),
            ScalarText(Get(m, "op", where), where + ".op"),
            ReadValueMap(Get(m, "attrs", where), where + ".attrs"),
            AsSeq(Get(m, "inputs", where), where + ".inputs").Children.Select((x, i) => (int)ReadLong(x, $"{where}.inputs[{i}]")).ToList(),
            AsSeq(Get(m, "input_shapes", where), where + ".input_shapes").Children.Select((x, i) => ReadShape(x, $"{where}.input_shapes[{i}]")).ToList(),
            ReadShape(Get(m, "output_shape", where), where + ".output_shape"),
            ReadTensors(Get(m, "params", where), where + ".params"),
            ReadTensors(Get(m, "buffers", where), where + ".buffers"),
            ReadLong(Get(m, "mult_adds", where), where + ".mult_adds"),
            origin);
    }

    private static Shape ReadShape(YamlNode node, string where)
    {
        var m = AsMap(node, where);
        var layoutText = ScalarText(Get(m, "layout", where), where + ".layout");
        if (!Enum.TryParse<Layout>(layoutText, ignoreCase: true, out var layout) || !Enum.IsDefined(layout) || layoutText.Any(char.IsDigit))
            throw Error(node, $"{where}.layout: '{layoutText}' is not image, tokens or vector");
        var dims = AsSeq(Get(m, "dims", where), where + ".dims").Children.Select((d, i) => (int)ReadLong(d, $"{where}.dims[{i}]")).ToArray();
        return new Shape(layout, dims);
    }

    private static List<TensorSpec> ReadTensors(YamlNode node, string where) =>
        AsSeq(node, where).Children.Select((t, i) =>
        {
            var w = $"{where}[{i}]";
            var m = AsMap(t, w);
            return new TensorSpec(
                ScalarText(Get(m, "name", w), w + ".name"),
                AsSeq(Get(m, "shape", w), w + ".shape").Children.Select((d, j) => ReadLong(d, $"{w}.shape[{j}]")).ToArray());
        }).ToList();

    private static Dictionary<string, object> ReadValueMap(YamlNode node, string where)
    {
        var m = AsMap(node, where);
        var result = new Dictionary<string, object>(StringComparer.Ordinal);
        foreach (var (k, v) in m.Children)
        {
            var key = ScalarText(k, where + " key");
            if (!result.TryAdd(key, ReadValue(v, $"{where}.{key}"))) throw Error(k, $"{where}: duplicate key '{key}'");
        }
        return result;
    }

    private static object ReadValue(YamlNode node, string where)
    {
        switch (node)
        {
            case YamlScalarNode s when s.Style is ScalarStyle.Plain or ScalarStyle.Any:
                return Classify(s.Value ?? "") ?? throw Error(node, $"{where}: null is not an IR value");
            case YamlScalarNode s:
                return s.Value ?? "";
            case YamlSequenceNode seq:
                return seq.Children.Select((x, i) => ReadValue(x, $"{where}[{i}]")).ToList();
            case YamlMappingNode m:
                var name = ScalarText(Get(m, "call", where), where + ".call");
                var args = ReadValueMap(Get(m, "args", where), where + ".args");
                if (m.Children.Count != 2) throw Error(node, $"{where}: a call has exactly the keys 'call' and 'args'");
                return new TrainCall(name, args);
            default:
                throw Error(node, $"{where}: unexpected {node.NodeType}");
        }
    }

    /// <summary>What a plain scalar means: long, double, bool, null (returned as null) or string.</summary>
    private static object? Classify(string s)
    {
        if (s is "" or "null" or "Null" or "NULL" or "~") return null;
        if (s is "true" or "True" or "TRUE") return true;
        if (s is "false" or "False" or "FALSE") return false;
        if (IntRegex().IsMatch(s))
            return long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l) ? (object)l : double.Parse(s, CultureInfo.InvariantCulture);
        if (FloatRegex().IsMatch(s)) return double.Parse(s, NumberStyles.Float, CultureInfo.InvariantCulture);
        if (s is ".nan" or ".NaN" or ".NAN") return double.NaN;
        if (s is ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF") return double.PositiveInfinity;
        if (s is "-.inf" or "-.Inf" or "-.INF") return double.NegativeInfinity;
        return s;
    }

    [GeneratedRegex(@"^[-+]?[0-9]+$")]
    private static partial Regex IntRegex();

    [GeneratedRegex(@"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatRegex();

    private static long ReadLong(YamlNode node, string where) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any } s && IntRegex().IsMatch(s.Value ?? "")
        && long.TryParse(s.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw Error(node, $"{where}: expected an integer");

    private static string ScalarText(YamlNode node, string where) =>
        node is YamlScalarNode s ? s.Value ?? "" : throw Error(node, $"{where}: expected a scalar, found a {node.NodeType}");

    private static YamlMappingNode AsMap(YamlNode node, string where) =>
        node as YamlMappingNode ?? throw Error(node, $"{where}: expected a mapping, found a {node.NodeType}");

    private static YamlSequenceNode AsSeq(YamlNode node, string where) =>
        node as YamlSequenceNode ?? throw Error(node, $"{where}: expected a sequence, found a {node.NodeType}");

    private static YamlNode? TryGet(YamlMappingNode m, string key) =>
        m.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : null;

    private static YamlNode Get(YamlMappingNode m, string key, string where) =>
        TryGet(m, key) ?? throw Error(m, $"{where}: missing key '{key}'");

    private static FormatException Error(YamlNode node, string message) =>
        new($"IR YAML: {node.Start.Line}:{node.Start.Column}: {message}");
}
