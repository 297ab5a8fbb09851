namespace ArchDsl.Compiler.Tests;

using ArchDsl.TestSupport;
using static CompilerTestKit;

/// <summary>The ImageNet specs reproduce the published parameter counts exactly (the README's "Published parameter counts" table).</summary>
public class SpecCountTests
{
    [Theory]
    [MemberData(nameof(PublishedCounts.Theory), MemberType = typeof(PublishedCounts))]
    public void ImageNetSpecsMatchPublishedParameterCounts(string spec, long expected)
    {
        var g = SpecGraph(spec);
        Assert.Equal(expected, g.ParamCount);
        Assert.Equal(Shape.Image(3, 224, 224), g.Input);
        Assert.Equal(Shape.Vector(1000), g.OutputNode.OutputShape);
    }

    [Fact]
    public void The_readme_table_lists_exactly_these_counts()
    {
        var readme = File.ReadAllText(Path.Combine(Repo.Root, "README.md"));
        var rows = System.Text.RegularExpressions.Regex.Matches(readme, @"^\| ([a-z0-9-]+) \| ([0-9,]+) \|$", System.Text.RegularExpressions.RegexOptions.Multiline)
            .Select(m => ($"imagenet/{m.Groups[1].Value}.arch", long.Parse(m.Groups[2].Value.Replace(",", ""), System.Globalization.CultureInfo.InvariantCulture)))
            .ToList();
        Assert.Equal(PublishedCounts.ImageNet, rows);
    }
}
