using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>
/// Block parameter binding: a block call's arguments matched to the block's parameters (positional, then named,
/// by <see cref="ArgBinder"/>), defaults evaluated for the rest, in a scope whose parent names the input's shape.
/// </summary>
internal sealed class BlockScope(DiagnosticBag diags, Evaluator ev)
{
    private readonly DiagnosticBag _diags = diags;
    private readonly Evaluator _ev = ev;

    /// <summary>
    /// The scope of <paramref name="block"/>'s body for this call. <paramref name="ok"/> is false after an argument
    /// error (reported); a parameter with no value then holds an unknown value, so its uses report nothing more.
    /// </summary>
    public Scope Bind(BlockDecl block, IReadOnlyList<ArgVal> args, OpStep call, Shape? input, out bool ok)
    {
        var scope = new Scope(Scope.ForShape(input, call.Span, null), $"block '{block.Name}' parameters");
        var words = new BinderWords(() => new(CompilerDiagnostics.BlockTakesAtMost, [block.Name, block.Params.Count]),
            n => new(CompilerDiagnostics.NoSuchParameter, [$"block '{block.Name}'", n]),
            () => block.Params.Count == 0 ? $"{block.Name} takes no arguments" : $"its parameters: {string.Join(", ", block.Params.Select(p => p.Name))}",
            n => new(CompilerDiagnostics.ArgumentGivenTwice, [n, $"block '{block.Name}'"]));
        var given = ArgBinder.Match(args, block.Params.Select(p => p.Name).ToArray(), a => a.Name, a => a.Span, a => a.NameSpan, words, _diags, out ok, a => a.Overrides)
            .ToDictionary(m => block.Params[m.Slot].Name, m => m.Arg, StringComparer.Ordinal);
        foreach (var p in block.Params)
        {
            if (scope.HasOwn(p.Name)) continue; // a duplicate parameter, reported at the declaration
            if (given.TryGetValue(p.Name, out var a)) scope.Set(p.Name, a.Value);
            else if (p.Default is not null) scope.Set(p.Name, _ev.Eval(p.Default, scope));
            else
            {
                _diags.Report(CompilerDiagnostics.MissingOpArgument, call.Span,
                    $"usage: {block.Name}({string.Join(", ", block.Params.Select(q => q.Default is null ? q.Name : $"{q.Name}: …"))})", $"block '{block.Name}'", p.Name);
                scope.Set(p.Name, new UnknownVal(call.Span));
                ok = false;
            }
        }
        return scope;
    }
}
