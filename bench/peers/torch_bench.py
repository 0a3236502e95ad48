"""PyTorch on the CPU as a benchmark peer, driven by bench/peers/torch.ts over stdin/stdout.

Protocol: one JSON object per line each way. On start it prints {"ready": {...}} (versions,
threads, which BLAS library is loaded). Then, per request:
  {"cmd": "warmup", "op": "matmul"|"add"|"sum", "size": n}  -> {"seconds": s}  (makes the inputs, runs once)
  {"cmd": "run", "repeat": r}                              -> {"seconds": s}  (r ops back to back)
  {"cmd": "dispose"}                                       -> {}
Errors come back as {"error": "..."}.
"""
import json
import os
import sys
import time

import torch

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


def make_op(op, n):
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
    }}), flush=True)
    fn = None
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            cmd = req["cmd"]
            if cmd == "warmup":
                fn = make_op(req["op"], int(req["size"]))
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
