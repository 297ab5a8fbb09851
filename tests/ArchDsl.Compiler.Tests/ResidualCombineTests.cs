namespace ArchDsl.Compiler.Tests;

using static CompilerTestKit;

/// <summary>
/// <c>residual(sub) { body }</c> = body(x) − x (PoolFormer's <c>self.pool(x) - x</c>) and <c>residual(mul) { body }</c> =
/// x · body(x) (a gate), <c>residual(gate) { body }</c> = u · body(v) of the channel halves (GLU, gMLP's spatial gating unit):
/// their nodes, operand order, shape rule, counts, and diagnostics.
/// </summary>
public class ResidualCombineTests
{
    private const string Head = "arch A(d = 8)\ninput image[4, 6, 6]\n";

    [Fact]
    public void Sub_is_the_body_minus_the_input_and_mul_the_input_times_the_body()
    {
        var g = Graph(Head + "layers residual(sub) { avg_pool(3) } -> residual(mul) { sigmoid } -> residual { gelu }");
        Assert.Equal(["input", "layers.0.0", "layers.0.sub", "layers.1.0", "layers.1.mul", "layers.2.0", "layers.2.add"], g.Nodes.Select(n => n.Name));
        var sub = Node(g, "layers.0.sub");
        Assert.Equal("sub", sub.Op);
        Assert.Equal([Node(g, "layers.0.0").Id, 0], sub.Inputs); // pool(x) − x
        var mul = Node(g, "layers.1.mul");
        Assert.Equal("mul", mul.Op);
        Assert.Equal([sub.Id, Node(g, "layers.1.0").Id], mul.Inputs); // x · sigmoid(x)
        Assert.All(new[] { sub, mul }, n => Assert.Equal((0L, 0L, "image[4, 6, 6]"), (n.ParamCount, n.MultAdds, n.OutputShape.ToString())));
    }

    [Fact]
    public void A_mixer_chain_takes_it_as_poolformers_token_mixer()
    {
        var g = Graph(Head + "mixer * 2 {\n  token: residual(sub) { avg_pool(3) }\n  channel: conv(C, kernel: 1)\n  norm: group_norm(1)\n}");
        Assert.Equal("sub", Node(g, "blocks.1.token.0.sub").Op);
        Assert.Equal([Node(g, "blocks.0.channel_add").Id, Node(g, "blocks.1.token.0.sub").Id], Node(g, "blocks.1.token_add").Inputs); // x + (pool(norm(x)) − norm(x))
    }

    [Fact]
    public void An_unknown_combination_is_located_with_the_words_it_takes() =>
        CompilerDiagnosticTests.Expect(Head + "layers residual(mull) { gelu }", CompilerCodes.UnknownResidualCombine, 3, "mull",
            "residual combines by add, sub, mul or gate, not 'mull'",
            "did you mean 'mul'? residual(add) is x + body(x), residual(sub) body(x) − x, residual(mul) x · body(x), " +
            "residual(gate) u · body(v) of the channel halves u, v");

    [Fact]
    public void Gate_is_the_first_channel_half_times_the_body_of_the_second()
    {
        // x.chunk(2, dim): u = chunk(0), v = chunk(1); the body sees v only; the gate is u · body(v), half the channels
        var g = Graph(Head + "layers residual(gate) { sigmoid }");
        Assert.Equal(["input", "layers.0.v", "layers.0.0", "layers.0.u", "layers.0.gate"], g.Nodes.Select(n => n.Name));
        var (v, u, gate) = (Node(g, "layers.0.v"), Node(g, "layers.0.u"), Node(g, "layers.0.gate"));
        Assert.Equal(("chunk", 1L, 2L, "image[2, 6, 6]"), (v.Op, v.Attr<long>("index"), v.Attr<long>("chunks"), v.OutputShape.ToString()));
        Assert.Equal(("chunk", 0L, 2L, "image[2, 6, 6]"), (u.Op, u.Attr<long>("index"), u.Attr<long>("chunks"), u.OutputShape.ToString()));
        Assert.Equal([0], v.Inputs);
        Assert.Equal([v.Id], Node(g, "layers.0.0").Inputs);
        Assert.Equal([0], u.Inputs);
        Assert.Equal("mul", gate.Op);
        Assert.Equal([u.Id, Node(g, "layers.0.0").Id], gate.Inputs); // u · sigmoid(v)
        Assert.All(new[] { v, u, gate }, n => Assert.Equal((0L, 0L), (n.ParamCount, n.MultAdds)));
        Assert.Equal("image[2, 6, 6]", gate.OutputShape.ToString());
    }

    [Fact]
    public void Gate_on_tokens_splits_the_last_dim_and_counts_the_body()
    {
        // gMLP's spatial gating unit on tokens[5, 8]: v is tokens[5, 4], mixed over the 5 tokens by a Linear(5, 5)
        var g = Graph("arch A()\ninput tokens[5, 8]\nlayers residual(gate) { layer -> transpose -> linear(5, init: gate) -> transpose }");
        Assert.Equal("tokens[5, 4]", Node(g, "layers.0.v").OutputShape.ToString());
        var proj = Node(g, "layers.0.2");
        Assert.Equal(("gate", 4L * 5 * 5, 5L * 5 + 5), (proj.Attr<string>("init"), proj.MultAdds, proj.ParamCount));
        Assert.Equal(8L + 30, g.ParamCount); // the norm over 4 channels and the 5×5 projection
        Assert.Equal("tokens[5, 4]", g.OutputNode.OutputShape.ToString());
    }

    [Fact]
    public void Linear_records_init_only_when_it_is_not_the_default() =>
        Assert.False(Node(Graph("arch A()\ninput vector[4]\nlayers linear(3)"), "layers.0").Attrs.ContainsKey("init"));

    [Fact]
    public void A_gate_on_an_odd_channel_count_is_located_at_the_residual() =>
        CompilerDiagnosticTests.Expect("arch A()\ninput image[4, 6, 6]\nlayers conv(5, kernel: 1) -> residual(gate) { sigmoid }", CompilerCodes.ChunkDoesNotDivide, 3,
            "residual(gate)", "5 channels do not split into 2 equal chunks (input image[5, 6, 6])",
            "give the chain before it a channel count that the chunks divide (residual(gate) splits in 2)");

    [Fact]
    public void A_chunk_index_past_the_count_is_located_at_the_index() =>
        CompilerDiagnosticTests.Expect(Head + "layers chunk(3, chunks: 2)", CompilerCodes.ChunkIndexOutOfRange, 3, "3,",
            "chunk index 3 is not under the chunk count 2", "index counts from 0 to 1");

    [Fact]
    public void A_gate_body_must_keep_the_half_shape() =>
        Assert.Contains("image[2, 6, 6]", Single(Compile(Head + "layers residual(gate) { conv(4, kernel: 1) }"), CompilerCodes.ResidualShapeChange).Message);

    [Fact]
    public void A_body_that_changes_the_shape_is_the_residual_shape_error() =>
        Single(Compile(Head + "layers residual(mul) { conv(16, kernel: 1) }"), CompilerCodes.ResidualShapeChange);

    [Fact]
    public void An_unclosed_combination_is_a_syntax_error_at_the_brace()
    {
        var d = Single(Compile(Head + "layers residual(sub { gelu }"), Dsl.DslCodes.ExpectedClosingBracket.Code);
        At(d, 3, 21);
    }
}
