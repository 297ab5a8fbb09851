using ArchDsl.Compiler.Analysis;
using ArchDsl.Compiler.Printers;
using ArchDsl.Compiler.Tests.Snapshots;

namespace ArchDsl.Compiler.Tests;

public class YamlTests
{
    private static IrGraph RoundTrip(IrGraph g) => GraphYaml.Read(GraphYaml.Write(g));

    private static void AssertRoundTrips(IrGraph g)
    {
        var yaml = GraphYaml.Write(g);
        var back = GraphYaml.Read(yaml);
        Assert.True(IrEquality.Equal(g, back), IrEquality.Explain(g, back) + "\n" + yaml);
        Assert.Equal(yaml, GraphYaml.Write(back));
    }

    [Fact]
    public void ConvMixer_round_trips() => AssertRoundTrips(PrinterFixtures.ConvMixer(depth: 3));

    [Fact]
    public void Vit_round_trips() => AssertRoundTrips(PrinterFixtures.Vit());

    [Fact]
    public void Format() => Snapshot.Verify(GraphYaml.Write(PrinterFixtures.ConvMixer(depth: 1)));

    public static TheoryData<string, object> Values() => new()
    {
        { "long", 5L }, { "long_max", long.MaxValue }, { "long_min", long.MinValue }, { "zero", 0L },
        { "double_whole", 5.0 }, { "double_tenth", 0.1 }, { "double_small", 1e-6 }, { "double_big", 1e300 },
        { "double_max", double.MaxValue }, { "double_epsilon", double.Epsilon }, { "double_negzero", -0.0 },
        { "double_third", 1.0 / 3.0 }, { "nan", double.NaN }, { "inf", double.PositiveInfinity }, { "ninf", double.NegativeInfinity },
        { "true", true }, { "false", false },
        { "word", "same" }, { "str_true", "true" }, { "str_five", "5" }, { "str_float", "1e5" }, { "str_null", "null" },
        { "str_tilde", "~" }, { "str_empty", "" }, { "str_space", " padded " }, { "str_colon", "a: b" }, { "str_hash", "x # y" },
        { "str_quote", "say \"hi\"\\" }, { "str_newline", "two\nlines" }, { "str_unicode", "μ-δ ✓" }, { "str_dash", "- item" },
        { "str_brackets", "[1, 2]" }, { "str_inf", ".inf" },
        { "call", new TrainCall("adamw", new Dictionary<string, object> { ["lr"] = 3e-4, ["betas"] = new List<object> { 0.9, 0.999 }, ["amsgrad"] = false }) },
        { "call_empty", new TrainCall("sgd", new Dictionary<string, object>()) },
        { "list", new List<object> { new TrainCall("crop", new Dictionary<string, object> { ["pad"] = 2L }), "flip", 1L, 2.0, true } },
        { "list_empty", new List<object>() },
        { "list_nested", new List<object> { new List<object> { 1L }, new List<object>() } },
    };

    [Theory]
    [MemberData(nameof(Values))]
    public void Values_keep_their_type_and_exact_value(string key, object value)
    {
        var g = PrinterFixtures.ConvMixer(depth: 1);
        var node = g.Nodes[1] with { Attrs = new Dictionary<string, object>(g.Nodes[1].Attrs) { ["v"] = value } };
        var withValue = g with
        {
            Nodes = g.Nodes.Select(n => n.Id == 1 ? node : n).ToList(),
            Train = new TrainConfig(new Dictionary<string, object>(g.Train.Values) { [key] = value }),
        };
        var back = RoundTrip(withValue);
        Assert.True(IrEquality.Equal(withValue, back), IrEquality.Explain(withValue, back));
        if (value is not (TrainCall or List<object>))
        {
            Assert.IsType(value.GetType(), back.Nodes[1].Attrs["v"]);
            Assert.IsType(value.GetType(), back.Train[key]);
        }
    }

    [Fact]
    public void Origins_round_trip_including_absent_ones_and_awkward_paths()
    {
        var g = PrinterFixtures.ConvMixer(depth: 1);
        var nodes = g.Nodes.ToList();
        nodes[1] = nodes[1] with { Origin = new SourceLocation("C:\\specs\\my spec: v2.arch", 12, 7) };
        nodes[2] = nodes[2] with { Origin = null };
        AssertRoundTrips(g with { Nodes = nodes });
        var back = RoundTrip(g with { Nodes = nodes });
        Assert.Null(back.Nodes[2].Origin);
        Assert.Equal(new SourceLocation("C:\\specs\\my spec: v2.arch", 12, 7), back.Nodes[1].Origin);
    }

    [Fact]
    public void Keys_and_names_that_look_like_numbers_stay_strings()
    {
        var g = PrinterFixtures.ConvMixer(depth: 1);
        var nodes = g.Nodes.ToList();
        nodes[2] = nodes[2] with { Name = "123", Op = "true", Attrs = new Dictionary<string, object> { ["1"] = 1L, ["null"] = "x" } };
        AssertRoundTrips(g with { Arch = "0.5", Nodes = nodes });
    }

    [Fact]
    public void Write_rejects_values_outside_the_ir_contract_naming_where()
    {
        var g = PrinterFixtures.ConvMixer(depth: 1);
        var nodes = g.Nodes.ToList();
        nodes[1] = nodes[1] with { Attrs = new Dictionary<string, object> { ["kernel"] = 3 } }; // an int, not a long
        var e = Assert.Throws<InvalidOperationException>(() => GraphYaml.Write(g with { Nodes = nodes }));
        Assert.Contains("node stem.0 attrs.kernel", e.Message);
        Assert.Contains("Int32", e.Message);
    }

    [Theory]
    [InlineData("format: archdsl-ir/1\narch: X\n", "missing key 'input'")]
    [InlineData("format: other/9\n", "format 'other/9'")]
    [InlineData("format: archdsl-ir/1\narch: X\ninput: {layout: blob, dims: [1]}\noutput: 0\nnodes: []\ntrain: {}\n", "'blob' is not image")]
    [InlineData("format: archdsl-ir/1\narch: X\ninput: {layout: image, dims: [1, a, 2]}\noutput: 0\nnodes: []\ntrain: {}\n", "input.dims[1]: expected an integer")]
    [InlineData("format: archdsl-ir/1\narch: X\ninput: {layout: vector, dims: [1]}\noutput: 0\nnodes: {}\ntrain: {}\n", "nodes: expected a sequence")]
    [InlineData("format: archdsl-ir/1\narch: X\ninput: {layout: vector, dims: [1]}\noutput: 0\nnodes: []\ntrain: {a: null}\n", "train.a: null is not an IR value")]
    [InlineData("a: [unclosed\n", "IR YAML: ")]
    public void Read_rejects_malformed_yaml_with_a_located_message(string yaml, string expected)
    {
        var e = Assert.Throws<FormatException>(() => GraphYaml.Read(yaml));
        Assert.Contains(expected, e.Message);
        Assert.Matches(@"^IR YAML: ", e.Message);
    }

    [Fact]
    public void Equality_sees_every_kind_of_difference()
    {
        var g = PrinterFixtures.ConvMixer(depth: 1);
        IrGraph Change(Func<IrNode, IrNode> f) => g with { Nodes = g.Nodes.Select(n => n.Id == 1 ? f(n) : n).ToList() };
        Assert.True(IrEquality.Equal(g, PrinterFixtures.ConvMixer(depth: 1)));
        var cases = new (IrGraph Other, string Where)[]
        {
            (Change(n => n with { Attrs = new Dictionary<string, object>(n.Attrs) { ["kernel"] = 2.0 } }), "nodes[1].attrs.kernel: 2 (Int64) vs 2.0 (Double)"),
            (Change(n => n with { Attrs = new Dictionary<string, object>(n.Attrs) { ["extra"] = 1L } }), "nodes[1].attrs.extra: missing"),
            (Change(n => n with { Inputs = [0, 0] }), "nodes[1].inputs"),
            (Change(n => n with { InputShapes = [Shape.Image(1, 8, 9)] }), "nodes[1].input_shapes"),
            (Change(n => n with { OutputShape = Shape.Tokens(8, 16) }), "nodes[1].output_shape"),
            (Change(n => n with { Params = [new TensorSpec("weight", [8, 1, 2, 3])] }), "nodes[1].params"),
            (Change(n => n with { Buffers = [new TensorSpec("x", [])] }), "nodes[1].buffers"),
            (Change(n => n with { MultAdds = 1 }), "nodes[1].mult_adds"),
            (Change(n => n with { Origin = null }), "nodes[1].origin"),
            (Change(n => n with { Name = "stem.9" }), "nodes[1].name"),
            (g with { Output = 0 }, "output"),
            (g with { Train = new TrainConfig(new Dictionary<string, object>(g.Train.Values) { ["clip_grad"] = 1L }) }, "train.clip_grad"),
            (g with { Train = new TrainConfig(new Dictionary<string, object>(g.Train.Values)
                { ["optimizer"] = new TrainCall("adamw", new Dictionary<string, object> { ["lr"] = 0.02, ["weight_decay"] = 0.01 }) }) }, "train.optimizer(adamw).lr"),
            (g with { Train = new TrainConfig(new Dictionary<string, object>(g.Train.Values) { ["augment"] = new List<object> { "flip" } }) }, "train.augment: list of 2 vs list of 1"),
            (g with { Train = new TrainConfig(new Dictionary<string, object>(g.Train.Values) { ["clip_grad"] = 1.0000000000000002 }) }, "train.clip_grad"),
        };
        foreach (var (other, where) in cases)
        {
            Assert.False(IrEquality.Equal(g, other), where);
            Assert.StartsWith(where, IrEquality.Explain(g, other));
        }
        Assert.True(IrEquality.ValueEqual(double.NaN, double.NaN));
        Assert.False(IrEquality.ValueEqual(0.0, -0.0));
        Assert.True(IrEquality.ValueEqual(new object[] { 1L, "a" }, new List<object> { 1L, "a" }));
        Assert.False(IrEquality.ValueEqual("ab", new List<object> { 'a', 'b' }));
    }
}
