"""PyTorch on the CPU as the peer of bench/prune.ts: one round of iterative magnitude pruning of
LeNet-300-100 (784-300-100-10, ReLU) as OpenLTH runs it, timed inside Python. Run as

    /usr/bin/python3 bench/peers/prune_torch.py '<json>'

with {"iterations": n, "batch": b, "images": m, "lr": lr, "density": d}. The round: rewind the
weights to the saved initialisation, apply the mask (kept at density d by a random mask whose count
per layer matches glassbox's level), train n Adam steps on batches of a fixed in-memory set of m
images (the masked weights' gradients zeroed by a hook, the weights multiplied by the mask after
each step, as OpenLTH's PrunedModel keeps them at zero), then prune 20% / 20% / 10% of each layer's
surviving weights by magnitude. Prints one JSON line {"seconds": s, "rounds": r, "torch": v,
"threads": t} after one untimed round.
"""
import json
import os
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F

torch.set_num_threads(os.cpu_count() or 1)
torch.manual_seed(0)
a = json.loads(sys.argv[1])

model = nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10))
weights = [m.weight for m in model if isinstance(m, nn.Linear)]
rates = [0.2, 0.2, 0.1]
init = {k: v.clone() for k, v in model.state_dict().items()}
masks = [(torch.rand_like(w) < a["density"]).float() for w in weights]
for w, m in zip(weights, masks):
    w.register_hook(lambda g, m=m: g * m)
x_all = torch.rand(a["images"], 1, 28, 28)
y_all = torch.randint(0, 10, (a["images"],))


def imp_round():
    model.load_state_dict(init)
    with torch.no_grad():
        for w, m in zip(weights, masks):
            w.mul_(m)
    opt = torch.optim.Adam(model.parameters(), lr=a["lr"])
    b = a["batch"]
    order = torch.randperm(a["images"])
    for k in range(a["iterations"]):
        i = order[(k * b) % (a["images"] - b + 1):][:b]
        opt.zero_grad()
        F.cross_entropy(model(x_all[i]), y_all[i]).backward()
        opt.step()
        with torch.no_grad():
            for w, m in zip(weights, masks):
                w.mul_(m)
    new = []
    with torch.no_grad():
        for w, m, r in zip(weights, masks, rates):
            alive = w.abs()[m.bool()]
            remove = round(r * alive.numel())
            threshold = alive.kthvalue(remove).values if remove > 0 else -1
            new.append(((w.abs() > threshold) & m.bool()).float())
    return new


imp_round()
start = time.perf_counter()
imp_round()
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "rounds": 1, "torch": torch.__version__, "threads": torch.get_num_threads()}))
