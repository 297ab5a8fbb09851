using Google.Protobuf;
using ArchDsl.Compiler;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Export;

/// <summary>
/// How one op appears in an exported ONNX graph (opset <see cref="OnnxGraph.Opset"/>): <see cref="Emit"/> adds the
/// op's nodes to the graph for one IR node, given the names of its input values, and returns the name of its output.
/// </summary>
public sealed record OnnxForm(Func<OnnxGraph, ExportNode, string[], string> Emit);

/// <summary>
/// An ONNX graph under construction, written as ONNX's protobuf messages (onnx.proto, Apache-2.0: ModelProto,
/// GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto — only the fields used here, by their field
/// numbers) with Google.Protobuf's <see cref="CodedOutputStream"/>: eight small messages do not warrant generating
/// code from the whole schema. Values are named <c>&lt;IR node&gt;/&lt;op&gt;_&lt;n&gt;</c>; initializers by their IR tensor names.
/// </summary>
public sealed class OnnxGraph(IReadOnlyDictionary<string, Tensor> weights)
{
    /// <summary>The default ONNX opset (LayerNormalization exists from 17; GELU is composed from Erf or Tanh).</summary>
    public const int Opset = 17;

    private readonly List<Proto> _nodes = [];
    private readonly List<Proto> _initializers = [];
    private readonly HashSet<string> _names = [];
    private string _prefix = "";
    private int _count;

    /// <summary>The IR node whose nodes are being added (names its values and its weights).</summary>
    internal void Begin(IrNode node) { _prefix = node.Name; _count = 0; }

    /// <summary>Adds node <paramref name="op"/> reading <paramref name="inputs"/>; attributes are long, double, long[] or string.</summary>
    public string Node(string op, string[] inputs, params (string Name, object Value)[] attributes) => Node(op, inputs, null, attributes);

    /// <summary>An Identity node whose output has the name <paramref name="name"/> (the graph's output).</summary>
    internal string Rename(string value, string name) => Node("Identity", [value], name);

    private string Node(string op, string[] inputs, string? outputName, params (string Name, object Value)[] attributes)
    {
        var output = outputName ?? $"{_prefix}/{op}_{_count++}";
        var n = new Proto();
        foreach (var i in inputs) n.Str(1, i);
        n.Str(2, output).Str(3, output).Str(4, op);
        foreach (var (name, value) in attributes)
        {
            var a = new Proto().Str(1, name);
            switch (value)
            {
                case long l: a.Int(3, l).Int(20, 2); break;
                case int l: a.Int(3, l).Int(20, 2); break;
                case double d: a.Float(2, (float)d).Int(20, 1); break;
                case long[] ls: foreach (var l in ls) a.Int(8, l); a.Int(20, 7); break;
                case string s: a.Str(4, s).Int(20, 3); break;
                default: throw new ArgumentException($"attribute {name}: unsupported value {value}");
            }
            n.Msg(5, a);
        }
        _nodes.Add(n);
        return output;
    }

    /// <summary>A float32 constant of shape <paramref name="dims"/>.</summary>
    public string Const(float[] data, params long[] dims) => Initializer($"{_prefix}/const_{_count++}", 1, Raw(data), dims);

    /// <summary>An int64 constant (shapes, indices) of shape <paramref name="dims"/> (empty: a scalar).</summary>
    public string Ints(long[] data, params long[] dims) => Initializer($"{_prefix}/const_{_count++}", 7, Raw(data), dims);

    /// <summary>The node's tensor <paramref name="local"/> (<c>weight</c>, <c>qkv.bias</c>) as an initializer named by its IR name.</summary>
    public string Weight(string local) => Weight(local, transpose: false);

    /// <summary>A 2-D weight transposed (<c>[out, in]</c> → <c>[in, out]</c>, what MatMul takes), named <c>&lt;IR name&gt;.T</c>.</summary>
    public string WeightT(string local) => Weight(local, transpose: true);

    /// <summary><c>x Wᵀ + b</c> over the last dim (torch.nn.Linear), with the node's <paramref name="weight"/> and optional <paramref name="bias"/>.</summary>
    public string Linear(string x, ExportNode n, string weight = "weight", string bias = "bias")
    {
        var y = Node("MatMul", [x, WeightT(weight)]);
        return n.Has(bias) ? Node("Add", [y, Weight(bias)]) : y;
    }

    private string Weight(string local, bool transpose)
    {
        var name = $"{_prefix}.{local}" + (transpose ? ".T" : "");
        if (_names.Contains(name)) return name;
        var t = weights.TryGetValue($"{_prefix}.{local}", out var w) ? w : throw new ExportException($"node '{_prefix}' has no tensor '{local}'");
        using var c = (transpose ? t.t() : t.alias()).contiguous();
        var data = c.to(ScalarType.Float32).data<float>().ToArray();
        return Initializer(name, 1, Raw(data), c.shape);
    }

    private string Initializer(string name, int type, byte[] raw, long[] dims)
    {
        var t = new Proto();
        foreach (var d in dims) t.Int(1, d);
        t.Int(2, type).Str(8, name).Bytes(9, raw);
        _initializers.Add(t);
        _names.Add(name);
        return name;
    }

    private static byte[] Raw<T>(T[] data) where T : struct => System.Runtime.InteropServices.MemoryMarshal.AsBytes(data.AsSpan()).ToArray();

    /// <summary>The ModelProto: <paramref name="input"/> <c>[batch, …]</c> float32 and <paramref name="output"/>, batch a named dimension.</summary>
    internal byte[] Model(string name, string input, long[] inputDims, string output, long[] outputDims, string doc)
    {
        var g = new Proto();
        foreach (var n in _nodes) g.Msg(1, n);
        g.Str(2, name);
        foreach (var i in _initializers) g.Msg(5, i);
        g.Str(10, doc);
        g.Msg(11, ValueInfo(input, inputDims));
        g.Msg(12, ValueInfo(output, outputDims));
        var m = new Proto().Int(1, 8).Str(2, "archc").Str(3, typeof(OnnxGraph).Assembly.GetName().Version?.ToString() ?? "0")
            .Msg(7, g).Msg(8, new Proto().Str(1, "").Int(2, Opset));
        return m.ToArray();
    }

    private static Proto ValueInfo(string name, long[] dims)
    {
        var shape = new Proto().Msg(1, new Proto().Str(2, "batch"));
        foreach (var d in dims) shape.Msg(1, new Proto().Int(1, d));
        return new Proto().Str(1, name).Msg(2, new Proto().Msg(1, new Proto().Int(1, 1).Msg(2, shape)));
    }

    /// <summary>One protobuf message being written: fields in the order added (proto2 repeated scalars unpacked, as onnx.proto declares them).</summary>
    private sealed class Proto
    {
        private readonly MemoryStream _stream = new();
        private readonly CodedOutputStream _out;
        public Proto() => _out = new CodedOutputStream(_stream, leaveOpen: true);

        public Proto Int(int field, long v) { _out.WriteTag(field, WireFormat.WireType.Varint); _out.WriteInt64(v); return this; }
        public Proto Float(int field, float v) { _out.WriteTag(field, WireFormat.WireType.Fixed32); _out.WriteFloat(v); return this; }
        public Proto Str(int field, string s) { _out.WriteTag(field, WireFormat.WireType.LengthDelimited); _out.WriteString(s); return this; }
        public Proto Bytes(int field, byte[] b) { _out.WriteTag(field, WireFormat.WireType.LengthDelimited); _out.WriteBytes(ByteString.CopyFrom(b)); return this; }
        public Proto Msg(int field, Proto m) => Bytes(field, m.ToArray());
        public byte[] ToArray() { _out.Flush(); return _stream.ToArray(); }
    }
}
