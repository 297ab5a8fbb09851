using System.Globalization;
using ArchDsl.Compiler.Analysis;
using ArchDsl.Compiler.Printers;
using ArchDsl.Compiler.Tests.Snapshots;
using ArchDsl.TestSupport;

namespace ArchDsl.Compiler.Tests;

/// <summary>
/// Every spec under specs/ (imagenet/ included) compiled and locked the way users lock theirs: its
/// graph text is the <c>&lt;spec&gt;.graph.txt</c> beside it, checked with <see cref="SpecSnapshot.Check"/>,
/// the code <c>archc snapshot specs --check</c> runs. After an intended change, run
/// <c>./archc snapshot specs</c> (or the tests with <c>ARCHDSL_ACCEPT=1</c>) and read the diff. Also:
/// each spec's YAML reads back equal, its DOT is well formed, and its summary agrees with the graph.
/// </summary>
public class SnapshotSpecTests
{
    /// <summary>Every .arch file under specs/, as a '/'-separated path relative to specs/, in ordinal order.</summary>
    public static IReadOnlyList<string> SpecPaths() => Repo.SpecPaths();

    public static TheoryData<string> Specs() => new(SpecPaths());

    private static IrGraph Compile(string spec)
    {
        var r = ArchCompiler.CompileFile(Repo.Spec(spec));
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
    public void Graph_matches_the_snapshot_locked_beside_the_spec(string spec)
    {
        var path = Repo.Spec(spec);
        if (Snapshot.AcceptRequested()) SpecSnapshot.Write(path);
        var o = SpecSnapshot.Check(path);
        Assert.True(o.Status == SnapshotStatus.Clean, o.Status switch
        {
            SnapshotStatus.Missing => $"{o.LockFile} is missing: lock the spec with `./archc snapshot specs/{spec}`",
            SnapshotStatus.Drifted => $"{spec} no longer compiles to its locked graph; if the change is intended, " +
                                      $"run `./archc snapshot specs/{spec}` and commit the new {Path.GetFileName(o.LockFile)}:\n{o.Diff}",
            _ => $"{spec}: {o.Status}\n" + string.Join("\n", o.Diagnostics.Select(d => d.Render())),
        });
    }

    [Fact]
    public void Every_locked_graph_beside_the_specs_belongs_to_a_spec()
    {
        var locks = Directory.EnumerateFiles(Repo.SpecsDir, "*" + SpecSnapshot.LockSuffix, SearchOption.AllDirectories);
        var orphans = locks.Where(l => !File.Exists(l[..^SpecSnapshot.LockSuffix.Length] + SpecSnapshot.SpecExtension)).ToList();
        Assert.True(orphans.Count == 0, "locked graphs without a spec: " + string.Join(", ", orphans));
    }

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
    [MemberData(nameof(PublishedCounts.Theory), MemberType = typeof(PublishedCounts))]
    public void Summary_prints_the_published_parameter_count(string spec, long count) =>
        Assert.Contains($"\nTotal params: {count.ToString("N0", CultureInfo.InvariantCulture)}\n", Summary.Of(Compile(spec)).ToText());
}
