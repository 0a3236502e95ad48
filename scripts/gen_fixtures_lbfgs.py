#!/usr/bin/env python3
"""Generate L-BFGS fixtures for glassbox from torch.optim.LBFGS.

Run from the repo root with the interpreter that has torch:

    /usr/bin/python3 scripts/gen_fixtures_lbfgs.py

Writes tests/fixtures/lbfgs.json, replayed by tests/lbfgs.test.ts. Everything runs in float32, as
glassbox does.

The problems: f(x) = 1/2 x.A x + 1/4 sum(x^4) - c.x on 5 unknowns, held as two parameters (shapes
[2] and [3, 1]) so that the flattening of several parameters into one vector is exercised; and Rosenbrock's
function from (-1.2, 1), whose line searches bracket and zoom.

Format:
- `quartic`: {A (5x5, row-major), c, x0}; `rosenbrock`: {x0} for (1 - x)^2 + 100 (y - x^2)^2.
- `cases[]`: {id, problem ("quartic" | "rosenbrock"), options (glassbox names), steps, x[k] (the 5 unknowns after step k),
  nIter, funcEvals (PyTorch's state['n_iter'] and state['func_evals'] at the end)}. Each step is
  one `opt.step(closure)`; with maxIter 1 that is one iteration, so every iterate is recorded.
"""
import json
import os

import numpy as np
import torch

from fixture_encoding import f32

torch.set_default_dtype(torch.float32)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "lbfgs.json")
GENERATOR = "scripts/gen_fixtures_lbfgs.py"

A = [
    [4, 1, 0, 0.5, 0],
    [1, 3, 0.5, 0, 0],
    [0, 0.5, 2, 0.3, 0],
    [0.5, 0, 0.3, 5, 1],
    [0, 0, 0, 1, 1.5],
]
C = [1, -2, 0.5, 3, -1]
X0 = [0.5, -0.3, 1.2, -0.8, 0.1]

ROSENBROCK_X0 = [-1.2, 1.0]

# id, problem, glassbox options (camelCase), torch keyword arguments, steps. The strong-Wolfe runs
# stop where the loss changes by about what float32 resolves: the 8th line search's first trial
# leaves the float32 loss unchanged and is accepted (PyTorch's sufficient-decrease test is float32
# arithmetic), which step 9 checks; beyond it, float32 noise decides (torch's own float32 and
# float64 runs part ways). Rosenbrock's 15 steps bracket and zoom.
CASES = [
    ("one-iteration-per-step", "quartic", {"maxIter": 1}, {"max_iter": 1}, 12),
    ("defaults", "quartic", {}, {}, 2),
    ("short-history-lr", "quartic", {"maxIter": 1, "historySize": 3, "lr": 0.5}, {"max_iter": 1, "history_size": 3, "lr": 0.5}, 25),
    ("strong-wolfe-one-iteration-per-step", "quartic", {"maxIter": 1, "lineSearchFn": "strong_wolfe"},
     {"max_iter": 1, "line_search_fn": "strong_wolfe"}, 9),
    ("strong-wolfe", "quartic", {"maxIter": 8, "lineSearchFn": "strong_wolfe"}, {"max_iter": 8, "line_search_fn": "strong_wolfe"}, 1),
    ("rosenbrock-strong-wolfe", "rosenbrock", {"maxIter": 1, "lineSearchFn": "strong_wolfe"},
     {"max_iter": 1, "line_search_fn": "strong_wolfe"}, 15),
]


def run(problem, kwargs, steps):
    if problem == "rosenbrock":
        params = [torch.tensor(ROSENBROCK_X0, requires_grad=True)]

        def loss_of():
            p = params[0]
            return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2
    else:
        params = [torch.tensor(X0[:2], requires_grad=True), torch.tensor(X0[2:]).reshape(3, 1).requires_grad_(True)]
        mat = torch.tensor(A)
        c = torch.tensor(C)

        def loss_of():
            x = torch.cat([params[0], params[1].reshape(-1)])
            return 0.5 * (x @ mat @ x) + 0.25 * (x ** 4).sum() - (c * x).sum()
    opt = torch.optim.LBFGS(params, **kwargs)

    def closure():
        opt.zero_grad()
        loss = loss_of()
        loss.backward()
        return loss

    xs = []
    for _ in range(steps):
        opt.step(closure)
        xs.append([f32(v) for v in torch.cat([p.detach().reshape(-1) for p in params]).numpy()])
    state = opt.state[params[0]]
    return xs, int(state["n_iter"]), int(state["func_evals"])


def main():
    cases = []
    for case_id, problem, options, kwargs, steps in CASES:
        xs, n_iter, func_evals = run(problem, kwargs, steps)
        cases.append({"id": case_id, "problem": problem, "options": options, "steps": steps, "x": xs, "nIter": n_iter, "funcEvals": func_evals})
    out = {
        "generator": GENERATOR,
        "torch": torch.__version__,
        "quartic": {"A": [float(v) for v in np.asarray(A).reshape(-1)], "c": C, "x0": X0},
        "rosenbrock": {"x0": ROSENBROCK_X0},
        "cases": cases,
    }
    with open(OUT, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print("wrote %s (%d bytes, %d cases)" % (OUT, os.path.getsize(OUT), len(cases)))


if __name__ == "__main__":
    main()
