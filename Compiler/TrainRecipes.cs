using System.Globalization;

namespace ArchDsl.Compiler;

/// <summary>Which parameters an optimizer's <c>weight_decay</c> applies to (train key <c>weight_decay_rule</c>).</summary>
public enum WeightDecayRule
{
    /// <summary>timm's and DeiT's: not parameters of ≤ 1 dimension (norm weights, biases, scales) nor token
    /// parameters (<c>cls_token</c>, <c>pos_embed</c>) — timm's <c>param_groups_weight_decay</c> with the model's
    /// <c>no_weight_decay()</c> names. The default.</summary>
    Timm,

    /// <summary>Every parameter: PyTorch's <c>optimizer(model.parameters(), weight_decay=…)</c>.</summary>
    All,
}

public sealed partial record TrainConfig
{
    /// <summary>The weight-decay rule (<c>weight_decay_rule</c>, default <see cref="WeightDecayRule.Timm"/>).</summary>
    public WeightDecayRule WeightDecayRule => TrainSchema.TypedWeightDecayRule(this);

    /// <summary>The decay of the weights' exponential moving average (<c>ema</c>, timm's ModelEmaV2), or null: no EMA.</summary>
    public double? Ema => TrainSchema.TypedEma(this);
}

public static partial class TrainSchema
{
    internal static WeightDecayRule TypedWeightDecayRule(TrainConfig t) =>
        (string?)Value(t, "weight_decay_rule") == "all" ? WeightDecayRule.All : WeightDecayRule.Timm;

    internal static double? TypedEma(TrainConfig t) =>
        t["ema"] is { } v ? System.Convert.ToDouble(v, CultureInfo.InvariantCulture) : null;
}
