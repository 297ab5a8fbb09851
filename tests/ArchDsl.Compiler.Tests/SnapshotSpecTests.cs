using ArchDsl.Compiler.Analysis;
using ArchDsl.Compiler.Printers;
using ArchDsl.Compiler.Tests.Snapshots;

namespace ArchDsl.Compiler.Tests;

/// <summary>
/// Every spec under specs/ (imagenet/ included) compiled and locked: its text graph is a
/// <c>SnapshotSpecTests.Text_&lt;path&gt;.verified.txt</c> beside this file (regenerate with
/// <c>ARCHDSL_ACCEPT=1</c> after an intended change and read the diff), its YAML reads back equal, its
/// DOT is well formed, and its summary agrees with the graph.
/// </summary>
public class SnapshotSpecTests
{
    private static string RepoRoot { get; } = FindRoot();

    /// <summary>Walks up from the test assembly (then from this source file) to the folder that holds specs/ and ArchDsl.sln.</summary>
    private static string FindRoot([System.Runtime.CompilerServices.CallerFilePath] string thisFile = "")
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Path.GetDirectoryName(thisFile)! })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
                if (Directory.Exists(Path.Combine(dir.FullName, "specs")) && File.Exists(Path.Combine(dir.FullName, "ArchDsl.sln")))
                    return dir.FullName;
        throw new DirectoryNotFoundException($"no folder with specs/ and ArchDsl.sln above {AppContext.BaseDirectory}");
    }

    /// <summary>Every .arch file under specs/, as a '/'-separated path relative to specs/, in ordinal order.</summary>
    public static IReadOnlyList<string> SpecPaths()
    {
        var specs = Path.Combine(RepoRoot, "specs");
        return Directory.EnumerateFiles(specs, "*.arch", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(specs, f).Replace('\\', '/'))
            .OrderBy(f => f, StringComparer.Ordinal)
            .ToList();
    }

    public static TheoryData<string> Specs() => new(SpecPaths());

    private static IrGraph Compile(string spec)
    {
        var r = ArchCompiler.CompileFile(Path.Combine(RepoRoot, "specs", spec));
        Assert.True(r.Success, $"{spec}:\n" + string.Join("\n", r.Diagnostics.Select(d => d.Render())));
        return r.Graph!;
    }

    [Fact]
    public void The_spec_set_includes_the_families_and_imagenet()
    {
        var specs = SpecPaths();
        Assert.Contains("convmixer.arch", specs);
        Assert.True(specs.Count(s => s.StartsWith("imagenet/", StringComparison.Ordinal)) >= 8, string.Join(", ", specs));
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void Text(string spec) => Snapshot.Verify(GraphPrinter.ToText(Compile(spec)), spec[..^".arch".Length]);

    [Theory]
    [MemberData(nameof(Specs))]
    public void Yaml_reads_back_equal(string spec)
    {
        var g = Compile(spec);
        var back = GraphYaml.Read(GraphYaml.Write(g));
        Assert.True(IrEquality.Equal(g, back), IrEquality.Explain(g, back));
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void Dot_is_well_formed(string spec)
    {
        var g = Compile(spec);
        var dot = DotTests.Read(g);
        Assert.Equal(g.Nodes.Count, dot.Nodes.Count);
        Assert.Equal(g.Nodes.Sum(n => n.Inputs.Count), dot.Edges.Count);
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void Summary_agrees_with_the_graph(string spec)
    {
        var g = Compile(spec);
        var s = Summary.Of(g);
        Assert.Equal(g.ParamCount, s.TotalParams);
        Assert.Equal(g.BufferCount, s.Buffers);
        Assert.Equal(g.MultAdds, s.MultAdds);
        Assert.Equal(g.Nodes.Sum(n => n.OutputShape.Elements) * 4, s.ActivationBytes);
        Assert.Contains($"Total params: {ValueFormat.Count(g.ParamCount)}\n", s.ToText());
    }

    // The README's "Published parameter counts" table, as the summary prints them.
    [Theory]
    [InlineData("imagenet/convmixer-1536-20.arch", "51,625,960")]
    [InlineData("imagenet/convmixer-768-32.arch", "21,110,248")]
    [InlineData("imagenet/convmixer-1024-20-p14.arch", "24,383,464")]
    [InlineData("imagenet/vit-b16.arch", "86,567,656")]
    [InlineData("imagenet/vit-s16.arch", "22,050,664")]
    [InlineData("imagenet/vit-ti16.arch", "5,717,416")]
    [InlineData("imagenet/mixer-b16.arch", "59,880,472")]
    [InlineData("imagenet/mixer-s16.arch", "18,528,264")]
    public void Summary_prints_the_published_parameter_count(string spec, string count) =>
        Assert.Contains($"\nTotal params: {count}\n", Summary.Of(Compile(spec)).ToText());
}
