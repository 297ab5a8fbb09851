using ArchDsl.Compiler;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Model;

/// <summary>
/// A per-channel op's view of its <c>[C]</c> parameters: as they are for tokens and vectors (the channel is the last
/// dim), as <c>[C, 1, 1]</c> for an image <c>[B, C, H, W]</c>.
/// </summary>
internal static class PerChannel
{
    public static Tensor View(NodeTensors t, Tensor p) => t.Layout == Layout.Image ? p.view(-1, 1, 1) : p.alias();
}

/// <summary><c>layer_scale</c>: x·γ, γ initialised to the node's init (timm's LayerScale: init_values * torch.ones(dim)).</summary>
internal sealed class LayerScaleModule : OpModule
{
    public override OpId Op => OpId.LayerScale;
    public override void Init(NodeTensors t) => nn.init.constant_(t.P("gamma"), t.Attr<double>("init"));
    public override NodeKernel Create(NodeTensors t)
    {
        var gamma = t.P("gamma");
        var image = t.Layout == Layout.Image;
        return new Unary(x =>
        {
            if (!image) return x.mul(gamma);
            using var g = PerChannel.View(t, gamma);
            return x.mul(g);
        });
    }
}

/// <summary><c>affine</c>: α·x + β, α initialised to 1 and β to 0 (timm's resmlp Affine: torch.addcmul(beta, alpha, x)).</summary>
internal sealed class AffineModule : OpModule
{
    public override OpId Op => OpId.Affine;
    public override void Init(NodeTensors t)
    {
        nn.init.ones_(t.P("alpha"));
        nn.init.zeros_(t.P("beta"));
    }
    public override NodeKernel Create(NodeTensors t)
    {
        Tensor alpha = t.P("alpha"), beta = t.P("beta");
        return new Unary(x =>
        {
            using var a = PerChannel.View(t, alpha);
            using var b = PerChannel.View(t, beta);
            using var scaled = x.mul(a);
            return scaled.add(b);
        });
    }
}
