namespace ArchDsl.Compiler.Tests;

/// <summary>The benchmark's spec is real work that compiles; its timings are reported, not asserted.</summary>
public class CompileBenchmarkTests
{
    [Fact]
    public void BenchmarkSpecCompilesToTheExpectedGraph()
    {
        var r = CompileBenchmark.Run(blocks: 12, iterations: 3, warmup: 1);
        // input + stem (3) + 12 × (residual: conv, act, norm, add; conv, act, conv, layernorm) + head (2)
        Assert.Equal(1 + 3 + 12 * 8 + 2, r.Nodes);
        Assert.Equal(3, r.TotalMs.Count);
        Assert.True(r.ParseMedianMs > 0 && r.CompileMedianMs > 0);
        Assert.True(r.TotalMinMs <= r.TotalMedianMs && r.TotalMedianMs <= r.TotalMaxMs);
        Assert.Equal(CompileBenchmark.Spec(12).Length, r.TextChars);
        Assert.Equal(12, CompileBenchmark.Spec(12).Split('\n').Count(l => l.StartsWith("layers unit")));
    }

    [Fact]
    public void ThousandBlockSpecCompilesAndNamesEveryBlock()
    {
        var r = ArchCompiler.CompileText(CompileBenchmark.Spec(1000), "bench.arch");
        Assert.True(r.Success, string.Join("\n", r.Diagnostics.Select(d => d.Render())));
        Assert.Equal(8006, r.Graph!.Nodes.Count);
        Assert.Contains(r.Graph.Nodes, n => n.Name == "layers.999.0.add");
        Assert.Equal(5L, r.Graph.Nodes.Single(n => n.Name == "layers.998.0.0").Attrs["kernel"]);
        Assert.Equal(3L, r.Graph.Nodes.Single(n => n.Name == "layers.999.0.0").Attrs["kernel"]);
    }
}
