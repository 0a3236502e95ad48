"""The mixture-of-MNIST net (src/nn/models/mixture-net.ts) trained in PyTorch on glassbox's own
images, to search recipes fast (one epoch ~20 s on one core here, against ~100 s in glassbox).
First dump the images: `node scripts/run-ts.mjs bench/peers/mixture-dump.ts` (writes
runs/mixture-torch/; MIXTURE_TORCH_DIR overrides), then e.g.
`/usr/bin/python3 bench/peers/mixture_torch.py --epochs 30 --shift 4 --seed 1`.
Same model and PyTorch default init, last batch dropped, cosine stepped per batch, translation as
glassbox's `--shift` (zero-filled in raw pixels). Appends each run to results.jsonl in that folder.
To start from exactly glassbox's start: `node scripts/run-ts.mjs bench/peers/mixture-init.ts 2` writes the
initial weights of `glassbox train ... --seed 2`; then `--init runs/mixture-torch/init-s2.safetensors
--glassbox-order --seed 2` also takes glassbox's batch order and translations (its DataLoader, bit for bit).
"""
import os, sys, json, time, math, argparse
os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
torch.set_num_threads(1)
p = argparse.ArgumentParser()
p.add_argument('--epochs', type=int, default=20); p.add_argument('--bs', type=int, default=64)
p.add_argument('--lr', type=float, default=3e-3); p.add_argument('--opt', default='adam')
p.add_argument('--wd', type=float, default=0.0); p.add_argument('--mom', type=float, default=0.9)
p.add_argument('--sched', default='cosine'); p.add_argument('--shift', type=int, default=0)
p.add_argument('--ks', default='5,5,5'); p.add_argument('--seed', type=int, default=1)
p.add_argument('--name', default=None); p.add_argument('--limit', type=int, default=0)
p.add_argument('--width', type=int, default=1)  # every conv's width times this (the zoo's wide variant: 3)
p.add_argument('--init', default=None)  # start from glassbox's initial weights (a safetensors file of the zoo's mixture-net)
p.add_argument('--glassbox-order', action='store_true')  # glassbox's DataLoader order and shifts for --seed (src/train/data-loader.ts)
a = p.parse_args()
name = a.name or f"{a.opt}_lr{a.lr}_bs{a.bs}_wd{a.wd}_{a.sched}_e{a.epochs}_sh{a.shift}_k{a.ks.replace(',','')}{'_w' + str(a.width) if a.width != 1 else ''}{'_init-' + os.path.basename(a.init).split('.')[0] if a.init else ''}{'_gborder' if a.glassbox_order else ''}_s{a.seed}"
D = os.environ.get('MIXTURE_TORCH_DIR', 'runs/mixture-torch')
def load(s, n):
    x = np.fromfile(f'{D}/{s}-images.u8', np.uint8).reshape(n, 1, 56, 56)
    y = np.fromfile(f'{D}/{s}-labels.u8', np.uint8).astype(np.int64)
    return torch.from_numpy(((x.astype(np.float32) / 255 - 0.065) / 0.227)), torch.from_numpy(y)
xtr, ytr = load('train', 20000); xva, yva = load('validation', 5000)
if a.limit: xtr, ytr = xtr[:a.limit], ytr[:a.limit]
bg = (0 - 0.065) / 0.227  # zero-fill in raw pixel space = normalised background value
torch.manual_seed(a.seed)
ks = [int(k) for k in a.ks.split(',')]
w = a.width
net = nn.Sequential(
    nn.Conv2d(1, 10 * w, ks[0], padding=ks[0] // 2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(10 * w, 20 * w, ks[1], padding=ks[1] // 2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(20 * w, 10 * w, ks[2], padding=ks[2] // 2), nn.ReLU(), nn.MaxPool2d(2),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(10 * w, 45))
if a.init:
    # safetensors: u64 header length, JSON header, then little-endian data; glassbox's names -> this Sequential's
    raw = open(a.init, 'rb').read(); hl = int.from_bytes(raw[:8], 'little'); header = json.loads(raw[8:8 + hl]); data = raw[8 + hl:]
    index = {'features.0': 0, 'features.3': 3, 'features.6': 6, 'fc': 11}
    with torch.no_grad():
        for key, info in header.items():
            if key == '__metadata__': continue
            layer, param = key.rsplit('.', 1); b0, b1 = info['data_offsets']
            values = torch.from_numpy(np.frombuffer(data[b0:b1], dtype=np.float32).copy()).reshape(info['shape'])
            getattr(net[index[layer]], param).copy_(values)
net = net.to(memory_format=torch.channels_last)
n = len(xtr); spe = n // a.bs; total = spe * a.epochs  # drop last, like glassbox
if a.opt == 'adam': opt = torch.optim.Adam(net.parameters(), lr=a.lr, weight_decay=a.wd)
elif a.opt == 'adamw': opt = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=a.wd)
else: opt = torch.optim.SGD(net.parameters(), lr=a.lr, momentum=a.mom, weight_decay=a.wd)
if a.sched == 'cosine': sch = torch.optim.lr_scheduler.CosineAnnealingLR(opt, total)
elif a.sched == 'onecycle': sch = torch.optim.lr_scheduler.OneCycleLR(opt, a.lr, total_steps=total, cycle_momentum=False)
else: sch = None
def evaluate():
    net.eval(); c = 0
    with torch.no_grad():
        for i in range(0, 5000, 500): c += (net(xva[i:i+500].contiguous(memory_format=torch.channels_last)).argmax(1) == yva[i:i+500]).sum().item()
    net.train(); return c / 5000
def mulberry32(seed):  # glassbox's seededRandom, bit for bit (JavaScript's int32 arithmetic)
    a = seed & 0xffffffff
    def imul(x, y): return (x * y) & 0xffffffff
    def rand():
        nonlocal a
        a = (a + 0x6d2b79f5) & 0xffffffff
        t = imul(a ^ (a >> 15), a | 1)
        t = (t ^ ((t + imul(t ^ (t >> 7), t | 61)) & 0xffffffff)) & 0xffffffff
        return ((t ^ (t >> 14)) & 0xffffffff) / 4294967296
    return rand
def glassbox_order(epoch):
    idx = list(range(n)); rand = mulberry32(a.seed * 1000003 + epoch)
    for i in range(n - 1, 0, -1):
        j = int(rand() * (i + 1)); idx[i], idx[j] = idx[j], idx[i]
    return torch.tensor(idx)
def shift(xb, k, offsets=None):
    if k == 0: return xb
    P = F.pad(xb, (k, k, k, k), value=bg); out = torch.empty_like(xb)
    o = torch.randint(0, 2 * k + 1, (len(xb), 2)) if offsets is None else offsets
    for j in range(len(xb)):
        dy, dx = o[j].tolist(); out[j] = P[j, :, dy:dy + 56, dx:dx + 56]
    return out
log = open(f'{D}/logs/{name}.log', 'w'); hist = []
t0 = time.time(); step = 0
for ep in range(a.epochs):
    perm = glassbox_order(ep) if a.glassbox_order else torch.randperm(n); corr = 0; ls = 0.0; seen = 0
    shift_rand = mulberry32(a.seed * 7919 + ep + 1)
    for b in range(spe):
        idx = perm[b * a.bs:(b + 1) * a.bs]
        # glassbox draws x then y per image; its decode reads pixel (y + dy - k, x + dx - k), as P[dy:, dx:] here
        offsets = torch.tensor([[v[1], v[0]] for v in ([int(shift_rand() * (2 * a.shift + 1)), int(shift_rand() * (2 * a.shift + 1))] for _ in idx)]) if a.glassbox_order else None
        xb = shift(xtr[idx], a.shift, offsets); yb = ytr[idx]
        out = net(xb.contiguous(memory_format=torch.channels_last)); loss = F.cross_entropy(out, yb)
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step()
        if sch and step < total - 1: sch.step()
        step += 1
        corr += (out.argmax(1) == yb).sum().item(); ls += loss.item() * len(yb); seen += len(yb)
    va = evaluate(); hist.append(va)
    line = f'ep {ep+1} loss {ls/seen:.4f} train {corr/seen:.4f} val {va:.4f} lr {opt.param_groups[0]["lr"]:.2e} t {time.time()-t0:.0f}s'
    print(line, flush=True); log.write(line + '\n'); log.flush()
# conv3's channels that never fire on the first 500 validation images (a dead ReLU unit stays dead)
net.eval()
with torch.no_grad(): fired = (net[:9](xva[:500].contiguous(memory_format=torch.channels_last)) > 0).float().mean((0, 2, 3))
dead = int((fired == 0).sum())
res = dict(name=name, args=vars(a), final_val=hist[-1], best_val=max(hist), best_ep=int(np.argmax(hist)) + 1, train_acc=corr / seen, secs=round(time.time() - t0), dead_conv3_channels=dead, hist=hist)
log.write(json.dumps(res) + '\n')
with open(f'{D}/results.jsonl', 'a') as f: f.write(json.dumps(res) + '\n')
print('RESULT', json.dumps({k: v for k, v in res.items() if k != 'hist'}))
