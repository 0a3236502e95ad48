"""PyTorch on the CPU as a benchmark peer, driven by bench/peers/torch.ts over stdin/stdout.

Protocol: one JSON object per line each way. On start it prints {"ready": {...}} (versions,
threads, which BLAS library is loaded). Then, per request:
  {"cmd": "warmup", "op": ..., <op fields>}  -> {"seconds": s}  (makes the inputs, runs `warmup` times, times the last)
  {"cmd": "run", "repeat": r}                -> {"seconds": s}  (r ops back to back)
  {"cmd": "dispose"}                         -> {}
Ops and their fields:
  "matmul" | "add" | "sum"   size: n (n x n matrices, or n elements)
  "train"                    model: "lenet5" | "mnist-cnn" | "cifar-net", batch: n; one op is one
                             training step (zero_grad, forward, cross-entropy, backward, SGD with
                             momentum 0.9) on a fixed synthetic batch (uniform [-1, 1) pixels, random labels)
  "conv2d"                   input: [N, C, H, W], cout, k, pass: "forward" | "input-grad" | "weight-grad"
                             (no padding, stride 1; the gradients as autograd computes them for a random grad_output)
  every op: warmup (optional, default 1): untimed-but-last runs before timing starts
Errors come back as {"error": "..."}.
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


def loaded_blas():
    """Shared libraries with 'blas' in their name mapped into this process (after a first sgemm)."""
    torch.mm(torch.ones(64, 64), torch.ones(64, 64))
    with open("/proc/self/maps") as maps:
        libs = {line.split()[-1] for line in maps if "blas" in line.lower() and "/" in line}
    return sorted(libs)


def config_blas_info():
    for item in torch.__config__.show().replace(",", "\n").splitlines():
        if "BLAS_INFO=" in item:
            return item.split("BLAS_INFO=")[1].strip()
    return "unknown"


def lenet5():
    """The zoo's lenet5 (src/nn/models/lenet.ts) for 1x28x28 inputs."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, 10),
    )


def mnist_cnn():
    """PyTorch examples' MNIST CNN (the zoo's mnist-cnn, src/nn/models/mnist-cnn.ts), returning logits."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10),
    )


def cifar_net():
    """The zoo's cifar-net (src/nn/models/cifar-net.ts): [conv-bn-relu] x2 at 32, 64, 128, max pool between, GAP, fc."""
    def stage(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                nn.Conv2d(cout, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
    return nn.Sequential(*stage(3, 32), nn.MaxPool2d(2), *stage(32, 64), nn.MaxPool2d(2), *stage(64, 128),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(128, 10))


MODELS = {"lenet5": (lenet5, (1, 28, 28)), "mnist-cnn": (mnist_cnn, (1, 28, 28)), "cifar-net": (cifar_net, (3, 32, 32))}


def make_train_step(model_name, batch):
    build, shape = MODELS[model_name]
    model = build().train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(batch, *shape) * 2 - 1
    y = torch.randint(0, 10, (batch,))

    def step():
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return step


def make_conv(shape, cout, k, conv_pass):
    x = torch.randn(*shape, requires_grad=conv_pass == "input-grad")
    w = (torch.randn(cout, shape[1], k, k) * 0.1).requires_grad_(conv_pass == "weight-grad")
    if conv_pass == "forward":
        return lambda: F.conv2d(x, w)
    y = F.conv2d(x, w)
    g = torch.randn_like(y)
    wrt = x if conv_pass == "input-grad" else w
    return lambda: torch.autograd.grad(y, wrt, g, retain_graph=True)


def make_op(req):
    op = req["op"]
    if op == "train":
        return make_train_step(req["model"], int(req["batch"]))
    if op == "conv2d":
        return make_conv([int(d) for d in req["input"]], int(req["cout"]), int(req["k"]), req["pass"])
    n = int(req["size"])
    if op == "matmul":
        a, b, c = torch.randn(n, n), torch.randn(n, n), torch.empty(n, n)
        return lambda: torch.mm(a, b, out=c)
    if op == "add":
        x, y, z = torch.randn(n), torch.randn(n), torch.empty(n)
        return lambda: torch.add(x, y, out=z)
    if op == "sum":
        x = torch.randn(n)
        return lambda: x.sum()
    raise ValueError(f"unknown op {op}")


def main():
    libs = loaded_blas()
    print(json.dumps({"ready": {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "blas_info": config_blas_info(),
        "blas_libraries": libs,
        "openblas": any("openblas" in lib for lib in libs),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
    }}), flush=True)
    fn = None
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            cmd = req["cmd"]
            if cmd == "warmup":
                fn = make_op(req)
                for _ in range(max(0, int(req.get("warmup", 1)) - 1)):
                    fn()
                t0 = time.perf_counter()
                fn()
                reply = {"seconds": time.perf_counter() - t0}
            elif cmd == "run":
                t0 = time.perf_counter()
                for _ in range(int(req["repeat"])):
                    fn()
                reply = {"seconds": time.perf_counter() - t0}
            elif cmd == "dispose":
                fn = None
                reply = {}
            else:
                reply = {"error": f"unknown command {cmd}"}
        except Exception as e:  # reported to the caller, which drops this peer
            reply = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
