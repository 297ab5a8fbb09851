namespace ArchDsl.Compiler;

// A run directory keeps the train config it was trained with (graph.yaml). When a train key's form or default
// changes, runs made before keep meaning what they trained with: they are read through this upgrade, not refused.
public static partial class TrainSchema
{
    /// <summary>
    /// A train config stored by an earlier archc (a run's <c>graph.yaml</c>), as the config that run trained with:
    /// <list type="bullet">
    /// <item><c>amp: true | false</c> (the boolean before <c>bf16 | fp16 | off</c>) becomes <c>off</c>: that key was a
    /// stub and trained in float32 either way.</item>
    /// <item>No <c>weight_decay_rule</c> (written since the key exists, default <c>timm</c>) becomes <c>all</c>: runs made
    /// before it decayed every parameter.</item>
    /// </list>
    /// A config written by this archc is returned as it is.
    /// </summary>
    public static TrainConfig UpgradeStored(TrainConfig stored)
    {
        var values = new Dictionary<string, object>(stored.Values, StringComparer.Ordinal);
        bool changed = false;
        if (values.TryGetValue("amp", out var amp) && amp is bool)
        {
            values["amp"] = AmpModes.Name(AmpMode.Off);
            changed = true;
        }
        if (!values.ContainsKey("weight_decay_rule"))
        {
            values["weight_decay_rule"] = "all";
            changed = true;
        }
        return changed ? stored with { Values = values } : stored;
    }
}
