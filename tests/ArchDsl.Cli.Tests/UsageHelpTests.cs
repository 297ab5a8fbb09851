using static ArchDsl.Cli.Tests.CliHarness;

namespace ArchDsl.Cli.Tests;

/// <summary>The command line helps like the language: "did you mean" for commands and options, --set for a bare
/// name=value, exit code 2; and command-line diagnostics point at the command line.</summary>
public class UsageHelpTests
{
    [Theory]
    [InlineData(new[] { "sumary", "x.arch" }, "archc: error: unknown command 'sumary'\n  = hint: did you mean 'summary'?\n")]
    [InlineData(new[] { "train", "x.arch", "--epoch", "2" }, "archc: error: unknown option '--epoch' for 'train'\n  = hint: did you mean '--epochs'?\n")]
    [InlineData(new[] { "train", "x.arch", "--epoch=2" }, "archc: error: unknown option '--epoch' for 'train'\n  = hint: did you mean '--epochs'?\n")]
    [InlineData(new[] { "check", "x.arch", "--epoch", "2" }, "archc: error: unknown option '--epoch' for 'check'\n  = hint: train settings are overrides here: --set train.epochs=2\n")]
    [InlineData(new[] { "check", "x.arch", "kernel=7" }, "archc: error: unexpected argument 'kernel=7' for 'check'\n  = hint: overrides are written with --set: --set kernel=7\n")]
    // a bad option value or a missing argument, in archc's words (System.CommandLine's were "Cannot parse argument 'abc'
    // for option '--epochs' as expected type 'System.Nullable`1[System.Int32]'", "Argument 'tset' not recognized. Must be
    // one of:" with tab-indented values, "Required argument missing for command: 'check'.")
    [InlineData(new[] { "train", "x.arch", "--epochs", "abc" }, "archc: error: --epochs takes an integer, not 'abc'\n")]
    [InlineData(new[] { "train", "x.arch", "--batch", "99999999999" }, "archc: error: --batch takes an integer up to 2,147,483,647, not '99999999999'\n")]
    [InlineData(new[] { "summary", "x.arch", "--depth", "1.5" }, "archc: error: --depth takes an integer, not '1.5'\n")]
    [InlineData(new[] { "eval", "runs/x", "--on", "tset" }, "archc: error: --on takes test, train or val, not 'tset'\n  = hint: did you mean 'test'?\n")]
    [InlineData(new[] { "graph", "x.arch", "--format", "svg" }, "archc: error: --format takes dot, json, text or yaml, not 'svg'\n")]
    [InlineData(new[] { "check" }, "archc: error: missing argument <spec> for 'check': the .arch spec file\n  = hint: archc check <spec> [options]; 'archc check --help' lists them\n")]
    public void A_mistyped_command_line_gets_one_error_with_a_hint_and_exit_two(string[] args, string expected)
    {
        var (code, stdout, stderr) = Run(args);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("", stdout);
        Assert.Equal(expected + "archc: run 'archc --help' for usage\n", stderr.ReplaceLineEndings("\n"));
    }

    [Fact]
    public void Two_missing_arguments_are_each_named_and_share_one_usage_hint()
    {
        var (code, _, stderr) = Run("data", "export");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("archc: error: missing argument <data> for 'data export'", stderr);
        Assert.Contains("archc: error: missing argument <dir> for 'data export'", stderr);
        Assert.Single(stderr.ReplaceLineEndings("\n").Split('\n'), l => l == "  = hint: archc data export <data> <dir> [options]; 'archc data export --help' lists them");
    }

    [Fact]
    public void An_unknown_command_with_no_close_match_lists_the_commands()
    {
        var (code, _, stderr) = Run("frobnicate");
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("  = hint: commands: check, summary, graph, ops, train", stderr);
    }

    [Fact]
    public void A_bad_op_in_set_is_reported_once_at_the_override_with_did_you_mean()
    {
        var (code, _, stderr) = Run("check", Spec("convmixer.arch"), "--set", "act=swish");
        Assert.Equal(ExitCodes.SpecErrors, code);
        var lines = stderr.ReplaceLineEndings("\n").Split('\n');
        Assert.Equal("<--set>:1:5: error AD0100: unknown op 'swish' (the value of 'act')", lines[0]);
        Assert.Equal("  1 | act=swish", lines[1]); // the gutter is as wide as the widest line number shown (11, of the use)
        Assert.Equal("    |     ^^^^^", lines[2]);
        Assert.Equal("  --> " + Spec("convmixer.arch") + ":11:49", lines[3]);
        Assert.Contains("  = hint: did you mean 'silu'?", lines);
        Assert.Single(lines, l => l.Contains("error AD", StringComparison.Ordinal));
        Assert.Contains("'act' used as a step here", stderr);
    }

    [Fact]
    public void A_misspelled_op_on_a_160000_character_line_keeps_stderr_small()
    {
        var chain = string.Join(" -> ", Enumerable.Repeat("gelu", 20_000)) + " -> gelo -> " + string.Join(" -> ", Enumerable.Repeat("gelu", 20_000));
        var path = TempSpec($"arch A(dim = 8)\ninput tokens[4, 8]\nlayers {chain}\nhead linear(2)\n");
        Assert.True(chain.Length > 160_000);
        var (code, _, stderr) = Run("check", path);
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.True(stderr.Length < 1000, $"{stderr.Length} characters of stderr");
        Assert.Contains($"{path}:3:{"layers ".Length + chain.IndexOf("gelo", StringComparison.Ordinal) + 1}: error AD0100: unknown op 'gelo'", stderr);
        Assert.Contains("did you mean 'gelu'?", stderr);
    }

    [Fact]
    public void Check_format_json_writes_the_diagnostics_to_stdout()
    {
        var path = TempSpec("arch A(dim = 8)\ninput tokens[4, 8]\nlayers gelo\nhead linear(2)\n");
        var (code, stdout, stderr) = Run("check", path, "--format", "json");
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.Equal("", stderr);
        using var doc = System.Text.Json.JsonDocument.Parse(stdout);
        var d = Assert.Single(doc.RootElement.EnumerateArray().ToList());
        Assert.Equal("AD0100", d.GetProperty("code").GetString());
        Assert.Equal(3, d.GetProperty("span").GetProperty("line").GetInt32());
        Assert.Equal(8, d.GetProperty("span").GetProperty("column").GetInt32());
        Assert.Equal("did you mean 'gelu'?", d.GetProperty("hint").GetString());

        var (okCode, okOut, _) = Run("check", Spec("convmixer.arch"), "--format", "json");
        Assert.Equal(ExitCodes.Ok, okCode);
        Assert.Equal("[]", okOut.Trim());
    }

    /// <summary>JSON lists the diagnostics in text's order (by file, then position): here the train section's subset
    /// warning (line 8) is found before the device check's amp error (line 6), and both renderings put line 6 first.</summary>
    [Fact]
    public void Check_format_json_lists_the_diagnostics_in_texts_order()
    {
        var path = TempSpec("arch A(dim = 8)\ninput image[1, 28, 28]\nstem conv(dim, kernel: 7, stride: 7) -> gelu\nhead avgpool -> linear(10)\n" +
            "train {\n  amp: fp16\n  data: fashion-mnist\n  subset: 1000000\n}\n");
        var (code, stdout, _) = Run("check", path, "--format", "json");
        Assert.Equal(ExitCodes.SpecErrors, code);
        using var doc = System.Text.Json.JsonDocument.Parse(stdout);
        var lines = doc.RootElement.EnumerateArray().Select(d => (d.GetProperty("code").GetString(), d.GetProperty("span").GetProperty("line").GetInt32()));
        Assert.Equal(new (string?, int)[] { ("AD0197", 6), ("AD0392", 8) }, lines.ToArray());
        var (_, _, stderr) = Run("check", path);
        Assert.True(stderr.IndexOf("AD0197", StringComparison.Ordinal) < stderr.IndexOf("AD0392", StringComparison.Ordinal), stderr);
    }
}
