#!/usr/bin/env python3
"""Generate optimiser, LR-schedule and gradient-clipping fixtures for glassbox from PyTorch.

Run from the repo root with the interpreter that has torch:

    /usr/bin/python3 scripts/gen_fixtures_optim.py

Writes tests/fixtures/optim.json, replayed by tests/optim.test.ts. Everything runs in float32,
as glassbox does, so parameters are compared float32 to float32. Deterministic: one fixed-seed
NumPy generator draws the initial parameters and the gradients. Float32 values are written as
the shortest decimal that rounds back to the same float32; learning rates as float64.

Format:
- `initial[i]`: {shape, data} of parameter i (shapes [3, 4] and [5]).
- `grads[k][i]`: flat gradient of parameter i at step k (10 steps; optimiser-only cases use 5).
- `cases[]`: {id, optimizer ("SGD" | "Adam" | "AdamW"), options (glassbox names), lrs[k] (the lr
  step k used), params[k][i] (parameter i after step k)}; cases driven by a schedule add
  scheduler, schedulerOptions (glassbox names) and finalLr (the lr after the last sched.step()).
  Each step: set the grads, opt.step(), then sched.step().
- `schedules[]`: {id, scheduler, schedulerOptions, baseLr, lrs}: lrs[0] is the lr right after
  construction, lrs[k] the lr after k sched.step() calls (longer runs, no parameters).
- `clip[]`: {id, kind ("norm" | "value"), grads[i] {shape, data}, maxNorm, normType (a number or
  "inf"), totalNorm (returned by clip_grad_norm_) | clipValue, clipped[i] (the grads afterwards)}.

OneCycleLR runs with cycle_momentum=False: glassbox schedules the learning rate only.
"""
import json
import math
import os

import numpy as np
import torch

from fixture_encoding import f32

torch.set_default_dtype(torch.float32)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "optim.json")
GENERATOR = "scripts/gen_fixtures_optim.py"

SHAPES = [[3, 4], [5]]
OPT_STEPS = 5
SCHED_STEPS = 10

rng = np.random.default_rng(1234)
INIT = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
# GRADS[k][i]: the gradient of parameter i at step k
GRADS = [[rng.standard_normal(s).astype(np.float32) for s in SHAPES] for _ in range(SCHED_STEPS)]


def flat(a):
    return [f32(v) for v in np.asarray(a, dtype=np.float32).reshape(-1)]


def enc(a):
    return {"shape": list(np.asarray(a).shape), "data": flat(a)}


# Optimiser configurations: glassbox name and options (camelCase), and the torch constructor.
OPTIMISERS = [
    ("sgd", "SGD", {"lr": 0.1}, lambda ps: torch.optim.SGD(ps, lr=0.1)),
    ("sgd_momentum", "SGD", {"lr": 0.1, "momentum": 0.9}, lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9)),
    ("sgd_momentum_dampening", "SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.1},
     lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, dampening=0.1)),
    ("sgd_nesterov", "SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True},
     lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True)),
    ("sgd_weight_decay", "SGD", {"lr": 0.1, "weightDecay": 0.05}, lambda ps: torch.optim.SGD(ps, lr=0.1, weight_decay=0.05)),
    ("sgd_momentum_weight_decay", "SGD", {"lr": 0.1, "momentum": 0.9, "weightDecay": 0.05},
     lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.05)),
    ("adam", "Adam", {}, lambda ps: torch.optim.Adam(ps)),
    ("adam_lr", "Adam", {"lr": 0.05}, lambda ps: torch.optim.Adam(ps, lr=0.05)),
    ("adam_weight_decay", "Adam", {"lr": 0.01, "weightDecay": 0.1},
     lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.1)),
    ("adamw_0.01", "AdamW", {"lr": 0.01, "weightDecay": 0.01}, lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.01)),
    ("adamw_0.1", "AdamW", {"lr": 0.01, "weightDecay": 0.1}, lambda ps: torch.optim.AdamW(ps, lr=0.01, weight_decay=0.1)),
    ("adamw_default", "AdamW", {}, lambda ps: torch.optim.AdamW(ps)),
    ("adam_betas_eps", "Adam", {"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-3},
     lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-3)),
]

# Schedulers: glassbox name and options, and the torch constructor. OneCycleLR runs without
# momentum cycling (glassbox schedules the learning rate only).
SCHEDULERS = [
    ("steplr", "StepLR", {"stepSize": 3, "gamma": 0.5},
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
    ("cosine", "CosineAnnealingLR", {"tMax": 4, "etaMin": 0.001},
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=0.001)),
    ("onecycle", "OneCycleLR", {"maxLr": 0.2, "totalSteps": 10},
     lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.2, total_steps=10, cycle_momentum=False)),
    ("onecycle_linear_3phase", "OneCycleLR",
     {"maxLr": 0.3, "totalSteps": 12, "pctStart": 0.25, "annealStrategy": "linear", "divFactor": 10,
      "finalDivFactor": 100, "threePhase": True},
     lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.3, total_steps=12, pct_start=0.25,
                                                   anneal_strategy="linear", div_factor=10,
                                                   final_div_factor=100, three_phase=True,
                                                   cycle_momentum=False)),
    ("linearwarmup", "LinearWarmup", {"startFactor": 0.25, "endFactor": 1.0, "totalIters": 4},
     lambda o: torch.optim.lr_scheduler.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=4)),
]


def run(make_opt, steps, make_sched=None):
    params = [torch.tensor(x, requires_grad=True) for x in INIT]
    opt = make_opt(params)
    sched = make_sched(opt) if make_sched else None
    lrs, history = [], []
    for k in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        for p, g in zip(params, GRADS[k]):
            p.grad = torch.tensor(g)
        opt.step()
        if sched:
            sched.step()
        history.append([flat(p.detach().numpy()) for p in params])
    final_lr = opt.param_groups[0]["lr"]
    assert sched is None or sched.get_last_lr()[0] == final_lr
    return lrs, final_lr, history


def optimiser_cases():
    cases = []
    for oid, name, opts, make in OPTIMISERS:
        lrs, _, history = run(make, OPT_STEPS)
        cases.append({"id": oid, "optimizer": name, "options": opts, "lrs": lrs, "params": history})
    for sid, sname, sopts, make_sched in SCHEDULERS:
        for oid, name, opts, make in OPTIMISERS:
            lrs, final_lr, history = run(make, SCHED_STEPS, make_sched)
            cases.append({"id": "%s_%s" % (sid, oid), "optimizer": name, "options": opts,
                          "scheduler": sname, "schedulerOptions": sopts,
                          "lrs": lrs, "finalLr": final_lr, "params": history})
    return cases


def schedule_only_cases():
    """Learning rates over a longer run than the parameter cases (cosine past tMax, OneCycle to its end)."""
    cases = []
    specs = [
        ("steplr_long", "StepLR", {"stepSize": 2, "gamma": 0.1}, 9,
         lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.1)),
        ("cosine_past_tmax", "CosineAnnealingLR", {"tMax": 5, "etaMin": 0.0}, 23,
         lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5)),
        ("onecycle_defaults", "OneCycleLR", {"maxLr": 1.0, "totalSteps": 20}, 20,
         lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=20, cycle_momentum=False)),
        ("onecycle_3phase_cos", "OneCycleLR", {"maxLr": 0.5, "totalSteps": 17, "threePhase": True}, 17,
         lambda o: torch.optim.lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=17, three_phase=True,
                                                       cycle_momentum=False)),
        ("linearwarmup_defaults", "LinearWarmup", {}, 8,
         lambda o: torch.optim.lr_scheduler.LinearLR(o)),
    ]
    for cid, name, opts, steps, make in specs:
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1)
        sched = make(opt)
        lrs = [sched.get_last_lr()[0]]
        for _ in range(steps):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr()[0])
        cases.append({"id": cid, "scheduler": name, "schedulerOptions": opts, "baseLr": 0.1, "lrs": lrs})
    return cases


def clip_cases():
    cases = []
    specs = [
        ("norm2_clipped", "norm", 1.0, 2.0),
        ("norm2_unclipped", "norm", 100.0, 2.0),
        ("norm1_clipped", "norm", 2.0, 1.0),
        ("norm3_clipped", "norm", 1.5, 3.0),
        ("norminf_clipped", "norm", 0.5, math.inf),
        ("value_0.5", "value", 0.5, None),
        ("value_2", "value", 2.0, None),
    ]
    grads = [(np.float32(2.0) * g).astype(np.float32) for g in GRADS[0]]
    for cid, kind, limit, norm_type in specs:
        params = [torch.tensor(x, requires_grad=True) for x in INIT]
        for p, g in zip(params, grads):
            p.grad = torch.tensor(g)
        case = {"id": cid, "kind": kind, "grads": [enc(g) for g in grads]}
        if kind == "norm":
            total = torch.nn.utils.clip_grad_norm_(params, limit, norm_type=norm_type)
            case.update({"maxNorm": limit, "normType": "inf" if math.isinf(norm_type) else norm_type,
                         "totalNorm": f32(total.item())})
        else:
            torch.nn.utils.clip_grad_value_(params, limit)
            case["clipValue"] = limit
        case["clipped"] = [flat(p.grad.numpy()) for p in params]
        cases.append(case)
    return cases


def main():
    out = {
        "generator": GENERATOR,
        "torch": torch.__version__,
        "initial": [enc(x) for x in INIT],
        "grads": [[flat(g) for g in step] for step in GRADS],
        "cases": optimiser_cases(),
        "schedules": schedule_only_cases(),
        "clip": clip_cases(),
    }
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print("wrote %s (%d bytes, %d optimiser cases)" % (OUT, os.path.getsize(OUT), len(out["cases"])))


if __name__ == "__main__":
    main()
