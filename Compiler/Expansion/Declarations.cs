using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>
/// The blocks and archs of a spec and its imports, by name: a name declared twice, a block named like a built-in op,
/// and a parameter declared twice in one header are reported here, once, whichever arch is compiled.
/// </summary>
internal sealed class Declarations
{
    private readonly DiagnosticBag _diags;

    public Dictionary<string, BlockDecl> Blocks { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, ArchDecl> Archs { get; } = new(StringComparer.Ordinal);

    public Declarations(IReadOnlyList<SpecFile> files, DiagnosticBag diags)
    {
        _diags = diags;
        foreach (var file in files.Distinct())
        {
            foreach (var b in file.Blocks)
            {
                CheckParams(b.Params, $"block '{b.Name}'");
                if (OpCatalog.TryGet(b.Name, out _))
                    _diags.Report(CompilerDiagnostics.BlockNamedAsOp, b.NameSpan, "rename the block", b.Name);
                else if (Blocks.TryGetValue(b.Name, out var first))
                    _diags.Add(Diagnostic.Create(CompilerDiagnostics.DeclaredTwice, b.NameSpan, null, "block", b.Name)
                        .WithLabel(first.NameSpan, CompilerDiagnostics.FirstDeclared));
                else Blocks[b.Name] = b;
            }
            foreach (var a in file.Archs)
            {
                CheckParams(a.Params, $"arch '{a.Name}'");
                if (Archs.TryGetValue(a.Name, out var first))
                    _diags.Add(Diagnostic.Create(CompilerDiagnostics.DeclaredTwice, a.NameSpan, null, "arch", a.Name)
                        .WithLabel(first.NameSpan, CompilerDiagnostics.FirstDeclared));
                else Archs[a.Name] = a;
            }
        }
    }

    private void CheckParams(IReadOnlyList<ParamDecl> ps, string owner)
    {
        var seen = new Dictionary<string, ParamDecl>(StringComparer.Ordinal);
        foreach (var p in ps)
        {
            if (seen.TryGetValue(p.Name, out var first))
                _diags.Add(Diagnostic.Create(CompilerDiagnostics.ParameterDeclaredTwice, p.NameSpan, null, p.Name, owner)
                    .WithLabel(first.NameSpan, CompilerDiagnostics.FirstDeclared));
            else seen[p.Name] = p;
        }
    }
}
