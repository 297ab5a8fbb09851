using static ArchDsl.Runtime.Tests.ModelTestKit;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The gMLP specs count what timm's definition builds: reference/models.py restates timm's gmlp_*_224 (MlpMixer with
/// SpatialGatingBlock, GatedMlp and SpatialGatingUnit; patch 16, 30 blocks, mlp_ratio 6) in PyTorch — timm is not installed
/// here — and prints each model's parameter count, which must equal the compiled spec's exactly.
/// </summary>
public sealed class GmlpCountTests
{
    [Fact]
    public void Each_gmlp_spec_has_the_parameters_of_timms_model()
    {
        var specs = new Dictionary<string, string>
        {
            ["gmlp_ti16_224"] = "imagenet/gmlp-ti16.arch",
            ["gmlp_s16_224"] = "imagenet/gmlp-s16.arch",
            ["gmlp_b16_224"] = "imagenet/gmlp-b16.arch",
        };
        var printed = Python("models.py", [.. specs.Keys]).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split(' ')).ToDictionary(p => p[0], p => long.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(specs.Keys.Order(), printed.Keys.Order());
        foreach (var (variant, spec) in specs)
            Assert.Equal((variant, printed[variant]), (variant, CompileSpec(spec).ParamCount));
    }
}
