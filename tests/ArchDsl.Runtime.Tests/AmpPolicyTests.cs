using ArchDsl.Compiler;
using ArchDsl.Runtime.Model;
using ArchDsl.Torch;
using static ArchDsl.Runtime.Tests.ModelTestKit;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Tests;

/// <summary>
/// The per-op precision policy (<see cref="AmpPolicy"/>), built and checked on the CPU for both devices. CUDA's column
/// is torch.autocast's CUDA lists: convolutions, linear layers and attention's matrix products in the low precision
/// (bf16, or fp16 with the loss scaler) whatever their size — cuDNN and cuBLAS have fast kernels for all of them,
/// depthwise included; norms, pooling reductions and FFTs in float32; element-wise and shape ops on what they are
/// given. The CPU's column keeps a product in float32 below <see cref="AmpPolicy.CpuMinSize"/> and for depthwise
/// convolutions (measured slower in bf16 there). fp16 maps to float16 and is refused on the CPU before any forward.
/// </summary>
[Collection(TorchModelCollection.Name)]
public class AmpPolicyTests
{
    static readonly OpId[] Products = [OpId.Conv2d, OpId.Linear, OpId.Attention];
    static readonly OpId[] Float32Ops = [OpId.BatchNorm, OpId.LayerNorm, OpId.GroupNorm, OpId.AvgPool, OpId.GlobalPool, OpId.Fourier];

    public static TheoryData<string> Specs => new("convmixer.arch", "vit.arch", "mlp-mixer.arch", "resmlp.arch");

    [Theory]
    [MemberData(nameof(Specs))]
    public void Every_op_states_torch_autocasts_cuda_precision(string spec)
    {
        var g = CompileSpec(spec);
        using var m = new IrModel(g, seed: 1);
        var seen = new HashSet<OpId>();
        foreach (var node in g.Nodes)
        {
            if (OpModules.For(node) is not { } module) { Assert.Null(m.AmpPolicyOf(node)); continue; }
            var policy = m.AmpPolicyOf(node)!;
            var op = module.Op;
            seen.Add(op);
            var cuda = Products.Contains(op) ? OpPrecision.Low : Float32Ops.Contains(op) ? OpPrecision.Float32 : OpPrecision.Follow;
            Assert.True(cuda == policy.On(DeviceType.CUDA), $"{spec} {node.Name} ({op}): CUDA {policy.Cuda}, expected {cuda}");
            if (!Products.Contains(op)) Assert.Equal(policy.Cuda, policy.On(DeviceType.CPU)); // only products differ by device
        }
        Assert.Contains(seen, Products.Contains);
    }

    [Fact]
    public void On_the_cpu_small_and_depthwise_products_stay_float32_and_cuda_takes_them_all_low()
    {
        var g = CompileSpec("convmixer.arch"); // dim 128, kernel 5, patch 2, one input channel, 10 classes
        using var m = new IrModel(g, seed: 1);
        (OpPrecision Cpu, OpPrecision Cuda) Of(string name) { var p = m.AmpPolicyOf(g.Nodes.Single(n => n.Name == name))!; return (p.Cpu, p.Cuda); }
        Assert.Equal((OpPrecision.Float32, OpPrecision.Low), Of("stem.0"));            // reduces over 1·2·2 = 4 values
        Assert.Equal((OpPrecision.Float32, OpPrecision.Low), Of("blocks.0.token.0"));  // depthwise 5×5
        Assert.Equal((OpPrecision.Low, OpPrecision.Low), Of("blocks.0.channel.0"));    // 1×1, 128 → 128
        Assert.Equal((OpPrecision.Float32, OpPrecision.Low), Of("head.1"));            // linear 128 → 10
        Assert.Equal((OpPrecision.Float32, OpPrecision.Float32), Of("blocks.0.token.2")); // batchnorm
        Assert.Equal((OpPrecision.Follow, OpPrecision.Follow), Of("blocks.0.token.1"));   // gelu
    }

    [Fact]
    public void Fp16_is_float16_and_is_refused_on_the_cpu_before_a_forward()
    {
        Assert.Equal(ScalarType.Float16, IrModel.LowPrecision(AmpMode.Fp16));
        Assert.Equal(ScalarType.BFloat16, IrModel.LowPrecision(AmpMode.Bf16));
        Assert.Null(IrModel.LowPrecision(AmpMode.Off));
        using var m = new IrModel(CompileSpec("convmixer.arch", "dim=8", "depth=1"), seed: 1) { Amp = AmpMode.Fp16 };
        using var scope = NewDisposeScope();
        var e = Assert.Throws<InvalidOperationException>(() => m.forward(randn(2, 1, 28, 28)));
        Assert.Equal("amp: fp16 needs a CUDA device; libtorch's CPU autocast and kernels compute in bfloat16, not float16", e.Message);
        Assert.Null(AmpModes.Unsupported(AmpMode.Fp16, "cuda"));
        Assert.Null(AmpModes.Unsupported(AmpMode.Bf16, "cpu"));
    }
}
