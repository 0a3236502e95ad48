#!/usr/bin/env python3
"""Generate tests/fixtures/ops/conv.json: convolution, pooling, resampling and batch-norm
fixtures from PyTorch, in the format of scripts/gen_fixtures.py (whose helpers it imports).

    /usr/bin/python3 scripts/gen_fixtures_conv.py

batchNorm cases in training mode also carry `runningStatsAfter: {mean, var}`: the running
statistics after the call (inputs 1 and 2 updated in place), checked by tests/conv.test.ts.
"""
import os
import sys
import warnings

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402  (sets float64 as torch's default dtype)

gf.GENERATOR = "scripts/gen_fixtures_conv.py"
# PyTorch warns that it copies the input for an even kernel with padding='same'; that case is intended
warnings.filterwarnings("ignore", message="Using padding='same'")


def gen_conv():
    b = gf.Builder("conv", 9009)
    so = dict(second_order=True)

    def conv(cid, x, w, bias=None, second=False, **kw):
        inputs = [x, w] + ([bias] if bias is not None else [])
        b.case(cid, "conv2d", inputs, lambda *t: F.conv2d(t[0], t[1], t[2] if len(t) > 2 else None, **kw), dict(kw),
               **(so if second else {}))

    conv("conv_2x3x7x5_w4_k3", b.randn(2, 3, 7, 5), b.randn(4, 3, 3, 3), b.randn(4))
    conv("conv_2x3x6x5_w4_k3_s2_p1", b.randn(2, 3, 6, 5), b.randn(4, 3, 3, 3), b.randn(4), stride=2, padding=1,
         second=True)
    conv("conv_1x2x9x7_w3_k3x2_s2_nobias", b.randn(1, 2, 9, 7), b.randn(3, 2, 3, 2), stride=[2, 1])
    conv("conv_2x3x6x7_w4_k3_same", b.randn(2, 3, 6, 7), b.randn(4, 3, 3, 3), b.randn(4), padding="same")
    conv("conv_1x2x6x6_w2_k4_same_d1", b.randn(1, 2, 6, 6), b.randn(2, 2, 4, 2), padding="same")
    conv("conv_2x2x5x5_w3_k3_valid", b.randn(2, 2, 5, 5), b.randn(3, 2, 3, 3), b.randn(3), padding="valid")
    conv("conv_1x2x9x8_w3_k3_d2_p2", b.randn(1, 2, 9, 8), b.randn(3, 2, 3, 3), b.randn(3), dilation=2, padding=2)
    conv("conv_2x4x6x5_w6_k3_g2", b.randn(2, 4, 6, 5), b.randn(6, 2, 3, 3), b.randn(6), groups=2, padding=1,
         second=True)
    conv("conv_2x3x6x6_w3_k3_depthwise", b.randn(2, 3, 6, 6), b.randn(3, 1, 3, 3), b.randn(3), groups=3, padding=1)
    conv("conv_2x5x4x3_w6_k1", b.randn(2, 5, 4, 3), b.randn(6, 5, 1, 1), b.randn(6))
    conv("conv_1x3x7x7_w2_k1_s2", b.randn(1, 3, 7, 7), b.randn(2, 3, 1, 1), stride=2)

    def convt(cid, x, w, bias=None, second=False, **kw):
        inputs = [x, w] + ([bias] if bias is not None else [])
        tkw = {{"outputPadding": "output_padding"}.get(k, k): v for k, v in kw.items()}
        b.case(cid, "convTranspose2d", inputs,
               lambda *t: F.conv_transpose2d(t[0], t[1], t[2] if len(t) > 2 else None, **tkw), dict(kw),
               **(so if second else {}))

    convt("convT_2x3x4x5_w3x2_k3", b.randn(2, 3, 4, 5), b.randn(3, 2, 3, 3), b.randn(2))
    convt("convT_2x3x4x3_w3x2_k3_s2_p1_op1", b.randn(2, 3, 4, 3), b.randn(3, 2, 3, 3), b.randn(2),
          stride=2, padding=1, outputPadding=1, second=True)
    convt("convT_1x4x3x4_w4x3_k2_s2_g2", b.randn(1, 4, 3, 4), b.randn(4, 3, 2, 2), stride=2, groups=2)
    convt("convT_1x2x4x4_w2x2_k3_d2", b.randn(1, 2, 4, 4), b.randn(2, 2, 3, 3), b.randn(2), dilation=2, padding=1)

    def pool(cid, op, x, fn, attrs, second=False):
        b.case(cid, op, [x], fn, attrs, **(so if second else {}))

    pool("maxpool_2x3x6x6_k2", "maxPool2d", b.distinct(2, 3, 6, 6), lambda t: F.max_pool2d(t, 2), {"kernelSize": 2})
    pool("maxpool_2x2x7x6_k3_s2_p1", "maxPool2d", b.distinct(2, 2, 7, 6), lambda t: F.max_pool2d(t, 3, 2, 1),
         {"kernelSize": 3, "stride": 2, "padding": 1}, second=True)
    pool("maxpool_1x2x7x7_k2_ceil", "maxPool2d", b.distinct(1, 2, 7, 7), lambda t: F.max_pool2d(t, 2, ceil_mode=True),
         {"kernelSize": 2, "ceilMode": True})
    pool("maxpool_1x2x8x9_k3_s1_d2", "maxPool2d", b.distinct(1, 2, 8, 9), lambda t: F.max_pool2d(t, 3, 1, 0, 2),
         {"kernelSize": 3, "stride": 1, "dilation": 2})
    pool("avgpool_2x3x6x6_k2", "avgPool2d", b.randn(2, 3, 6, 6), lambda t: F.avg_pool2d(t, 2), {"kernelSize": 2},
         second=True)
    pool("avgpool_1x2x7x6_k3_s2_p1_incl", "avgPool2d", b.randn(1, 2, 7, 6), lambda t: F.avg_pool2d(t, 3, 2, 1),
         {"kernelSize": 3, "stride": 2, "padding": 1, "countIncludePad": True})
    pool("avgpool_1x2x7x6_k3_s2_p1_excl", "avgPool2d", b.randn(1, 2, 7, 6),
         lambda t: F.avg_pool2d(t, 3, 2, 1, count_include_pad=False),
         {"kernelSize": 3, "stride": 2, "padding": 1, "countIncludePad": False})
    pool("avgpool_1x2x7x7_k2_ceil_p1", "avgPool2d", b.randn(1, 2, 7, 7),
         lambda t: F.avg_pool2d(t, 2, 2, 1, ceil_mode=True, count_include_pad=False),
         {"kernelSize": 2, "stride": 2, "padding": 1, "ceilMode": True, "countIncludePad": False})
    pool("adaptive_2x3x5x7_1", "adaptiveAvgPool2d", b.randn(2, 3, 5, 7), lambda t: F.adaptive_avg_pool2d(t, 1),
         {"outputSize": 1})
    pool("adaptive_2x2x7x5_3x2", "adaptiveAvgPool2d", b.randn(2, 2, 7, 5), lambda t: F.adaptive_avg_pool2d(t, (3, 2)),
         {"outputSize": [3, 2]})
    pool("adaptive_1x2x8x6_4x3", "adaptiveAvgPool2d", b.randn(1, 2, 8, 6), lambda t: F.adaptive_avg_pool2d(t, (4, 3)),
         {"outputSize": [4, 3]})

    def interp(cid, x, **kw):
        tkw = {{"scaleFactor": "scale_factor", "alignCorners": "align_corners"}.get(k, k): v for k, v in kw.items()}
        pool(cid, "interpolate", x, lambda t: F.interpolate(t, **tkw), dict(kw))

    interp("interp_nearest_2x2x3x4_s2", b.randn(2, 2, 3, 4), scaleFactor=2, mode="nearest")
    interp("interp_nearest_1x2x4x3_size5x7", b.randn(1, 2, 4, 3), size=[5, 7], mode="nearest")
    interp("interp_nearest_1x1x6x6_size4x3", b.randn(1, 1, 6, 6), size=[4, 3], mode="nearest")
    interp("interp_bilinear_2x2x3x4_s2", b.randn(2, 2, 3, 4), scaleFactor=2, mode="bilinear", alignCorners=False)
    interp("interp_bilinear_2x2x3x4_s2_ac", b.randn(2, 2, 3, 4), scaleFactor=2, mode="bilinear", alignCorners=True)
    interp("interp_bilinear_1x2x4x5_size7x3", b.randn(1, 2, 4, 5), size=[7, 3], mode="bilinear", alignCorners=False)
    interp("interp_bilinear_1x2x4x5_size7x3_ac", b.randn(1, 2, 4, 5), size=[7, 3], mode="bilinear", alignCorners=True)

    def bn(cid, shape, training, affine=True, momentum=0.1, eps=1e-5):
        c = shape[1]
        x = b.randn(*shape, scale=2.0) + 0.5
        rm, rv = b.randn(c), b.pos(c)
        inputs = [x, gf.Inp(rm, grad=False), gf.Inp(rv, grad=False)]
        if affine:
            inputs += [b.pos(c), b.randn(c)]
        after = {}

        def fn(*t):
            y = F.batch_norm(t[0], t[1], t[2], t[3] if affine else None, t[4] if affine else None,
                             training=training, momentum=momentum, eps=eps)
            after["mean"], after["var"] = t[1].clone(), t[2].clone()
            return y

        case = b.case(cid, "batchNorm", inputs, fn, {"training": training, "momentum": momentum, "eps": eps})
        if training:
            case["runningStatsAfter"] = {"mean": gf.enc_tensor(after["mean"]), "var": gf.enc_tensor(after["var"])}

    bn("batchnorm_train_4x3x3x2", (4, 3, 3, 2), True)
    bn("batchnorm_train_6x4", (6, 4), True, momentum=0.3)
    bn("batchnorm_train_3x2x2x2_noaffine", (3, 2, 2, 2), True, affine=False)
    bn("batchnorm_eval_4x3x3x2", (4, 3, 3, 2), False)
    bn("batchnorm_eval_5x3", (5, 3), False, eps=1e-3)

    b.case("unfold_2x3x5x4_k2x3_p1_s2", "unfold", [b.randn(2, 3, 5, 4)],
           lambda t: F.unfold(t, (2, 3), padding=1, stride=2), {"kernelSize": [2, 3], "padding": 1, "stride": 2})
    b.case("fold_2x12x9_to_4x5_k2x3_p1_s2", "fold", [b.randn(2, 12, 9)],
           lambda t: F.fold(t, (4, 5), (2, 3), padding=1, stride=2),
           {"outputSize": [4, 5], "kernelSize": [2, 3], "padding": 1, "stride": 2})

    # maxPool2d(relu(x)) in one op (reluMaxPool2d); inputs mostly negative, so some windows have no positive value
    pool("relumaxpool_2x3x6x6_k2", "reluMaxPool2d", b.distinct(2, 3, 6, 6) - 1.0,
         lambda t: F.max_pool2d(F.relu(t), 2), {"kernelSize": 2}, second=True)
    pool("relumaxpool_2x2x7x6_k3_s2_p1", "reluMaxPool2d", b.distinct(2, 2, 7, 6) - 1.0,
         lambda t: F.max_pool2d(F.relu(t), 3, 2, 1), {"kernelSize": 3, "stride": 2, "padding": 1}, second=True)
    return b


def main():
    b = gen_conv()
    path = b.write()
    print("%s: %d cases, %d bytes" % (os.path.relpath(path, gf.ROOT), len(b.cases), os.path.getsize(path)))


if __name__ == "__main__":
    sys.exit(main())
