using ArchDsl.Dsl;

namespace ArchDsl.Compiler.Tests;

using static CompilerTestKit;

/// <summary>One number grammar in files and in --set (Python's literals: 128, 1_000, 0.5, .5, 4., 1e-3), and
/// whole-valued numbers where an integer is needed (timm's <c>int(dim * mlp_ratio)</c>).</summary>
public class NumberGrammarTests
{
    private static string Spec(string p = "0.1", string mlp = "4") => $"""
        arch A(dim = 64, mlp = {mlp}, p = {p})
        input tokens[16, 64]
        layers linear(dim * mlp) -> dropout(p) -> linear(dim)
        head global_pool -> linear(10)
        """;

    private static double DropoutP(IrGraph g) => (double)g.Nodes.Single(n => n.Op == "dropout").Attrs["p"];

    [Theory]
    [InlineData(".5", 0.5)]
    [InlineData("0.5", 0.5)]
    [InlineData("5e-1", 0.5)]
    [InlineData("0.000_5e3", 0.5)]
    [InlineData("0.", 0.0)]
    public void A_number_means_the_same_in_a_file_and_in_set(string literal, double value)
    {
        Assert.Equal(value, DropoutP(Graph(Spec(p: literal))));
        Assert.Equal(value, DropoutP(Graph(Spec(), $"p={literal}")));
    }

    [Theory]
    [InlineData("4", 256L)]
    [InlineData("4.0", 256L)]
    [InlineData("4.", 256L)]
    [InlineData("2_0 / 5", 256L)]
    [InlineData("1.5", 96L)]
    public void A_whole_valued_result_is_an_integer_where_one_is_needed(string mlp, long hidden)
    {
        Assert.Equal(hidden, Graph(Spec(mlp: mlp)).Nodes.First(n => n.Op == "linear").Attrs["out"]);
        Assert.Equal(hidden, Graph(Spec(), $"mlp={mlp}").Nodes.First(n => n.Op == "linear").Attrs["out"]);
    }

    [Fact]
    public void A_fraction_where_an_integer_is_needed_says_what_to_write()
    {
        foreach (var r in new[] { Compile(Spec(mlp: "1.01")), Compile(Spec(), "mlp=1.01") })
        {
            var d = Single(r, CompilerCodes.ArgumentType);
            Assert.Equal("argument 'out' of linear expects an integer but got the number 64.64", d.Message);
            Assert.StartsWith("64.64 is not a whole number; a number with a whole value (768.0) counts as an integer", d.Hint);
            At(d, 3, 15);
        }
    }

    [Fact]
    public void Whole_valued_counts_and_input_sizes_are_integers()
    {
        var g = Graph("arch A(d = 2.0)\ninput image[1, 28.0, 28]\nstem patches(4) -> linear(8)\nrepeat d { linear(8) }\nhead avgpool");
        Assert.Equal("image[1, 28, 28]", g.Input.ToString());
        Assert.Equal(3, g.Nodes.Count(n => n.Op == "linear")); // the stem's and two repeats
    }

    [Theory]
    [InlineData("1_", "invalid number '1_'")]
    [InlineData("1__0", "invalid number '1__0'")]
    [InlineData("1.2.3", "invalid number '1.2.3'")]
    [InlineData("2e", "invalid number '2e'")]
    public void A_malformed_number_is_the_same_error_in_a_file_and_in_set(string literal, string message)
    {
        var inFile = Single(Compile(Spec(p: literal)), DslCodes.InvalidNumber.Code);
        Assert.Equal(message, inFile.Message);
        At(inFile, 1, 31);
        var inSet = Single(Compile(Spec(), $"p={literal}"), DslCodes.InvalidNumber.Code);
        Assert.Equal(message, inSet.Message);
        Assert.Equal(Override.SourceName, inSet.Span!.Value.File);
        At(inSet, 1, 3);
    }

    [Fact]
    public void A_whole_valued_train_count_is_an_integer_in_a_file_and_in_set()
    {
        var spec = Spec() + "\ntrain { epochs: 2.0, batch: 64 * 1.5 }";
        Assert.Equal((2L, 96L), ((long)Graph(spec).Train["epochs"], (long)Graph(spec).Train["batch"]));
        Assert.Equal(3L, Graph(spec, "train.epochs=3.").Train["epochs"]);
        var d = Single(Compile(spec, "train.epochs=2.5"), CompilerCodes.TrainValue);
        Assert.Equal("train key 'epochs' expects a positive integer but got the number 2.5", d.Message);
    }
}
