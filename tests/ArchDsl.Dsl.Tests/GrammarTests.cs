namespace ArchDsl.Dsl.Tests;

/// <summary>Every construct of the grammar, parsed to the expected tree; spans checked on representative nodes.</summary>
public class GrammarTests
{
    private static SpecFile Clean(string text)
    {
        var r = SpecParser.Parse(text, "g.arch");
        Assert.True(r.Diagnostics.Count == 0, string.Join("\n", r.Diagnostics.Select(d => d.Render())));
        return r.File;
    }

    private static Expr ParamDefault(string expr) => Clean($"arch A(x = {expr})").Archs[0].Params[0].Default!;

    [Theory]
    [InlineData("1 + 2 * 3", "(1 + (2 * 3))")]
    [InlineData("(1 + 2) * 3", "((1 + 2) * 3)")]
    [InlineData("a - b - c", "((a - b) - c)")]
    [InlineData("dim / heads % 2", "((dim / heads) % 2)")]
    [InlineData("-dim * -2", "((-dim) * (-2))")]
    [InlineData("- - 3", "(-(-3))")]
    [InlineData("dim-1", "(dim - 1)")]
    [InlineData("dim -x", "(dim - x)")]
    [InlineData("fashion-mnist", "fashion-mnist")]
    [InlineData("drop_path", "drop_path")]
    [InlineData("a-b-c", "a-b-c")]
    [InlineData("x2-y", "(x2 - y)")]
    [InlineData("0.01", "0.01f")]
    [InlineData("1e-6", "1E-06f")]
    [InlineData("2E+3", "2000f")]
    [InlineData("1.5e2", "150f")]
    [InlineData("42", "42")]
    [InlineData("\"a \\\"q\\\" \\\\ b\"", "\"a \"q\" \\ b\"")]
    [InlineData("[]", "[]")]
    [InlineData("[flip, crop(pad: 2), 3]", "[flip, crop(pad: 2), 3]")]
    [InlineData("adamw(lr: 0.01, betas: [0.9, 0.999])", "adamw(lr: 0.01f, betas: [0.9f, 0.999f])")]
    [InlineData("f()", "f()")]
    [InlineData("residual", "residual")]
    public void Expressions(string source, string expected) => Assert.Equal(expected, AstText.Of(ParamDefault(source)));

    [Fact]
    public void Literal_kinds_and_values()
    {
        Assert.Equal(9223372036854775807L, Assert.IsType<IntLit>(ParamDefault("9223372036854775807")).Value);
        Assert.Equal(1e-6, Assert.IsType<FloatLit>(ParamDefault("1e-6")).Value);
        Assert.IsType<FloatLit>(ParamDefault("3.0"));
        Assert.Equal("../x.arch", Assert.IsType<StringLit>(ParamDefault("\"../x.arch\"")).Value);
    }

    [Fact]
    public void Call_without_parens_is_a_name_and_with_parens_a_call()
    {
        var c = Assert.IsType<CallExpr>(ParamDefault("crop(pad: 2)"));
        Assert.Equal("crop", c.Callee);
        Assert.Equal("pad", c.Args[0].Name);
        Assert.IsType<Name>(ParamDefault("crop"));
    }

    [Fact]
    public void Block_params_defaults_are_optional_and_body_is_a_chain()
    {
        var f = Clean("block mlp(hidden, out = D * 2) { linear(hidden) -> gelu -> linear(out) }\nblock id { identity }");
        Assert.Equal("(block mlp (hidden out=(D * 2)) linear(hidden) -> gelu -> linear(out))", AstText.Of(f.Blocks[0]));
        Assert.Equal("(block id () identity)", AstText.Of(f.Blocks[1]));
        Assert.Null(f.Blocks[0].Params[0].Default);
    }

    [Fact]
    public void Steps_distinguish_bare_op_from_empty_parens_and_nest_residual_and_repeat()
    {
        var f = Clean("arch A(d = 1)\nstem gelu -> gelu() -> residual { repeat d * 2 { linear(d) -> residual { relu } } } -> x");
        var chain = ((StageStmt)f.Archs[0].Body[0]).Body;
        Assert.False(((OpStep)chain.Steps[0]).HasParens);
        Assert.True(((OpStep)chain.Steps[1]).HasParens);
        Assert.Equal("gelu -> gelu() -> residual{repeat (d * 2){linear(d) -> residual{relu}}} -> x", AstText.Of(chain));
    }

    [Fact]
    public void All_statement_kinds()
    {
        var f = Clean("""
            arch A(d = 8, n = 2)
            input tokens[196, d]
            stem linear(d)
            layers repeat n { residual { linear(d) } }
            repeat 2 { gelu } -> linear(d)
            residual { linear(d) }
            mixer * n { token: fft channel: linear(d) norm: layer, post residual: none drop_path: 0.1 extra: residual { gelu } }
            head cls -> linear(10)
            train { data: cifar10 epochs: 5, seed: 1, augment: [] }
            """);
        Assert.Equal("""
            (arch A (d=8 n=2)
              (input tokens 196 d)
              (stem linear(d))
              (layers repeat n{residual{linear(d)}})
              (layers repeat 2{gelu} -> linear(d))
              (layers residual{linear(d)})
              (mixer n [token: fft] [channel: linear(d)] [norm= layer, post] [residual= none] [drop_path= 0.1f] [extra: residual{gelu}])
              (head cls -> linear(10))
              (train data=cifar10 epochs=5 seed=1 augment=[]))

            """.ReplaceLineEndings("\n"), AstText.Of(f));
    }

    [Fact]
    public void Keywords_may_be_keys_values_and_parameter_names()
    {
        var f = Clean("arch A(residual = token, train = 1, input = head)\nmixer * 1 { token: gelu residual: residual input: train }\ntrain { mixer: stem, residual: both }");
        Assert.Equal("""
            (arch A (residual=token train=1 input=head)
              (mixer 1 [token: gelu] [residual= residual] [input= train])
              (train mixer=stem residual=both))

            """.ReplaceLineEndings("\n"), AstText.Of(f));
    }

    [Fact]
    public void Derived_arch_may_be_followed_by_statements()
    {
        var f = Clean("arch Small = ConvMixer(dim: 64, act: relu)\nhead avgpool -> linear(10)\ntrain { epochs: 1 }\narch Other = Small()");
        Assert.Equal("""
            (arch Small = ConvMixer(dim: 64, act: relu)
              (head avgpool -> linear(10))
              (train epochs=1))
            (arch Other = Small())

            """.ReplaceLineEndings("\n"), AstText.Of(f));
        Assert.Equal("ConvMixer", f.Archs[0].Base!.Name);
        Assert.Empty(f.Archs[0].Params);
    }

    [Fact]
    public void Comments_and_whitespace_are_insignificant()
    {
        var f = Clean("# header\n\r\n  arch\tA( # params\n d = 1 # one\n )  # end\n\n stem   x#no space\n ->y");
        Assert.Equal("(arch A (d=1)\n  (stem x -> y))\n", AstText.Of(f));
    }

    [Fact]
    public void Imports_blocks_and_archs_in_any_order()
    {
        var f = Clean("import \"a.arch\"\narch A(d = 1)\nblock b { x }\nimport \"sub/b.arch\"");
        Assert.Equal(["a.arch", "sub/b.arch"], f.Imports.Select(i => i.Path));
        Assert.Single(f.Blocks);
        Assert.Single(f.Archs);
    }

    [Fact]
    public void Empty_and_comment_only_files_parse_to_nothing()
    {
        Assert.Equal("", AstText.Of(Clean("")));
        Assert.Equal("", AstText.Of(Clean("# nothing here\n   \n")));
    }

    // ---- spans ------------------------------------------------------------------------------------------

    private static (int, int) LC(Span s) => (s.Line, s.Column);
    private static string Text(Span s) => s.Source.Text.Substring(s.Start, s.Length);

    [Fact]
    public void Spans_cover_exactly_the_node_text_on_the_convmixer_spec()
    {
        var f = Clean(Examples.ConvMixer);
        var arch = f.Archs[0];
        Assert.Equal((2, 1), LC(arch.Span));
        Assert.Equal((2, 6), LC(arch.NameSpan));
        Assert.Equal("ConvMixer", Text(arch.NameSpan));
        Assert.EndsWith("augment: [flip, crop(pad: 2)] }", Text(arch.Span));

        var act = arch.Params.Single(p => p.Name == "act");
        Assert.Equal((3, 16), LC(act.Span));
        Assert.Equal("act = gelu", Text(act.Span));

        var input = (InputStmt)arch.Body[0];
        Assert.Equal("input image[channels, size, size]", Text(input.Span));
        Assert.Equal((4, 7), LC(input.LayoutSpan));

        var stem = (StageStmt)arch.Body[1];
        Assert.Equal("stem conv(dim, kernel: patch, stride: patch) -> act -> norm", Text(stem.Span));
        var conv = (OpStep)stem.Body.Steps[0];
        Assert.Equal("conv(dim, kernel: patch, stride: patch)", Text(conv.Span));
        Assert.Equal((5, 6), LC(conv.NameSpan));
        Assert.Equal("kernel: patch", Text(conv.Args[1].Span));
        Assert.Equal((5, 16), LC(conv.Args[1].Span));
        Assert.Equal("conv(dim, kernel: patch, stride: patch) -> act -> norm", Text(stem.Body.Span));

        var mixer = (MixerStmt)arch.Body[2];
        Assert.Equal((6, 1), LC(mixer.Span));
        Assert.Equal((10, 1), mixer.Span.Source.LineColumn(mixer.Span.End - 1));
        var residual = mixer.Entries[2];
        Assert.Equal((9, 3), LC(residual.KeySpan));
        Assert.Equal("residual: residual", Text(residual.Span));
        Assert.Equal((9, 13), LC(residual.Values[0].Span));

        var train = (TrainStmt)arch.Body[4];
        var opt = train.Entries.Single(e => e.Key == "optimizer");
        Assert.Equal((13, 9), LC(opt.KeySpan));
        var call = (CallExpr)opt.Value;
        Assert.Equal("adamw(lr: 0.01, weight_decay: 0.01)", Text(call.Span));
        Assert.Equal("adamw", Text(call.CalleeSpan));
        var augment = (ListExpr)train.Entries.Single(e => e.Key == "augment").Value;
        Assert.Equal("[flip, crop(pad: 2)]", Text(augment.Span));
    }

    [Fact]
    public void Spans_of_expressions_include_operators_and_parentheses()
    {
        var f = Clean("arch A(x = (a + b) * -c, y = 1)");
        var x = f.Archs[0].Params[0].Default!;
        Assert.Equal("(a + b) * -c", Text(x.Span));
        var mul = (Binary)x;
        Assert.Equal("(a + b)", Text(mul.Left.Span));
        Assert.Equal("-c", Text(mul.Right.Span));
        Assert.Equal((1, 23), LC(((Negate)mul.Right).Operand.Span));
        Assert.Equal((1, 12), LC(mul.Left.Span));
    }

    [Fact]
    public void Spans_of_blocks_imports_and_derived_archs()
    {
        var f = Clean(Examples.VitB16 + "\n" + "block b(h) {\n  linear(h)\n}");
        Assert.Equal("import \"../vit.arch\"", Text(f.Imports[0].Span));
        var arch = f.Archs[0];
        Assert.Equal("ViT(dim: 768, depth: 12, heads: 12, patch: 16, channels: 3, size: 224, classes: 1000)", Text(arch.Base!.Span));
        Assert.Equal((2, 16), LC(arch.Base.NameSpan));
        Assert.Equal(Text(arch.Span), "arch ViT_B16 = " + Text(arch.Base.Span));
        var b = f.Blocks[0];
        Assert.Equal((3, 1), LC(b.Span));
        Assert.Equal((3, 7), LC(b.NameSpan));
        Assert.Equal("block b(h) {\n  linear(h)\n}", Text(b.Span));
        Assert.Equal((4, 3), LC(b.Body.Span));
    }
}
