namespace ArchDsl.Compiler.Analysis;

/// <summary>
/// The optimizer's parameter groups by weight decay: which parameters of a graph a rule decays. For
/// <see cref="WeightDecayRule.Timm"/> this is timm's <c>param_groups_weight_decay</c> (timm/optim/_param_groups.py):
/// <code>
/// if param.ndim &lt;= 1 or name.endswith(".bias") or name in no_weight_decay_list: no_decay.append(param)
/// else: decay.append(param)
/// </code>
/// with <c>no_weight_decay_list</c> the model's <c>no_weight_decay()</c> names (ViT: <c>cls_token</c>,
/// <c>pos_embed</c>, <c>dist_token</c>), here the parameters of ops marked <see cref="OpDef.TokenParameters"/>.
/// timm's <c>create_optimizer_v2</c> applies it whenever weight decay is on (<c>filter_bias_and_bn=True</c>).
/// </summary>
public static class WeightDecay
{
    /// <summary>Every parameter of <paramref name="graph"/> (full name <c>node.tensor</c>, in graph order) with whether
    /// <paramref name="rule"/> decays it.</summary>
    public static IReadOnlyList<(string Name, bool Decay)> Groups(IrGraph graph, WeightDecayRule rule) =>
        graph.Nodes.SelectMany(n => n.Params.Select(p => ($"{n.Name}.{p.Name}", rule == WeightDecayRule.All || Decays(n, p)))).ToList();

    /// <summary>timm's rule for one parameter: decayed unless it has ≤ 1 dimension (as timm shapes it: see
    /// <see cref="OpDef.TimmDecaysParameters"/>), is a bias, or is a token parameter.</summary>
    private static bool Decays(IrNode node, TensorSpec p)
    {
        var op = OpCatalog.ForIr(node.Op);
        if (op is { TimmDecaysParameters: true }) return true;
        return p.Shape.Count > 1 && !p.Name.Equals("bias", StringComparison.Ordinal) && !p.Name.EndsWith(".bias", StringComparison.Ordinal)
            && op is not { TokenParameters: true };
    }
}
