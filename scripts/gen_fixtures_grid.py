#!/usr/bin/env python3
"""Generate tests/fixtures/ops/grid.json: grid_sample and affine_grid fixtures from PyTorch, in the
format of scripts/gen_fixtures.py (whose helpers it imports), read by tests/ops-fixtures.test.ts.

    /usr/bin/python3 scripts/gen_fixtures_grid.py

grid_sample runs every mode (bilinear, nearest) x padding (zeros, border) x align_corners, with
gradients to the input and to the grid. Its grid points are drawn from [-1.4, 1.4] (so some fall
outside the image) plus fixed ones: the corners -1 and 1, points beyond them, and one far away.
Bilinear sampling has kinks at integer pixel coordinates, and nearest sampling jumps halfway
between them, where float32 and float64 may pick different sides: drawn points are moved off
both (at least 1e-3 pixels away), so the comparison never depends on that rounding.
"""
import os
import sys

import numpy as np
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402  (sets float64 as torch's default dtype)

gf.GENERATOR = "scripts/gen_fixtures_grid.py"

# points every grid_sample case contains: corners, just inside and beyond them, and far away
FIXED_POINTS = [(-1.0, -1.0), (1.0, 1.0), (-1.0, 1.0), (1.5, 0.25), (-0.23, -1.7), (2.5, -3.0), (40.0, 0.1), (0.3, -25.0)]


def pixel(g, size, align):
    return (g + 1) / 2 * (size - 1) if align else ((g + 1) * size - 1) / 2


def off_kinks(b, grid, H, W, align):
    """Redraws random points whose pixel coordinates lie within 1e-3 of an integer or a half."""
    for _ in range(100):
        px = pixel(grid[..., 0].astype(np.float64), W, align)
        py = pixel(grid[..., 1].astype(np.float64), H, align)
        near = lambda v: np.abs(v * 2 - np.round(v * 2)) < 2e-3  # noqa: E731
        bad = near(px) | near(py)
        if not bad.any():
            return grid
        grid[bad] = b.uniform(-1.4, 1.4, int(bad.sum()), 2)
    raise AssertionError("could not draw points off the kinks")


def gen_grid():
    b = gf.Builder("grid", 4242)
    N, C, H, W, HO, WO = 2, 3, 5, 6, 4, 5
    for mode in ("bilinear", "nearest"):
        for padding in ("zeros", "border"):
            for align in (False, True):
                x = b.randn(N, C, H, W)
                grid = b.uniform(-1.4, 1.4, N, HO, WO, 2)
                grid = off_kinks(b, grid, H, W, align)
                flat = grid.reshape(-1, 2)
                flat[:len(FIXED_POINTS)] = np.array(FIXED_POINTS, dtype=np.float32)
                cid = "gridsample_%s_%s_align%d_%dx%dx%dx%d_to_%dx%d" % (mode, padding, align, N, C, H, W, HO, WO)
                b.case(cid, "gridSample", [x, flat.reshape(grid.shape)],
                       lambda t, g, mode=mode, padding=padding, align=align:
                       F.grid_sample(t, g, mode=mode, padding_mode=padding, align_corners=align),
                       {"mode": mode, "paddingMode": padding, "alignCorners": align})
    # one channel, upsampling a 3x4 image to 7x9, with defaults (bilinear, zeros, align_corners False)
    g = off_kinks(b, b.uniform(-1.2, 1.2, 1, 7, 9, 2), 3, 4, False)
    b.case("gridsample_defaults_1x1x3x4_to_7x9", "gridSample", [b.randn(1, 1, 3, 4), g],
           lambda t, g: F.grid_sample(t, g, align_corners=False), {})

    for align in (False, True):
        for size in ([2, 3, 4, 5], [1, 2, 1, 3], [3, 1, 6, 1]):
            theta = b.randn(size[0], 2, 3)
            b.case("affinegrid_%s_align%d" % (gf.sid(size), align), "affineGrid", [theta],
                   lambda t, size=size, align=align: F.affine_grid(t, size, align_corners=align),
                   {"size": size, "alignCorners": align})
    return b


def main():
    b = gen_grid()
    path = b.write()
    print("%s: %d cases, %d bytes" % (os.path.relpath(path, gf.ROOT), len(b.cases), os.path.getsize(path)))


if __name__ == "__main__":
    sys.exit(main())
