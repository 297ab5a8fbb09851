namespace ArchDsl.Dsl.Tests;

/// <summary>The one "did you mean" routine, the one expression parser (--set values), and hints for stray ASCII.</summary>
public class SuggestionAndExpressionTests
{
    [Theory]
    [InlineData("gelo", "gelu")]
    [InlineData("sumary", "summary")]
    [InlineData("stme", "stem")]       // a transposition is one edit
    [InlineData("GELU", "gelu")]       // case alone never hides the match
    [InlineData("conv2d", "conv")]     // two edits in six letters
    [InlineData("norm", null)]         // two edits in four letters is another word, not 'none'
    [InlineData("gelu", null)]         // the word itself is no suggestion
    [InlineData("xyzzy", null)]
    public void Closest_follows_rustcs_distance_rule(string word, string? expected) =>
        Assert.Equal(expected, Suggestions.Closest(word, ["gelu", "none", "summary", "stem", "conv", "silu"]));

    [Fact]
    public void A_synonym_is_suggested_only_when_its_target_is_offered()
    {
        var synonyms = new Dictionary<string, string> { ["swish"] = "silu" };
        Assert.Equal("silu", Suggestions.Closest("swish", ["gelu", "silu"], synonyms));
        Assert.Null(Suggestions.Closest("swish", ["kernel", "stride"], synonyms));
    }

    [Theory]
    [InlineData("x=.5", 0.5)]
    [InlineData("x=4.", 4.0)]
    [InlineData("x= 1e-3 ", 0.001)]
    public void Expressions_use_the_spec_number_grammar(string text, double value)
    {
        var r = SpecParser.ParseExpression(new SourceText("<--set>", text), 2);
        Assert.Empty(r.Diagnostics);
        Assert.Equal(value, Assert.IsType<FloatLit>(r.Expr).Value);
    }

    [Theory]
    [InlineData("x=1_000", 1000L)]
    [InlineData("x=-(2)", -2L)]
    public void Integer_expressions_parse(string text, long value)
    {
        var r = SpecParser.ParseExpression(new SourceText("<--set>", text), 2);
        Assert.Empty(r.Diagnostics);
        var e = r.Expr!;
        Assert.Equal(value, e is Negate n ? -((IntLit)n.Operand).Value : ((IntLit)e).Value);
    }

    [Theory]
    [InlineData("a=gelu gelu", "AD0013", 8, "expected the end of the value, found 'gelu'")]
    [InlineData("a=$", "AD0001", 3, "unexpected '$'")]
    [InlineData("a=", "AD0011", 3, "expected a value, found end of file")]
    [InlineData("a=[1, 2", "AD0005", 8, "expected ']' to close the list, found end of file")]
    [InlineData("a=1)", "AD0003", 4, "unexpected ')'")]
    public void Expression_errors_are_located_in_their_source(string text, string code, int column, string message)
    {
        var r = SpecParser.ParseExpression(new SourceText("<--set>", text), 2);
        Assert.Null(r.Expr);
        var d = Assert.Single(r.Diagnostics);
        Assert.Equal((code, 1, column, message), (d.Code, d.Span!.Value.Line, d.Span.Value.Column, d.Message));
    }

    [Theory]
    [InlineData("train.data=folder:/data/x", 18, "a path is a string: write \"folder:/data/x\" (on a shell command line, quote the quotes: 'train.data=\"folder:/data/x\"')")]
    [InlineData("train.data=cifar10:/data", 19, "a path is a string: write \"cifar10:/data\" (on a shell command line, quote the quotes: 'train.data=\"cifar10:/data\"')")]
    [InlineData("a=gelu gelu", 8, "a value is one expression; join parts with an operator (+ - * / %) or put them in a list [a, b]")]
    public void An_unquoted_path_in_a_value_gets_a_hint_to_quote_it(string text, int column, string hint)
    {
        // The value of --set train.data=folder:/data/x stops at ':'; the hint was about operators and lists.
        var r = SpecParser.ParseExpression(new SourceText("<--set>", text), text.IndexOf('=') + 1);
        var d = Assert.Single(r.Diagnostics);
        Assert.Equal(("AD0013", column, hint), (d.Code, d.Span!.Value.Column, d.Hint));
    }

    [Theory]
    [InlineData("stem conv(d);", "no ';' is needed: a statement ends where the next statement's keyword begins, and the steps of a chain are joined with '->'")]
    [InlineData("stem conv(d.x)", "'.' belongs only in numbers (0.5, .5, 4.); names have no '.'")]
    [InlineData("stem conv(d) ! x", "'!' is not an operator of the language; arithmetic is + - * / % and text belongs in strings or '#' comments")]
    [InlineData("stem conv(d) é", "names, numbers and punctuation are ASCII; other text belongs in strings or '#' comments")]
    public void A_stray_character_gets_a_hint_about_that_character(string stmt, string hint)
    {
        var d = SpecParser.Parse("arch A(d = 1)\n" + stmt, "e.arch").Diagnostics.First();
        Assert.Equal(DslCodes.InvalidCharacter.Code, d.Code);
        Assert.Equal(hint, d.Hint);
    }

    [Theory]
    [InlineData(".5", 0.5)]
    [InlineData("4.", 4.0)]
    [InlineData("1_0.2_5", 10.25)]
    [InlineData("2.5E3", 2500.0)]
    public void Float_literals_in_files(string literal, double value)
    {
        var r = SpecParser.Parse($"arch A(d = {literal})", "n.arch");
        Assert.Empty(r.Diagnostics);
        Assert.Equal(value, Assert.IsType<FloatLit>(r.File.Archs[0].Params[0].Default).Value);
    }

    [Fact]
    public void A_value_embedded_in_a_file_parses_alone_and_its_error_shows_the_files_whole_line()
    {
        var file = new SourceText("sweep.yaml", "grid:\n  depth: [x y, 2]  # comment\n");
        var r = SpecParser.ParseExpression(SourceText.Embedded(file, file.Text.IndexOf('x'), "x y"), file.Text.IndexOf('x'));
        var d = Assert.Single(r.Diagnostics);
        Assert.Equal("sweep.yaml:2:13: error AD0013: expected the end of the value, found 'y'", d.Render().Split('\n')[0]);
        Assert.Equal(" 2 |   depth: [x y, 2]  # comment", d.Render().Split('\n')[1]);
        Assert.Equal("   |             ^", d.Render().Split('\n')[2]);
    }
}
