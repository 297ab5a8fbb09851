using ArchDsl.Compiler;
using ArchDsl.Dsl;

namespace ArchDsl.Compiler.Tests;

/// <summary>Helpers shared by the compiler tests: locating specs/, compiling text, asserting diagnostics.</summary>
internal static class CompilerTestKit
{
    /// <summary>The repository root (<see cref="TestSupport.Repo.Root"/>).</summary>
    public static string RepoRoot => TestSupport.Repo.Root;

    public static string SpecsDir => TestSupport.Repo.SpecsDir;

    /// <summary>Compiles as <c>check</c> does: with what training needs (<see cref="CompileResult.ForTraining"/>).</summary>
    public static CompileResult Compile(string text, params string[] overrides) =>
        ArchCompiler.CompileText(text, "test.arch", Override.ParseAll(overrides)).ForTraining();

    public static IrGraph Graph(string text, params string[] overrides)
    {
        var r = Compile(text, overrides);
        Assert.True(r.Success, "expected no errors, got:\n" + string.Join("\n", r.Diagnostics.Select(d => d.Render())));
        return r.Graph!;
    }

    public static IrGraph SpecGraph(string relativePath, params string[] overrides)
    {
        var r = ArchCompiler.CompileFile(Path.Combine(SpecsDir, relativePath), Override.ParseAll(overrides));
        Assert.True(r.Success, $"{relativePath}: expected no errors, got:\n" + string.Join("\n", r.Diagnostics.Select(d => d.Render())));
        return r.Graph!;
    }

    /// <summary>Asserts exactly one error with this code and returns it.</summary>
    public static Diagnostic Single(CompileResult r, string code)
    {
        var all = string.Join("\n", r.Diagnostics.Select(d => d.Render()));
        Assert.False(r.Success, "expected errors, compiled cleanly");
        var hits = r.Diagnostics.Where(d => d.Code == code).ToList();
        Assert.True(hits.Count == 1, $"expected one {code}, got {hits.Count}:\n{all}");
        return hits[0];
    }

    public static void At(Diagnostic d, int line, int column)
    {
        Assert.NotNull(d.Span);
        Assert.True(d.Span!.Value.Line == line && d.Span.Value.Column == column,
            $"expected {d.Code} at {line}:{column}, got {d.Span.Value.Line}:{d.Span.Value.Column}\n{d.Render()}");
    }

    public static IrNode Node(IrGraph g, string name) =>
        g.Nodes.SingleOrDefault(n => n.Name == name) ?? throw new Xunit.Sdk.XunitException($"no node '{name}' in: {string.Join(", ", g.Nodes.Select(n => n.Name))}");
}
