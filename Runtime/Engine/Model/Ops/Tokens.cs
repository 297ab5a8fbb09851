using ArchDsl.Compiler;
using ArchDsl.Torch;
using static ArchDsl.Torch.torch;

namespace ArchDsl.Runtime.Model;

/// <summary><c>patches</c>: image → tokens, features in (c, i, j) order.</summary>
internal sealed class PatchesModule : OpModule
{
    public override OpId Op => OpId.Patches;
    public override void Init(NodeTensors t) => NoTensors(t);
    public override NodeKernel Create(NodeTensors t) => new Patches(t.Attr<long>("size"), t.Input.Dims[0], t.Input.Dims[1], t.Input.Dims[2]);

    /// <summary>
    /// image <c>[B, C, H, W]</c> → tokens <c>[B, (H/p)(W/p), C·p·p]</c>: tokens in row-major patch order, features in
    /// (c, i, j) order — so a following linear's weight <c>[D, C·p·p]</c> reshaped to <c>[D, C, p, p]</c> is the
    /// equivalent stride-p convolution (timm's PatchEmbed).
    /// </summary>
    sealed class Patches(long p, long c, long h, long w) : NodeKernel
    {
        public override Tensor Forward(Tensor x, Tensor? y, bool training)
        {
            var b = x.size(0);
            using var split = x.view(b, c, h / p, p, w / p, p);
            using var perm = split.permute(0, 2, 4, 1, 3, 5);
            return perm.reshape(b, h / p * (w / p), c * p * p);
        }
    }
}

/// <summary><c>flatten</c>: image <c>[B, C, H, W]</c> → tokens <c>[B, H·W, C]</c>.</summary>
internal sealed class FlattenModule : OpModule
{
    public override OpId Op => OpId.Flatten;
    public override void Init(NodeTensors t) => NoTensors(t);
    public override NodeKernel Create(NodeTensors t) => new Unary(x => { using var f = x.flatten(2); return f.transpose(1, 2); });
}

/// <summary><c>transpose</c>: tokens <c>[B, N, D]</c> → <c>[B, D, N]</c>.</summary>
internal sealed class TransposeModule : OpModule
{
    public override OpId Op => OpId.Transpose;
    public override void Init(NodeTensors t) => NoTensors(t);
    public override NodeKernel Create(NodeTensors t) => new Unary(x => x.transpose(1, 2));
}

/// <summary><c>cls_token</c>: prepends the learned token <c>[1, D]</c>; init trunc_normal_(std=0.02, a=-2, b=2) as timm's ViT/DeiT.</summary>
internal sealed class ClsTokenModule : OpModule
{
    public override OpId Op => OpId.ClsToken;
    public override void Init(NodeTensors t) => nn.init.trunc_normal_(t.P("token"), 0, 0.02);
    public override NodeKernel Create(NodeTensors t) => new ClsToken(t.P("token"));

    sealed class ClsToken(Tensor token) : NodeKernel
    {
        public override Tensor Forward(Tensor x, Tensor? y, bool training)
        {
            using var t = token.expand(x.size(0), 1, token.size(1));
            return cat(new[] { t, x }, 1);
        }
    }
}

/// <summary><c>pos_embed</c>: adds the learned <c>[N, D]</c>; init trunc_normal_(std=0.02, a=-2, b=2) as timm's ViT/DeiT.</summary>
internal sealed class PosEmbedModule : OpModule
{
    public override OpId Op => OpId.PosEmbed;
    public override void Init(NodeTensors t) => nn.init.trunc_normal_(t.P("weight"), 0, 0.02);
    public override NodeKernel Create(NodeTensors t)
    {
        var weight = t.P("weight");
        return new Unary(x => x.add(weight));
    }
}
