using ArchDsl.Dsl;

namespace ArchDsl.Compiler;

/// <summary>
/// Mixer expansion: <c>mixer * n { … }</c> becomes n blocks <c>blocks.b</c> (b numbers on across mixer statements),
/// each a token then a channel sub-layer wired as in timm's <c>Block</c>: <c>x + drop_path(chain(norm(x)))</c> with a
/// pre norm, <c>norm(x + drop_path(chain(x)))</c> with a post norm; a sub-layer without a residual skip is the chain
/// alone. <c>mixer * 0</c> checks the chains once without building them.
/// <para>Per-block names: each block's entries and chains are evaluated in a scope binding <c>i</c>, the block's index
/// within this mixer statement (0-based, as timm's <c>dpr[i]</c>), and <c>depth</c>, the statement's block count, so
/// <c>drop_path: 0.1 * i / (depth - 1)</c> is timm's linear stochastic-depth rule
/// (<c>torch.linspace(0, drop_path_rate, depth)</c>). They hide an arch parameter of the same name inside the mixer
/// (with <c>mixer * depth</c> the two are equal). The entries are read again for each block, so a value that depends on
/// <c>i</c> is checked in every block; the expansion stops at the first block in error.</para>
/// </summary>
internal sealed class MixerExpander(DiagnosticBag diags, Evaluator ev, ChainExpander chains, GraphBuilder graph)
{
    private readonly DiagnosticBag _diags = diags;
    private readonly MixerReader _reader = new(diags, ev);
    private readonly ChainExpander _chains = chains;
    private readonly GraphBuilder _graph = graph;
    private int _blockIndex;

    public Flow? Expand(MixerStmt m, Scope scope, Flow? x)
    {
        var count = _chains.EvalCount(m.Count, scope, "mixer");
        if (count is null) x = null;

        var blocks = count ?? 1;
        var nodesBefore = _graph.Nodes.Count;
        for (long b = 0; b < Math.Max(blocks, 1) && !_graph.Aborted; b++)
        {
            var blockScope = BlockNames(scope, b, count, m.Count.Span);
            var spec = _reader.Read(m, blockScope);
            if (!spec.Ok) x = null;
            var prefix = $"blocks.{_blockIndex}";
            if (count is not null && count > 0) _blockIndex++;
            var dry = count is 0 ? null : x; // mixer * 0: check the chains once without building
            dry = ExpandSubLayer(spec, "token", spec.Token, dry, prefix, blockScope);
            dry = ExpandSubLayer(spec, "channel", spec.Channel, dry, prefix, blockScope);
            if (count is 0) break;
            x = dry;
            if (x is null) break; // an error in the first block would repeat in every block
            if (b == 0 && count > 1 && !_graph.FitsLimit(_graph.Nodes.Count - nodesBefore, count.Value - 1, $"mixer * {count.Value:N0}", m.Count.Span)) return null;
        }
        return x;
    }

    /// <summary>The names a block of the mixer sees besides the arch's: <c>i</c> (this block's index in the statement) and
    /// <c>depth</c> (its block count; unknown when the count is in error, so its uses report nothing more).</summary>
    public static Scope BlockNames(Scope parent, long index, long? count, Span countSpan)
    {
        var names = new Scope(parent, "mixer block names");
        names.Set(BlockIndexName, new IntVal(index, countSpan));
        names.Set(DepthName, count is { } n ? new IntVal(n, countSpan) : new UnknownVal(countSpan));
        return names;
    }

    /// <summary>The name of a mixer block's index (0-based) inside the mixer.</summary>
    public const string BlockIndexName = "i";

    /// <summary>The name of a mixer statement's block count inside the mixer.</summary>
    public const string DepthName = "depth";

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
            _diags.Report(CompilerDiagnostics.SubLayerShapeChange, chain.Span,
                $"keep the shape in the {sub} chain, or drop its skip: residual: {(sub == "token" ? "channel" : "token")} (or none)", sub, xin.Shape, h.Shape);
            return null;
        }
        Flow? branch = h;
        if (spec.DropPath > 0)
            branch = _graph.EmitOp(DropoutOps.DropPath, new Dictionary<string, BoundArg> { ["p"] = new(spec.DropPath, spec.DropSpan) }, branch, $"{prefix}.{sub}_drop", spec.DropSpan);
        return branch is null ? null : _graph.Add(xin, branch, $"{prefix}.{sub}_add", spec.ResidualSpan);
    }
}
