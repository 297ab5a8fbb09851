using ArchDsl.Runtime.Model;
using ArchDsl.Torch;
using static ArchDsl.Runtime.Tests.ModelTestKit;
using static ArchDsl.Torch.torch;
using F = ArchDsl.Torch.torch.nn.functional;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// FirstTokenPlan: where the head reads the class token, the nodes after the last attention that only feed it compute
/// token 0 alone, and the model's logits and gradients stay those of computing every token.
/// </summary>
[Collection(TorchModelCollection.Name)]
public sealed class FirstTokenPlanTests
{
    [Fact]
    public void A_cls_head_runs_the_last_block_after_its_keys_and_values_on_the_class_token_alone()
    {
        using var m = new IrModel(CompileSpec("vit.arch", "dim=48", "depth=2", "heads=3"));
        Assert.Equal(new[]
        {
            "blocks.1.token.0", "blocks.1.token_add", "blocks.1.channel_norm", "blocks.1.channel.0", "blocks.1.channel.1",
            "blocks.1.channel.2", "blocks.1.channel_add", "head.0",
        }, m.FirstTokenNodes);
    }

    [Theory]
    [InlineData("mlp-mixer.arch")]   // avgpool reads every token
    [InlineData("convmixer.arch")]   // no tokens
    public void A_head_that_reads_every_token_computes_every_token(string spec)
    {
        using var m = new IrModel(CompileSpec(spec, "dim=32", "depth=2"));
        Assert.Empty(m.FirstTokenNodes);
    }

    /// <summary>Same weights and batch, train mode with drop path (one draw per sample on either side, same seed):
    /// logits and every gradient as the model that computes every token, to float rounding.</summary>
    [Theory]
    [InlineData("vit.arch")]
    [InlineData("deit.arch")]
    public void Logits_and_gradients_are_those_of_computing_every_token(string spec)
    {
        var g = CompileSpec(spec, "dim=48", "depth=3", "heads=3");
        using var pruned = new IrModel(g, seed: 3);
        using var whole = new IrModel(g, 3, null, null, firstToken: false);
        Assert.NotEmpty(pruned.FirstTokenNodes);
        Assert.Empty(whole.FirstTokenNodes);
        using var scope = NewDisposeScope();
        var x = Rand(1, 8, 1, 28, 28);
        var y = Labels(2, 8, 10);
        (Tensor logits, Dictionary<string, Tensor> grads) Run(IrModel m)
        {
            manual_seed(5);
            var logits = m.forward(x);
            F.cross_entropy(logits, y).backward();
            return (logits, m.named_parameters().ToDictionary(p => p.name, p => p.parameter.grad!));
        }
        var (lp, gp) = Run(pruned);
        var (lw, gw) = Run(whole);
        Assert.True(MaxAbsDiff(lp, lw) < 1e-5, $"logits differ by {MaxAbsDiff(lp, lw)}");
        foreach (var (name, grad) in gw)
            Assert.True(MaxAbsDiff(gp[name], grad) < 1e-5, $"{name}: gradients differ by {MaxAbsDiff(gp[name], grad)}");
    }
}
