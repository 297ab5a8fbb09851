using ArchDsl.Runtime.Model;
using ArchDsl.Torch;
using Xunit.Abstractions;
using static ArchDsl.Runtime.Tests.ModelTestKit;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// Bench.Check (archc bench --check, the equivalence check gpu-check runs on CUDA): ArchDsl and the PyTorch companion
/// agree on the same weights within the CPU suite's tolerances, and a real difference in what they compute is found.
/// </summary>
[Collection(TorchModelCollection.Name)]
public sealed class BenchCheckTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("convmixer.arch", new[] { "dim=16", "depth=1", "size=16" })]
    [InlineData("convmixer.arch", new[] { "dim=16", "depth=1", "size=16", "norm=layer", "act=relu" })]
    [InlineData("vit.arch", new[] { "dim=24", "depth=1", "heads=2", "size=16" })]
    [InlineData("mlp-mixer.arch", new[] { "dim=16", "depth=1", "size=16" })]
    public void ArchDsl_and_PyTorch_agree_on_the_same_weights(string spec, string[] overrides)
    {
        var r = Bench.Check(CompileSpec(spec, overrides), batch: 4, device: "cpu");
        output.WriteLine(r.ToText());
        Assert.True(r.Passed, r.ToText());
        Assert.Equal((1e-5, 1e-4), (r.LogitTolerance, r.GradTolerance));
        Assert.True(r.MaxAbsLogit > 1e-3, "logits near zero would make the comparison vacuous");
        Assert.NotEqual("", r.TrainGrad.Tensor);
        Assert.EndsWith("equivalence passed", r.ToText());
    }

    [Fact]
    public void A_real_difference_fails_the_check_and_is_located()
    {
        // drop_path draws its masks from each process's own RNG: train-mode values differ, eval-mode values
        // (no dropping, no optimizer step in between) must still agree.
        var r = Bench.Check(CompileSpec("vit.arch", "dim=24", "depth=2", "heads=2", "size=16", "drop=0.5"), batch: 8, device: "cpu");
        output.WriteLine(r.ToText());
        Assert.False(r.Passed);
        Assert.True(r.TrainLogits.Diff > 1e-3, r.ToText());
        Assert.True(r.EvalLogits.Diff <= r.LogitTolerance, r.ToText());
        Assert.Contains("FAIL", r.ToText());
        Assert.EndsWith("equivalence FAILED", r.ToText());
    }

    [Fact]
    public void Cuda_tolerances_are_issue_17s_targets()
    {
        Assert.Equal((1e-4, 1e-3), Bench.DefaultTolerances(torch.Device.Parse("cuda")));
        Assert.Equal((1e-5, 1e-4), Bench.DefaultTolerances(torch.Device.Parse("cpu")));
    }
}
