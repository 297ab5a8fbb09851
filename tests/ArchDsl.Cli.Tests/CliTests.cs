using ArchDsl.Cli;
using static ArchDsl.Cli.Tests.CliHarness;

namespace ArchDsl.Cli.Tests;

/// <summary>archc as a user meets it: exit codes, where output goes, no stack traces.</summary>
public class CliTests
{
    public static TheoryData<string> AllSpecs()
    {
        var data = new TheoryData<string>();
        foreach (var f in Directory.GetFiles(Path.Combine(Root, "specs"), "*.arch", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            data.Add(Path.GetRelativePath(Path.Combine(Root, "specs"), f));
        return data;
    }

    [Theory]
    [MemberData(nameof(AllSpecs))]
    public void Check_exits_zero_on_every_shipped_spec(string spec)
    {
        var (code, stdout, stderr) = Run("check", Spec(spec));
        Assert.True(code == ExitCodes.Ok, stderr);
        Assert.Contains(": ok", stdout);
        // the ImageNet specs name /data/imagenet, which this machine lacks: a warning (AD0180), nothing else
        Assert.All(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains(": warning ") || l.Contains(": error ")),
            l => Assert.Contains("warning AD0180: image folder '/data/imagenet' does not exist", l));
    }

    [Theory]
    [MemberData(nameof(TestSupport.PublishedCounts.Theory), MemberType = typeof(TestSupport.PublishedCounts))]
    public void Summary_prints_the_published_parameter_count(string spec, long count)
    {
        var (code, stdout, _) = Run("summary", Spec(spec));
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains($"Trainable params: {count.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)}", stdout);
    }

    [Fact]
    public void Ops_lists_every_op_with_its_defaults_aliases_and_layouts()
    {
        var (code, stdout, _) = Run("ops");
        Assert.Equal(ExitCodes.Ok, code);
        foreach (var op in ArchDsl.Compiler.OpCatalog.All) Assert.Contains(op.Usage, stdout);
        Assert.Contains("conv(out, kernel, stride: 1, padding: 0, groups: 1, bias: true)    (IR conv2d)", stdout);
        Assert.Contains("gelu(approximate: none)\n    choices: approximate: none | tanh", stdout);
        Assert.Contains("global_pool(prefix_tokens: 0)    (IR avgpool)\n    aliases: avgpool\n    image[C,H,W] → vector[C]; tokens[N,D] → vector[D]", stdout);
        Assert.Contains("cls_pool    (IR cls)\n    aliases: cls", stdout);
        Assert.Contains("avg_pool(kernel: 3, stride: 1, padding: same)    (IR pool)\n    aliases: pool", stdout);
    }

    [Fact]
    public void Summary_json_is_parseable_and_carries_the_totals()
    {
        var (code, stdout, _) = Run("summary", Spec("imagenet/vit-ti16.arch"), "--format", "json");
        Assert.Equal(ExitCodes.Ok, code);
        using var doc = System.Text.Json.JsonDocument.Parse(stdout);
        Assert.Contains("5717416", stdout.Replace(",", "").Replace(" ", ""));
    }

    [Fact]
    public void Overrides_change_the_compiled_graph()
    {
        var (_, small, _) = Run("check", Spec("convmixer.arch"), "--set", "dim=64");
        var (_, big, _) = Run("check", Spec("convmixer.arch"), "--set", "dim=256");
        Assert.NotEqual(small, big);
        var (code, _, stderr) = Run("check", Spec("convmixer.arch"), "--set", "nosuch=3");
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.Contains("nosuch", stderr);
    }

    [Theory]
    [InlineData("text", "blocks.0.token.0")]
    [InlineData("yaml", "nodes:")]
    [InlineData("json", "\"format\": \"archdsl-ir/1\"")]
    [InlineData("dot", "digraph")]
    public void Graph_prints_each_format(string format, string expected)
    {
        var (code, stdout, _) = Run("graph", Spec("convmixer.arch"), "--format", format);
        Assert.Equal(ExitCodes.Ok, code);
        Assert.Contains(expected, stdout);
    }

    [Fact]
    public void A_spec_with_errors_exits_one_with_every_diagnostic_located_and_no_stack_trace()
    {
        var path = TempSpec("arch A(dim = 64)\ninput image[1, 28, 28]\nstem conv(dim, kernel: 2, stride: 2) -> gelu\nhead avgpool -> linaer(10)\ntrain { epoch: 3 }\n");
        var (code, stdout, stderr) = Run("check", path);
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.Equal("", stdout);
        Assert.Contains($"{path}:4:17: error AD", stderr);
        Assert.Contains("linaer", stderr);
        Assert.Contains($"{path}:5:9: error AD", stderr);
        Assert.Contains("^", stderr);
        Assert.DoesNotContain("   at ", stderr);
        Assert.DoesNotContain("Exception", stderr);
    }

    [Fact]
    public void Diagnostics_are_listed_in_file_order_as_a_reader_fixes_them()
    {
        // the mixer's residual is checked before its sub-layers' ops, the train section after: listed by line all the same
        var spec = TempSpec(TinyTrainSpec.Replace("stem conv(dim, kernel: 2, stride: 2) -> gelu -> batchnorm",
            "stem conv(dim, kernel: 2, stride: 2) -> gelu -> batchnorm\nmixer * 1 {\n  token: conv(dim, kernel: 1) -> gelo\n  residual: boht\n}")
            .Replace("batch: 32", "bach: 32"));
        var (code, _, stderr) = Run("check", spec);
        Assert.Equal(ExitCodes.SpecErrors, code);
        var located = stderr.Split('\n').Where(l => l.StartsWith(spec + ":", StringComparison.Ordinal)).Select(l => l[(spec.Length + 1)..].Split(':')[0]).ToList();
        Assert.Equal(["5", "6", "12"], located);
    }

    [Fact]
    public void A_missing_spec_file_is_an_error_not_a_crash()
    {
        var (code, _, stderr) = Run("check", "/nonexistent/dir/x.arch");
        Assert.Equal(ExitCodes.SpecErrors, code);
        Assert.Contains("/nonexistent/dir/x.arch", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }

    [Theory]
    [InlineData("bogus")]
    [InlineData("check")]
    [InlineData("graph", "specs/convmixer.arch", "--format", "png")]
    public void Usage_errors_exit_two(params string[] args)
    {
        var (code, _, stderr) = Run(args);
        Assert.Equal(ExitCodes.Usage, code);
        Assert.Contains("archc: error:", stderr);
    }
}
