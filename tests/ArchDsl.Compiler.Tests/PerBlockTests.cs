namespace ArchDsl.Compiler.Tests;

using static CompilerTestKit;

/// <summary>
/// Per-block names inside a mixer: <c>i</c> (the block's index in its mixer statement, 0-based as timm's <c>dpr[i]</c>)
/// and <c>depth</c> (the statement's block count). timm's linear stochastic-depth rule,
/// <c>dpr = [x.item() for x in torch.linspace(0, drop_path_rate, depth)]</c> (timm/models/vision_transformer.py), is
/// <c>drop_path: rate * i / (depth - 1)</c>.
/// </summary>
public class PerBlockTests
{
    private const string Mixer = "arch A(d = 8, rate = 0.1)\ninput tokens[4, 8]\nmixer * 4 {{\n  token: linear(d)\n  channel: linear(d)\n  {0}\n}}";

    [Fact]
    public void Drop_path_follows_timms_linear_rule_block_by_block()
    {
        var g = Graph(string.Format(Mixer, "drop_path: rate * i / (depth - 1)"));
        // torch.linspace(0, 0.1, 4) = [0, 0.0333, 0.0667, 0.1]; timm's DropPath(0.) is an Identity, so block 0 has none.
        Assert.DoesNotContain(g.Nodes, n => n.Name.StartsWith("blocks.0.", StringComparison.Ordinal) && n.Op == "droppath");
        for (var b = 1; b < 4; b++)
            foreach (var sub in new[] { "token", "channel" })
                Assert.Equal(0.1 * b / 3, (double)Node(g, $"blocks.{b}.{sub}_drop").Attrs["p"], 15);
    }

    [Fact]
    public void Per_block_values_reach_the_graph_text_and_a_uniform_rate_stays_uniform()
    {
        var text = Printers.GraphPrinter.ToText(Graph(string.Format(Mixer, "drop_path: rate * i / (depth - 1)")));
        Assert.Contains("droppath(p=0.10000000000000002)", text.Replace(" ", "")); // (0.1 * 3) / 3 in doubles
        Assert.Contains("droppath(p=0.03333333333333333)", text.Replace(" ", ""));
        var uniform = Graph(string.Format(Mixer, "drop_path: rate"));
        Assert.All(uniform.Nodes.Where(n => n.Op == "droppath"), n => Assert.Equal(0.1, n.Attrs["p"]));
        Assert.Equal(8, uniform.Nodes.Count(n => n.Op == "droppath"));
    }

    [Fact]
    public void Chains_see_the_block_index_too()
    {
        // CaiT-like per-block LayerScale init; the chain's shape names still resolve beside i.
        var g = Graph(string.Format(Mixer, "").Replace("channel: linear(d)", "channel: linear(D) -> layer_scale(init: 0.5 * (i + 1))"));
        Assert.Equal([0.5, 1.0, 1.5, 2.0], Enumerable.Range(0, 4).Select(b => Convert.ToDouble(Node(g, $"blocks.{b}.channel.1").Attrs["init"])));
    }

    [Fact]
    public void Depth_is_the_mixers_block_count_and_i_numbers_each_mixer_from_zero()
    {
        var spec = "arch A(d = 8)\ninput tokens[4, 8]\nmixer * 2 { token: linear(d) -> layer_scale(init: i + depth) }\nmixer * 3 { token: linear(d) -> layer_scale(init: i + depth) }";
        var g = Graph(spec);
        Assert.Equal([2.0, 3.0, 3.0, 4.0, 5.0], Enumerable.Range(0, 5).Select(b => Convert.ToDouble(Node(g, $"blocks.{b}.token.1").Attrs["init"])));
    }

    [Fact]
    public void A_value_out_of_range_in_a_later_block_is_reported_once_at_the_entry()
    {
        // 0.4 * i reaches 1.2 at block 3; block 0..2 are fine. One error, then the expansion stops.
        var spec = string.Format(Mixer, "drop_path: 0.4 * i");
        var d = Single(Compile(spec), CompilerCodes.BadMixer);
        Assert.Equal("mixer drop_path must be a probability in [0, 1), not the number 1.2000000000000002", d.Message);
        At(d, 6, 3);
    }

    [Fact]
    public void I_outside_a_mixer_is_located_and_explained() =>
        CompilerDiagnosticTests.Expect(CompilerDiagnosticTests.Spec("conv(dim * i, kernel: 2)"), CompilerCodes.BlockNameOutsideMixer, 3, "i,",
            "'i' is the index of a mixer's block (0-based), defined only inside a mixer",
            "use it in a mixer's entries or chains (drop_path: 0.1 * i / (depth - 1)); a block body sees it only as an argument, as in token: my_block(i)");

    [Fact]
    public void Depth_outside_a_mixer_without_a_parameter_is_explained() =>
        CompilerDiagnosticTests.Expect(CompilerDiagnosticTests.Spec("conv(dim, kernel: 2)", "mixer * 2 { token: gelu }\nlayers linear(depth)"),
            CompilerCodes.BlockNameOutsideMixer, 6, "depth", "'depth' is the number of blocks of a mixer, defined only inside a mixer");

    [Fact]
    public void A_block_body_does_not_see_i_but_takes_it_as_an_argument()
    {
        const string Arch = "\narch A(d = 8)\ninput tokens[4, 8]\nmixer * 2 { token: ";
        var d = Single(Compile("block scaled() { layer_scale(init: i + 1) }" + Arch + "scaled }"), CompilerCodes.BlockNameOutsideMixer);
        At(d, 1, 36);
        var g = Graph("block scaled(k) { layer_scale(init: k + 1) }" + Arch + "scaled(i) }");
        Assert.Equal(2.0, Convert.ToDouble(Node(g, "blocks.1.token.0.0").Attrs["init"]));
    }

    [Fact]
    public void An_arch_parameter_named_depth_is_the_same_value_in_a_mixer_of_depth_blocks()
    {
        var g = Graph("arch A(d = 8, depth = 3)\ninput tokens[4, 8]\nmixer * depth { token: linear(d)\n drop_path: 0.3 * i / depth }");
        Assert.Equal(0.2, (double)Node(g, "blocks.2.token_drop").Attrs["p"], 15);
    }
}
