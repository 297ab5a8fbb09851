using System.Text.Json;
using ArchDsl.Compiler.Analysis;
using ArchDsl.Compiler.Printers;
using ArchDsl.Compiler.Tests.Snapshots;
using static ArchDsl.Compiler.Tests.CompilerTestKit;

namespace ArchDsl.Compiler.Tests;

public class SummaryTests
{
    [Fact]
    public void Totals_add_up_and_memory_is_four_bytes_an_element()
    {
        var g = PrinterFixtures.ConvMixer(depth: 2);
        var s = Summary.Of(g);
        Assert.Equal(g.Nodes.Count, s.Rows.Sum(r => r.Count)); // the two blocks' layers collapse, one row each
        Assert.Equal(514, s.TotalParams);
        Assert.Equal(514, s.TrainableParams);
        Assert.Equal(0, s.NonTrainableParams);
        Assert.Equal(85, s.Buffers);
        Assert.Equal(6224, s.MultAdds);
        Assert.Equal(64 * 4, s.InputBytes);
        // Every node's output: the input image[1, 8, 8], 3 stem + 7 a block × 2 image[8, 4, 4], vector[8] and vector[10].
        Assert.Equal((64 + 17 * 128 + 8 + 10) * 4, s.ActivationBytes);
        Assert.Equal(514 * 4, s.ParamBytes);
        Assert.Equal(85 * 4, s.BufferBytes);
        Assert.Equal(s.ActivationBytes + s.ParamBytes + s.BufferBytes, s.EstimatedTotalBytes);
        Assert.Equal(new SummaryRow("blocks.{0,1}.token.0", "conv2d", Shape.Image(8, 4, 4), 80, 0, 1152)
                     { InputShape = Shape.Image(8, 4, 4), Kernel = "3×3 / 1", Count = 2 }, s.Rows[4]);
        Assert.Equal(new SummaryRow("stem.2", "batchnorm", Shape.Image(8, 4, 4), 16, 17, 256) { InputShape = Shape.Image(8, 4, 4) }, s.Rows[3]);
    }

    [Theory]
    [InlineData("imagenet/vit-b16.arch")]
    [InlineData("imagenet/convmixer-768-32.arch")]
    [InlineData("imagenet/mixer-b16.arch")]
    [InlineData("resmlp.arch")]
    [InlineData("imagenet/gmlp-s16.arch")]
    public void Rows_at_every_depth_account_for_every_parameter_and_mult_add(string spec)
    {
        var g = SpecGraph(spec);
        foreach (var depth in new int?[] { null, 1, 2, 3, 4 })
        {
            var s = Summary.Of(g, depth);
            Assert.Equal(g.ParamCount, s.Rows.Sum(r => r.Params * r.Count));
            Assert.Equal(g.MultAdds, s.Rows.Sum(r => r.MultAdds * r.Count));
            Assert.Equal(g.BufferCount, s.Rows.Sum(r => r.Buffers * r.Count));
        }
    }

    [Fact]
    public void ViT_B_collapses_its_twelve_blocks_and_takes_its_depth_from_the_names()
    {
        var g = SpecGraph("imagenet/vit-b16.arch");
        Assert.Equal(104, g.Nodes.Count); // input, 4 stem, 8 layers in each of 12 blocks, 3 head
        var flat = Summary.Of(g);
        Assert.Equal(16, flat.Rows.Count);
        Assert.All(flat.Rows.Where(r => r.Name.StartsWith("blocks.", StringComparison.Ordinal)), r => Assert.Equal(12, r.Count));
        Assert.Equal("blocks.{0..11}.token.0", flat.Rows.Single(r => r.Op == "attention").Name);

        Assert.Equal(["input", "stem", "blocks", "head"], Summary.Of(g, depth: 1).Rows.Select(r => r.Name));
        var two = Summary.Of(g, depth: 2);
        var blocks = two.Rows.Single(r => r.Name == "blocks.{0..11}");
        Assert.Equal((12, "8 layers", 7_087_872L), (blocks.Count, blocks.Op, blocks.Params));
        Assert.Equal(Shape.Tokens(197, 768), blocks.InputShape);
        Assert.Contains("blocks.{0..11} ×12   8 layers", two.ToText());
    }

    [Fact]
    public void A_group_of_one_layer_is_one_layer_not_one_layers()
    {
        var g = Graph("""
            arch One(dim = 4)
            input image[1, 4, 4]
            stem conv(dim, kernel: 2, stride: 2)
            head global_pool -> linear(3)
            """);
        var text = Summary.Of(g, depth: 1).ToText();
        Assert.Matches(@"\nstem +1 layer +\S", text);
        Assert.Matches(@"\nhead +2 layers +\S", text);
        Assert.DoesNotContain("1 layers", text);
        Assert.Equal("1 byte", ValueFormat.Plural(1, "byte"));
        Assert.Equal("1,024 bytes", ValueFormat.Plural(1024, "byte"));
        Assert.Equal("0 bytes", ValueFormat.Plural(0, "byte"));
    }

    [Fact]
    public void Kernel_and_stride_columns_and_the_activation_estimate_at_a_batch()
    {
        var g = SpecGraph("imagenet/convmixer-768-32.arch");
        var s = Summary.Of(g, batch: 64);
        Assert.Equal("7×7 / 7", s.Rows.Single(r => r.Name == "stem.0").Kernel);
        Assert.Equal("7×7 / 1", s.Rows.Single(r => r.Name == "blocks.{0..31}.token.0").Kernel);
        Assert.Equal("1×1 / 1", s.Rows.Single(r => r.Name == "blocks.{0..31}.channel.0").Kernel);
        Assert.Equal("", s.Rows.Single(r => r.Name == "head.1").Kernel);
        // Every node's output, the input included, float32, times the batch.
        Assert.Equal(64L * 4 * g.Nodes.Sum(n => n.OutputShape.Elements), s.ActivationBytesAtBatch);
        var text = s.ToText();
        Assert.Contains($"Forward activations at batch 64: {s.ActivationBytesAtBatch:N0} bytes", text);
        Assert.Contains("what a forward pass keeps for backward", text);
        Assert.Throws<ArgumentOutOfRangeException>(() => Summary.Of(g, depth: 0));
    }

    [Fact]
    public void Text() => Snapshot.Verify(Summary.Of(PrinterFixtures.Vit()).ToText());

    [Fact]
    public void Text_columns_are_fixed_width_and_numbers_grouped()
    {
        var big = new PrinterFixtures.Builder("Big", Shape.Tokens(197, 768));
        big.Add("input", "input", Shape.Tokens(197, 768));
        big.Add("blocks.0.linear", "linear", Shape.Tokens(197, 3072), new() { ["out"] = 3072L, ["bias"] = true },
            [new TensorSpec("weight", [3072, 768]), new TensorSpec("bias", [3072])], multAdds: 197L * 768 * 3072);
        big.Add("head.0", "cls", Shape.Vector(3072));
        var text = Summary.Of(big.Build(new TrainConfig(new Dictionary<string, object>()))).ToText();
        var lines = text.Split('\n');
        Assert.Contains("Total params: 2,362,368", lines);
        Assert.Contains("Total mult-adds: 464,781,312 (464.78 M)", lines);
        Assert.Contains("Params size: 9,449,472 bytes (9.45 MB)", lines);
        Assert.Contains("Buffers: 0", lines);
        var header = lines[2];
        var row = lines.Single(l => l.StartsWith("blocks.0.linear", StringComparison.Ordinal));
        // Right-aligned numbers end where their header ends.
        Assert.Equal(header.IndexOf("Params", StringComparison.Ordinal) + "Params".Length, row.IndexOf("2,362,368", StringComparison.Ordinal) + "2,362,368".Length);
        Assert.Equal(header.Length, row.Length);
        Assert.Equal(header.IndexOf("Output shape", StringComparison.Ordinal), row.IndexOf("tokens[197, 3072]", StringComparison.Ordinal));
        var cls = lines.Single(l => l.StartsWith("head.0", StringComparison.Ordinal));
        Assert.EndsWith("--", cls);
        var paramsEnd = header.IndexOf("Params", StringComparison.Ordinal) + "Params".Length;
        Assert.Equal("--", cls[(paramsEnd - 2)..paramsEnd]);
        Assert.Equal(lines[1].Length, header.Length);
    }

    [Fact]
    public void Json_carries_rows_and_totals()
    {
        var s = Summary.Of(PrinterFixtures.ConvMixer(depth: 1));
        var json = s.ToJson();
        Assert.DoesNotContain('\r', json);
        using var doc = JsonDocument.Parse(json);
        var root = doc.RootElement;
        Assert.Equal("ConvMixer", root.GetProperty("arch").GetString());
        Assert.Equal([1, 8, 8], root.GetProperty("input").GetProperty("dims").EnumerateArray().Select(d => d.GetInt32()));
        var rows = root.GetProperty("rows").EnumerateArray().ToList();
        Assert.Equal(s.Rows.Count, rows.Count);
        Assert.Equal("stem.0", rows[1].GetProperty("name").GetString());
        Assert.Equal("conv2d", rows[1].GetProperty("op").GetString());
        Assert.Equal("image", rows[1].GetProperty("output_shape").GetProperty("layout").GetString());
        Assert.Equal(40, rows[1].GetProperty("params").GetInt64());
        Assert.Equal(512, rows[1].GetProperty("mult_adds").GetInt64());
        var totals = root.GetProperty("totals");
        Assert.Equal(s.TotalParams, totals.GetProperty("params").GetInt64());
        Assert.Equal(330, totals.GetProperty("params").GetInt64());
        Assert.Equal(s.Buffers, totals.GetProperty("buffers").GetInt64());
        Assert.Equal(s.ActivationBytes, totals.GetProperty("activation_bytes").GetInt64());
        Assert.Equal(s.EstimatedTotalBytes, totals.GetProperty("estimated_total_bytes").GetInt64());
        Assert.Equal(s.MultAdds, totals.GetProperty("mult_adds").GetInt64());
    }
}
