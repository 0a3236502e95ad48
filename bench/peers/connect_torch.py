"""PyTorch on the CPU as the peer of bench/connect.ts: one epoch of training the middle point of a
quadratic Bezier curve between two LeNet-5s (Garipov et al. 2018), the loop of glassbox's
trainCurve (src/xai/weightspace/curve-training.ts), timed inside Python. Run as

    /usr/bin/python3 bench/peers/connect_torch.py '{"images": 6000, "batch": 64, "warmup": 2}'

Each step draws t ~ U(0, 1), builds every parameter as (1-t)^2 A + 2t(1-t) M + t^2 B (A and B
constant, M trainable, started at (A + B) / 2), runs LeNet-5 functionally (conv 6@5x5 pad 2, ReLU,
max pool, conv 16@5x5, ReLU, max pool, fc 120, fc 84, fc 10) on the batch, cross-entropy, backward,
Adam (lr 1e-3) on M. Images are random normal [N, 1, 28, 28] and labels random (the speed does not
depend on them). Prints one JSON line {"seconds": s, "steps": n, "torch": version, "threads": t}:
s is the time of the timed steps after `warmup` untimed ones.
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

torch.set_num_threads(os.cpu_count() or 1)
torch.manual_seed(0)

cfg = json.loads(sys.argv[1])
images, batch, warmup = cfg["images"], cfg["batch"], cfg.get("warmup", 2)

SHAPES = [("c1w", (6, 1, 5, 5)), ("c1b", (6,)), ("c2w", (16, 6, 5, 5)), ("c2b", (16,)),
          ("f1w", (120, 400)), ("f1b", (120,)), ("f2w", (84, 120)), ("f2b", (84,)), ("f3w", (10, 84)), ("f3b", (10,))]


def random_net():
    return {k: torch.randn(s) * 0.1 for k, s in SHAPES}


def lenet(p, x):
    h = F.max_pool2d(F.relu(F.conv2d(x, p["c1w"], p["c1b"], padding=2)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, p["c2w"], p["c2b"])), 2)
    h = F.relu(F.linear(h.flatten(1), p["f1w"], p["f1b"]))
    h = F.relu(F.linear(h, p["f2w"], p["f2b"]))
    return F.linear(h, p["f3w"], p["f3b"])


a, b = random_net(), random_net()
middle = {k: ((a[k] + b[k]) / 2).requires_grad_(True) for k in a}
opt = torch.optim.Adam(list(middle.values()), lr=1e-3)
x_all = torch.randn(images, 1, 28, 28)
y_all = torch.randint(0, 10, (images,))
steps = images // batch


def step(i):
    t = float(torch.rand(()))
    ca, cm, cb = (1 - t) ** 2, 2 * t * (1 - t), t ** 2
    p = {k: ca * a[k] + cm * middle[k] + cb * b[k] for k in a}
    x, y = x_all[i * batch:(i + 1) * batch], y_all[i * batch:(i + 1) * batch]
    opt.zero_grad()
    loss = F.cross_entropy(lenet(p, x), y)
    loss.backward()
    opt.step()
    return loss


for i in range(warmup):
    step(i)
start = time.perf_counter()
for i in range(steps):
    step(i)
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "steps": steps, "torch": torch.__version__, "threads": torch.get_num_threads()}))
