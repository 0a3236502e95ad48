"""PyTorch on the CPU as the peer of bench/visualize.ts: the same optimisation loops as glassbox's
renderVis, timed inside Python. Run as

    /usr/bin/python3 bench/peers/visualize_torch.py '<json>'

with the JSON (from bench/visualize.ts) naming the task and its sizes; prints one JSON line
{"seconds": s, "steps": n, "first": f, "last": l, "torch": version, "threads": t}: s is the time of
the `steps` timed steps after `warmup` untimed ones, f and l the objective at the first and last
timed step.

  features  Lucid's render_vis: the decorrelated Fourier parametrisation (spectrum scaled by
            1 / max(f, 1/max(h, w)), torch.fft.irfft2 with norm 'ortho', / 4, Lucid's colour matrix,
            sigmoid), Lucid's standard transforms (pad 2, jitter 2, random scale, random rotation,
            jitter 1; scale and rotation by affine_grid + grid_sample, bilinear, border), CIFAR-10
            normalisation, the zoo's cifar-net (random weights, eval mode), the mean of one channel of
            one layer, Adam lr 0.05; a batch of images optimised together.
  style     Gatys et al.'s loss on the random multi-scale net (one conv + ReLU branch per kernel
            size, 'same' padding): normalised feature error at the content layer + style weight x
            the mean over layers of the normalised Gram error, pixels as sigmoid(t) started at the
            content image's logits, Adam.
"""
import json
import math
import os
import sys
import time

import torch
from torch import nn
import torch.nn.functional as F

torch.set_num_threads(os.cpu_count() or 1)
torch.manual_seed(0)

CIFAR_MEAN = torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1)
CIFAR_STD = torch.tensor([0.2470, 0.2435, 0.2616]).view(1, 3, 1, 1)


def cifar_net():
    """The zoo's cifar-net (src/nn/models/cifar-net.ts)."""
    def stage(i, o):
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(),
                nn.Conv2d(o, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]
    features = nn.Sequential(*stage(3, 32), nn.MaxPool2d(2), *stage(32, 64), nn.MaxPool2d(2), *stage(64, 128))
    return nn.Sequential(features, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))


def affine(x, scale, degrees):
    """bench's copy of transforms-affine.ts's resample: zoom and rotation about the centre."""
    if scale == 1 and degrees == 0:
        return x
    n, _, h, w = x.shape
    a = degrees * math.pi / 180
    c, s = math.cos(a), math.sin(a)
    theta = torch.tensor([[c / scale, s * h / w / scale, 0], [-s * w / h / scale, c / scale, 0]]).expand(n, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def features_task(a, rng):
    n, size = a["batch"], a["size"]
    model = cifar_net().eval()
    for p in model.parameters():
        p.requires_grad_(False)
    layer = model[0][a["layerIndex"]]
    captured = {}
    layer.register_forward_hook(lambda m, i, o: captured.__setitem__("a", o))
    fy = torch.fft.fftfreq(size).view(-1, 1)
    fx = torch.fft.rfftfreq(size).view(1, -1)
    freqs = torch.sqrt(fx * fx + fy * fy)
    scale = 1.0 / torch.clamp(freqs, min=1.0 / size)
    spectrum = (torch.randn(2, n * 3, size, size // 2 + 1) * 0.01).requires_grad_(True)
    color = torch.tensor(a["color"]).view(3, 3, 1, 1)
    opt = torch.optim.Adam([spectrum], lr=0.05)
    scales, angles = a["scales"], a["angles"]

    def step():
        opt.zero_grad()
        spatial = torch.fft.irfft2(torch.complex(spectrum[0] * scale, spectrum[1] * scale), s=(size, size), norm="ortho") / 4
        img = torch.sigmoid(F.conv2d(spatial.view(n, 3, size, size), color))
        x = F.pad(img, (2, 2, 2, 2), value=0.5)
        x = torch.roll(x, shifts=(rng.randint(-2, 2), rng.randint(-2, 2)), dims=(2, 3))
        x = affine(x, rng.choice(scales), rng.choice(angles))
        x = torch.roll(x, shifts=(rng.randint(-1, 1), rng.randint(-1, 1)), dims=(2, 3))
        top = (x.shape[2] - size) // 2
        x = x[:, :, top:top + size, top:top + size]
        model((x - CIFAR_MEAN) / CIFAR_STD)
        score = captured["a"][:, a["channel"]].mean(dim=(1, 2))
        (-score.sum()).backward()
        opt.step()
        return score.mean().item()

    return step


def style_task(a, rng):
    size, filters = a["size"], a["filters"]
    branches = nn.ModuleList([nn.Sequential(nn.Conv2d(3, filters, k, padding=(k - 1) // 2), nn.ReLU()) for k in a["kernels"]])
    for p in branches.parameters():
        p.requires_grad_(False)
    content = torch.rand(1, 3, size, size)
    style = torch.rand(1, 3, size, size)

    def maps(img):
        x = (img - CIFAR_MEAN) / CIFAR_STD
        return [b(x) for b in branches]

    def gram(f):
        _, c, h, w = f.shape
        flat = f.view(c, h * w)
        return flat @ flat.t() / (h * w)

    with torch.no_grad():
        content_target = maps(content)[a["contentIndex"]]
        grams = [gram(f) for f in maps(style)]
    q = content.clamp(1e-3, 1 - 1e-3)
    t = torch.log(q / (1 - q)).requires_grad_(True)
    opt = torch.optim.Adam([t], lr=a["lr"])

    def step():
        opt.zero_grad()
        fs = maps(torch.sigmoid(t))
        c = ((fs[a["contentIndex"]] - content_target) ** 2).sum() / (content_target ** 2).sum()
        s = sum(((gram(f) - g) ** 2).sum() / (g ** 2).sum() for f, g in zip(fs, grams)) / len(fs)
        loss = c + a["styleWeight"] * s
        loss.backward()
        opt.step()
        return loss.item()

    return step


def main():
    import random
    a = json.loads(sys.argv[1])
    rng = random.Random(0)
    step = {"features": features_task, "style": style_task}[a["task"]](a, rng)
    for _ in range(a["warmup"]):
        step()
    start = time.perf_counter()
    values = [step() for _ in range(a["steps"])]
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "steps": a["steps"], "first": values[0], "last": values[-1], "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
