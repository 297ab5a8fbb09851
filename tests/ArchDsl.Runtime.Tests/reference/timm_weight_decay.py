"""timm's weight-decay parameter groups for models laid out as timm's, printed as JSON.

usage: timm_weight_decay.py vit|resmlp|gmlp DIM DEPTH PATCH CHANNELS SIZE CLASSES [HEADS|MLP]

timm is not installed here, so its rule is restated (timm/optim/_param_groups.py, param_groups_weight_decay):

    for name, param in model.named_parameters():
        if param.ndim <= 1 or name.endswith(".bias") or name in no_weight_decay_list: no_decay
        else: decay

with no_weight_decay_list = model.no_weight_decay() (VisionTransformer: {'pos_embed', 'cls_token', 'dist_token'};
MlpMixer defines none), which create_optimizer_v2 applies when weight decay is on. The models below have timm's
parameter names and shapes (timm/models/vision_transformer.py VisionTransformer with class token, qkv_bias;
timm/models/mlp_mixer.py MlpMixer with ResBlock and resmlp's Affine of shape [1, 1, dim]). Prints
{"decay": [elements...], "no_decay": [elements...]}, each sorted.
"""
import json
import sys

import torch
from torch import nn

import models


class Affine(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones((1, 1, dim)))
        self.beta = nn.Parameter(torch.zeros((1, 1, dim)))


class Mlp(nn.Module):
    def __init__(self, dim, hidden, out=None):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, out or dim)


class Attention(nn.Module):
    def __init__(self, dim):
        super().__init__()
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)


class VitBlock(nn.Module):
    def __init__(self, dim, mlp):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, dim * mlp)


class PatchEmbed(nn.Module):
    def __init__(self, patch, channels, dim):
        super().__init__()
        self.proj = nn.Conv2d(channels, dim, patch, patch)


class VisionTransformer(nn.Module):
    def __init__(self, dim, depth, patch, channels, size, classes, heads, mlp=4):
        super().__init__()
        self.patch_embed = PatchEmbed(patch, channels, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, (size // patch) ** 2 + 1, dim))
        self.blocks = nn.Sequential(*[VitBlock(dim, mlp) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def no_weight_decay(self):
        return {'pos_embed', 'cls_token', 'dist_token'}


class ResBlock(nn.Module):
    def __init__(self, dim, tokens, mlp, init=1e-4):
        super().__init__()
        self.norm1 = Affine(dim)
        self.linear_tokens = nn.Linear(tokens, tokens)
        self.ls1 = nn.Parameter(init * torch.ones(dim))
        self.norm2 = Affine(dim)
        self.mlp_channels = Mlp(dim, dim * mlp)
        self.ls2 = nn.Parameter(init * torch.ones(dim))


class ResMlp(nn.Module):
    def __init__(self, dim, depth, patch, channels, size, classes, mlp):
        super().__init__()
        self.stem = PatchEmbed(patch, channels, dim)
        self.blocks = nn.Sequential(*[ResBlock(dim, (size // patch) ** 2, mlp) for _ in range(depth)])
        self.norm = Affine(dim)
        self.head = nn.Linear(dim, classes)


def groups(model):
    skip = set(model.no_weight_decay()) if hasattr(model, 'no_weight_decay') else set()
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        if param.ndim <= 1 or name.endswith(".bias") or name in skip:
            no_decay.append(param.numel())
        else:
            decay.append(param.numel())
    return {"decay": sorted(decay), "no_decay": sorted(no_decay)}


def main():
    kind, *nums = sys.argv[1:]
    dim, depth, patch, channels, size, classes, extra = map(int, nums)
    if kind == 'vit':
        model = VisionTransformer(dim, depth, patch, channels, size, classes, heads=extra)
    elif kind == 'gmlp':   # timm's gMLP as models.py restates it (MlpMixer with SpatialGatingBlock; no no_weight_decay())
        model = models.GMLP(classes, size, channels, patch, depth, dim, mlp_ratio=extra)
    else:
        model = ResMlp(dim, depth, patch, channels, size, classes, mlp=extra)
    print(json.dumps(groups(model)))


if __name__ == '__main__':
    main()
