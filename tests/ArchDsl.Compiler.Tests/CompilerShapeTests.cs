namespace ArchDsl.Compiler.Tests;

using static CompilerTestKit;

/// <summary>Shape inference, parameters, buffers and mult-adds of every op, and every layout change.</summary>
public class CompilerShapeTests
{
    /// <summary>Compiles <c>stem CHAIN</c> on the given input and returns the stem's last node.</summary>
    private static IrNode Last(string chain, string input = "image[3, 32, 32]")
    {
        var g = Graph($"arch A(d = 32)\ninput {input}\nstem {chain}");
        return g.OutputNode;
    }

    [Theory]
    // chain, input, output shape, params, buffers, mult-adds
    [InlineData("conv(16, kernel: 3)", "image[3, 32, 32]", "image[16, 30, 30]", 16 * 3 * 9 + 16, 0, 16L * 30 * 30 * 3 * 9)]
    [InlineData("conv(16, kernel: 3, padding: same)", "image[3, 32, 32]", "image[16, 32, 32]", 448, 0, 16L * 32 * 32 * 27)]
    [InlineData("conv(16, kernel: 3, padding: valid)", "image[3, 32, 32]", "image[16, 30, 30]", 448, 0, 16L * 30 * 30 * 27)]
    [InlineData("conv(16, kernel: 4, stride: 4)", "image[3, 32, 32]", "image[16, 8, 8]", 16 * 3 * 16 + 16, 0, 16L * 8 * 8 * 3 * 16)]
    [InlineData("conv(6, kernel: 3, stride: 2, padding: 1)", "image[3, 32, 32]", "image[6, 16, 16]", 6 * 27 + 6, 0, 6L * 16 * 16 * 27)]
    [InlineData("conv(6, kernel: 3, groups: 3, padding: 1)", "image[3, 32, 32]", "image[6, 32, 32]", 6 * 9 + 6, 0, 6L * 32 * 32 * 9)]
    [InlineData("conv(16, kernel: 1, bias: false)", "image[3, 32, 32]", "image[16, 32, 32]", 48, 0, 16L * 32 * 32 * 3)]
    [InlineData("batchnorm", "image[3, 32, 32]", "image[3, 32, 32]", 6, 7, 0)]
    [InlineData("batch(eps: 0.001)", "tokens[10, 4]", "tokens[10, 4]", 8, 9, 0)]
    [InlineData("layernorm", "image[3, 32, 32]", "image[3, 32, 32]", 6, 0, 0)]
    [InlineData("layer", "tokens[10, 4]", "tokens[10, 4]", 8, 0, 0)]
    [InlineData("layernorm", "vector[5]", "vector[5]", 10, 0, 0)]
    [InlineData("linear(7)", "tokens[10, 4]", "tokens[10, 7]", 35, 0, 10 * 4 * 7)]
    [InlineData("linear(7, bias: false)", "vector[4]", "vector[7]", 28, 0, 28)]
    [InlineData("linear(7, init: gate)", "tokens[10, 4]", "tokens[10, 7]", 35, 0, 10 * 4 * 7)]
    [InlineData("chunk(1)", "image[4, 8, 8]", "image[2, 8, 8]", 0, 0, 0)]
    [InlineData("chunk(0, chunks: 3)", "tokens[10, 6]", "tokens[10, 2]", 0, 0, 0)]
    [InlineData("chunk(index: 3, chunks: 4)", "vector[8]", "vector[2]", 0, 0, 0)]
    [InlineData("gelu", "image[3, 32, 32]", "image[3, 32, 32]", 0, 0, 0)]
    [InlineData("gelu(approximate: tanh)", "tokens[10, 4]", "tokens[10, 4]", 0, 0, 0)]
    [InlineData("gelu(tanh)", "vector[4]", "vector[4]", 0, 0, 0)]
    [InlineData("relu", "tokens[10, 4]", "tokens[10, 4]", 0, 0, 0)]
    [InlineData("silu", "vector[4]", "vector[4]", 0, 0, 0)]
    [InlineData("tanh", "vector[4]", "vector[4]", 0, 0, 0)]
    [InlineData("sigmoid", "vector[4]", "vector[4]", 0, 0, 0)]
    [InlineData("identity", "vector[4]", "vector[4]", 0, 0, 0)]
    [InlineData("none", "image[3, 32, 32]", "image[3, 32, 32]", 0, 0, 0)]
    [InlineData("patches(4)", "image[3, 32, 32]", "tokens[64, 48]", 0, 0, 0)]
    [InlineData("patches(size: 8)", "image[3, 32, 16]", "tokens[8, 192]", 0, 0, 0)]
    [InlineData("flatten", "image[3, 32, 16]", "tokens[512, 3]", 0, 0, 0)]
    [InlineData("transpose", "tokens[10, 4]", "tokens[4, 10]", 0, 0, 0)]
    [InlineData("cls_token", "tokens[10, 4]", "tokens[11, 4]", 4, 0, 0)]
    [InlineData("pos_embed", "tokens[10, 4]", "tokens[10, 4]", 40, 0, 0)]
    [InlineData("attention(4)", "tokens[16, 32]", "tokens[16, 32]", 3 * 32 * 32 + 96 + 32 * 32 + 32, 0, 16L * 32 * 96 + 2 * 16 * 16 * 32 + 16 * 32 * 32)]
    [InlineData("attention(heads: 4, bias: false)", "tokens[16, 32]", "tokens[16, 32]", 3 * 32 * 32 + 32 * 32 + 32, 0, 16L * 32 * 96 + 2 * 16 * 16 * 32 + 16 * 32 * 32)]
    // fourier: 2.5·M·log2 M for M = N·D = 512 (FFTW's 5·M·log2 M flops, halved); pools: output elements × k × k
    [InlineData("fourier", "tokens[16, 32]", "tokens[16, 32]", 0, 0, 2560 * 9 / 2)]
    [InlineData("fourier", "tokens[1, 1]", "tokens[1, 1]", 0, 0, 0)]
    [InlineData("fourier", "tokens[49, 128]", "tokens[49, 128]", 0, 0, 197_799)] // 2.5 · 6272 · log2 6272 = 197,798.65
    [InlineData("pool", "image[3, 32, 32]", "image[3, 32, 32]", 0, 0, 3 * 32 * 32 * 9)]
    [InlineData("pool(kernel: 2, stride: 2, padding: 0)", "image[3, 32, 32]", "image[3, 16, 16]", 0, 0, 3 * 16 * 16 * 4)]
    [InlineData("avgpool", "image[3, 32, 32]", "vector[3]", 0, 0, 0)]
    [InlineData("avgpool", "tokens[10, 4]", "vector[4]", 0, 0, 0)]
    [InlineData("cls", "tokens[10, 4]", "vector[4]", 0, 0, 0)]
    [InlineData("avg_pool(kernel: 2, stride: 2, padding: 0)", "image[3, 32, 32]", "image[3, 16, 16]", 0, 0, 3 * 16 * 16 * 4)]
    [InlineData("max_pool(2, 2)", "image[3, 32, 32]", "image[3, 16, 16]", 0, 0, 3 * 16 * 16 * 4)]
    [InlineData("max_pool(kernel: 3, stride: 2, padding: 1)", "image[3, 32, 32]", "image[3, 16, 16]", 0, 0, 3 * 16 * 16 * 9)]
    [InlineData("max_pool(3, 1, padding: same)", "image[3, 7, 7]", "image[3, 7, 7]", 0, 0, 3 * 7 * 7 * 9)]
    [InlineData("max_pool(3, 3)", "image[3, 7, 7]", "image[3, 2, 2]", 0, 0, 3 * 2 * 2 * 9)] // floor, as PyTorch's default
    [InlineData("global_pool(prefix_tokens: 1)", "tokens[10, 4]", "vector[4]", 0, 0, 0)]
    [InlineData("group_norm(1)", "image[4, 8, 8]", "image[4, 8, 8]", 8, 0, 0)]
    [InlineData("group(2, eps: 1e-6)", "image[4, 8, 8]", "image[4, 8, 8]", 8, 0, 0)]
    [InlineData("affine", "tokens[10, 4]", "tokens[10, 4]", 8, 0, 0)]
    [InlineData("affine", "image[3, 32, 32]", "image[3, 32, 32]", 6, 0, 0)]
    [InlineData("affine", "vector[5]", "vector[5]", 10, 0, 0)]
    [InlineData("layer_scale", "tokens[10, 4]", "tokens[10, 4]", 4, 0, 0)]
    [InlineData("layer_scale(init: 0.1)", "image[3, 32, 32]", "image[3, 32, 32]", 3, 0, 0)]
    [InlineData("layerscale(1e-6)", "vector[5]", "vector[5]", 5, 0, 0)]
    // padding: same with an even kernel: 3 rows in all, 1 above and 2 below (PyTorch's padding='same')
    [InlineData("conv(4, kernel: 4, padding: same)", "image[3, 8, 8]", "image[4, 8, 8]", 4 * 3 * 16 + 4, 0, 4L * 8 * 8 * 3 * 16)]
    [InlineData("conv(4, kernel: 2, padding: same)", "image[3, 5, 5]", "image[4, 5, 5]", 4 * 3 * 4 + 4, 0, 4L * 5 * 5 * 3 * 4)]
    [InlineData("global_pool", "image[3, 32, 32]", "vector[3]", 0, 0, 0)]
    [InlineData("global_pool", "tokens[10, 4]", "vector[4]", 0, 0, 0)]
    [InlineData("cls_pool", "tokens[10, 4]", "vector[4]", 0, 0, 0)]
    [InlineData("dropout(0.1)", "tokens[10, 4]", "tokens[10, 4]", 0, 0, 0)]
    [InlineData("droppath(0.1)", "image[3, 32, 32]", "image[3, 32, 32]", 0, 0, 0)]
    [InlineData("drop_path(p: 0.2)", "vector[4]", "vector[4]", 0, 0, 0)]
    public void OpShapeParamsAndMultAdds(string chain, string input, string output, long parameters, long buffers, long multAdds)
    {
        var n = Last(chain, input);
        Assert.Equal(output, n.OutputShape.ToString());
        Assert.Equal(parameters, n.ParamCount);
        Assert.Equal(buffers, n.BufferCount);
        Assert.Equal(multAdds, n.MultAdds);
    }

    [Fact]
    public void GeluRecordsApproximateOnlyWhenItIsTanh()
    {
        // The default is left out of the IR so graphs (and snapshots) written before the argument existed are unchanged;
        // the runtime reads the default from the same definition.
        Assert.Equal("tanh", Last("gelu(approximate: tanh)").Attrs["approximate"]);
        Assert.Equal("tanh", Last("gelu(\"tanh\")").Attrs["approximate"]);
        Assert.Empty(Last("gelu").Attrs);
        Assert.Empty(Last("gelu(approximate: none)").Attrs);
    }

    [Theory]
    [InlineData("pool", "avg_pool", "pool")]
    [InlineData("avgpool", "global_pool", "avgpool")]
    [InlineData("cls", "cls_pool", "cls")]
    [InlineData("batch", "batchnorm", "batchnorm")]
    [InlineData("drop_path(0.1)", "droppath(0.1)", "droppath")]
    public void OldSpellingsAreAliasesOfTheSameOp(string alias, string name, string irOp)
    {
        var input = irOp == "cls" ? "tokens[10, 4]" : "image[3, 8, 8]";
        var a = Last(alias, input);
        var b = Last(name, input);
        Assert.Equal(irOp, a.Op);
        Assert.Equal(b.Op, a.Op);
        Assert.Equal(b.Attrs, a.Attrs);
        Assert.Equal(b.OutputShape, a.OutputShape);
    }

    [Fact]
    public void EveryOpHasOneDefinitionWithItsNamesAndDocumentation()
    {
        var names = OpCatalog.All.SelectMany(d => d.Aliases.Prepend(d.Name)).ToList();
        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.Equal(OpCatalog.All.Count, OpCatalog.All.Select(d => d.IrOp).Distinct().Count());
        Assert.Equal(OpCatalog.All.Count, OpCatalog.All.Select(d => d.Id).Distinct().Count());
        Assert.All(OpCatalog.All, d => Assert.False(string.IsNullOrWhiteSpace(d.Doc), d.Name));
        Assert.All(OpCatalog.All, d => Assert.Same(d, OpCatalog.ForIr(d.IrOp)));
    }

    [Fact]
    public void ConvAttributesAndTensorsFollowTheCatalogue()
    {
        var n = Last("conv(6, kernel: 3, groups: 3, padding: same)");
        Assert.Equal("conv2d", n.Op);
        Assert.Equal(6L, n.Attrs["out"]);
        Assert.Equal(3L, n.Attrs["kernel"]);
        Assert.Equal(1L, n.Attrs["stride"]);
        Assert.Equal(1L, n.Attrs["padding"]); // same → (k - 1) / 2, as an integer
        Assert.Equal(3L, n.Attrs["groups"]);
        Assert.Equal(true, n.Attrs["bias"]);
        Assert.Equal(["weight", "bias"], n.Params.Select(p => p.Name));
        Assert.Equal([6L, 1, 3, 3], n.Params[0].Shape);
    }

    [Fact]
    public void EvenKernelSamePaddingRecordsTheExtraRowAtTheEnd()
    {
        // PyTorch's Conv2d(padding='same'): k-1 in all, (k-1)/2 before, the rest after (torch.nn.modules.conv).
        var even = Last("conv(6, kernel: 4, padding: same)");
        Assert.Equal(1L, even.Attrs["padding"]);
        Assert.Equal(2L, even.Attrs["padding_end"]);
        var odd = Last("conv(6, kernel: 3, padding: same)");
        Assert.False(odd.Attrs.ContainsKey("padding_end"));
        Assert.False(Last("conv(6, kernel: 4, padding: 2)").Attrs.ContainsKey("padding_end"));
    }

    [Fact]
    public void NewPerChannelOpsNameTheirTensorsAsTimm()
    {
        var ls = Last("layer_scale(init: 0.5)", "tokens[10, 4]");
        Assert.Equal("layer_scale", ls.Op);
        Assert.Equal(0.5, ls.Attrs["init"]);
        Assert.Equal(["gamma"], ls.Params.Select(p => p.Name));
        Assert.Equal(1e-5, Last("layer_scale", "tokens[10, 4]").Attrs["init"]); // timm's LayerScale default
        Assert.Equal(["alpha", "beta"], Last("affine", "tokens[10, 4]").Params.Select(p => p.Name));
        var gn = Last("group_norm(2)", "image[4, 8, 8]");
        Assert.Equal(2L, gn.Attrs["groups"]);
        Assert.Equal(1e-5, gn.Attrs["eps"]);
        Assert.Equal(["weight", "bias"], gn.Params.Select(p => p.Name));
        Assert.Equal(1L, Last("global_pool(prefix_tokens: 1)", "tokens[10, 4]").Attrs["prefix_tokens"]);
        Assert.Empty(Last("global_pool(prefix_tokens: 0)", "tokens[10, 4]").Attrs); // graphs without it are unchanged
    }

    [Fact]
    public void NormsAttentionAndTokensNameTheirTensorsAsTheCatalogue()
    {
        var bn = Last("batchnorm");
        Assert.Equal(["weight", "bias"], bn.Params.Select(p => p.Name));
        Assert.Equal(["running_mean", "running_var", "num_batches_tracked"], bn.Buffers.Select(p => p.Name));
        Assert.Empty(bn.Buffers[2].Shape);
        Assert.Equal(1e-5, bn.Attrs["eps"]);
        Assert.Equal(0.1, bn.Attrs["momentum"]);
        Assert.Equal(1e-6, Last("layernorm(eps: 1e-6)").Attrs["eps"]);
        var attn = Last("attention(4)", "tokens[16, 32]");
        Assert.Equal(["qkv.weight", "qkv.bias", "proj.weight", "proj.bias"], attn.Params.Select(p => p.Name));
        Assert.Equal([96L, 32], attn.Params[0].Shape);
        Assert.Equal(4L, attn.Attrs["heads"]);
        Assert.Equal([1L, 4], Last("cls_token", "tokens[10, 4]").Params.Single(p => p.Name == "token").Shape);
        Assert.Equal([10L, 4], Last("pos_embed", "tokens[10, 4]").Params.Single(p => p.Name == "weight").Shape);
        Assert.Equal("pool", Last("pool").Op);
        Assert.Equal(1L, Last("pool").Attrs["padding"]);
        Assert.Equal(0.2, Last("drop_path(0.2)", "vector[4]").Attrs["p"]);
        Assert.Equal("droppath", Last("drop_path(0.2)", "vector[4]").Op);
        Assert.Equal("identity", Last("none").Op);
    }

    [Fact]
    public void LayoutChangesThroughAChain()
    {
        var g = Graph("arch A(d = 32)\ninput image[3, 32, 32]\nstem patches(8) -> linear(d) -> cls_token -> pos_embed -> transpose -> transpose -> cls");
        Assert.Equal(
            ["image[3, 32, 32]", "tokens[16, 192]", "tokens[16, 32]", "tokens[17, 32]", "tokens[17, 32]", "tokens[32, 17]", "tokens[17, 32]", "vector[32]"],
            g.Nodes.Select(n => n.OutputShape.ToString()));
        Assert.Equal(["input", "stem.0", "stem.1", "stem.2", "stem.3", "stem.4", "stem.5", "stem.6"], g.Nodes.Select(n => n.Name));
        Assert.All(g.Nodes.Skip(1), n => Assert.Equal([n.Id - 1], n.Inputs));
        Assert.All(g.Nodes.Skip(1), n => Assert.Equal(g.Nodes[n.Id - 1].OutputShape, n.InputShapes.Single()));
    }

    [Fact]
    public void ShapeNamesAreBoundInsideMixerSubLayers()
    {
        var g = SpecGraph("mlp-mixer.arch");
        // Token MLP: transpose -> linear(tokens_hidden) -> act -> linear(N) -> transpose, N = 49 tokens of the block input.
        Assert.Equal("tokens[128, 49]", Node(g, "blocks.0.token.3").OutputShape.ToString());
        Assert.Equal(49L, Node(g, "blocks.0.token.3").Attrs["out"]);
        Assert.Equal("tokens[49, 128]", Node(g, "blocks.7.channel_add").OutputShape.ToString());
    }

    [Fact]
    public void BlockParametersDefaultsAndShapeNames()
    {
        var spec = """
            block mlp(hidden, out = D, act = gelu) { linear(hidden) -> act -> linear(out) }
            arch A(dim = 16)
            input tokens[10, 16]
            stem mlp(dim * 2) -> mlp(hidden: 8, act: relu, out: 4)
            """;
        var g = Graph(spec);
        Assert.Equal(["input", "stem.0.0", "stem.0.1", "stem.0.2", "stem.1.0", "stem.1.1", "stem.1.2"], g.Nodes.Select(n => n.Name));
        Assert.Equal(32L, Node(g, "stem.0.0").Attrs["out"]);
        Assert.Equal(16L, Node(g, "stem.0.2").Attrs["out"]); // out = D of the block's input
        Assert.Equal("gelu", Node(g, "stem.0.1").Op);
        Assert.Equal("relu", Node(g, "stem.1.1").Op);
        Assert.Equal("tokens[10, 4]", g.OutputNode.OutputShape.ToString());
    }

    [Fact]
    public void BlocksSeeOnlyTheirOwnParameters()
    {
        var r = Compile("block b { linear(dim) }\narch A(dim = 16)\ninput tokens[10, 16]\nstem b");
        var d = Single(r, CompilerCodes.UndefinedName);
        Assert.Equal("undefined name 'dim'", d.Message);
    }

    [Fact]
    public void ResidualAndRepeatStepsNameTheirParts()
    {
        var g = Graph("arch A(d = 4)\ninput tokens[10, 4]\nstem residual { linear(8) -> gelu -> linear(d) } -> repeat 2 { relu -> linear(d) }\nlayers gelu\nlayers tanh");
        Assert.Equal(
            ["input", "stem.0.0", "stem.0.1", "stem.0.2", "stem.0.add", "stem.1.0.0", "stem.1.0.1", "stem.1.1.0", "stem.1.1.1", "layers.0", "layers.1"],
            g.Nodes.Select(n => n.Name));
        var add = Node(g, "stem.0.add");
        Assert.Equal("add", add.Op);
        Assert.Equal([0, 3], add.Inputs);
    }

    [Fact]
    public void TopLevelRepeatAndResidualAreLayers()
    {
        var g = Graph("arch A(d = 4)\ninput tokens[10, 4]\nrepeat 3 { residual { linear(d) } }");
        Assert.Equal(["input", "layers.0.0.0.0", "layers.0.0.0.add", "layers.0.1.0.0", "layers.0.1.0.add", "layers.0.2.0.0", "layers.0.2.0.add"],
            g.Nodes.Select(n => n.Name));
    }

    [Fact]
    public void MixerPreNormResidualAndDropPath()
    {
        var spec = "arch A(d = 8)\ninput tokens[4, 8]\nmixer * 2 {\n  token: linear(d)\n  channel: linear(d) -> gelu\n  norm: layer, pre\n  drop_path: 0.1\n}";
        var g = Graph(spec);
        Assert.Equal(
            ["input",
             "blocks.0.token_norm", "blocks.0.token.0", "blocks.0.token_drop", "blocks.0.token_add",
             "blocks.0.channel_norm", "blocks.0.channel.0", "blocks.0.channel.1", "blocks.0.channel_drop", "blocks.0.channel_add",
             "blocks.1.token_norm", "blocks.1.token.0", "blocks.1.token_drop", "blocks.1.token_add",
             "blocks.1.channel_norm", "blocks.1.channel.0", "blocks.1.channel.1", "blocks.1.channel_drop", "blocks.1.channel_add"],
            g.Nodes.Select(n => n.Name));
        Assert.Equal([0, 3], Node(g, "blocks.0.token_add").Inputs); // x + droppath(linear(norm(x)))
        Assert.Equal(0.1, Node(g, "blocks.0.token_drop").Attrs["p"]);
        Assert.Equal("layernorm", Node(g, "blocks.0.token_norm").Op);
    }

    [Fact]
    public void MixerPostNormComesAfterTheAdd()
    {
        var g = Graph("arch A(d = 8)\ninput tokens[4, 8]\nmixer * 1 {\n  token: linear(d)\n  norm: batch, post\n}");
        Assert.Equal(["input", "blocks.0.token.0", "blocks.0.token_add", "blocks.0.token_norm"], g.Nodes.Select(n => n.Name));
        Assert.Equal([2], Node(g, "blocks.0.token_norm").Inputs);
        Assert.Equal("batchnorm", Node(g, "blocks.0.token_norm").Op);
    }

    [Fact]
    public void MixerResidualChoosesTheSkips()
    {
        const string Body = "arch A(d = 8)\ninput tokens[4, 8]\nmixer * 1 {{\n  token: linear(d)\n  channel: gelu\n  residual: {0}\n}}";
        Assert.Equal(["input", "blocks.0.token.0", "blocks.0.token_add", "blocks.0.channel.0"], Graph(string.Format(Body, "token")).Nodes.Select(n => n.Name));
        Assert.Equal(["input", "blocks.0.token.0", "blocks.0.channel.0", "blocks.0.channel_add"], Graph(string.Format(Body, "channel")).Nodes.Select(n => n.Name));
        Assert.Equal(["input", "blocks.0.token.0", "blocks.0.channel.0"], Graph(string.Format(Body, "none")).Nodes.Select(n => n.Name));
        Assert.Equal(5, Graph(string.Format(Body, "both")).Nodes.Count);
        // Without a residual entry, both sub-layers have skips; with norm: none, no norm nodes.
        Assert.Equal(5, Graph("arch A(d = 8)\ninput tokens[4, 8]\nmixer * 1 {\n  token: linear(d)\n  channel: gelu\n  norm: none\n}").Nodes.Count);
    }

    [Fact]
    public void ConvMixerStructure()
    {
        var g = SpecGraph("convmixer.arch");
        Assert.Equal("ConvMixer", g.Arch);
        Assert.Equal(Shape.Image(1, 28, 28), g.Input);
        Assert.Equal(Shape.Vector(10), g.OutputNode.OutputShape);
        Assert.Equal("head.1", g.OutputNode.Name);
        Assert.Equal(8, g.Nodes.Count(n => n.Name.EndsWith("token_add")));
        Assert.DoesNotContain(g.Nodes, n => n.Name.EndsWith("channel_add")); // residual: token
        var dw = Node(g, "blocks.3.token.0");
        Assert.Equal(128L, dw.Attrs["groups"]);
        Assert.Equal(2L, dw.Attrs["padding"]);
        Assert.Equal("image[128, 14, 14]", dw.OutputShape.ToString());
        // Hand count: stem 1·4·128 + 128 + BN 256; block (128·25 + 128 + 256) + (128·128 + 128 + 256); head 128·10 + 10.
        Assert.Equal(1 * 4 * 128 + 128 + 256 + 8L * (128 * 25 + 128 + 256 + 128 * 128 + 128 + 256) + 1290, g.ParamCount);
        Assert.Equal(8L * 2 * 257 + 257, g.BufferCount);
    }

    [Fact]
    public void ViTStructure()
    {
        var g = SpecGraph("vit.arch");
        Assert.Equal("tokens[50, 192]", Node(g, "stem.3").OutputShape.ToString()); // 49 patches + class token
        Assert.Equal(1e-6, Node(g, "blocks.0.token_norm").Attrs["eps"]);
        Assert.Equal(["layernorm", "cls", "linear"], g.Nodes.Where(n => n.Name.StartsWith("head.")).Select(n => n.Op));
        Assert.Equal(true, Node(g, "blocks.5.token.0").Attrs["bias"]);
        Assert.Equal(12, g.Nodes.Count(n => n.Op == "add"));
    }

    [Fact]
    public void AnalysesOnAHandCountedNet()
    {
        var g = Graph("arch A(d = 4)\ninput tokens[3, 2]\nstem linear(d) -> gelu -> avgpool -> linear(5)");
        // linear: 3·2·4 = 24 mult-adds; head linear on a vector: 4·5 = 20. Norms/activations/pools count 0.
        Assert.Equal(44, g.MultAdds);
        Assert.Equal(2 * 4 + 4 + 4 * 5 + 5, g.ParamCount);
        // Activations: input 6 + linear 12 + gelu 12 + avgpool 4 + linear 5 = 39 elements × 4 bytes.
        Assert.Equal(39 * 4, g.ActivationBytes);
    }

    [Fact]
    public void EveryNodeOriginPointsAtItsStep()
    {
        var g = Graph("arch A(d = 4)\ninput tokens[3, 2]\nstem linear(d) -> gelu");
        Assert.Equal(new SourceLocation("test.arch", 3, 6), Node(g, "stem.0").Origin);
        Assert.Equal(new SourceLocation("test.arch", 3, 19), Node(g, "stem.1").Origin);
    }
}
