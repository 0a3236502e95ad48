"""The unit-ablation sweep of bench/ablation.ts in PyTorch on the CPU: the mixture net's weights
(a safetensors file, read by hand), glassbox's validation images (raw uint8 dumped by the bench),
every conv3 unit zeroed alone plus the intact model, with the same tiling as glassbox's
evaluateAblations (the batch's conv3 activation copied once per ablation, the rest of the net run
on the tiled batch). Prints one JSON line: seconds, the accuracy of each ablation, torch version.
Argument: JSON {dir, n, batch, weights, warmup}."""
import os, sys, json, time
os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np, torch, torch.nn as nn
torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '1')))
cfg = json.loads(sys.argv[1])
n, B = cfg['n'], cfg['batch']
x = np.fromfile(f"{cfg['dir']}/images.u8", np.uint8).reshape(n, 1, 56, 56)
y = torch.from_numpy(np.fromfile(f"{cfg['dir']}/labels.u8", np.uint8).astype(np.int64))
x = torch.from_numpy((x.astype(np.float32) / 255 - cfg['mean']) / cfg['std'])
raw = open(cfg['weights'], 'rb').read(); hl = int.from_bytes(raw[:8], 'little'); header = json.loads(raw[8:8 + hl]); data = raw[8 + hl:]
shapes = {k: v['shape'] for k, v in header.items() if k != '__metadata__'}
c3 = shapes['features.6.weight'][0]
net = nn.Sequential(
    nn.Conv2d(1, shapes['features.0.weight'][0], 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(shapes['features.3.weight'][1], shapes['features.3.weight'][0], 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(shapes['features.6.weight'][1], c3, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
    nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c3, shapes['fc.weight'][0]))
index = {'features.0': 0, 'features.3': 3, 'features.6': 6, 'fc': 11}
with torch.no_grad():
    for key, info in header.items():
        if key == '__metadata__': continue
        layer, param = key.rsplit('.', 1); b0, b1 = info['data_offsets']
        getattr(net[index[layer]], param).copy_(torch.from_numpy(np.frombuffer(data[b0:b1], dtype=np.float32).copy()).reshape(info['shape']))
net.eval()
masks = torch.ones(c3 + 1, c3)
for u in range(c3): masks[u + 1, u] = 0
G = masks.shape[0]
def sweep(count):
    correct = torch.zeros(G, dtype=torch.int64)
    with torch.no_grad():
        for s in range(0, count, B):
            xb, yb = x[s:s + B], y[s:s + B]
            a = net[:8](xb)                                   # conv3's ReLU: [b, C, h, w]
            tiled = (a.unsqueeze(0) * masks[:, None, :, None, None]).reshape(G * len(xb), *a.shape[1:])
            pred = net[8:](tiled).argmax(1).reshape(G, len(xb))
            correct += (pred == yb).sum(1)
    return correct
for _ in range(cfg.get('warmup', 1)): sweep(min(n, B))
t0 = time.perf_counter(); correct = sweep(n); seconds = time.perf_counter() - t0
print(json.dumps({'seconds': seconds, 'accuracy': (correct.double() / n).tolist(), 'torch': torch.__version__, 'threads': torch.get_num_threads()}))
