using ArchDsl.Compiler.Printers;
using ArchDsl.Compiler.Tests.Snapshots;

namespace ArchDsl.Compiler.Tests;

public class PrinterTextTests
{
    [Fact]
    public void ConvMixer() => Snapshot.Verify(GraphPrinter.ToText(PrinterFixtures.ConvMixer()));

    [Fact]
    public void Vit() => Snapshot.Verify(GraphPrinter.ToText(PrinterFixtures.Vit()));

    [Fact]
    public void Node_lines_carry_name_op_attrs_shapes_and_counts()
    {
        var text = GraphPrinter.ToText(PrinterFixtures.ConvMixer());
        var line = text.Split('\n').Single(l => l.TrimStart().StartsWith("blocks.1.token.0 ", StringComparison.Ordinal));
        Assert.Matches(@"^      blocks\.1\.token\.0 +conv2d\(bias=true, groups=8, kernel=3, out=8, padding=1, stride=1\)  image\[8, 4, 4\] -> image\[8, 4, 4\]  params 80  mult-adds 1,152$", line);
        var bn = text.Split('\n').Single(l => l.TrimStart().StartsWith("stem.2 ", StringComparison.Ordinal));
        Assert.EndsWith("batchnorm(eps=1e-05, momentum=0.1)  image[8, 4, 4] -> image[8, 4, 4]  params 16  buffers 17  mult-adds 256", bn);
    }

    [Fact]
    public void Residual_add_names_its_inputs_and_plain_chains_do_not()
    {
        var lines = GraphPrinter.ToText(PrinterFixtures.ConvMixer()).Split('\n');
        Assert.Contains(lines, l => l.Contains("blocks.0.token.3") && l.EndsWith("from blocks.0.token.2, stem.2"));
        Assert.Contains(lines, l => l.Contains("blocks.1.token.3") && l.EndsWith("from blocks.1.token.2, blocks.0.channel.2"));
        Assert.Equal(2, lines.Count(l => l.Contains(" from ")));
    }

    [Fact]
    public void Group_headers_open_in_order_with_subtotals()
    {
        var lines = GraphPrinter.ToText(PrinterFixtures.ConvMixer(depth: 3)).Split('\n');
        string[] expected = ["stem  [params 56, buffers 17, mult-adds 768]", "blocks  [params 552, buffers 102, mult-adds 8,064]",
            "  blocks.0  [params 184, buffers 34, mult-adds 2,688]", "    blocks.0.token  [params 96, buffers 17, mult-adds 1,408]",
            "  blocks.2  [params 184, buffers 34, mult-adds 2,688]", "head  [params 90, mult-adds 80]"];
        var indices = expected.Select(e => Array.IndexOf(lines, e)).ToArray();
        Assert.All(indices, i => Assert.True(i >= 0, "missing header:\n" + string.Join("\n", expected.Where((_, k) => indices[k] < 0))));
        Assert.Equal(indices.OrderBy(i => i), indices);
        Assert.Single(lines, l => l == "blocks  [params 552, buffers 102, mult-adds 8,064]");
    }

    [Fact]
    public void Totals_and_train_config_close_the_text()
    {
        var graph = PrinterFixtures.ConvMixer();
        var text = GraphPrinter.ToText(graph);
        Assert.Equal(146 + 2 * 184, graph.ParamCount);
        Assert.Contains("totals\n  params     514\n  buffers    85\n  mult-adds  6,224\n", text);
        Assert.EndsWith(
            "train\n  amp: bf16\n  augment: [crop(pad: 2), flip]\n  batch: 128\n  clip_grad: 1.0\n  data: fashion-mnist\n" +
            "  epochs: 5\n  optimizer: adamw(lr: 0.01, weight_decay: 0.01)\n  schedule: onecycle\n", text);
    }

    [Fact]
    public void Output_does_not_depend_on_attribute_or_train_key_insertion_order()
    {
        var g = PrinterFixtures.ConvMixer();
        var reversed = g with
        {
            Nodes = g.Nodes.Select(n => n with { Attrs = n.Attrs.Reverse().ToDictionary(kv => kv.Key, kv => kv.Value) }).ToList(),
            Train = new TrainConfig(g.Train.Values.Reverse().ToDictionary(kv => kv.Key, kv => kv.Value)),
        };
        Assert.Equal(GraphPrinter.ToText(g), GraphPrinter.ToText(reversed));
    }

    [Fact]
    public void Text_is_lf_only_without_trailing_spaces_or_paths()
    {
        var text = GraphPrinter.ToText(PrinterFixtures.ConvMixer());
        Assert.DoesNotContain('\r', text);
        Assert.DoesNotContain(text.Split('\n'), l => l.EndsWith(' '));
        Assert.DoesNotContain(PrinterFixtures.SpecFile, text);
        Assert.EndsWith("\n", text);
    }

    [Theory]
    [InlineData(1.0, "1.0")]
    [InlineData(0.1, "0.1")]
    [InlineData(1e-6, "1e-06")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(123456789012.0, "123456789012.0")]
    [InlineData(double.NaN, "nan")]
    [InlineData(double.NegativeInfinity, "-inf")]
    public void Doubles_read_as_doubles(double value, string expected) => Assert.Equal(expected, ValueFormat.Value(value));

    [Theory]
    [InlineData("same", "same")]
    [InlineData("fashion-mnist", "fashion-mnist")]
    [InlineData("true", "\"true\"")]
    [InlineData("5", "\"5\"")]
    [InlineData("", "\"\"")]
    [InlineData("two words", "\"two words\"")]
    [InlineData("a\"b\\c", "\"a\\\"b\\\\c\"")]
    public void Strings_are_bare_words_or_quoted(string value, string expected) => Assert.Equal(expected, ValueFormat.Value(value));

    [Fact]
    public void Values_of_other_types_show_their_type()
    {
        Assert.Equal("5", ValueFormat.Value(5L));
        Assert.Equal("5:Int32", ValueFormat.Value(5));
        Assert.Equal("sgd()", ValueFormat.Value(new TrainCall("sgd", new Dictionary<string, object>())));
        Assert.Equal("[1, 2.5, [x]]", ValueFormat.Value(new object[] { 1L, 2.5, new List<object> { "x" } }));
    }
}
