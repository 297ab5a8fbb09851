#!/usr/bin/python3
# Regenerates ScheduleOneCycle.torch.json: the learning rate (and momentum / Adam beta1) that
# PyTorch's OneCycleLR gives at every step for a few configurations. Run with Debian's python3-torch:
#   /usr/bin/python3 tests/ArchDsl.Runtime.Tests/Fixtures/ScheduleOneCycle.gen.py > tests/ArchDsl.Runtime.Tests/Fixtures/ScheduleOneCycle.torch.json
import json, warnings
import torch

warnings.filterwarnings("ignore")

CONFIGS = [
    dict(name="defaults-100", max_lr=0.01, total_steps=100),
    dict(name="defaults-469x5", max_lr=0.003, total_steps=469 * 5),
    dict(name="three-phase-37", max_lr=0.05, total_steps=37, pct_start=0.25, three_phase=True),
    dict(name="linear-50", max_lr=0.1, total_steps=50, anneal_strategy="linear", div_factor=10.0, final_div_factor=100.0),
    dict(name="odd-pct-11", max_lr=1.0, total_steps=11, pct_start=0.45, base_momentum=0.8, max_momentum=0.99),
]

out = []
for cfg in CONFIGS:
    kw = {k: v for k, v in cfg.items() if k != "name"}
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.AdamW([p], lr=0.123)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, **kw)
    lrs, moms = [], []
    total = cfg["total_steps"]
    for step in range(total + 1):  # PyTorch allows stepping to total_steps itself
        g = opt.param_groups[0]
        lrs.append(g["lr"])
        moms.append(g["betas"][0])
        if step < total:
            opt.step()
            sched.step()
    out.append(dict(config=cfg, lr=lrs, momentum=moms))

print(json.dumps({"torch": torch.__version__, "cases": out}, indent=1))
