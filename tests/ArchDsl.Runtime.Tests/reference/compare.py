"""Runs a reference model (models.py) on ArchDsl's weights and inputs; writes what the C# test compares.

usage: compare.py KIND CONFIG_JSON WEIGHTS.safetensors INPUTS.safetensors OUT.safetensors [bf16]

With bf16 the forward passes run under torch.autocast('cpu', dtype=torch.bfloat16), as a PyTorch user writes mixed
precision, and the loss is taken on the logits in float32.

WEIGHTS holds the ArchDsl model's parameters and buffers under their IR names (IrModel.SaveWeights);
INPUTS holds `x` (the batch) and `y` (int64 labels). The reference's explicit name map (archdsl_names)
must cover both sides exactly. Then, as the C# side does:
  train mode: forward, cross-entropy, backward -> train.logits, train.loss, train.grad.<IR name>
  eval mode:  forward, cross-entropy, backward -> eval.logits, eval.loss, eval.grad.<IR name>
and finally state.<IR name> (parameters and buffers, e.g. the BN running statistics after the train step),
and `params`, the reference's own parameter count.
"""
import contextlib
import json
import sys

import torch
import torch.nn.functional as F

import models
import st


def main(kind, config, weights, inputs, out_path, amp=None):
    torch.manual_seed(0)
    cfg = json.loads(config)
    model = models.build(kind, cfg).float()
    names = model.archdsl_names()
    ours = st.load(weights)
    ref_sd = model.state_dict()

    problems = []
    problems += [f'IR tensor {k} is in the weights but not in the name map' for k in sorted(set(ours) - set(names))]
    problems += [f'name map entry {k} is not in the weights' for k in sorted(set(names) - set(ours))]
    mapped = {v for v, _ in names.values()}
    problems += [f'reference tensor {k} is not mapped' for k in sorted(set(ref_sd) - mapped)]
    problems += [f'name map target {k} is not in the reference' for k in sorted(mapped - set(ref_sd))]
    if problems:
        raise SystemExit('name map mismatch:\n  ' + '\n  '.join(problems))

    sd = {}
    for ir, (ref, our_shape) in names.items():
        t = ours[ir]
        if our_shape is not None and tuple(t.shape) != tuple(our_shape):
            raise SystemExit(f'{ir}: expected ArchDsl shape {our_shape}, got {tuple(t.shape)}')
        if t.numel() != ref_sd[ref].numel():
            raise SystemExit(f'{ir} {tuple(t.shape)} cannot become {ref} {tuple(ref_sd[ref].shape)}')
        sd[ref] = t.reshape(ref_sd[ref].shape).to(ref_sd[ref].dtype)
    model.load_state_dict(sd, strict=True)

    data = st.load(inputs)
    x, y = data['x'], data['y']
    params = dict(model.named_parameters())
    out = {}
    for mode in ['train', 'eval']:
        model.train(mode == 'train')
        model.zero_grad(set_to_none=True)
        with torch.autocast('cpu', dtype=torch.bfloat16) if amp == 'bf16' else contextlib.nullcontext():
            logits = model(x)
        logits = logits.float()
        loss = F.cross_entropy(logits, y)
        loss.backward()
        out[f'{mode}.logits'] = logits.detach()
        out[f'{mode}.loss'] = loss.detach()
        for ir, (ref, _) in names.items():
            if ref in params:
                g = params[ref].grad
                if g is None:
                    raise SystemExit(f'{ref} ({ir}) has no gradient in {mode} mode')
                out[f'{mode}.grad.{ir}'] = g.reshape(ours[ir].shape)
    final = model.state_dict()
    for ir, (ref, _) in names.items():
        out[f'state.{ir}'] = final[ref].reshape(ours[ir].shape)
    out['params'] = torch.tensor(sum(p.numel() for p in model.parameters()), dtype=torch.int64)
    st.save(out_path, out)


if __name__ == '__main__':
    main(*sys.argv[1:7])
