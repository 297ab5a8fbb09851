namespace ArchDsl.Dsl.Tests;

public class RenderTests
{
    [Fact]
    public void Render_shows_location_code_source_line_caret_and_hint()
    {
        var r = SpecParser.Parse("arch A(dim = 1)\nstem conv(dim kernel: 3) -> gelu", "specs/a.arch");
        Assert.Equal("""
            specs/a.arch:2:15: error AD0005: expected ')' to close the argument list of 'conv', found 'kernel'
             2 | stem conv(dim kernel: 3) -> gelu
               |               ^^^^^^
              = hint: arguments are separated by ','

            """.ReplaceLineEndings("\n"), Assert.Single(r.Diagnostics).Render());
    }

    [Fact]
    public void Render_of_a_file_level_diagnostic_has_no_source_line()
    {
        var d = Assert.Single(SpecLoader.Load("/x.arch", _ => null).Diagnostics);
        Assert.Equal("error AD0052: spec file '/x.arch' not found\n", d.Render());
    }

    [Fact]
    public void Render_at_end_of_file_puts_one_caret_after_the_text()
    {
        var d = Assert.Single(SpecParser.Parse("arch A = ", "e.arch").Diagnostics);
        var lines = d.Render().Split('\n');
        Assert.Equal("e.arch:1:10: error AD0012: expected the name of the arch 'A' derives from after '=', found end of file", lines[0]);
        Assert.Equal("   |          ^", lines[2]);
    }
}

/// <summary>Long lines, secondary labels, line-ending conventions and the JSON rendering.</summary>
public class RenderLayoutTests
{
    [Fact]
    public void A_160000_character_line_is_clipped_to_a_window_around_the_caret()
    {
        var line = "stem " + string.Concat(Enumerable.Repeat("gelu -> ", 10_000)) + "gelo" + string.Concat(Enumerable.Repeat(" -> gelu", 10_000));
        Assert.True(line.Length > 160_000);
        var r = SpecParser.Parse("arch A(d = 1)\n" + line + " $", "big.arch");
        var text = Assert.Single(r.Diagnostics).Render();
        Assert.True(text.Length < 1000, $"rendered {text.Length} characters"); // header, two clipped lines, hint
        var lines = text.Split('\n');
        Assert.StartsWith($"big.arch:2:{line.Length + 2}: error AD0001: unexpected '$'", lines[0]);
        Assert.StartsWith(" 2 | ...", lines[1]);
        Assert.EndsWith("-> gelu $", lines[1]);
        Assert.Equal(lines[1].Length - 1, lines[2].IndexOf('^'));
    }

    [Fact]
    public void A_clipped_window_keeps_the_caret_under_its_token_in_the_middle_of_a_line()
    {
        var src = new SourceText("m.arch", new string('a', 5000) + " $ " + new string('b', 5000));
        var (text, caretAt, width) = DiagnosticText.Window(new Span(src, 5001, 1));
        Assert.Equal('$', text[caretAt]);
        Assert.Equal(1, width);
        Assert.StartsWith("...", text);
        Assert.EndsWith("...", text);
        Assert.Equal(DiagnosticText.MaxLineWidth + 6, text.Length);
    }

    [Fact]
    public void Secondary_labels_render_as_their_own_caret_lines_in_line_order()
    {
        var r = SpecParser.Parse("arch A(d = 1)\ninput image[1, 8, 8]\nmixer * 2 {\n  token: gelu\nhead avgpool", "m.arch");
        var d = Assert.Single(r.Diagnostics);
        Assert.Equal("""
            m.arch:5:1: error AD0005: expected a mixer entry ('token:', 'channel:', 'norm:', 'residual:' …) or '}' to close the mixer, found 'head'
             3 | mixer * 2 {
               |           - the mixer's '{' is never closed
             5 | head avgpool
               | ^^^^
              = hint: close the mixer with '}' before the next statement

            """.ReplaceLineEndings("\n"), d.Render());
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\r")]
    public void Every_line_ending_editors_accept_counts_one_line(string eol)
    {
        // a comment, a string and a statement each end at the line break, whatever its convention
        var text = string.Join(eol, "arch A(d = 1)  # comment", "input image[1, 8, 8]", "stem conv(d, kernel: 1) $");
        var d = Assert.Single(SpecParser.Parse(text, "e.arch").Diagnostics);
        Assert.Equal((3, 25), (d.Span!.Value.Line, d.Span.Value.Column));
        Assert.Contains(" 3 | stem conv(d, kernel: 1) $\n", d.Render());
    }

    [Fact]
    public void A_lone_carriage_return_ends_a_comment_and_an_unterminated_string()
    {
        var r = SpecParser.Parse("arch A(d = 1) # c\rinput image[1, 8, 8]\rimport \"x\rhead avgpool", "e.arch");
        var d = Assert.Single(r.Diagnostics);
        Assert.Equal(DslCodes.UnterminatedString.Code, d.Code);
        Assert.Equal((3, 8, 2), (d.Span!.Value.Line, d.Span.Value.Column, d.Span.Value.Length));
    }

    [Fact]
    public void Unicode_line_separators_are_not_line_breaks_and_render_as_one_replacement_character()
    {
        var d = Assert.Single(SpecParser.Parse("arch A(d = 1)\u2028x", "u.arch").Diagnostics);
        Assert.Equal(DslCodes.InvalidCharacter.Code, d.Code);
        Assert.Equal((1, 14), (d.Span!.Value.Line, d.Span.Value.Column));
        Assert.Contains(" 1 | arch A(d = 1)\uFFFDx\n   |              ^\n", d.Render());
    }

    [Fact]
    public void Json_carries_code_span_labels_and_hint()
    {
        var r = SpecParser.Parse("arch A(d = 1)\nstem conv(d, kernel: 3 -> gelu", "j.arch");
        using var doc = System.Text.Json.JsonDocument.Parse(DiagnosticJson.Write(r.Diagnostics));
        var d = Assert.Single(doc.RootElement.EnumerateArray().ToList());
        Assert.Equal("AD0005", d.GetProperty("code").GetString());
        Assert.Equal("error", d.GetProperty("severity").GetString());
        Assert.Equal("expected ')' to close the argument list of 'conv', found '->'", d.GetProperty("message").GetString());
        var span = d.GetProperty("span");
        Assert.Equal(("j.arch", 2, 24, 2, 26), (span.GetProperty("file").GetString(), span.GetProperty("line").GetInt32(),
            span.GetProperty("column").GetInt32(), span.GetProperty("end_line").GetInt32(), span.GetProperty("end_column").GetInt32()));
        var label = Assert.Single(d.GetProperty("labels").EnumerateArray().ToList());
        Assert.Equal((2, 10, "this '(' is never closed"), (label.GetProperty("line").GetInt32(), label.GetProperty("column").GetInt32(), label.GetProperty("message").GetString()));
        Assert.Equal("arguments are separated by ','", d.GetProperty("hint").GetString());
    }
}
