"""PyTorch on the CPU as the peer of bench/attacks.ts: the same PGD loop and adversarial training
steps as glassbox's (src/xai/attacks/pgd.ts, adversarial-training.ts), timed inside Python. Run as

    /usr/bin/python3 bench/peers/attacks_torch.py '<json>'

and it prints one JSON line {"seconds": s, "repeats": n, "torch": version, "threads": t}: s is the
time of `repeats` timed runs after one untimed one.

  pgd    L-inf PGD from a uniform random start: `steps` steps of `alpha` along the sign of the input
         gradient of the cross-entropy, each projected onto the eps-ball and [0, 1]; the pixels are
         normalised with MNIST's mean and std inside the model; the zoo's LeNet-5 (random weights,
         eval mode); one run attacks a batch of `batch` images.
  train  one adversarial training step: the batch replaced by its PGD version (`steps` steps; fgsm-rs
         is steps 1 with alpha 1.25 eps), then cross-entropy, backward and an Adam step (lr 1e-3).
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from torch_bench import lenet5  # noqa: E402

MEAN, STD = 0.1307, 0.3081


def pgd(model, x, y, eps, alpha, steps):
    adv = (x + torch.empty_like(x).uniform_(-eps, eps)).clamp(0, 1)
    for _ in range(steps):
        adv.requires_grad_(True)
        loss = F.cross_entropy(model((adv - MEAN) / STD), y)
        (g,) = torch.autograd.grad(loss, adv)
        adv = torch.min(torch.max(adv.detach() + alpha * g.sign(), x - eps), x + eps).clamp(0, 1)
    return adv.detach()


def main():
    task = json.loads(sys.argv[1])
    torch.manual_seed(0)
    batch, steps, eps, alpha = int(task["batch"]), int(task["steps"]), float(task["eps"]), float(task["alpha"])
    model = lenet5()
    x = torch.rand(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))
    if task["task"] == "pgd":
        model.eval()
        run = lambda: pgd(model, x, y, eps, alpha, steps)  # noqa: E731
    else:
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def run():
            adv = pgd(model, x, y, eps, alpha, steps)
            opt.zero_grad()
            F.cross_entropy(model((adv - MEAN) / STD), y).backward()
            opt.step()
    run()
    repeats = int(task["repeats"])
    start = time.perf_counter()
    for _ in range(repeats):
        run()
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "repeats": repeats, "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
