namespace ArchDsl.Dsl.Tests;

/// <summary>Each kind of syntax error: its code, where it points and what it says.</summary>
public class SyntaxErrorTests
{
    private static Diagnostic Single(string text)
    {
        var r = SpecParser.Parse(text, "e.arch");
        Assert.True(r.Diagnostics.Count == 1, $"expected one diagnostic, got:\n{string.Join("\n", r.Diagnostics.Select(d => d.Render()))}");
        return r.Diagnostics[0];
    }

    private static void Check(string text, string code, int line, int column, string message)
    {
        var d = Single(text);
        Assert.Equal(code, d.Code);
        Assert.Equal(message, d.Message);
        Assert.Equal((line, column), (d.Span!.Value.Line, d.Span.Value.Column));
        Assert.True(d.IsError);
    }

    [Fact]
    public void Missing_close_paren_names_the_call() =>
        Check("arch A(dim = 1)\nstem conv(dim kernel: 3) -> gelu", DslCodes.ExpectedClosingBracket.Code, 2, 15,
            "expected ')' to close the argument list of 'conv', found 'kernel'");

    [Fact]
    public void Unclosed_argument_list_at_end_of_file_is_reported_once_by_the_parser() =>
        Check("arch A(dim = 1)\nstem conv(dim", DslCodes.ExpectedClosingBracket.Code, 2, 14,
            "expected ')' to close the argument list of 'conv', found end of file");

    [Fact]
    public void Arch_parameter_without_default() =>
        Check("arch A(dim: 1)", DslCodes.ExpectedEquals.Code, 1, 11, "'=' expected after parameter name 'dim', found ':'");

    [Fact]
    public void Missing_arrow_between_steps() =>
        Check("arch A(dim = 1)\nstem conv(dim) gelu\nhead x", DslCodes.ExpectedArrowOrEnd.Code, 2, 16, "expected '->' or end of chain, found 'gelu'");

    [Fact]
    public void Missing_arrow_inside_a_mixer_chain() =>
        Check("arch A(dim = 1)\nmixer * 2 {\n  token: conv(dim) gelu\n}", DslCodes.ExpectedArrowOrEnd.Code, 3, 20, "expected '->' or end of chain, found 'gelu'");

    [Fact]
    public void Dangling_arrow_before_the_next_statement() =>
        Check("arch A(dim = 1)\nstem conv(dim) ->\nhead x", DslCodes.ExpectedStep.Code, 3, 1, "expected an op after '->', found 'head'");

    [Fact]
    public void Unterminated_string() =>
        Check("import \"../vit.arch\narch A(d = 1)", DslCodes.UnterminatedString.Code, 1, 8, "unterminated string");

    [Fact]
    public void Invalid_character() =>
        Check("arch A(d = 1)\nstem conv(d) $ x", DslCodes.InvalidCharacter.Code, 2, 14, "unexpected '$'");

    [Fact]
    public void A_run_of_invalid_characters_is_one_diagnostic() =>
        Check("arch A(d = 1)\nstem x\n\0\0\u00e9", DslCodes.InvalidCharacter.Code, 3, 1, "unexpected NUL character (U+0000) and 2 more invalid characters");

    [Fact]
    public void Unmatched_closing_brace() =>
        Check("arch A(d = 1)\nstem x\n}\nhead y", DslCodes.UnmatchedBracket.Code, 3, 1, "unexpected '}'");

    [Fact]
    public void Unclosed_mixer_brace_is_explained_once_by_the_parser()
    {
        // the lexer's "'{' is never closed" is dropped: the parser says where the '}' was expected
        var r = SpecParser.Parse("arch A(d = 1)\nmixer * 2 {\n  token: x", "e.arch");
        var d = Assert.Single(r.Diagnostics);
        Assert.Equal(DslCodes.ExpectedClosingBracket.Code, d.Code);
        Assert.Equal((3, 11), (d.Span!.Value.Line, d.Span.Value.Column));
    }

    [Fact]
    public void Unclosed_bracket_the_parser_never_reached_is_reported_by_the_lexer()
    {
        var r = SpecParser.Parse("arch A(d = 1)\nstem $ conv(\nhead x", "e.arch");
        Assert.Equal([(DslCodes.InvalidCharacter.Code, 2, 6), (DslCodes.UnclosedBracket.Code, 2, 12)],
            r.Diagnostics.Select(d => (d.Code, d.Span!.Value.Line, d.Span.Value.Column)));
        Assert.Equal("'(' is never closed", r.Diagnostics[1].Message);
    }

    [Fact]
    public void Mismatched_brackets_are_reported_by_the_lexer_when_the_parser_accepts()
    {
        // "[1, 2)" : ')' closes nothing, '[' is never closed; the parser explains the ')' more precisely
        var r = SpecParser.Parse("arch A(d = [1, 2)\n", "e.arch");
        Assert.Contains(r.Diagnostics, d => d.Code == DslCodes.ExpectedClosingBracket.Code && d.Message == "expected ']' to close the list, found ')'");
    }

    [Fact]
    public void Misspelled_statement_keyword_gets_a_suggestion()
    {
        var d = Single("arch A(dim = 1)\nstme conv(dim)\nhead x");
        Assert.Equal(DslCodes.ExpectedStatement.Code, d.Code);
        Assert.Equal((2, 1), (d.Span!.Value.Line, d.Span.Value.Column));
        Assert.Equal("did you mean 'stem'?", d.Hint);
    }

    [Fact]
    public void Statement_outside_an_arch() =>
        Check("stem conv(dim)\narch A(dim = 1)", DslCodes.ExpectedDeclaration.Code, 1, 1, "expected 'arch', 'block' or 'import', found 'stem'");

    [Fact]
    public void Invalid_number() =>
        Check("arch B(x = 2x)", DslCodes.InvalidNumber.Code, 1, 12, "invalid number '2x'");

    [Fact]
    public void Integer_too_large() =>
        Check("arch A(dim = 99999999999999999999)", DslCodes.NumberTooLarge.Code, 1, 14, "integer '99999999999999999999' is too large");

    [Fact]
    public void Missing_expression_after_operator() =>
        Check("arch A(dim = 1 +)", DslCodes.ExpectedExpression.Code, 1, 17, "expected an expression after '+', found ')'");

    [Fact]
    public void Missing_colon_in_train_entry() =>
        Check("arch A(dim = 1)\ntrain { epochs 3 }", DslCodes.ExpectedToken.Code, 2, 16, "expected ':' after train key 'epochs', found '3'");

    [Fact]
    public void Import_without_string() =>
        Check("import foo", DslCodes.ExpectedString.Code, 1, 8, "expected a quoted path after 'import', found 'foo'");

    [Fact]
    public void Trailing_comma_in_parameters() =>
        Check("arch A(dim = 1, )", DslCodes.ExpectedName.Code, 1, 17, "expected a parameter name after ',', found ')'");

    [Fact]
    public void Residual_without_braces() =>
        Check("arch A(d = 1)\nstem residual linear(d)", DslCodes.ExpectedToken.Code, 2, 15, "expected '{' after 'residual', found 'linear'");

    [Fact]
    public void Empty_block_body() =>
        Check("block b { }", DslCodes.ExpectedStep.Code, 1, 11, "expected the ops of block 'b', found '}'");

    [Fact]
    public void Mixer_without_star() =>
        Check("arch A(d = 1)\nmixer depth { token: x }", DslCodes.ExpectedToken.Code, 2, 7, "expected '*' and the number of blocks after 'mixer', found 'depth'");

    [Fact]
    public void Missing_values_separator_in_mixer_entry() =>
        Check("arch A(d = 1)\nmixer * 2 {\n norm: layer pre\n}", DslCodes.ExpectedToken.Code, 3, 14, "expected ',' or the end of entry 'norm', found 'pre'");

    [Fact]
    public void Arch_without_parameters_or_base() =>
        Check("arch A\nstem x", DslCodes.ExpectedToken.Code, 2, 1, "expected '(' with the parameters of 'A', or '= Base(…)', found 'stem'");

    [Fact]
    public void Derived_arch_missing_base_name_at_end_of_file() =>
        Check("arch A = ", DslCodes.ExpectedName.Code, 1, 10, "expected the name of the arch 'A' derives from after '=', found end of file");

    [Fact]
    public void Op_name_cannot_be_a_keyword() =>
        Check("arch A(d = 1)\nstem train", DslCodes.ExpectedStep.Code, 2, 6, "expected an op after 'stem', found 'train'");

    [Fact]
    public void Nesting_too_deep_is_a_diagnostic_not_a_crash()
    {
        var text = "arch A(d = " + new string('(', 500) + "1" + new string(')', 500) + ")";
        var d = Single(text);
        Assert.Equal(DslCodes.NestingTooDeep.Code, d.Code);
        Assert.Equal(1, d.Span!.Value.Line);
        Assert.StartsWith("nesting is too deep", d.Message);
    }

    [Fact]
    public void Deep_unary_minus_and_nested_bodies_are_limited_too()
    {
        Assert.Equal(DslCodes.NestingTooDeep.Code, Single("arch A(d = " + new string('-', 100_000) + "1)").Code);
        var bodies = string.Concat(Enumerable.Repeat("residual { ", 1000)) + "x" + new string('}', 1000);
        Assert.Equal(DslCodes.NestingTooDeep.Code, Single("arch A(d = 1)\nstem " + bodies).Code);
    }

    [Fact]
    public void Overlong_expression_is_a_diagnostic()
    {
        var text = "arch A(d = 1" + string.Concat(Enumerable.Repeat(" + 1", 5000)) + ")";
        Assert.Equal(DslCodes.ExpressionTooLong.Code, Single(text).Code);
    }

    [Fact]
    public void Within_limits_deep_nesting_parses()
    {
        var text = "arch A(d = " + new string('(', 150) + "1" + new string(')', 150) + ")";
        var r = SpecParser.Parse(text, "e.arch");
        Assert.Empty(r.Diagnostics);
        Assert.IsType<IntLit>(r.File.Archs[0].Params[0].Default);
    }
}
