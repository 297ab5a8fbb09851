"""PyTorch eager companion of `archc bench` (ArchDsl.Runtime.Model.Bench).

usage: bench_pytorch.py GRAPH.json --batch N --device cpu|cuda --warmup W --iterations I --threads T
                        [--memory-format contiguous|channels_last]

GRAPH.json is the compiled IR graph as JSON (Compiler/Printers/IrJson.cs, what `archc graph --format json`
prints: nodes in execution order with op, attributes, inputs and shapes). This script builds the same network in plain PyTorch eager, one idiomatic
torch.nn module per IR node (nn.Conv2d, nn.BatchNorm2d / BatchNorm1d over the width of tokens, nn.LayerNorm,
nn.Linear, nn.GELU..., F.unfold for patches, timm-style Attention with one qkv Linear, torch.fft.fft2,
nn.AvgPool2d, timm's drop_path), runs the node list in a plain Python loop, and times exactly what ArchDsl
times: a training step (zero_grad, forward, cross-entropy, backward, AdamW step) and an inference forward
(eval, no_grad), on a fixed random batch; medians over the timed steps. Prints one JSON line.
With --memory-format channels_last the model and the batch are moved with .to(memory_format=torch.channels_last),
PyTorch's documented way to run convolutions NHWC (ArchDsl runs conv graphs that way).
With --serve it instead answers timing commands on stdin, so that Bench can interleave rounds of its own steps
with rounds of these (both sides then see the same machine load; only one side runs at a time).
With --compile the timed model is torch.compile(model) (PyTorch 2 only; an older PyTorch answers with an error).
The serve command `check WEIGHTS OURS` (Bench.Check) loads ArchDsl's initial weights (IR names, safetensors) into this
model, runs the batch in OURS in train and then eval mode (forward, cross-entropy, backward) and answers the largest
|difference| of the logits, of each parameter gradient and of the state after the train step from ArchDsl's own
results in OURS; TF32 is turned off for it (torch.backends.cuda.matmul / cudnn.allow_tf32 = False).
"""
import argparse
import ctypes
import json
import math
import re
import struct
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def drop_path(x, p, training):
    if p == 0. or not training:
        return x
    keep = 1 - p
    shape = (x.shape[0],) + (1,) * (x.ndim - 1)
    mask = x.new_empty(shape).bernoulli_(keep)
    return x * mask.div_(keep)


class Attention(nn.Module):
    def __init__(self, dim, heads, bias):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=bias)
        self.proj = nn.Linear(dim, dim)
        self.fused = hasattr(F, 'scaled_dot_product_attention')

    def forward(self, x):
        B, N, C = x.shape
        q, k, v = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4).unbind(0)
        if self.fused:
            x = F.scaled_dot_product_attention(q, k, v)
        else:
            attn = (q @ k.transpose(-2, -1)) * self.scale
            x = attn.softmax(dim=-1) @ v
        return self.proj(x.transpose(1, 2).reshape(B, N, C))


def _batchnorm(self, x, a):
    if x['layout'] == 'image':
        self.m = nn.BatchNorm2d(x['dims'][0], eps=a['eps'], momentum=a['momentum'])
    else:
        self.m = nn.BatchNorm1d(x['dims'][-1], eps=a['eps'], momentum=a['momentum'])
        self.fn = lambda t: self.m(t.transpose(1, 2)).transpose(1, 2)


def _layernorm(self, x, a):
    self.m = nn.LayerNorm(x['dims'][0] if x['layout'] == 'image' else x['dims'][-1], eps=a['eps'])
    if x['layout'] == 'image':
        self.fn = lambda t: self.m(t.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def _module(make):
    """A builder for an op that is one standard module: make(x, attrs) -> nn.Module."""
    def build(self, x, a):
        self.m = make(x, a)
    return build


def _fn(make):
    """A builder for a parameter-free op: make(self, x, attrs) -> function of the batch."""
    def build(self, x, a):
        self.fn = make(self, x, a)
    return build


def _cls_token(self, x, a):
    self.token = nn.Parameter(torch.zeros(1, x['dims'][1]))
    nn.init.trunc_normal_(self.token, std=.02)
    self.fn = lambda t: torch.cat((self.token.expand(t.shape[0], 1, -1), t), dim=1)


def _pos_embed(self, x, a):
    self.weight = nn.Parameter(torch.zeros(*x['dims']))
    nn.init.trunc_normal_(self.weight, std=.02)
    self.fn = lambda t: t + self.weight


def _channel_view(x):
    """How a per-channel [C] parameter broadcasts: over C of an image [B, C, H, W], over the last dim otherwise."""
    return (lambda p: p[:, None, None]) if x['layout'] == 'image' else (lambda p: p)


def _affine(self, x, a):
    """ResMLP's Affine (timm): torch.addcmul(beta, alpha, x), alpha init 1, beta init 0."""
    c = x['dims'][0] if x['layout'] == 'image' else x['dims'][-1]
    self.alpha = nn.Parameter(torch.ones(c))
    self.beta = nn.Parameter(torch.zeros(c))
    v = _channel_view(x)
    self.fn = lambda t: torch.addcmul(v(self.beta), v(self.alpha), t)


def _layer_scale(self, x, a):
    """timm's LayerScale: x * gamma, gamma = init_values * ones(dim)."""
    c = x['dims'][0] if x['layout'] == 'image' else x['dims'][-1]
    self.gamma = nn.Parameter(a['init'] * torch.ones(c))
    v = _channel_view(x)
    self.fn = lambda t: t * v(self.gamma)


# One builder per IR op (the catalogue test in ArchDsl.Runtime.Tests checks every op of `archc ops` is here).
# An attribute the IR leaves out has PyTorch's default (gelu's approximate: 'none').
OPS = {
    'conv2d': _module(lambda x, a: nn.Conv2d(x['dims'][0], a['out'], a['kernel'], stride=a['stride'],
                                             padding='same' if 'padding_end' in a else a['padding'],
                                             groups=a['groups'], bias=a['bias'])),
    'batchnorm': _batchnorm,
    'layernorm': _layernorm,
    'group_norm': _module(lambda x, a: nn.GroupNorm(a['groups'], x['dims'][0], eps=a['eps'])),
    'affine': _affine,
    'layer_scale': _layer_scale,
    'linear': _module(lambda x, a: nn.Linear(x['dims'][-1], a['out'], bias=a['bias'])),
    'gelu': _module(lambda x, a: nn.GELU(approximate=a.get('approximate', 'none'))),
    'relu': _module(lambda x, a: nn.ReLU()),
    'silu': _module(lambda x, a: nn.SiLU()),
    'tanh': _module(lambda x, a: nn.Tanh()),
    'sigmoid': _module(lambda x, a: nn.Sigmoid()),
    'identity': _module(lambda x, a: nn.Identity()),
    'patches': _fn(lambda self, x, a: lambda t: F.unfold(t, a['size'], stride=a['size']).transpose(1, 2)),
    'flatten': _fn(lambda self, x, a: lambda t: t.flatten(2).transpose(1, 2)),
    'transpose': _fn(lambda self, x, a: lambda t: t.transpose(1, 2)),
    'cls_token': _cls_token,
    'pos_embed': _pos_embed,
    'attention': _module(lambda x, a: Attention(x['dims'][1], a['heads'], a['bias'])),
    'fourier': _fn(lambda self, x, a: lambda t: torch.fft.fft2(t, dim=(-2, -1)).real),
    'pool': _module(lambda x, a: nn.AvgPool2d(a['kernel'], stride=a['stride'], padding=a['padding'], count_include_pad=False)),
    'max_pool': _module(lambda x, a: nn.MaxPool2d(a['kernel'], stride=a['stride'], padding=a['padding'])),
    'avgpool': _fn(lambda self, x, a: (lambda t: t.mean((-2, -1))) if x['layout'] == 'image'
                   else (lambda t: t[:, a.get('prefix_tokens', 0):].mean(1))),
    'cls': _fn(lambda self, x, a: lambda t: t[:, 0]),
    'dropout': _module(lambda x, a: nn.Dropout(a['p'])),
    'droppath': _fn(lambda self, x, a: lambda t: drop_path(t, a['p'], self.training)),
    'chunk': _fn(lambda self, x, a: lambda t: t.chunk(a['chunks'], 1 if x['layout'] == 'image' else -1)[a['index']]),
    'add': lambda self, x, a: None,
    'sub': lambda self, x, a: None,
    'mul': lambda self, x, a: None,
}


class Node(nn.Module):
    """One IR node; parameters live in `self.m` (a standard module) or directly on this module."""

    def __init__(self, n):
        super().__init__()
        op, a = n['op'], n['attrs']
        ins = n['input_shapes']
        self.op = op
        self.fn = None
        if op not in OPS:
            raise SystemExit(f'bench_pytorch: unknown IR op {op}')
        OPS[op](self, ins[0] if ins else None, a)

    def forward(self, x, y=None):
        if self.op == 'add':
            return x + y
        if self.op == 'sub':
            return x - y
        if self.op == 'mul':
            return x * y
        if self.fn is not None:
            return self.fn(x)
        return self.m(x)


class Net(nn.Module):
    def __init__(self, g):
        super().__init__()
        self.steps = []
        self.layers = nn.ModuleList()
        for n in g['nodes']:
            if n['op'] == 'input':
                self.steps.append(None)
                continue
            self.layers.append(Node(n))
            self.steps.append((len(self.layers) - 1, n['inputs']))
        self.output = g['output']

    def forward(self, x):
        values = []
        for s in self.steps:
            if s is None:
                values.append(x)
            else:
                i, ins = s
                values.append(self.layers[i](*[values[j] for j in ins]))
        return values[self.output]


def load_safetensors(path):
    """A safetensors file as {name: CPU tensor} (8-byte little-endian header length, JSON header, raw bytes)."""
    dtypes = {'F32': torch.float32, 'F64': torch.float64, 'F16': torch.float16, 'BF16': torch.bfloat16,
              'I64': torch.int64, 'I32': torch.int32, 'U8': torch.uint8, 'BOOL': torch.bool}
    with open(path, 'rb') as f:
        data = f.read()
    n = struct.unpack('<Q', data[:8])[0]
    header = json.loads(data[8:8 + n])
    header.pop('__metadata__', None)
    out = {}
    for name, e in header.items():
        begin, end = e['data_offsets']
        raw = bytearray(data[8 + n + begin:8 + n + end])
        t = torch.frombuffer(raw, dtype=dtypes[e['dtype']]) if raw else torch.empty(0, dtype=dtypes[e['dtype']])
        out[name] = t.reshape(e['shape'])
    return out


def ir_names(g, model):
    """{IR tensor name: this model's state_dict key}: node i's `local` tensor is layers.k.m.local or layers.k.local."""
    keys = set(model.state_dict().keys())
    names, k = {}, 0
    for n in g['nodes']:
        if n['op'] == 'input':
            continue
        for t in n['params'] + n['buffers']:
            local = t['name']
            key = next((c for c in (f'layers.{k}.m.{local}', f'layers.{k}.{local}') if c in keys), None)
            if key is None:
                raise ValueError(f"IR tensor {n['name']}.{local} has no counterpart in the PyTorch model")
            names[f"{n['name']}.{local}"] = key
        k += 1
    return names


def check(g, model, dev, memory_format, weights_path, ours_path):
    """Largest |difference| between this model's and ArchDsl's results (see the module docstring)."""
    for flag in (torch.backends.cuda.matmul, torch.backends.cudnn):
        flag.allow_tf32 = False
    names = ir_names(g, model)
    weights, ours = load_safetensors(weights_path), load_safetensors(ours_path)
    missing = set(model.state_dict().keys()) - set(names.values())
    if missing:
        raise ValueError(f'PyTorch tensors with no IR counterpart: {sorted(missing)}')
    model.load_state_dict({names[n]: t for n, t in weights.items()}, strict=True)
    x, y = ours['x'].to(dev), ours['y'].to(dev)
    if memory_format == 'channels_last' and x.dim() == 4:
        x = x.to(memory_format=torch.channels_last)
    params = {key: name for name, key in names.items()}
    out = {}

    def diff(a, b):
        return (a.detach().double().cpu() - b.double()).abs().max().item() if a.numel() else 0.0

    for mode in ('train', 'eval'):
        model.train(mode == 'train')
        for p in model.parameters():
            p.grad = None
        logits = model(x)
        F.cross_entropy(logits, y).backward()
        out[f'{mode}.logits'] = diff(logits, ours[f'{mode}.logits'])
        grads = [(params[k], diff(p.grad, ours[f'{mode}.grad.{params[k]}'])) for k, p in model.named_parameters()]
        out[f'{mode}.grad'] = max(grads, key=lambda t: t[1])
    state = model.state_dict()
    out['state'] = max(((n, diff(state[k], ours[f'state.{n}'])) for n, k in names.items()), key=lambda t: t[1])
    out['max_abs_logit'] = ours['train.logits'].abs().max().item()
    return out


def rss(key):
    try:
        m = re.search(key + r':\s+(\d+) kB', open('/proc/self/status').read())
        return int(m.group(1)) * 1024 if m else -1
    except OSError:
        return -1


def reset_peak_rss():
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
    except OSError:
        pass


def blas_kernel():
    """The kernel of the OpenBLAS this process loaded (openblas_get_corename), or None when it has none."""
    try:
        with open('/proc/self/maps') as f:
            paths = {line.split()[-1] for line in f if 'libopenblas' in line}
        for path in paths:
            lib = ctypes.CDLL(path)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode().strip()
    except (OSError, AttributeError):
        pass
    return None


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('graph')
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--device', default='cpu')
    ap.add_argument('--warmup', type=int, default=5)
    ap.add_argument('--iterations', type=int, default=20)
    ap.add_argument('--threads', type=int, default=0)
    ap.add_argument('--memory-format', choices=('contiguous', 'channels_last'), default='contiguous')
    ap.add_argument('--compile', action='store_true', help='time torch.compile(model) instead of the eager model')
    ap.add_argument('--amp', choices=('off', 'bf16', 'fp16'), default='off',
                    help='forward passes under torch.autocast with this dtype (fp16 with torch.cuda.amp.GradScaler); loss on float32 logits')
    ap.add_argument('--serve', action='store_true',
                    help='after building, answer commands on stdin (one JSON line each): warmup_train K, train K, '
                         'warmup_infer K, infer K, memory, quit; so the caller can interleave its own timing rounds')
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    g = json.load(open(args.graph))
    dev = torch.device(args.device)
    cuda = dev.type == 'cuda'
    torch.manual_seed(0)

    baseline = torch.cuda.memory_allocated() if cuda else rss('VmRSS')
    model = Net(g).to(dev)
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.01)
    x = torch.randn(args.batch, *g['input']['dims'], device=dev)
    if args.memory_format == 'channels_last':
        model = model.to(memory_format=torch.channels_last)
    timed = model
    if args.compile:
        if not hasattr(torch, 'compile'):
            print(json.dumps({'error': f'--compile needs torch.compile (PyTorch 2); this is PyTorch {torch.__version__}'}), flush=True)
            sys.exit(2)
        timed = torch.compile(model)
        if x.dim() == 4:
            x = x.to(memory_format=torch.channels_last)
    classes = g['nodes'][g['output']]['output_shape']['dims'][-1]
    y = torch.randint(classes, (args.batch,), device=dev)

    def sync():
        if cuda:
            torch.cuda.synchronize()

    low = {'bf16': torch.bfloat16, 'fp16': torch.float16}.get(args.amp)
    scaler = torch.cuda.amp.GradScaler() if args.amp == 'fp16' else None

    def forward():
        if low is None:
            return timed(x)
        with torch.autocast(dev.type, dtype=low):
            return timed(x).float()

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(forward(), y)
        if scaler is None:
            loss.backward()
            opt.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()

    def infer_step():
        forward()

    def run(step, n, train):
        """n steps of `step` in train/eval mode; per-step wall times in ms."""
        model.train(train)
        ts = []
        with torch.set_grad_enabled(train):
            for _ in range(n):
                t0 = time.perf_counter()
                step()
                sync()
                ts.append((time.perf_counter() - t0) * 1000)
        return ts

    def reset_peak():
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        else:
            reset_peak_rss()

    def peak():
        return torch.cuda.max_memory_allocated() if cuda else rss('VmHWM')

    info = {'torch_version': torch.__version__, 'threads': torch.get_num_threads(), 'params': params, 'amp': args.amp,
            'blas': blas_kernel(),
            'memory_format': args.memory_format, 'mode': 'torch.compile' if args.compile else 'eager',
            'baseline_memory_bytes': baseline, 'memory_kind': 'CUDA max allocated' if cuda else 'VmHWM'}

    if args.serve:
        print(json.dumps(dict(info, ready=True)), flush=True)
        for line in sys.stdin:
            cmd = line.split()
            if not cmd:
                continue
            if cmd[0] == 'quit':
                break
            if cmd[0] == 'memory':
                out = {'peak_memory_bytes': peak()}
            elif cmd[0] == 'reset_peak':
                reset_peak()
                out = {}
            elif cmd[0] in ('warmup_train', 'train'):
                out = {'times': run(train_step, int(cmd[1]), True)}
            elif cmd[0] in ('warmup_infer', 'infer'):
                out = {'times': run(infer_step, int(cmd[1]), False)}
            elif cmd[0] == 'check':
                try:
                    out = check(g, model, dev, args.memory_format, cmd[1], cmd[2])
                except (ValueError, KeyError, RuntimeError, OSError) as e:
                    out = {'error': f'check: {type(e).__name__}: {e}'}
            else:
                out = {'error': f'unknown command {cmd[0]}'}
            print(json.dumps(out), flush=True)
        return

    run(train_step, args.warmup, True)
    reset_peak()
    train_ms = median(run(train_step, args.iterations, True))
    run(infer_step, args.warmup, False)
    infer_ms = median(run(infer_step, args.iterations, False))
    print(json.dumps(dict(info, train_step_ms=train_ms, infer_step_ms=infer_ms, peak_memory_bytes=peak())))


if __name__ == '__main__':
    main()
