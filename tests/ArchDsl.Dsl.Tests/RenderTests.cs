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
