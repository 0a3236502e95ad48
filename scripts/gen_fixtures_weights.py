#!/usr/bin/env python3
"""Generate tests/fixtures/weights/: PyTorch models saved as safetensors, with inputs and logits.

    /usr/bin/python3 scripts/gen_fixtures_weights.py

Needs torch and torchvision (Debian: `apt-get install python3-torchvision`). Uses the `safetensors`
package when it is installed; otherwise writes the format itself (8-byte little-endian header
length, JSON header, raw little-endian data), as the package does. Deterministic (fixed seeds).

Files (see tests/fixtures/README.md):
- mnist_cnn.safetensors.gz: the PyTorch-examples MNIST CNN (conv1 1->32 3x3, conv2 32->64 3x3,
  dropout1/2, fc1 9216->128, fc2 128->10) exported in half precision (F16), gzipped. Its fc1 weight
  (1.2M values) lies on the grid k/128, |k| <= 5 (a 4-bit quantised layer) so that the file
  compresses to ~0.7 MB; every other tensor is an ordinary random F16 value.
- mnist_cnn.json: {input, logits}: a [4,1,28,28] batch and the eval-mode logits (no log_softmax),
  computed in float64 from the F16 weights.
- resnet_narrow.safetensors: torchvision's ResNet (BasicBlock, [2, 2, 2, 2], 10 classes), built
  with torchvision's own classes and _make_layer, so module names are torchvision's, at widths
  4-8-16-32 instead of 64-128-256-512. F32, with BatchNorm running statistics set to non-trivial
  values and num_batches_tracked as I64, as torch.save'd state dicts have.
- resnet_narrow.json: {input [2,3,32,32], logits [2,10]} in eval mode, computed in float64.
- dtypes.safetensors + dtypes.json: one small tensor per dtype (F32 F16 BF16 F64 I64 I32 U8) and the
  values each should decode to (float32 or int32), converted by PyTorch.
"""
import gzip
import json
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.models.resnet import BasicBlock, ResNet

from fixture_encoding import f32

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "weights")

DTYPE_NAMES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.uint8: "U8",
}


def write_safetensors(path, tensors, metadata=None):
    """tensors: dict name -> torch tensor (any listed dtype), written in dict order."""
    try:
        from safetensors.torch import save_file  # type: ignore
    except ImportError:
        save_file = None
    if save_file is not None:
        save_file({k: v.contiguous() for k, v in tensors.items()}, path, metadata=metadata)
        return
    header, chunks, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        # raw bytes in little-endian order (x86 is little-endian); bfloat16 has no numpy type, so view as int16
        raw = (t.view(torch.int16) if t.dtype in (torch.bfloat16, torch.float16) else t).numpy().tobytes()
        header[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # pad so the data starts 8-byte aligned, as the reference writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def enc(t):
    t = t.detach().cpu()
    return {"shape": list(t.shape), "data": [f32(v) for v in t.reshape(-1).tolist()]}


def write_json(name, obj):
    with open(os.path.join(OUT_DIR, name), "w") as f:
        json.dump(obj, f, separators=(",", ":"))
        f.write("\n")


# ----------------------------------------------------------------------------
# (a) the MNIST CNN of github.com/pytorch/examples (mnist/main.py), minus the final log_softmax
# ----------------------------------------------------------------------------

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, 1)
        self.conv2 = nn.Conv2d(32, 64, 3, 1)
        self.dropout1 = nn.Dropout(0.25)
        self.dropout2 = nn.Dropout(0.5)
        self.fc1 = nn.Linear(9216, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = self.dropout1(x)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout2(x)
        return self.fc2(x)  # logits (the example returns log_softmax(x, dim=1))


def gen_mnist_cnn():
    torch.manual_seed(1)
    net = Net()
    with torch.no_grad():
        w = net.fc1.weight
        w.copy_(torch.randint(-5, 6, w.shape).float() / 128)  # exact in F16; compresses well
    half = net.half()
    state = half.state_dict()
    path = os.path.join(OUT_DIR, "mnist_cnn.safetensors")
    write_safetensors(path, state, {"format": "pt", "model": "pytorch/examples mnist Net (F16)"})
    with open(path, "rb") as f:
        raw = f.read()
    os.remove(path)
    with open(path + ".gz", "wb") as f:  # mtime 0: the same bytes on every run
        f.write(gzip.compress(raw, compresslevel=9, mtime=0))

    net = half.double().eval()
    g = torch.Generator().manual_seed(2)
    x = torch.randn(4, 1, 28, 28, generator=g)
    with torch.no_grad():
        logits = net(x.double())
    write_json("mnist_cnn.json", {"generator": "scripts/gen_fixtures_weights.py", "torch": torch.__version__,
                                  "input": enc(x), "logits": enc(logits)})


# ----------------------------------------------------------------------------
# (b) torchvision's ResNet-18 structure at narrow widths
# ----------------------------------------------------------------------------

class NarrowResNet(ResNet):
    """torchvision's ResNet with widths other than 64-128-256-512.

    torchvision hard-codes the widths in ResNet.__init__, so this repeats its body with `widths`,
    reusing torchvision's BasicBlock, _make_layer and forward: the module names (conv1, bn1,
    layer1.0.conv1, layer2.0.downsample.0, fc, ...) are exactly torchvision's.
    """

    def __init__(self, widths, layers, num_classes):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = widths[0]
        self.dilation = 1
        self.groups = 1
        self.base_width = 64
        self.conv1 = nn.Conv2d(3, widths[0], kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(BasicBlock, widths[0], layers[0])
        self.layer2 = self._make_layer(BasicBlock, widths[1], layers[1], stride=2)
        self.layer3 = self._make_layer(BasicBlock, widths[2], layers[2], stride=2)
        self.layer4 = self._make_layer(BasicBlock, widths[3], layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(widths[3] * BasicBlock.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def gen_resnet():
    torch.manual_seed(3)
    net = NarrowResNet([4, 8, 16, 32], [2, 2, 2, 2], num_classes=10)
    reference = ResNet(BasicBlock, [2, 2, 2, 2], num_classes=10)
    assert list(net.state_dict().keys()) == list(reference.state_dict().keys()), "names differ from torchvision's resnet18"
    with torch.no_grad():
        for name, m in net.named_modules():
            if isinstance(m, nn.BatchNorm2d):
                c = m.num_features
                m.weight.copy_(torch.rand(c) * 0.8 + 0.6)
                m.bias.copy_(torch.randn(c) * 0.2)
                m.running_mean.copy_(torch.randn(c) * 0.3)
                m.running_var.copy_(torch.rand(c) * 1.5 + 0.5)
                m.num_batches_tracked.fill_(1000 + len(name))
    net.eval()
    write_safetensors(os.path.join(OUT_DIR, "resnet_narrow.safetensors"), net.state_dict(),
                      {"format": "pt", "model": "torchvision ResNet(BasicBlock, [2,2,2,2]) at widths 4-8-16-32"})
    g = torch.Generator().manual_seed(4)
    x = torch.randn(2, 3, 32, 32, generator=g)
    with torch.no_grad():
        logits = net.double()(x.double())
    write_json("resnet_narrow.json", {"generator": "scripts/gen_fixtures_weights.py", "torch": torch.__version__,
                                      "widths": [4, 8, 16, 32], "blocks": [2, 2, 2, 2], "classes": 10,
                                      "input": enc(x), "logits": enc(logits)})


# ----------------------------------------------------------------------------
# (c) one tensor per dtype, with the values each decodes to
# ----------------------------------------------------------------------------

def gen_dtypes():
    f = [0.0, -0.0, 1.0, -2.5, 1 / 3, 65504.0, 6.1035156e-05, 5.9604645e-08, 1e-3, -123.456]
    tensors = {
        "f32": torch.tensor([[0.1, -2.0, 3.5], [1e-38, 1e-45, -7.25]], dtype=torch.float32),
        "f16": torch.tensor(f, dtype=torch.float16),
        "bf16": torch.tensor([0.0, -0.0, 1.0, -2.5, 1 / 3, 3.0e38, 1e-38, 9.2e-41, 123.456], dtype=torch.bfloat16),
        "f64": torch.tensor([[1 / 3, -1e-40], [3.0e38, 2.0 ** -149]], dtype=torch.float64),
        "i64": torch.tensor([0, -1, 2 ** 31 - 1, -2 ** 31, 12345], dtype=torch.int64),
        "i32": torch.tensor([7, -8, 2 ** 31 - 1], dtype=torch.int32),
        "u8": torch.tensor([[0, 1], [128, 255]], dtype=torch.uint8),
    }
    write_safetensors(os.path.join(OUT_DIR, "dtypes.safetensors"), tensors, {"format": "pt", "purpose": "dtype decoding"})
    expected = {}
    for name, t in tensors.items():
        if t.is_floating_point():
            v = t.float()
            expected[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape), "decoded": "float32",
                              "data": [f32(x) for x in v.reshape(-1).tolist()]}
        else:
            expected[name] = {"dtype": DTYPE_NAMES[t.dtype], "shape": list(t.shape),
                              "decoded": "uint32" if t.dtype == torch.uint8 else "int32",
                              "data": [int(x) for x in t.reshape(-1).tolist()]}
    write_json("dtypes.json", {"generator": "scripts/gen_fixtures_weights.py", "torch": torch.__version__,
                               "metadata": {"format": "pt", "purpose": "dtype decoding"}, "tensors": expected})


if __name__ == "__main__":
    os.makedirs(OUT_DIR, exist_ok=True)
    gen_mnist_cnn()
    gen_resnet()
    gen_dtypes()
    for name in sorted(os.listdir(OUT_DIR)):
        print("%-28s %8d bytes" % (name, os.path.getsize(os.path.join(OUT_DIR, name))))
