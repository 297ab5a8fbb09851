using System.Text.Json;
using ArchDsl.Compiler;
using ArchDsl.Compiler.Analysis;
using ArchDsl.Runtime.Model;
using ArchDsl.Runtime.Training;
using ArchDsl.Torch;
using static ArchDsl.Runtime.Tests.ModelTestKit;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// Weight decay where the field puts it (<c>weight_decay_rule</c>): the groups of <see cref="WeightDecay"/> against the
/// ones timm's <c>param_groups_weight_decay</c> builds for the same model laid out as timm's (reference/timm_weight_decay.py,
/// Debian's python3-torch), and the optimizer really leaving the no-decay group undecayed.
/// </summary>
[Collection(TorchModelCollection.Name)]
public class WeightDecayTests
{
    /// <summary>Our groups and timm's, compared as the sorted element counts of each group's tensors (timm shapes
    /// some tensors differently — a patch conv's [D, C, p, p] is our linear's [D, C·p·p] — but not their sizes).</summary>
    [Theory]
    [InlineData("vit.arch", "vit 192 6 4 1 28 10 3")]
    [InlineData("vit.arch", "vit 64 2 7 3 28 100 4", "dim=64", "depth=2", "patch=7", "channels=3", "heads=4", "classes=100", "train.data=synthetic")]
    [InlineData("resmlp.arch", "resmlp 128 8 4 1 28 10 4")]
    [InlineData("gmlp.arch", "gmlp 128 8 4 1 28 10 6")]
    public void The_timm_rule_makes_timms_groups(string spec, string reference, params string[] overrides)
    {
        var graph = CompileSpec(spec, overrides);
        Assert.Equal(WeightDecayRule.Timm, graph.Train.WeightDecayRule); // the default
        var ours = WeightDecay.Groups(graph, WeightDecayRule.Timm);
        var sizes = graph.Nodes.SelectMany(n => n.Params.Select(p => ($"{n.Name}.{p.Name}", p.Elements))).ToDictionary(p => p.Item1, p => p.Elements);
        List<long> Sizes(bool decay) => ours.Where(p => p.Decay == decay).Select(p => sizes[p.Name]).Order().ToList();

        using var timm = JsonDocument.Parse(Python("timm_weight_decay.py", reference.Split(' ')));
        List<long> Timm(string group) => timm.RootElement.GetProperty(group).EnumerateArray().Select(e => e.GetInt64()).ToList();
        Assert.Equal(Timm("decay"), Sizes(decay: true));
        Assert.Equal(Timm("no_decay"), Sizes(decay: false));
    }

    [Fact]
    public void Token_parameters_norms_and_biases_are_not_decayed_and_all_decays_every_one()
    {
        var graph = CompileSpec("vit.arch", "depth=1");
        var noDecay = WeightDecay.Groups(graph, WeightDecayRule.Timm).Where(p => !p.Decay).Select(p => p.Name).ToList();
        Assert.Contains("stem.2.token", noDecay);     // cls_token
        Assert.Contains("stem.3.weight", noDecay);    // pos_embed
        Assert.Contains("blocks.0.token_norm.weight", noDecay);
        Assert.Contains("blocks.0.token.0.qkv.bias", noDecay);
        Assert.DoesNotContain("blocks.0.token.0.qkv.weight", noDecay);
        Assert.All(WeightDecay.Groups(graph, WeightDecayRule.All), p => Assert.True(p.Decay));
        Assert.Equal(WeightDecayRule.All, CompileSpec("vit.arch", "train.weight_decay_rule=all").Train.WeightDecayRule);
    }

    /// <summary>One AdamW step on a zero gradient changes a parameter only by its decay, p ← p·(1 − lr·wd): the decayed
    /// group shrinks by exactly that and the other stays as it was.</summary>
    [Theory]
    [InlineData("timm")]
    [InlineData("all")]
    public void The_optimizer_decays_exactly_the_decay_group(string rule)
    {
        var graph = CompileSpec("vit.arch", "depth=1", "dim=32", "heads=2", $"train.weight_decay_rule={rule}", "train.optimizer.weight_decay=0.5", "train.optimizer.lr=0.1");
        var decayed = WeightDecay.Groups(graph, graph.Train.WeightDecayRule).ToDictionary(p => p.Name, p => p.Decay);
        using var model = new IrModel(graph, seed: 1);
        using var opt = Trainer.CreateOptimizer(model, graph.Train.Optimizer, Trainer.WeightDecayGroups(graph));
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone().DetachFromDisposeScope());
        using (var scope = NewDisposeScope())
            model.forward(Rand(3, 2, 1, 28, 28)).sum().mul(0.0).backward();
        opt.step();
        foreach (var (name, p) in model.named_parameters())
        {
            using var scope = NewDisposeScope();
            var expected = decayed[name] ? before[name].mul(1 - 0.1 * 0.5) : before[name];
            Assert.True(MaxAbsDiff(p.detach(), expected) < 1e-7, $"{name} (decay {decayed[name]}): off by {MaxAbsDiff(p.detach(), expected)}");
        }
        Assert.Equal(rule == "all", decayed.Values.All(d => d));
        foreach (var t in before.Values) t.Dispose();
    }
}
