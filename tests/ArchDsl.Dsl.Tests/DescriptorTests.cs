using System.Text.RegularExpressions;

namespace ArchDsl.Dsl.Tests;

/// <summary>The Dsl's diagnostic descriptors: each code defined once, in range, titled, and produced by some input with
/// a message of its own format.</summary>
public class DescriptorTests
{
    /// <summary>An input that produces each code (the parser's internal error only arises from a bug, so it has none).</summary>
    private static readonly (DiagnosticDescriptor Descriptor, Func<IReadOnlyList<Diagnostic>> Run)[] Triggers =
    [
        (DslCodes.InvalidCharacter, () => Parse("arch A(d = 1)\nstem conv(d) $ x")),
        (DslCodes.UnterminatedString, () => Parse("import \"../vit.arch\narch A(d = 1)")),
        (DslCodes.UnmatchedBracket, () => Parse("arch A(d = 1)\nstem x\n}\nhead y")),
        (DslCodes.UnclosedBracket, () => Parse("arch A(d = 1)\nstem $ conv(\nhead x")),
        (DslCodes.ExpectedClosingBracket, () => Parse("arch A(dim = 1)\nstem conv(dim")),
        (DslCodes.ExpectedArrowOrEnd, () => Parse("arch A(dim = 1)\nstem conv(dim) gelu\nhead x")),
        (DslCodes.ExpectedEquals, () => Parse("arch A(dim: 1)")),
        (DslCodes.ExpectedDeclaration, () => Parse("stem conv(dim)\narch A(dim = 1)")),
        (DslCodes.ExpectedStatement, () => Parse("arch A(d = 1)\nstme x")),
        (DslCodes.NestingTooDeep, () => Parse("arch A(d = " + new string('(', 500) + "1" + new string(')', 500) + ")")),
        (DslCodes.ExpectedExpression, () => Parse("arch A(dim = 1 +)")),
        (DslCodes.ExpectedName, () => Parse("arch A(dim = 1, )")),
        (DslCodes.ExpectedToken, () => Parse("arch A(dim = 1)\ntrain { epochs 3 }")),
        (DslCodes.InvalidNumber, () => Parse("arch B(x = 2x)")),
        (DslCodes.ExpectedString, () => Parse("import foo")),
        (DslCodes.ExpressionTooLong, () => Parse("arch A(d = 1" + string.Concat(Enumerable.Repeat(" + 1", 5000)) + ")")),
        (DslCodes.ExpectedStep, () => Parse("block b { }")),
        (DslCodes.TooManyErrors, () => Parse("arch A(d = 1)\n" + string.Concat(Enumerable.Repeat("stem x $\n", 150)))),
        (DslCodes.NumberTooLarge, () => Parse("arch A(dim = 99999999999999999999)")),
        (DslCodes.ImportNotFound, () => Load("import \"b.arch\"", _ => null)),
        (DslCodes.ImportCycle, () => Load("import \"a.arch\"", _ => null)),
        (DslCodes.FileNotFound, () => SpecLoader.Load("/d/none.arch", _ => null).Diagnostics),
        (DslCodes.FileUnreadable, () => Load("import \"b.arch\"", _ => throw new IOException("disk error"))),
    ];

    private static IReadOnlyList<Diagnostic> Parse(string text) => SpecParser.Parse(text, "e.arch").Diagnostics;

    /// <summary>Loads <c>/d/a.arch</c> holding <paramref name="root"/>; any other file is read by <paramref name="other"/>.</summary>
    private static IReadOnlyList<Diagnostic> Load(string root, Func<string, string?> other) =>
        SpecLoader.Load("/d/a.arch", p => p == "/d/a.arch" ? root : other(p)).Diagnostics;

    [Fact]
    public void Codes_are_unique_in_range_and_titled()
    {
        Assert.NotEmpty(DslCodes.All);
        Assert.Equal(DslCodes.All.Count, DslCodes.All.Select(d => d.Code).Distinct().Count());
        foreach (var d in DslCodes.All)
        {
            Assert.Matches("^AD00[0-9][0-9]$", d.Code);
            Assert.InRange(int.Parse(d.Code[2..]), 1, 99);
            Assert.False(string.IsNullOrWhiteSpace(d.Title), d.Code);
            Assert.False(string.IsNullOrWhiteSpace(d.MessageFormat), d.Code);
        }
    }

    [Fact]
    public void Every_code_but_the_internal_error_is_produced_by_an_input_with_a_message_of_its_format()
    {
        Assert.Equal(DslCodes.All.Where(d => d != DslCodes.InternalError).Select(d => d.Code).Order(),
            Triggers.Select(t => t.Descriptor.Code).Order());
        foreach (var (descriptor, run) in Triggers)
        {
            var produced = run().Where(x => x.Code == descriptor.Code).ToList();
            Assert.True(produced.Count > 0, $"{descriptor.Code} not produced");
            var pattern = "^" + Regex.Replace(Regex.Escape(descriptor.MessageFormat), @"\\\{\d+}", ".+") + "$";
            Assert.All(produced, d => Assert.Matches(pattern, d.Message));
        }
    }

    [Fact]
    public void A_report_fills_in_the_format_and_keeps_the_hint()
    {
        var bag = new DiagnosticBag();
        bag.Report(DslCodes.ImportCycle, null, "move it", "a.arch -> a.arch");
        var d = Assert.Single(bag.Items);
        Assert.Equal(("AD0051", "import cycle: a.arch -> a.arch", "move it"), (d.Code, d.Message, d.Hint));
    }
}
