namespace ArchDsl.Compiler.Tests;

using static CompilerTestKit;

/// <summary>
/// <c>residual(sub) { body }</c> = body(x) − x (PoolFormer's <c>self.pool(x) - x</c>) and <c>residual(mul) { body }</c> =
/// x · body(x) (a gate): their nodes, operand order, shape rule, counts, and diagnostics.
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
            "residual combines by add, sub or mul, not 'mull'",
            "did you mean 'mul'? residual(add) is x + body(x), residual(sub) body(x) − x, residual(mul) x · body(x)");

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
