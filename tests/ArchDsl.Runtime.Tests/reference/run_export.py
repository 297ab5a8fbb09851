"""Runs exported PyTorch files as a user would: for each case directory given, imports its module, builds it with
create_model(weights) (a strict state_dict load) and writes its logits on the saved input.

    python3 run_export.py DIR...   each DIR holds <module>.py, <module>.safetensors, input.safetensors ('x'), module.txt
"""
import importlib
import os
import sys

import torch

import st

for d in sys.argv[1:]:
    name = open(os.path.join(d, 'module.txt')).read().strip()
    sys.path.insert(0, d)
    module = importlib.import_module(name)
    model = module.create_model(os.path.join(d, name + '.safetensors'))
    with torch.no_grad():
        logits = model(st.load(os.path.join(d, 'input.safetensors'))['x'])
    st.save(os.path.join(d, 'logits.safetensors'), {'logits': logits})
    sys.path.pop(0)
    del sys.modules[name]
