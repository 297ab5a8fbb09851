"""Reference models in plain torch.nn, written from the papers and timm — NOT generated from the IR.

They are what ArchDsl's compiled models are checked against (EquivalenceTests.cs). Each class has an
`archdsl_names()` method: the explicit map from ArchDsl's IR parameter/buffer names to this module's
state_dict names, with a reshape where the layouts differ (the patch embedding here is a convolution,
ArchDsl's is `patches -> linear`; the class token and position embedding carry a leading batch dim).

- ConvMixer: "Patches Are All You Need?" (Trockman & Kolter), the paper's own listing (Residual, an
  nn.Sequential, padding="same"); `norm='layer'` uses a ConvNeXt-style channels-first LayerNorm.
- ViT: timm's VisionTransformer (PatchEmbed conv, Attention with one qkv Linear, pre-norm Blocks, cls token,
  learned pos embed, final norm, head on the class token); `norm='batch'` uses BatchNorm1d over the width.
- MlpMixer: timm's MlpMixer (PatchEmbed conv, MixerBlock with token MLP on the transposed tokens).
- FNet: Lee-Thorp et al., the encoder block (Fourier mixing = Re(FFT over width then tokens), add & LayerNorm,
  feed-forward, add & LayerNorm), on patch embeddings, mean-pooled.
- PoolFormer-style: Yu et al. (MetaFormer) with pooling as the token mixer, 1x1-conv MLP, pre-norm residuals;
  the norm BatchNorm2d or, as the paper's, GroupNorm(1). Difference from the paper, because the IR has no
  subtraction of two branches: the mixer is AvgPool itself (the paper's Pooling returns pool(x) - x).
- ResMLP: timm's MlpMixer with ResBlock and Affine (resmlp_12_224 & co.): Affine -> token Linear(N, N) ->
  LayerScale and Affine -> channel MLP -> LayerScale, residuals, a final Affine, mean over the tokens.
- gMLP: timm's MlpMixer with SpatialGatingBlock and GatedMlp (gmlp_ti16_224, gmlp_s16_224): LayerNorm -> fc1 ->
  GELU -> SpatialGatingUnit (u, v = chunk(2, -1); u * proj(norm(v) over the tokens)) -> fc2, a residual, a final
  LayerNorm, mean over the tokens. `python3 models.py gmlp_s16_224` prints the parameter count timm's definition has.
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def act_layer(name):
    return {'gelu': nn.GELU, 'relu': nn.ReLU, 'silu': nn.SiLU, 'tanh': nn.Tanh, 'sigmoid': nn.Sigmoid}[name]


def same(name):
    """An IR name that maps to the same state_dict name."""
    return name, None


# ---------------------------------------------------------------------------------------------------------
# ConvMixer (paper listing)

class Residual(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x) + x


class LayerNorm2d(nn.Module):
    """LayerNorm over channels at each pixel of [B, C, H, W] (ConvNeXt's channels_first LayerNorm)."""

    def __init__(self, c, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x):
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        x = (x - u) / torch.sqrt(s + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


def ConvMixerNet(dim, depth, kernel_size=9, patch_size=7, n_classes=1000, in_chans=3, act='gelu', norm='batch'):
    Act = act_layer(act)
    Norm = (lambda c: nn.BatchNorm2d(c)) if norm == 'batch' else (lambda c: LayerNorm2d(c))
    return nn.Sequential(
        nn.Conv2d(in_chans, dim, kernel_size=patch_size, stride=patch_size),
        Act(),
        Norm(dim),
        *[nn.Sequential(
            Residual(nn.Sequential(
                nn.Conv2d(dim, dim, kernel_size, groups=dim, padding="same"),
                Act(),
                Norm(dim)
            )),
            nn.Conv2d(dim, dim, kernel_size=1),
            Act(),
            Norm(dim)
        ) for _ in range(depth)],
        nn.AdaptiveAvgPool2d((1, 1)),
        nn.Flatten(),
        nn.Linear(dim, n_classes)
    )


def convmixer_names(model, depth, norm='batch'):
    """IR name -> (state_dict name, None). The Sequential indexes: 0 conv, 1 act, 2 norm, 3.. blocks, then pool, flatten, linear."""
    m = {}

    def norm_names(ir, ref):
        keys = ['weight', 'bias'] + (['running_mean', 'running_var', 'num_batches_tracked'] if norm == 'batch' else [])
        for k in keys:
            m[f'{ir}.{k}'] = (f'{ref}.{k}', None)

    for k in ['weight', 'bias']:
        m[f'stem.0.{k}'] = (f'0.{k}', None)
    norm_names('stem.2', '2')
    for i in range(depth):
        s = 3 + i
        for k in ['weight', 'bias']:
            m[f'blocks.{i}.token.0.{k}'] = (f'{s}.0.fn.0.{k}', None)
            m[f'blocks.{i}.channel.0.{k}'] = (f'{s}.1.{k}', None)
        norm_names(f'blocks.{i}.token.2', f'{s}.0.fn.2')
        norm_names(f'blocks.{i}.channel.2', f'{s}.3')
    for k in ['weight', 'bias']:
        m[f'head.1.{k}'] = (f'{3 + depth + 2}.{k}', None)
    return m


# ---------------------------------------------------------------------------------------------------------
# timm-style pieces

class PatchEmbed(nn.Module):
    def __init__(self, patch_size, in_chans, embed_dim):
        super().__init__()
        self.proj = nn.Conv2d(in_chans, embed_dim, kernel_size=patch_size, stride=patch_size)

    def forward(self, x):
        return self.proj(x).flatten(2).transpose(1, 2)  # B, N, D


class Mlp(nn.Module):
    def __init__(self, in_features, hidden_features, out_features=None, act='gelu'):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = act_layer(act)()
        self.fc2 = nn.Linear(hidden_features, out_features or in_features)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class Attention(nn.Module):
    def __init__(self, dim, num_heads=8, qkv_bias=True):
        super().__init__()
        self.num_heads = num_heads
        head_dim = dim // num_heads
        self.scale = head_dim ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q @ k.transpose(-2, -1)) * self.scale
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class BatchNormTokens(nn.Module):
    """BatchNorm over the width of [B, N, D] tokens: BatchNorm1d on [B, D, N]."""

    def __init__(self, dim, eps=1e-5):
        super().__init__()
        self.bn = nn.BatchNorm1d(dim, eps=eps)

    def forward(self, x):
        return self.bn(x.transpose(1, 2)).transpose(1, 2)


def token_norm(kind, dim, eps):
    return nn.LayerNorm(dim, eps=eps) if kind == 'layer' else BatchNormTokens(dim, eps=eps)


def token_norm_names(m, ir, ref, kind):
    if kind == 'layer':
        for k in ['weight', 'bias']:
            m[f'{ir}.{k}'] = (f'{ref}.{k}', None)
    else:
        for k in ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked']:
            m[f'{ir}.{k}'] = (f'{ref}.bn.{k}', None)


def weight_bias_names(m, depth, block, head=None):
    """Maps each block's `weight` and `bias` (IR `blocks.i.<key>` -> `blocks.i.<value>` of `block`), then the head's
    (default: a final norm `head.0` -> `norm`, the classifier `head.2` -> `head`), same shapes on both sides."""
    for i in range(depth):
        for ir, ref in block.items():
            for k in ['weight', 'bias']:
                m[f'blocks.{i}.{ir}.{k}'] = (f'blocks.{i}.{ref}.{k}', None)
    for ir, ref in (head or {'head.0': 'norm', 'head.2': 'head'}).items():
        for k in ['weight', 'bias']:
            m[f'{ir}.{k}'] = (f'{ref}.{k}', None)


def patch_embed_names(m, ir, ref, dim, in_chans, p):
    m[f'{ir}.weight'] = (f'{ref}.proj.weight', (dim, in_chans * p * p))   # ours [D, C*p*p], theirs [D, C, p, p]
    m[f'{ir}.bias'] = (f'{ref}.proj.bias', None)


# ---------------------------------------------------------------------------------------------------------
# ViT (timm VisionTransformer, class token, pre-norm)

class Block(nn.Module):
    def __init__(self, dim, num_heads, mlp_ratio=4., norm='layer', eps=1e-6, act='gelu'):
        super().__init__()
        self.norm1 = token_norm(norm, dim, eps)
        self.attn = Attention(dim, num_heads=num_heads, qkv_bias=True)
        self.norm2 = token_norm(norm, dim, eps)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), act=act)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        x = x + self.mlp(self.norm2(x))
        return x


class VisionTransformer(nn.Module):
    def __init__(self, img_size=28, patch_size=4, in_chans=1, num_classes=10, embed_dim=192, depth=6, num_heads=3,
                 mlp_ratio=4., norm='layer', eps=1e-6, act='gelu', global_pool='token'):
        super().__init__()
        self.global_pool = global_pool
        self.patch_embed = PatchEmbed(patch_size, in_chans, embed_dim)
        num_patches = (img_size // patch_size) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, embed_dim))
        nn.init.trunc_normal_(self.pos_embed, std=.02)
        nn.init.trunc_normal_(self.cls_token, std=.02)
        self.blocks = nn.Sequential(*[Block(embed_dim, num_heads, mlp_ratio, norm, eps, act) for _ in range(depth)])
        self.norm = token_norm(norm, embed_dim, eps)
        self.head = nn.Linear(embed_dim, num_classes)
        self.cfg = dict(dim=embed_dim, depth=depth, in_chans=in_chans, patch=patch_size, norm=norm)

    def forward(self, x):
        x = self.patch_embed(x)
        x = torch.cat((self.cls_token.expand(x.shape[0], -1, -1), x), dim=1)
        x = x + self.pos_embed
        x = self.blocks(x)
        x = self.norm(x)
        # timm's VisionTransformer.forward_head: 'avg' leaves the class token (num_prefix_tokens = 1) out of the mean
        return self.head(x[:, 1:].mean(dim=1) if self.global_pool == 'avg' else x[:, 0])

    def archdsl_names(self):
        c = self.cfg
        d, n = c['dim'], self.pos_embed.shape[1]
        m = {}
        patch_embed_names(m, 'stem.1', 'patch_embed', d, c['in_chans'], c['patch'])
        m['stem.2.token'] = ('cls_token', (1, d))
        m['stem.3.weight'] = ('pos_embed', (n, d))
        for i in range(c['depth']):
            b = f'blocks.{i}'
            token_norm_names(m, f'{b}.token_norm', f'blocks.{i}.norm1', c['norm'])
            token_norm_names(m, f'{b}.channel_norm', f'blocks.{i}.norm2', c['norm'])
            for k in ['weight', 'bias']:
                m[f'{b}.token.0.qkv.{k}'] = (f'blocks.{i}.attn.qkv.{k}', None)
                m[f'{b}.token.0.proj.{k}'] = (f'blocks.{i}.attn.proj.{k}', None)
                m[f'{b}.channel.0.{k}'] = (f'blocks.{i}.mlp.fc1.{k}', None)
                m[f'{b}.channel.2.{k}'] = (f'blocks.{i}.mlp.fc2.{k}', None)
        token_norm_names(m, 'head.0', 'norm', c['norm'])
        for k in ['weight', 'bias']:
            m[f'head.2.{k}'] = (f'head.{k}', None)
        return m


# ---------------------------------------------------------------------------------------------------------
# MLP-Mixer (timm MlpMixer)

class MixerBlock(nn.Module):
    def __init__(self, dim, seq_len, tokens_dim, channels_dim, eps=1e-6, act='gelu'):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=eps)
        self.mlp_tokens = Mlp(seq_len, tokens_dim, act=act)
        self.norm2 = nn.LayerNorm(dim, eps=eps)
        self.mlp_channels = Mlp(dim, channels_dim, act=act)

    def forward(self, x):
        x = x + self.mlp_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        x = x + self.mlp_channels(self.norm2(x))
        return x


class MlpMixer(nn.Module):
    def __init__(self, num_classes=10, img_size=28, in_chans=1, patch_size=4, num_blocks=8, embed_dim=128,
                 tokens_dim=64, channels_dim=512, eps=1e-6, act='gelu'):
        super().__init__()
        seq_len = (img_size // patch_size) ** 2
        self.stem = PatchEmbed(patch_size, in_chans, embed_dim)
        self.blocks = nn.Sequential(*[MixerBlock(embed_dim, seq_len, tokens_dim, channels_dim, eps, act) for _ in range(num_blocks)])
        self.norm = nn.LayerNorm(embed_dim, eps=eps)
        self.head = nn.Linear(embed_dim, num_classes)
        self.cfg = dict(dim=embed_dim, depth=num_blocks, in_chans=in_chans, patch=patch_size)

    def forward(self, x):
        x = self.stem(x)
        x = self.blocks(x)
        x = self.norm(x)
        x = x.mean(dim=1)
        return self.head(x)

    def archdsl_names(self):
        c = self.cfg
        m = {}
        patch_embed_names(m, 'stem.1', 'stem', c['dim'], c['in_chans'], c['patch'])
        weight_bias_names(m, c['depth'], {'token_norm': 'norm1', 'token.1': 'mlp_tokens.fc1', 'token.3': 'mlp_tokens.fc2',
                                          'channel_norm': 'norm2', 'channel.0': 'mlp_channels.fc1', 'channel.2': 'mlp_channels.fc2'})
        return m


# ---------------------------------------------------------------------------------------------------------
# FNet (post-norm encoder blocks with Fourier token mixing)

class FourierTransform(nn.Module):
    def forward(self, x):
        return torch.fft.fft(torch.fft.fft(x, dim=-1), dim=-2).real


class FNetBlock(nn.Module):
    def __init__(self, dim, hidden, eps=1e-5, act='gelu'):
        super().__init__()
        self.fourier = FourierTransform()
        self.mixing_norm = nn.LayerNorm(dim, eps=eps)
        self.ff = Mlp(dim, hidden, act=act)
        self.output_norm = nn.LayerNorm(dim, eps=eps)

    def forward(self, x):
        x = self.mixing_norm(x + self.fourier(x))
        x = self.output_norm(x + self.ff(x))
        return x


class FNet(nn.Module):
    def __init__(self, num_classes=10, in_chans=1, patch_size=4, dim=32, depth=2, hidden=64, eps=1e-5, act='gelu'):
        super().__init__()
        self.embed = PatchEmbed(patch_size, in_chans, dim)
        self.blocks = nn.Sequential(*[FNetBlock(dim, hidden, eps, act) for _ in range(depth)])
        self.head = nn.Linear(dim, num_classes)
        self.cfg = dict(dim=dim, depth=depth, in_chans=in_chans, patch=patch_size)

    def forward(self, x):
        x = self.blocks(self.embed(x))
        return self.head(x.mean(dim=1))

    def archdsl_names(self):
        c = self.cfg
        m = {}
        patch_embed_names(m, 'stem.1', 'embed', c['dim'], c['in_chans'], c['patch'])
        for i in range(c['depth']):
            b = f'blocks.{i}'
            for k in ['weight', 'bias']:
                m[f'{b}.token_norm.{k}'] = (f'blocks.{i}.mixing_norm.{k}', None)
                m[f'{b}.channel.0.{k}'] = (f'blocks.{i}.ff.fc1.{k}', None)
                m[f'{b}.channel.2.{k}'] = (f'blocks.{i}.ff.fc2.{k}', None)
                m[f'{b}.channel_norm.{k}'] = (f'blocks.{i}.output_norm.{k}', None)
        for k in ['weight', 'bias']:
            m[f'head.1.{k}'] = (f'head.{k}', None)
        return m


# ---------------------------------------------------------------------------------------------------------
# PoolFormer-style (MetaFormer with pooling)

class Pooling(nn.Module):
    def __init__(self, pool_size=3, subtract_input=True):
        super().__init__()
        self.pool = nn.AvgPool2d(pool_size, stride=1, padding=pool_size // 2, count_include_pad=False)
        self.subtract_input = subtract_input

    def forward(self, x):
        y = self.pool(x)
        return y - x if self.subtract_input else y


class ConvMlp(nn.Module):
    def __init__(self, dim, hidden, act='gelu'):
        super().__init__()
        self.fc1 = nn.Conv2d(dim, hidden, 1)
        self.act = act_layer(act)()
        self.fc2 = nn.Conv2d(hidden, dim, 1)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class PoolFormerBlock(nn.Module):
    def __init__(self, dim, hidden, pool_size=3, act='gelu', norm='batch', subtract=False):
        super().__init__()
        Norm = nn.BatchNorm2d if norm == 'batch' else (lambda c: nn.GroupNorm(1, c))  # the paper's GroupNorm(1)
        self.norm1 = Norm(dim)
        self.token_mixer = Pooling(pool_size, subtract_input=subtract)  # the paper's pool(x) - x when subtract
        self.norm2 = Norm(dim)
        self.mlp = ConvMlp(dim, hidden, act)

    def forward(self, x):
        x = x + self.token_mixer(self.norm1(x))
        x = x + self.mlp(self.norm2(x))
        return x


class PoolFormer(nn.Module):
    def __init__(self, num_classes=10, in_chans=1, patch_size=4, dim=32, depth=2, hidden=64, pool_size=3, act='gelu', norm='batch', subtract=False):
        super().__init__()
        self.patch_embed = nn.Conv2d(in_chans, dim, kernel_size=patch_size, stride=patch_size)
        self.blocks = nn.Sequential(*[PoolFormerBlock(dim, hidden, pool_size, act, norm, subtract) for _ in range(depth)])
        self.head = nn.Linear(dim, num_classes)
        self.cfg = dict(depth=depth, norm=norm)

    def forward(self, x):
        x = self.blocks(self.patch_embed(x))
        return self.head(x.mean([-2, -1]))

    def archdsl_names(self):
        m = {}
        for k in ['weight', 'bias']:
            m[f'stem.0.{k}'] = (f'patch_embed.{k}', None)
            m[f'head.1.{k}'] = (f'head.{k}', None)
        for i in range(self.cfg['depth']):
            b = f'blocks.{i}'
            norm_keys = ['weight', 'bias'] + (['running_mean', 'running_var', 'num_batches_tracked'] if self.cfg['norm'] == 'batch' else [])
            for k in norm_keys:
                m[f'{b}.token_norm.{k}'] = (f'blocks.{i}.norm1.{k}', None)
                m[f'{b}.channel_norm.{k}'] = (f'blocks.{i}.norm2.{k}', None)
            for k in ['weight', 'bias']:
                m[f'{b}.channel.0.{k}'] = (f'blocks.{i}.mlp.fc1.{k}', None)
                m[f'{b}.channel.2.{k}'] = (f'blocks.{i}.mlp.fc2.{k}', None)
        return m


# ---------------------------------------------------------------------------------------------------------
# ResMLP (timm mlp_mixer.py: MlpMixer with block_layer=ResBlock, norm_layer=Affine)

class Affine(nn.Module):
    """timm's resmlp Affine: a per-channel scale (init 1) and shift (init 0), parameters of shape [1, 1, dim]."""

    def __init__(self, dim):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones((1, 1, dim)))
        self.beta = nn.Parameter(torch.zeros((1, 1, dim)))

    def forward(self, x):
        return torch.addcmul(self.beta, self.alpha, x)


class ResBlock(nn.Module):
    """timm's ResBlock: layer-scaled token Linear(seq_len, seq_len) and channel MLP, each after an Affine, with residuals."""

    def __init__(self, dim, seq_len, mlp_ratio=4, init_values=1e-4, act='gelu'):
        super().__init__()
        channel_dim = int(dim * mlp_ratio)
        self.norm1 = Affine(dim)
        self.linear_tokens = nn.Linear(seq_len, seq_len)
        self.norm2 = Affine(dim)
        self.mlp_channels = Mlp(dim, channel_dim, act=act)
        self.ls1 = nn.Parameter(init_values * torch.ones(dim))
        self.ls2 = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, x):
        x = x + self.ls1 * self.linear_tokens(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        x = x + self.ls2 * self.mlp_channels(self.norm2(x))
        return x


class MixerShell(nn.Module):
    """timm's MlpMixer around its blocks: PatchEmbed, `num_blocks` of make_block(seq_len), a final `norm`, the mean over
    the tokens, the classifier."""

    def __init__(self, make_block, norm, num_classes, img_size, in_chans, patch_size, num_blocks, embed_dim):
        super().__init__()
        seq_len = (img_size // patch_size) ** 2
        self.stem = PatchEmbed(patch_size, in_chans, embed_dim)
        self.blocks = nn.Sequential(*[make_block(seq_len) for _ in range(num_blocks)])
        self.norm = norm
        self.head = nn.Linear(embed_dim, num_classes)
        self.cfg = dict(dim=embed_dim, depth=num_blocks, in_chans=in_chans, patch=patch_size)

    def forward(self, x):
        x = self.norm(self.blocks(self.stem(x)))
        return self.head(x.mean(dim=1))


class ResMLP(MixerShell):
    def __init__(self, num_classes=10, img_size=28, in_chans=1, patch_size=4, num_blocks=12, embed_dim=128, mlp_ratio=4,
                 init_values=1e-4, act='gelu'):
        super().__init__(lambda seq_len: ResBlock(embed_dim, seq_len, mlp_ratio, init_values, act), Affine(embed_dim),
                         num_classes, img_size, in_chans, patch_size, num_blocks, embed_dim)

    def archdsl_names(self):
        c = self.cfg
        d = c['dim']
        m = {}
        patch_embed_names(m, 'stem.1', 'stem', d, c['in_chans'], c['patch'])
        for i in range(c['depth']):
            b, r = f'blocks.{i}', f'blocks.{i}'
            for sub, norm in [('token', 'norm1'), ('channel', 'norm2')]:
                for k in ['alpha', 'beta']:
                    m[f'{b}.{sub}_norm.{k}'] = (f'{r}.{norm}.{k}', (d,))
            for k in ['weight', 'bias']:
                m[f'{b}.token.1.{k}'] = (f'{r}.linear_tokens.{k}', None)
                m[f'{b}.channel.0.{k}'] = (f'{r}.mlp_channels.fc1.{k}', None)
                m[f'{b}.channel.2.{k}'] = (f'{r}.mlp_channels.fc2.{k}', None)
            m[f'{b}.token.3.gamma'] = (f'{r}.ls1', None)
            m[f'{b}.channel.3.gamma'] = (f'{r}.ls2', None)
        for k in ['alpha', 'beta']:
            m[f'head.0.{k}'] = (f'norm.{k}', (d,))
        for k in ['weight', 'bias']:
            m[f'head.2.{k}'] = (f'head.{k}', None)
        return m


# ---------------------------------------------------------------------------------------------------------
# gMLP (timm mlp_mixer.py: MlpMixer with block_layer=SpatialGatingBlock, mlp_layer=GatedMlp; timm/layers/mlp.py)

class SpatialGatingUnit(nn.Module):
    """timm's SpatialGatingUnit: u, v = x.chunk(2, dim=-1); u * proj(norm(v) over the tokens). Its LayerNorm is
    nn.LayerNorm's default (eps 1e-5); proj starts at weight N(0, 1e-6), bias 1 (init_weights)."""

    def __init__(self, dim, seq_len):
        super().__init__()
        self.norm = nn.LayerNorm(dim // 2)
        self.proj = nn.Linear(seq_len, seq_len)
        nn.init.normal_(self.proj.weight, std=1e-6)
        nn.init.ones_(self.proj.bias)

    def forward(self, x):
        u, v = x.chunk(2, dim=-1)
        v = self.norm(v)
        v = self.proj(v.transpose(-1, -2))
        return u * v.transpose(-1, -2)


class GatedMlp(nn.Module):
    """timm's GatedMlp with a gate layer: fc1 (dim -> hidden), act, gate (hidden -> hidden / 2), fc2 (hidden / 2 -> dim)."""

    def __init__(self, in_features, hidden_features, seq_len, act='gelu'):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden_features)
        self.act = act_layer(act)()
        self.gate = SpatialGatingUnit(hidden_features, seq_len)
        self.fc2 = nn.Linear(hidden_features // 2, in_features)

    def forward(self, x):
        return self.fc2(self.gate(self.act(self.fc1(x))))


class SpatialGatingBlock(nn.Module):
    """timm's SpatialGatingBlock: x + mlp_channels(norm(x)), the norm LayerNorm(eps 1e-6)."""

    def __init__(self, dim, seq_len, mlp_ratio=6, act='gelu'):
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.mlp_channels = GatedMlp(dim, int(dim * mlp_ratio), seq_len, act)

    def forward(self, x):
        return x + self.mlp_channels(self.norm(x))


class GMLP(MixerShell):
    def __init__(self, num_classes=1000, img_size=224, in_chans=3, patch_size=16, num_blocks=30, embed_dim=256, mlp_ratio=6,
                 act='gelu'):
        super().__init__(lambda seq_len: SpatialGatingBlock(embed_dim, seq_len, mlp_ratio, act), nn.LayerNorm(embed_dim, eps=1e-6),
                         num_classes, img_size, in_chans, patch_size, num_blocks, embed_dim)

    def archdsl_names(self):
        c = self.cfg
        m = {}
        patch_embed_names(m, 'stem.1', 'stem', c['dim'], c['in_chans'], c['patch'])
        weight_bias_names(m, c['depth'], {'channel_norm': 'norm', 'channel.0': 'mlp_channels.fc1', 'channel.2.0': 'mlp_channels.gate.norm',
                                          'channel.2.2': 'mlp_channels.gate.proj', 'channel.3': 'mlp_channels.fc2'})
        return m


# timm's registrations (mlp_mixer.py: gmlp_ti16_224, gmlp_s16_224, gmlp_b16_224): patch 16, 30 blocks, mlp_ratio 6
GMLP_VARIANTS = {'gmlp_ti16_224': 128, 'gmlp_s16_224': 256, 'gmlp_b16_224': 512}


# ---------------------------------------------------------------------------------------------------------

class ConvMixerRef(nn.Module):
    """Wraps the paper's Sequential so it has archdsl_names() like the others."""

    def __init__(self, **cfg):
        super().__init__()
        self.net = ConvMixerNet(cfg['dim'], cfg['depth'], cfg['kernel'], cfg['patch'], cfg['classes'], cfg['channels'],
                                cfg.get('act', 'gelu'), cfg.get('norm', 'batch'))
        self.cfg = cfg

    def forward(self, x):
        return self.net(x)

    def archdsl_names(self):
        return {k: ('net.' + v, s) for k, (v, s) in convmixer_names(self.net, self.cfg['depth'], self.cfg.get('norm', 'batch')).items()}


# ---------------------------------------------------------------------------------------------------------
# One op between a 1x1 convolution and a mean-pooled linear head, for the ops and variants no family above
# uses; each entry is PyTorch's own module for the op (or timm's, for LayerScale). An op with parameters has them
# under the same names as ArchDsl's node `stem.1`.

class Flatten(nn.Module):
    """Pixels as tokens: [B, C, H, W] -> [B, H*W, C], as timm's PatchEmbed flattens."""

    def forward(self, x):
        return x.flatten(2).transpose(1, 2)


ONE_OP = {
    'silu': nn.SiLU,
    'tanh': nn.Tanh,
    'sigmoid': nn.Sigmoid,
    'identity': nn.Identity,
    'flatten': Flatten,
    'gelu_tanh': lambda: nn.GELU(approximate='tanh'),
    'max_pool': lambda: nn.MaxPool2d(3, stride=2, padding=1),
    'conv_same_even': lambda: nn.Conv2d(4, 4, 4, padding='same'),   # PyTorch pads the extra row/column bottom/right
    'group_norm': lambda: nn.GroupNorm(2, 4, eps=1e-5),
    'layer_scale': lambda: LayerScale2d(4, 0.5),
    'affine': lambda: Affine2d(4),
    'glu': lambda: nn.GLU(dim=1),   # a * sigmoid(b) of the channel halves a, b: ArchDsl's residual(gate) { sigmoid }
}


class LayerScale2d(nn.Module):
    """timm's LayerScale2d: x * gamma over the channels of [B, C, H, W], gamma = init_values * ones(dim)."""

    def __init__(self, dim, init_values):
        super().__init__()
        self.gamma = nn.Parameter(init_values * torch.ones(dim))

    def forward(self, x):
        return x * self.gamma.view(1, -1, 1, 1)


class Affine2d(nn.Module):
    """ResMLP's Affine over the channels of [B, C, H, W]: addcmul(beta, alpha, x)."""

    def __init__(self, dim):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(dim))
        self.beta = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        return torch.addcmul(self.beta.view(1, -1, 1, 1), self.alpha.view(1, -1, 1, 1), x)


class OneOp(nn.Module):
    def __init__(self, op, channels, width, classes, head_width=None):
        super().__init__()
        self.conv = nn.Conv2d(channels, width, 1)
        self.op = ONE_OP[op]()
        self.head = nn.Linear(head_width or width, classes)

    def forward(self, x):
        y = self.op(self.conv(x))
        y = y.mean((-2, -1)) if y.dim() == 4 else y.mean(1)
        return self.head(y)

    def archdsl_names(self):
        m = {f'{ir}.{k}': (f'{ref}.{k}', None) for ir, ref in [('stem.0', 'conv'), ('head.1', 'head')] for k in ['weight', 'bias']}
        m.update({f'stem.1.{k}': (f'op.{k}', None) for k in self.op.state_dict()})
        return m


def build(kind, cfg):
    c = cfg
    if kind == 'one_op':
        return OneOp(c['op'], c['channels'], c['width'], c['classes'], c.get('head_width'))
    if kind == 'convmixer':
        return ConvMixerRef(**c)
    if kind == 'vit':
        return VisionTransformer(img_size=c['size'], patch_size=c['patch'], in_chans=c['channels'], num_classes=c['classes'],
                                 embed_dim=c['dim'], depth=c['depth'], num_heads=c['heads'], mlp_ratio=c['mlp'],
                                 norm=c.get('norm', 'layer'), eps=c.get('eps', 1e-6), act=c.get('act', 'gelu'),
                                 global_pool=c.get('global_pool', 'token'))
    if kind == 'mixer':
        return MlpMixer(num_classes=c['classes'], img_size=c['size'], in_chans=c['channels'], patch_size=c['patch'],
                        num_blocks=c['depth'], embed_dim=c['dim'], tokens_dim=c['tokens_hidden'], channels_dim=c['channels_hidden'],
                        eps=c.get('eps', 1e-6), act=c.get('act', 'gelu'))
    if kind == 'fnet':
        return FNet(num_classes=c['classes'], in_chans=c['channels'], patch_size=c['patch'], dim=c['dim'], depth=c['depth'],
                    hidden=c['hidden'], eps=c.get('eps', 1e-5), act=c.get('act', 'gelu'))
    if kind == 'poolformer':
        return PoolFormer(num_classes=c['classes'], in_chans=c['channels'], patch_size=c['patch'], dim=c['dim'], depth=c['depth'],
                          hidden=c['hidden'], pool_size=c.get('pool', 3), act=c.get('act', 'gelu'), norm=c.get('norm', 'batch'),
                          subtract=c.get('subtract', False))
    if kind == 'resmlp':
        return ResMLP(num_classes=c['classes'], img_size=c['size'], in_chans=c['channels'], patch_size=c['patch'],
                      num_blocks=c['depth'], embed_dim=c['dim'], mlp_ratio=c['mlp'], init_values=c['init'], act=c.get('act', 'gelu'))
    if kind == 'gmlp':
        return GMLP(num_classes=c['classes'], img_size=c['size'], in_chans=c['channels'], patch_size=c['patch'],
                    num_blocks=c['depth'], embed_dim=c['dim'], mlp_ratio=c['mlp'], act=c.get('act', 'gelu'))
    raise ValueError(f'unknown reference model {kind}')


if __name__ == '__main__':
    import sys
    for variant in sys.argv[1:]:
        model = GMLP(embed_dim=GMLP_VARIANTS[variant])
        print(variant, sum(p.numel() for p in model.parameters()))
