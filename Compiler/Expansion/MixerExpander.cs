using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>
/// Mixer expansion: <c>mixer * n { … }</c> becomes n blocks <c>blocks.b</c> (b numbers on across mixer statements),
/// each a token then a channel sub-layer wired as in timm's <c>Block</c>: <c>x + drop_path(chain(norm(x)))</c> with a
/// pre norm, <c>norm(x + drop_path(chain(x)))</c> with a post norm; a sub-layer without a residual skip is the chain
/// alone. <c>mixer * 0</c> checks the chains once without building them.
/// </summary>
internal sealed class MixerExpander(DiagnosticBag diags, Evaluator ev, ChainExpander chains, GraphBuilder graph)
{
    private readonly DiagnosticBag _diags = diags;
    private readonly MixerReader _reader = new(diags, ev);
    private readonly ChainExpander _chains = chains;
    private readonly GraphBuilder _graph = graph;
    private int _blockIndex;

    private void Error(string code, string message, Span? span, string? hint = null) => _diags.Error(code, message, span, hint);

    public Flow? Expand(MixerStmt m, Scope scope, Flow? x)
    {
        var count = _chains.EvalCount(m.Count, scope, "mixer");
        var spec = _reader.Read(m, scope);
        if (count is null || !spec.Ok) x = null;

        var blocks = count ?? 1;
        var nodesBefore = _graph.Nodes.Count;
        for (long b = 0; b < Math.Max(blocks, 1) && !_graph.Aborted; b++)
        {
            var prefix = $"blocks.{_blockIndex}";
            if (count is not null && count > 0) _blockIndex++;
            var dry = count is 0 ? null : x; // mixer * 0: check the chains once without building
            dry = ExpandSubLayer(spec, "token", spec.Token, dry, prefix, scope);
            dry = ExpandSubLayer(spec, "channel", spec.Channel, dry, prefix, scope);
            if (count is 0) break;
            x = dry;
            if (x is null) break; // an error in the first block would repeat in every block
            if (b == 0 && count > 1 && !_graph.FitsLimit(_graph.Nodes.Count - nodesBefore, count.Value - 1, $"mixer * {count.Value:N0}", m.Count.Span)) return null;
        }
        return x;
    }

    /// <summary>The <paramref name="sub"/> sub-layer (token or channel) of block <paramref name="prefix"/>: <c>prefix.sub.i</c> with its norm, drop-path and add; the input itself when the mixer has no such chain.</summary>
    private Flow? ExpandSubLayer(MixerSpec spec, string sub, Chain? chain, Flow? xin, string prefix, Scope scope)
    {
        if (chain is null) return xin;
        var h = xin;
        if (spec.NormAt(post: false) is { } pre)
            h = _graph.EmitOp(pre, spec.NormArgs!, h, $"{prefix}.{sub}_norm", spec.NormSpan);
        var shapes = Scope.ForShape(xin?.Shape, chain.Span, scope);
        h = _chains.ExpandChain(chain, shapes, $"{prefix}.{sub}", 0, h, 0);
        if (spec.Residual.Contains(sub) && h is not null && xin is not null)
            h = AddResidual(spec, sub, chain, xin, h, prefix);
        if (spec.NormAt(post: true) is { } post)
            h = _graph.EmitOp(post, spec.NormArgs!, h, $"{prefix}.{sub}_norm", spec.NormSpan);
        return h;
    }

    /// <summary>The skip around a sub-layer: <c>prefix.sub_drop</c> (drop-path, when p &gt; 0), then <c>prefix.sub_add</c>; null when the chain changed the shape (reported).</summary>
    private Flow? AddResidual(MixerSpec spec, string sub, Chain chain, Flow xin, Flow h, string prefix)
    {
        if (!h.Shape.Equals(xin.Shape))
        {
            Error(CompilerCodes.ResidualShapeChange,
                $"the {sub} sub-layer changes the shape from {xin.Shape} to {h.Shape}, so its residual add cannot work", chain.Span,
                $"keep the shape in the {sub} chain, or drop its skip: residual: {(sub == "token" ? "channel" : "token")} (or none)");
            return null;
        }
        Flow? branch = h;
        if (spec.DropPath > 0)
            branch = _graph.EmitOp(DropoutOps.DropPath, new Dictionary<string, BoundArg> { ["p"] = new(spec.DropPath, spec.DropSpan) }, branch, $"{prefix}.{sub}_drop", spec.DropSpan);
        return branch is null ? null : _graph.Add(xin, branch, $"{prefix}.{sub}_add", spec.ResidualSpan);
    }
}
