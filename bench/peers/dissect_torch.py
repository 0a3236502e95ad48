"""PyTorch on the CPU as the peer of bench/dissect.ts: the same dissection pass over the same images.
Run as

    /usr/bin/python3 bench/peers/dissect_torch.py <folder>

where <folder> (written by bench/dissect.ts) holds meta.json, images.u8 [N, H, W], masks.u8
[N, slots, H, W], digits.u8 [N, slots] and one <param>.f32 per weight of the mixture net. The pass:
conv1-conv2-conv3 (5x5, pad 2, ReLU, 2x2 max pooling between), the conv3 ReLU map per batch; per
image and unit the maximum (precision@K and AUC ranking) and the exact top-q quantile over all
images and positions (torch.topk per unit over the stored maps); then each map upsampled bilinearly
(align_corners False), thresholded and intersected with each digit's masks. Prints one JSON line:
{"seconds": s, "thresholds": [...], "iou": [[...]], "torch": version, "threads": t}.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(os.cpu_count() or 1)
folder = sys.argv[1]
meta = json.load(open(os.path.join(folder, 'meta.json')))
n, H, W, slots = meta['n'], meta['height'], meta['width'], meta['slots']
images = np.fromfile(os.path.join(folder, 'images.u8'), dtype=np.uint8).reshape(n, 1, H, W)
masks = np.fromfile(os.path.join(folder, 'masks.u8'), dtype=np.uint8).reshape(n, slots, H, W)
digits = np.fromfile(os.path.join(folder, 'digits.u8'), dtype=np.uint8).reshape(n, slots)
params = {name: torch.from_numpy(np.fromfile(os.path.join(folder, f'{name}.f32'), dtype=np.float32).reshape(shape)) for name, shape in meta['params'].items()}
mean, std, q, batch = meta['mean'], meta['std'], meta['quantile'], meta['batch']


def conv3_map(x):
    h = F.max_pool2d(F.relu(F.conv2d(x, params['features.0.weight'], params['features.0.bias'], padding=2)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, params['features.3.weight'], params['features.3.bias'], padding=2)), 2)
    return F.relu(F.conv2d(h, params['features.6.weight'], params['features.6.bias'], padding=2))


start = time.perf_counter()
with torch.no_grad():
    maps = []
    for b in range(0, n, batch):
        x = (torch.from_numpy(images[b:b + batch]).float() / 255 - mean) / std
        maps.append(conv3_map(x))
    a = torch.cat(maps)  # [N, C, h, w]
    N, C, h, w = a.shape
    maxima = a.flatten(2).max(dim=2).values  # per image and unit (the detector scores)
    k = math.ceil(q * N * h * w)
    thresholds = a.transpose(0, 1).reshape(C, -1).topk(k, dim=1).values[:, -1]
    present = torch.zeros(N, 10)
    present[torch.arange(N).repeat_interleave(slots), torch.from_numpy(digits.reshape(-1)).long()] = 1
    concept_pixels = torch.zeros(10)
    inter = torch.zeros(C, 10, dtype=torch.float64)
    region = torch.zeros(C, dtype=torch.float64)
    for b in range(0, n, batch):
        up = F.interpolate(a[b:b + batch], size=(H, W), mode='bilinear', align_corners=False) > thresholds.view(1, C, 1, 1)
        region += up.sum(dim=(0, 2, 3)).double()
        m = torch.from_numpy(masks[b:b + batch]).float()  # [B, slots, H, W]
        d = torch.from_numpy(digits[b:b + batch]).long()
        # per digit: the pixels of that digit's mask (one slot per digit per image)
        onehot = F.one_hot(d, 10).float()  # [B, slots, 10]
        digit_masks = torch.einsum('bshw,bsk->bkhw', m, onehot)
        concept_pixels += digit_masks.sum(dim=(0, 2, 3))
        inter += torch.einsum('bchw,bkhw->ck', up.float(), digit_masks).double()
    iou = inter / (region.view(C, 1) + concept_pixels.view(1, 10).double() - inter)
    # the detector scores' rankings, as the glassbox pass computes them: precision@K and AUC per unit and digit
    order = maxima.argsort(dim=0, descending=True)
    for K in (100, 300, 500, 700):
        _ = present[order[:K]].mean(dim=0)
    ranks = maxima.argsort(dim=0).argsort(dim=0).double() + 1
    pos = present.sum(dim=0)
    _ = (present.T.double() @ ranks - pos.view(10, 1) * (pos.view(10, 1) + 1) / 2)
seconds = time.perf_counter() - start
print(json.dumps({'seconds': seconds, 'thresholds': thresholds.tolist(), 'iou': torch.nan_to_num(iou).tolist(), 'torch': torch.__version__, 'threads': torch.get_num_threads()}))
