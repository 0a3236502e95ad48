"""PyTorch on the CPU as the peer of bench/gan.ts: the same DCGAN (src/nn/models/dcgan.ts) and the same
training step (one discriminator step and one generator step, non-saturating loss, Adam lr 2e-4
betas (0.5, 0.999)), timed inside Python. Run as

    /usr/bin/python3 bench/peers/gan_torch.py '{"width": 32, "latent": 64, "batch": 64, "warmup": 2, "steps": 10}'

prints one JSON line {"seconds": s, "steps": n, "images_per_second": r, "torch": version, "threads": t}.
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
cfg = json.loads(sys.argv[1])
w, nz, batch = cfg["width"], cfg["latent"], cfg["batch"]

G = nn.Sequential(
    nn.ConvTranspose2d(nz, 2 * w, 7, bias=False), nn.BatchNorm2d(2 * w), nn.ReLU(),
    nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False), nn.BatchNorm2d(w), nn.ReLU(),
    nn.ConvTranspose2d(w, 1, 4, 2, 1), nn.Tanh())
D = nn.Sequential(
    nn.Conv2d(1, w, 4, 2, 1), nn.LeakyReLU(0.2),
    nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * w), nn.LeakyReLU(0.2),
    nn.Conv2d(2 * w, 1, 7))
opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
real = torch.rand(batch, 1, 28, 28) * 2 - 1


def step():
    z = torch.randn(batch, nz, 1, 1)
    fake = G(z)
    opt_d.zero_grad()
    d_loss = F.softplus(-D(real)).mean() + F.softplus(D(fake.detach())).mean()
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss = F.softplus(-D(fake)).mean()
    g_loss.backward()
    opt_g.step()
    return float(g_loss)


for _ in range(cfg["warmup"]):
    step()
t0 = time.perf_counter()
for _ in range(cfg["steps"]):
    step()
s = time.perf_counter() - t0
print(json.dumps({"seconds": s, "steps": cfg["steps"], "images_per_second": cfg["steps"] * batch / s, "torch": torch.__version__, "threads": torch.get_num_threads()}))
