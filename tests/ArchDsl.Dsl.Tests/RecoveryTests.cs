namespace ArchDsl.Dsl.Tests;

/// <summary>Several mistakes in one file are all reported, and what parsed is kept.</summary>
public class RecoveryTests
{
    [Fact]
    public void Every_broken_statement_and_declaration_is_reported()
    {
        const string text = """
            block good { linear(4) }
            block bad(x { linear(x) }
            arch A(dim = 8)
            input image[1, 28, 28
            stem conv(dim kernel: 2) -> gelu
            mixer * 2 {
              token: conv(dim) gelu
              channel: linear(dim)
            }
            head avgpool -> linear(10)
            train { epochs 3 }
            arch B(dim: 4)
            stem linear(dim)
            import foo
            arch C(d = 1)
            stme x
            """;
        var r = SpecParser.Parse(text, "multi.arch");
        var got = r.Diagnostics.Select(d => (d.Code, d.Span!.Value.Line, d.Span.Value.Column)).ToList();
        Assert.Equal(
        [
            (DslCodes.ExpectedClosingBracket.Code, 2, 13), // block bad(x {
            (DslCodes.ExpectedClosingBracket.Code, 5, 1),  // input image[1, 28, 28 <newline> stem
            (DslCodes.ExpectedClosingBracket.Code, 5, 15), // conv(dim kernel
            (DslCodes.ExpectedArrowOrEnd.Code, 7, 20),     // conv(dim) gelu
            (DslCodes.ExpectedToken.Code, 11, 16),         // epochs 3
            (DslCodes.ExpectedEquals.Code, 12, 11),        // B(dim: 4)
            (DslCodes.ExpectedString.Code, 14, 8),         // import foo
            (DslCodes.ExpectedStatement.Code, 16, 1),      // stme
        ], got);

        // what parsed is kept: the good block, A with its good statements, C
        Assert.Equal(["good"], r.File.Blocks.Select(b => b.Name));
        Assert.Equal(["A", "C"], r.File.Archs.Select(a => a.Name));
        Assert.Equal(["head"], r.File.Archs[0].Body.OfType<StageStmt>().Select(s => s.Kind));
    }

    [Fact]
    public void Recovery_skips_entry_keys_that_look_like_statements()
    {
        // 'residual:' inside the broken mixer starts a line but is an entry key, not a statement
        const string text = "arch A(d = 1)\nmixer * 2 {\n  token: conv(d\n  residual: both\n}\nhead x";
        var r = SpecParser.Parse(text, "r.arch");
        var d = Assert.Single(r.Diagnostics);
        Assert.Equal((4, 3), (d.Span!.Value.Line, d.Span.Value.Column));
        Assert.Equal(["head"], r.File.Archs[0].Body.OfType<StageStmt>().Select(s => s.Kind));
    }

    [Fact]
    public void Lexical_errors_in_different_statements_are_all_reported()
    {
        const string text = "arch A(d = 1)\nstem x $ y\nhead \"open\ntrain { seed: 1 } }";
        var r = SpecParser.Parse(text, "l.arch");
        Assert.Equal(
            [(DslCodes.InvalidCharacter.Code, 2, 8), (DslCodes.UnterminatedString.Code, 3, 6), (DslCodes.UnmatchedBracket.Code, 4, 19)],
            r.Diagnostics.Select(d => (d.Code, d.Span!.Value.Line, d.Span.Value.Column)));
    }
}
