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
                    Error(CompilerCodes.DuplicateDeclaration, $"block '{b.Name}' has the name of a built-in op", b.NameSpan, "rename the block");
                else if (Blocks.TryGetValue(b.Name, out var first))
                    Error(CompilerCodes.DuplicateDeclaration, $"block '{b.Name}' is declared twice (first at {first.NameSpan})", b.NameSpan);
                else Blocks[b.Name] = b;
            }
            foreach (var a in file.Archs)
            {
                CheckParams(a.Params, $"arch '{a.Name}'");
                if (Archs.TryGetValue(a.Name, out var first))
                    Error(CompilerCodes.DuplicateDeclaration, $"arch '{a.Name}' is declared twice (first at {first.NameSpan})", a.NameSpan);
                else Archs[a.Name] = a;
            }
        }
    }

    private void Error(string code, string message, Span? span, string? hint = null) => _diags.Error(code, message, span, hint);

    private void CheckParams(IReadOnlyList<ParamDecl> ps, string owner)
    {
        var seen = new Dictionary<string, ParamDecl>(StringComparer.Ordinal);
        foreach (var p in ps)
        {
            if (seen.TryGetValue(p.Name, out var first))
                Error(CompilerCodes.DuplicateParameter, $"parameter '{p.Name}' of {owner} is declared twice (first at {first.NameSpan})", p.NameSpan);
            else seen[p.Name] = p;
        }
    }
}
