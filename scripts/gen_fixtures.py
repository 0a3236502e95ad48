#!/usr/bin/env python3
"""Generate golden op fixtures for glassbox from PyTorch.

Run from the repo root with the interpreter that has torch:

    /usr/bin/python3 scripts/gen_fixtures.py

Writes tests/fixtures/ops/*.json. Deterministic: every file uses its own
fixed-seed NumPy generator, and all inputs are drawn as float32 values.
Reference values are computed in float64 (inputs cast up) and written rounded
to float32 using the shortest decimal that round-trips to that float32.
See tests/fixtures/README.md for the format.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

from fixture_encoding import f32

torch.set_default_dtype(torch.float64)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "ops")
GENERATOR = "scripts/gen_fixtures.py"

ALL_IDS = set()


# ----------------------------------------------------------------------------
# encoding helpers
# ----------------------------------------------------------------------------

def enc_float(arr):
    arr = np.asarray(arr, dtype=np.float64)
    return {"shape": list(arr.shape), "data": [f32(v) for v in arr.reshape(-1)]}


def enc_int(arr):
    arr = np.asarray(arr)
    return {"shape": list(arr.shape), "dtype": "int32",
            "data": [int(v) for v in arr.reshape(-1)]}


def enc_tensor(t):
    t = t.detach()
    if t.dtype in (torch.int64, torch.int32, torch.bool):
        if t.dtype == torch.bool:
            raise AssertionError("bool outputs must be converted by the op fn")
        return enc_int(t.numpy())
    return enc_float(t.numpy())


class Inp:
    """A fixture input: float32 or int32 numpy array and whether we differentiate it."""

    def __init__(self, arr, grad=None):
        arr = np.asarray(arr)
        if arr.dtype.kind in "iu":
            self.arr = arr.astype(np.int32)
            self.dtype = "int32"
            self.grad = False if grad is None else grad
            assert not self.grad
        else:
            self.arr = arr.astype(np.float32)
            self.dtype = "float32"
            self.grad = True if grad is None else grad

    def encode(self):
        d = {"shape": list(self.arr.shape), "dtype": self.dtype}
        if self.dtype == "int32":
            d["data"] = [int(v) for v in self.arr.reshape(-1)]
        else:
            d["data"] = [f32(v) for v in self.arr.reshape(-1)]
        d["grad"] = bool(self.grad)
        return d

    def torch(self):
        if self.dtype == "int32":
            return torch.from_numpy(self.arr.astype(np.int64))
        t = torch.from_numpy(self.arr.astype(np.float64))
        if self.grad:
            t.requires_grad_(True)
        return t


def as_inp(x):
    return x if isinstance(x, Inp) else Inp(x)


class Builder:
    def __init__(self, name, seed):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.cases = []

    # ---------------- random input helpers (all float32) ----------------
    def randn(self, *shape, scale=1.0):
        return (self.rng.standard_normal(shape) * scale).astype(np.float32)

    def uniform(self, lo, hi, *shape):
        return self.rng.uniform(lo, hi, shape).astype(np.float32)

    def away(self, *shape, lo=0.1, hi=2.0):
        """Random sign, magnitude in [lo, hi]: away from 0."""
        mag = self.rng.uniform(lo, hi, shape)
        sgn = np.where(self.rng.uniform(size=shape) < 0.5, -1.0, 1.0)
        return (mag * sgn).astype(np.float32)

    def pos(self, *shape, lo=0.5, hi=2.0):
        return self.uniform(lo, hi, *shape)

    def distinct(self, *shape, scale=2.0):
        """Values with pairwise gaps >= ~0.05 (no ties anywhere)."""
        n = int(np.prod(shape)) if shape else 1
        base = np.arange(n, dtype=np.float64) - (n - 1) / 2.0
        base = base / max(n, 1) * 2 * scale
        step = 2 * scale / max(n, 1)
        jitter = self.rng.uniform(-0.2, 0.2, n) * step
        vals = self.rng.permutation(base + jitter)
        return vals.reshape(shape).astype(np.float32)

    def intsf(self, lo, hi, *shape):
        """Small integers stored as float32 (for comparisons with ties)."""
        return self.rng.integers(lo, hi + 1, shape).astype(np.float32)

    def ints(self, lo, hi, *shape):
        return self.rng.integers(lo, hi, shape).astype(np.int32)

    # ---------------- case construction ----------------
    def case(self, cid, op, inputs, fn, attrs=None, differentiable=True,
             second_order=False):
        assert cid not in ALL_IDS, "duplicate id " + cid
        ALL_IDS.add(cid)
        inputs = [as_inp(x) for x in inputs]
        if not differentiable:
            for i in inputs:
                i.grad = False
        tins = [i.torch() for i in inputs]
        out = fn(*tins)
        c = {"id": cid, "op": op,
             "inputs": [i.encode() for i in inputs],
             "attrs": attrs or {}}
        if isinstance(out, (tuple, list)):
            c["outputs"] = [enc_tensor(o) for o in out]
            primary = out[0]
        else:
            c["output"] = enc_tensor(out)
            primary = out
        diff_idx = [k for k, i in enumerate(inputs) if i.grad]
        if differentiable and diff_idx:
            assert primary.dtype == torch.float64 and primary.requires_grad
            go = self.randn(*primary.shape)
            # keep upstream grads away from tiny values so grads are well scaled
            go = np.where(np.abs(go) < 0.1, go + np.sign(go + 1e-9) * 0.1, go).astype(np.float32)
            go_t = torch.from_numpy(go.astype(np.float64))
            dins = [tins[k] for k in diff_idx]
            g = torch.autograd.grad(primary, dins, go_t, create_graph=second_order,
                                    allow_unused=True)
            g = [gg if gg is not None else torch.zeros_like(t) for gg, t in zip(g, dins)]
            c["gradOutput"] = enc_float(go)
            grads = [None] * len(inputs)
            for k, gg in zip(diff_idx, g):
                grads[k] = enc_float(gg.detach().numpy())
            c["grads"] = grads
            if second_order:
                vs = [self.randn(*t.shape) for t in dins]
                vs_t = [torch.from_numpy(v.astype(np.float64)) for v in vs]
                gg_pairs = [(gi, vi) for gi, vi in zip(g, vs_t) if gi.requires_grad]
                if gg_pairs:
                    h = torch.autograd.grad([p[0] for p in gg_pairs], dins,
                                            [p[1] for p in gg_pairs], allow_unused=True)
                else:
                    h = [None] * len(dins)
                h = [hh if hh is not None else torch.zeros_like(t) for hh, t in zip(h, dins)]
                ggo = [None] * len(inputs)
                ggs = [None] * len(inputs)
                for k, v, hh in zip(diff_idx, vs, h):
                    ggo[k] = enc_float(v)
                    ggs[k] = enc_float(hh.detach().numpy())
                c["gradGradOutput"] = ggo
                c["gradGrads"] = ggs
        else:
            assert not second_order
        self.cases.append(c)
        return c

    def write(self):
        os.makedirs(OUT_DIR, exist_ok=True)
        doc = {"generator": GENERATOR, "torch": torch.__version__, "cases": self.cases}
        path = os.path.join(OUT_DIR, self.name + ".json")
        with open(path, "w") as fh:
            json.dump(doc, fh, separators=(",", ":"))
            fh.write("\n")
        return path


def sid(shape):
    """Shape -> id fragment: [] -> 's', [3,1] -> '3x1'."""
    return "x".join(str(s) for s in shape) if len(shape) else "s"


def fbool(t):
    return t.to(torch.float64)


# ----------------------------------------------------------------------------
# elementwise (unary, parametrised unary, binary, comparisons, where)
# ----------------------------------------------------------------------------

UNARY_SHAPES = [(), (5,), (3, 4), (2, 3, 4), (2, 1, 3, 2)]


def gen_elementwise():
    b = Builder("elementwise", 1001)

    def unary(op, fn, gen, shapes=UNARY_SHAPES, differentiable=True):
        for shp in shapes:
            b.case("%s_%s" % (op, sid(shp)), op, [gen(shp)], fn,
                   differentiable=differentiable)

    normal = lambda s: b.randn(*s)
    away = lambda s: b.away(*s)
    away_wide = lambda s: b.away(*s, lo=0.05, hi=3.0)
    posv = lambda s: b.pos(*s, lo=0.2, hi=3.0)

    unary("neg", torch.neg, normal, [(), (5,), (3, 4), (2, 3, 4)])
    unary("exp", torch.exp, normal)
    unary("log", torch.log, posv)
    unary("sqrt", torch.sqrt, posv)
    unary("rsqrt", torch.rsqrt, posv, [(), (5,), (3, 4), (2, 3, 4)])
    unary("abs", torch.abs, away_wide, [(), (7,), (3, 4), (2, 3, 4)])
    unary("sin", torch.sin, lambda s: b.randn(*s, scale=2.0), [(), (5,), (3, 4), (2, 3, 4)])
    unary("cos", torch.cos, lambda s: b.randn(*s, scale=2.0), [(), (5,), (3, 4), (2, 3, 4)])
    unary("tanh", torch.tanh, lambda s: b.randn(*s, scale=1.5))
    unary("sigmoid", torch.sigmoid, lambda s: b.randn(*s, scale=2.0))
    unary("relu", torch.relu, away_wide)
    unary("square", torch.square, normal, [(), (5,), (3, 4), (2, 3, 4)])
    unary("reciprocal", torch.reciprocal, lambda s: b.away(*s, lo=0.3, hi=3.0),
          [(), (5,), (3, 4), (2, 3, 4)])
    unary("sign", lambda x: torch.sign(x), away_wide, [(), (7,), (3, 4)], differentiable=False)
    # sign of exact zero is 0
    b.case("sign_zeros", "sign", [np.array([0.0, -1.5, 2.0, 0.0], np.float32)], torch.sign,
           differentiable=False)
    unary("gelu", lambda x: F.gelu(x), lambda s: b.randn(*s, scale=1.5))
    unary("silu", F.silu, lambda s: b.randn(*s, scale=1.5))
    unary("log1p", torch.log1p, lambda s: b.uniform(-0.8, 3.0, *s), [(), (5,), (3, 4), (2, 3, 4)])
    unary("expm1", torch.expm1, normal, [(), (5,), (3, 4), (2, 3, 4)])
    # floor/ceil/round: non-integers, avoid .5 ties (except the explicit tie case)
    fr = lambda s: (b.randn(*s, scale=3.0))
    unary("floor", torch.floor, fr, [(), (7,), (3, 4)], differentiable=False)
    unary("ceil", torch.ceil, fr, [(), (7,), (3, 4)], differentiable=False)
    unary("round", torch.round, fr, [(), (7,), (3, 4)], differentiable=False)
    b.case("round_ties_half_to_even", "round",
           [np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 3.5, 0.49999997], np.float32)],
           torch.round, differentiable=False)
    unary("erf", torch.erf, lambda s: b.randn(*s, scale=1.2))

    # ---- parametrised unary ----
    for shp, slope in [((7,), 0.01), ((3, 4), 0.2), ((2, 3, 4), 0.01), ((), 0.3)]:
        b.case("leakyRelu_%s_%g" % (sid(shp), slope), "leakyRelu", [b.away(*shp, lo=0.05, hi=3.0)],
               lambda x, s=slope: F.leaky_relu(x, negative_slope=s), {"negativeSlope": slope})
    for shp, alpha in [((7,), 1.0), ((3, 4), 0.5), ((2, 3, 4), 1.0), ((), 1.7)]:
        b.case("elu_%s_%g" % (sid(shp), alpha), "elu", [b.away(*shp, lo=0.05, hi=3.0)],
               lambda x, a=alpha: F.elu(x, alpha=a), {"alpha": alpha})
    for shp, beta, thr in [((7,), 1.0, 20.0), ((3, 4), 2.0, 1.0), ((2, 3, 4), 0.5, 2.0),
                           ((), 1.0, 20.0)]:
        x = b.randn(*shp, scale=3.0)
        # keep away from the threshold switch point beta*x == threshold
        x = np.where(np.abs(x * beta - thr) < 0.1, x + 0.3, x).astype(np.float32)
        if shp == (7,):
            x[0] = 25.0  # above default threshold -> linear branch
            x[1] = -30.0
        b.case("softplus_%s_b%g_t%g" % (sid(shp), beta, thr), "softplus", [x],
               lambda x, be=beta, th=thr: F.softplus(x, beta=be, threshold=th),
               {"beta": beta, "threshold": thr})
    clamp_cfgs = [((3, 4), -0.5, 0.7), ((7,), -0.3, None), ((2, 3, 4), None, 0.25), ((), -1.0, 1.0),
                  ((5,), 0.5, 0.2)]  # min > max: torch gives max everywhere
    for shp, lo, hi in clamp_cfgs:
        x = b.randn(*shp, scale=1.5)
        for bound in (lo, hi):
            if bound is not None:
                x = np.where(np.abs(x - bound) < 0.05, x + 0.11, x).astype(np.float32)
        attrs = {}
        if lo is not None:
            attrs["min"] = lo
        if hi is not None:
            attrs["max"] = hi
        name = "clamp_%s_%s_%s" % (sid(shp), "none" if lo is None else "%g" % lo,
                                   "none" if hi is None else "%g" % hi)
        b.case(name, "clamp", [x], lambda t, lo=lo, hi=hi: torch.clamp(t, min=lo, max=hi), attrs)
    pow_cfgs = [((3, 4), 2.0, "any"), ((7,), 3.0, "any"), ((2, 3, 4), 0.5, "pos"), ((5,), -1.5, "pos"),
                ((), 2.5, "pos"), ((2, 3), -2.0, "away"), ((4,), 0.0, "pos"), ((4,), 1.0, "any")]
    for shp, e, kind in pow_cfgs:
        x = {"any": b.randn(*shp), "pos": b.pos(*shp, lo=0.3, hi=2.5),
             "away": b.away(*shp, lo=0.4, hi=2.0)}[kind]
        b.case("powScalar_%s_%g" % (sid(shp), e), "powScalar", [x],
               lambda t, e=e: torch.pow(t, e), {"exponent": e})

    # ---- binary with broadcasting ----
    bshapes = [((3, 4), (3, 4)), ((3, 4), (1,)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)),
               ((2, 1, 4), (3, 1)), ((), (2, 3)), ((5,), ())]

    def no_ties(a, c, gap=0.05):
        return np.all(np.abs(np.broadcast_to(a, np.broadcast_shapes(a.shape, c.shape)) -
                             np.broadcast_to(c, np.broadcast_shapes(a.shape, c.shape))) > gap)

    def binary(op, fn, gen_a, gen_b, shapes=bshapes, cond=None):
        for sa, sb in shapes:
            for _ in range(1000):
                a, c = gen_a(sa), gen_b(sb)
                if cond is None or cond(a, c):
                    break
            else:
                raise RuntimeError("could not satisfy condition for " + op)
            b.case("%s_%s_%s" % (op, sid(sa), sid(sb)), op, [a, c], fn)

    binary("add", torch.add, normal, normal)
    binary("sub", torch.sub, normal, normal)
    binary("mul", torch.mul, normal, normal)
    binary("div", torch.div, normal, lambda s: b.away(*s, lo=0.4, hi=2.0))
    binary("pow", torch.pow, lambda s: b.pos(*s, lo=0.3, hi=2.5), lambda s: b.uniform(-2.0, 2.5, *s))
    binary("maximum", torch.maximum, normal, normal, cond=no_ties)
    binary("minimum", torch.minimum, normal, normal, cond=no_ties)
    binary("atan2", torch.atan2, normal, normal,
           shapes=[((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((), (5,))],
           cond=lambda a, c: np.all(np.broadcast_to(a, np.broadcast_shapes(a.shape, c.shape)) ** 2 +
                                    np.broadcast_to(c, np.broadcast_shapes(a.shape, c.shape)) ** 2 > 0.05))

    # ---- comparisons: small integers so that ties happen ----
    cmp_shapes = [((3, 4), (3, 4)), ((3, 1), (1, 4)), ((2, 3, 4), (4,)), ((), (5,))]
    for op, fn in [("eq", torch.eq), ("ne", torch.ne), ("lt", torch.lt), ("le", torch.le),
                   ("gt", torch.gt), ("ge", torch.ge)]:
        for sa, sb in cmp_shapes:
            a, c = b.intsf(-2, 2, *sa), b.intsf(-2, 2, *sb)
            b.case("%s_%s_%s" % (op, sid(sa), sid(sb)), op, [a, c],
                   lambda x, y, fn=fn: fbool(fn(x, y)), differentiable=False)

    # ---- where ----
    where_cfgs = [((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), (3, 4)), ((2, 3, 4), (4,), ()),
                  ((4,), (2, 3, 4), (3, 1)), ((), (2, 2), (2, 2))]
    for sc, sa, sb in where_cfgs:
        cond = (b.rng.uniform(size=sc) < 0.5).astype(np.float32)
        b.case("where_%s_%s_%s" % (sid(sc), sid(sa), sid(sb)), "where",
               [Inp(cond, grad=False), b.randn(*sa), b.randn(*sb)],
               lambda cnd, x, y: torch.where(cnd != 0, x, y))
    return b


# ----------------------------------------------------------------------------
# reductions
# ----------------------------------------------------------------------------

def dim_id(dim, keepdim):
    if dim is None:
        d = "all"
    elif isinstance(dim, (list, tuple)):
        d = "d" + "_".join(str(x).replace("-", "m") for x in dim)
    else:
        d = "d" + str(dim).replace("-", "m")
    return d + ("_keep" if keepdim else "")


def red_attrs(dim, keepdim, **extra):
    a = {}
    if dim is not None:
        a["dim"] = list(dim) if isinstance(dim, (list, tuple)) else dim
    a["keepdim"] = keepdim
    a.update(extra)
    return a


def gen_reductions():
    b = Builder("reductions", 2002)
    # (shape, dim, keepdim)
    std_cfgs = [((3, 4), None, False), ((3, 4), 0, False), ((2, 3, 4), -1, True),
                ((2, 3, 4), 1, False), ((2, 3, 4), [0, 2], False), ((2, 1, 3), 1, True),
                ((2, 3, 1, 5), [1, -1], True), ((), None, False), ((7,), 0, False),
                ((2, 3, 4), None, True), ((2, 3, 4), [-3, -2, -1], False)]

    def tdim(dim):
        return tuple(dim) if isinstance(dim, list) else dim

    for op, fn in [("sum", torch.sum), ("mean", torch.mean)]:
        for shp, dim, kd in std_cfgs:
            x = b.randn(*shp)
            if dim is None:
                f = (lambda t, fn=fn, kd=kd: fn(t)) if not kd else \
                    (lambda t, fn=fn: fn(t, dim=tuple(range(t.dim())), keepdim=True))
            else:
                f = lambda t, fn=fn, dim=dim, kd=kd: fn(t, dim=tdim(dim), keepdim=kd)
            b.case("%s_%s_%s" % (op, sid(shp), dim_id(dim, kd)), op, [x], f, red_attrs(dim, kd))

    # prod: single int dim or all (torch.prod does not take a list)
    for shp, dim, kd in [((3, 4), None, False), ((3, 4), 1, False), ((2, 3, 4), -1, True),
                         ((2, 3, 4), 0, False), ((5,), 0, False), ((), None, False)]:
        x = b.away(*shp, lo=0.5, hi=1.6)
        f = (lambda t: torch.prod(t)) if dim is None else \
            (lambda t, dim=dim, kd=kd: torch.prod(t, dim=dim, keepdim=kd))
        b.case("prod_%s_%s" % (sid(shp), dim_id(dim, kd)), "prod", [x], f, red_attrs(dim, kd))

    # logsumexp: dim required
    for shp, dim, kd, big in [((3, 4), 1, False, False), ((3, 4), 0, True, False),
                              ((2, 3, 4), -1, False, True), ((2, 3, 4), [0, 2], False, False),
                              ((5,), 0, False, True), ((2, 1, 3), 1, True, False)]:
        x = b.randn(*shp, scale=2.0)
        if big:
            x = x + np.float32(80.0) * np.sign(b.randn(*shp)).astype(np.float32)
        b.case("logsumexp_%s_%s%s" % (sid(shp), dim_id(dim, kd), "_big" if big else ""),
               "logsumexp", [x.astype(np.float32)],
               lambda t, dim=dim, kd=kd: torch.logsumexp(t, dim=tdim(dim), keepdim=kd),
               red_attrs(dim, kd))

    # var / std
    vs_cfgs = [((3, 4), None, False, 1), ((3, 4), None, False, 0), ((3, 4), 1, False, 1),
               ((2, 3, 4), 0, True, 0), ((2, 3, 4), [0, 2], False, 1), ((2, 3, 4), -1, True, 1),
               ((7,), 0, False, 0)]
    for op, fn in [("var", torch.var), ("std", torch.std)]:
        for shp, dim, kd, corr in vs_cfgs:
            x = b.randn(*shp)
            if dim is None:
                f = lambda t, fn=fn, corr=corr, kd=kd: fn(t, dim=tuple(range(t.dim())),
                                                          correction=corr, keepdim=kd)
            else:
                f = lambda t, fn=fn, dim=dim, kd=kd, corr=corr: fn(t, dim=tdim(dim),
                                                                   correction=corr, keepdim=kd)
            b.case("%s_%s_%s_c%d" % (op, sid(shp), dim_id(dim, kd), corr), op, [x], f,
                   red_attrs(dim, kd, correction=corr))

    # amax / amin (no ties)
    for op, fn in [("amax", torch.amax), ("amin", torch.amin)]:
        for shp, dim, kd in [((3, 4), None, False), ((3, 4), 1, False), ((2, 3, 4), 0, True),
                             ((2, 3, 4), [0, -1], False), ((7,), 0, False), ((2, 1, 3), 1, False)]:
            x = b.distinct(*shp)
            f = (lambda t, fn=fn: fn(t)) if dim is None else \
                (lambda t, fn=fn, dim=dim, kd=kd: fn(t, dim=tdim(dim), keepdim=kd))
            b.case("%s_%s_%s" % (op, sid(shp), dim_id(dim, kd)), op, [x], f, red_attrs(dim, kd))

    # max / min with dim -> (values, indices); without dim -> single value
    for op, fn in [("max", torch.max), ("min", torch.min)]:
        for shp, dim, kd in [((3, 4), 1, False), ((3, 4), 0, True), ((2, 3, 4), -1, False),
                             ((2, 3, 4), 1, True), ((7,), 0, False), ((2, 1, 3), 1, False)]:
            x = b.distinct(*shp)
            b.case("%s_%s_%s" % (op, sid(shp), dim_id(dim, kd)), op, [x],
                   lambda t, fn=fn, dim=dim, kd=kd: tuple(fn(t, dim=dim, keepdim=kd)),
                   red_attrs(dim, kd))
        x = b.distinct(3, 4)
        b.case("%s_3x4_all" % op, op, [x], lambda t, fn=fn: fn(t), {})

    # argmax / argmin
    for op, fn in [("argmax", torch.argmax), ("argmin", torch.argmin)]:
        for shp, dim, kd in [((3, 4), 1, False), ((3, 4), 0, True), ((2, 3, 4), -1, False),
                             ((2, 3, 4), None, False), ((7,), 0, False)]:
            x = b.distinct(*shp)
            f = (lambda t, fn=fn: fn(t)) if dim is None else \
                (lambda t, fn=fn, dim=dim, kd=kd: fn(t, dim=dim, keepdim=kd))
            b.case("%s_%s_%s" % (op, sid(shp), dim_id(dim, kd)), op, [x], f,
                   red_attrs(dim, kd), differentiable=False)

    # norm p=2
    for shp, dim, kd in [((3, 4), None, False), ((3, 4), 1, False), ((2, 3, 4), [1, 2], True),
                         ((2, 3, 4), -1, False), ((7,), 0, False), ((), None, False)]:
        x = b.away(*shp, lo=0.2, hi=2.0)
        f = lambda t, dim=dim, kd=kd: torch.linalg.vector_norm(
            t, 2, dim=tdim(dim) if dim is not None else None, keepdim=kd)
        b.case("norm_%s_%s" % (sid(shp), dim_id(dim, kd)), "norm", [x], f,
               red_attrs(dim, kd, p=2))
    return b


# ----------------------------------------------------------------------------
# matmul / linear
# ----------------------------------------------------------------------------

def gen_matmul():
    b = Builder("matmul", 3003)
    pairs = [((7,), (7,)), ((3, 7), (7,)), ((7,), (7, 3)), ((3, 7), (7, 17)), ((1, 7), (7, 1)),
             ((17, 3), (3, 1)), ((2, 3, 7), (2, 7, 5)), ((2, 3, 7), (7, 4)),
             ((2, 1, 3, 7), (3, 7, 2)), ((7,), (2, 7, 3)), ((2, 3, 7), (7,)), ((1, 1), (1, 1)),
             ((3, 1), (1, 4))]
    for sa, sb in pairs:
        b.case("matmul_%s_%s" % (sid(sa), sid(sb)), "matmul", [b.randn(*sa), b.randn(*sb)],
               torch.matmul)
    for sx, o, bias in [((4, 7), 3, True), ((4, 7), 3, False), ((2, 3, 7), 5, True), ((7,), 3, False),
                        ((7,), 3, True), ((5, 3), 1, False), ((1, 17), 7, True)]:
        i = sx[-1]
        ins = [b.randn(*sx), b.randn(o, i, scale=0.5)]
        if bias:
            ins.append(b.randn(o))
        b.case("linear_%s_out%d_%s" % (sid(sx), o, "bias" if bias else "nobias"), "linear", ins,
               lambda x, w, bb=None: F.linear(x, w, bb))
    return b


# ----------------------------------------------------------------------------
# softmax family
# ----------------------------------------------------------------------------

def gen_softmax():
    b = Builder("softmax", 4004)
    cfgs = [((3, 4), -1, False), ((3, 4), 0, False), ((2, 3, 4), 1, False), ((5,), 0, False),
            ((2, 3, 4), -1, True), ((3, 5), 1, True), ((2, 1, 3, 2), 2, False)]
    for op, fn in [("softmax", F.softmax), ("logSoftmax", F.log_softmax)]:
        for shp, dim, big in cfgs:
            x = b.randn(*shp, scale=2.0)
            if big:
                x = x * np.float32(10.0)
                flat = x.reshape(-1)
                flat[0] = 80.0
                flat[1] = -80.0
                flat[2] = 79.5
                x = np.clip(x, -80, 80).astype(np.float32)
            b.case("%s_%s_d%s%s" % (op, sid(shp), str(dim).replace("-", "m"), "_big" if big else ""),
                   op, [x], lambda t, fn=fn, dim=dim: fn(t, dim=dim), {"dim": dim})
        # a row that is entirely huge: 1000 + small offsets
        x = (np.float32(1000.0) + b.randn(2, 4)).astype(np.float32)
        b.case("%s_2x4_d1_huge" % op, op, [x], lambda t, fn=fn: fn(t, dim=1), {"dim": 1})
    return b


# ----------------------------------------------------------------------------
# losses
# ----------------------------------------------------------------------------

def gen_losses():
    b = Builder("losses", 5005)
    for n, c, red, ls, scale in [(4, 5, "mean", 0.0, 1.0), (4, 5, "sum", 0.0, 1.0),
                                 (4, 5, "none", 0.0, 1.0), (4, 5, "mean", 0.1, 1.0),
                                 (3, 7, "none", 0.1, 1.0), (6, 3, "sum", 0.1, 1.0),
                                 (1, 3, "mean", 0.0, 1.0), (5, 4, "mean", 0.0, 30.0)]:
        logits = b.randn(n, c, scale=scale)
        tgt = b.ints(0, c, n)
        b.case("crossEntropy_%dx%d_%s_ls%g%s" % (n, c, red, ls, "_big" if scale > 1 else ""),
               "crossEntropy", [logits, tgt],
               lambda x, t, red=red, ls=ls: F.cross_entropy(x, t, reduction=red, label_smoothing=ls),
               {"reduction": red, "labelSmoothing": ls})
    for n, c, red in [(4, 5, "mean"), (4, 5, "sum"), (4, 5, "none"), (1, 3, "mean")]:
        lp = F.log_softmax(torch.from_numpy(b.randn(n, c)), dim=1).numpy().astype(np.float32)
        tgt = b.ints(0, c, n)
        b.case("nllLoss_%dx%d_%s" % (n, c, red), "nllLoss", [lp, tgt],
               lambda x, t, red=red: F.nll_loss(x, t, reduction=red), {"reduction": red})
    for shp, red in [((3, 4), "mean"), ((3, 4), "sum"), ((3, 4), "none"), ((7,), "mean"),
                     ((2, 3, 2), "mean"), ((), "sum")]:
        b.case("mseLoss_%s_%s" % (sid(shp), red), "mseLoss", [b.randn(*shp), b.randn(*shp)],
               lambda x, y, red=red: F.mse_loss(x, y, reduction=red), {"reduction": red})
    for shp, red, big in [((4,), "mean", False), ((2, 3), "sum", False), ((2, 3), "none", False),
                          ((3, 4), "mean", True), ((), "mean", False)]:
        x = b.randn(*shp, scale=2.0)
        if big:
            x = (x * 15).astype(np.float32)
            x.reshape(-1)[0] = 60.0
            x.reshape(-1)[1] = -60.0
        t = b.uniform(0.0, 1.0, *shp)
        if shp == (2, 3):
            t = (t > 0.5).astype(np.float32)  # hard 0/1 labels
        b.case("binaryCrossEntropyWithLogits_%s_%s%s" % (sid(shp), red, "_big" if big else ""),
               "binaryCrossEntropyWithLogits", [x, Inp(t, grad=False)],
               lambda x, t, red=red: F.binary_cross_entropy_with_logits(x, t, reduction=red),
               {"reduction": red})
    return b


# ----------------------------------------------------------------------------
# views / copies / indexing
# ----------------------------------------------------------------------------

def gen_views():
    b = Builder("views", 6006)
    for sx, shape in [((2, 3, 4), [6, -1]), ((12,), [3, 4]), ((3, 4), [-1]), ((), [1]), ((1,), []),
                      ((2, 6), [2, 3, 2]), ((2, 3, 4), [4, -1, 3])]:
        b.case("reshape_%s_to_%s" % (sid(sx), sid(shape).replace("-1", "m1")), "reshape",
               [b.randn(*sx)], lambda t, shape=shape: t.reshape(shape), {"shape": shape})
    for sx, dims in [((2, 3, 4), [2, 0, 1]), ((2, 1, 3, 2), [3, 1, 0, 2]), ((3, 4), [1, 0]),
                     ((2, 3, 4), [-1, 0, 1]), ((5,), [0])]:
        b.case("permute_%s_%s" % (sid(sx), "_".join(str(d).replace("-", "m") for d in dims)),
               "permute", [b.randn(*sx)], lambda t, dims=dims: t.permute(dims), {"dims": dims})
    for sx, d0, d1 in [((3, 4), 0, 1), ((2, 3, 4), 0, 2), ((2, 3, 4), -1, -2), ((2, 3, 4), 1, 1),
                       ((1, 7), 0, 1)]:
        b.case("transpose_%s_%s_%s" % (sid(sx), str(d0).replace("-", "m"), str(d1).replace("-", "m")),
               "transpose", [b.randn(*sx)], lambda t, d0=d0, d1=d1: t.transpose(d0, d1),
               {"dim0": d0, "dim1": d1})
    for sx, shape in [((3, 1), [3, 4]), ((4,), [2, 3, 4]), ((1,), [5]), ((3, 1), [-1, 4]),
                      ((), [2, 3]), ((2, 1, 1), [2, 3, 2])]:
        b.case("expand_%s_to_%s" % (sid(sx), sid(shape).replace("-1", "m1")), "expand",
               [b.randn(*sx)], lambda t, shape=shape: t.expand(shape), {"shape": shape})
    slice_cfgs = [((5, 4), 0, 1, 4, 1), ((5, 4), 1, 0, 4, 2), ((5, 4), 0, -3, 5, 1),
                  ((2, 7, 3), 1, 1, 100, 3), ((2, 7, 3), -1, 0, -1, 1), ((7,), 0, 2, 3, 1),
                  ((7,), 0, -100, -2, 2), ((4, 3), 0, 3, 1, 1)]  # last: empty result
    for sx, dim, st, en, step in slice_cfgs:
        def f(t, dim=dim, st=st, en=en, step=step):
            idx = [slice(None)] * t.dim()
            idx[dim] = slice(st, en, step)
            return t[tuple(idx)]
        b.case("slice_%s_d%s_%s_%s_%s" % (sid(sx), str(dim).replace("-", "m"), str(st).replace("-", "m"),
                                          str(en).replace("-", "m"), step),
               "slice", [b.randn(*sx)], f, {"dim": dim, "start": st, "end": en, "step": step})
    for sx, dims in [((3, 4), [0]), ((2, 3, 4), [0, 2]), ((2, 3, 4), [-1]), ((5,), [0]),
                     ((2, 3), [0, 1])]:
        b.case("flip_%s_%s" % (sid(sx), "_".join(str(d).replace("-", "m") for d in dims)), "flip",
               [b.randn(*sx)], lambda t, dims=dims: torch.flip(t, dims), {"dims": dims})
    for shapes, dim in [([(2, 3), (4, 3)], 0), ([(2, 3), (2, 1), (2, 2)], 1),
                        ([(2, 3, 4), (2, 3, 4)], -1), ([(5,), (2,)], 0), ([(2, 3, 4)], 1),
                        ([(1, 2, 2), (3, 2, 2)], -3)]:
        b.case("cat_%s_d%s" % ("_".join(sid(s) for s in shapes), str(dim).replace("-", "m")), "cat",
               [b.randn(*s) for s in shapes], lambda *ts, dim=dim: torch.cat(ts, dim=dim), {"dim": dim})
    for shapes, dim in [([(3, 4)] * 3, 0), ([(3, 4)] * 2, -1), ([(3, 4)] * 2, 1), ([()] * 3, 0),
                        ([(2, 3)] * 2, 2), ([(5,)], 0)]:
        b.case("stack_%dx%s_d%s" % (len(shapes), sid(shapes[0]), str(dim).replace("-", "m")), "stack",
               [b.randn(*s) for s in shapes], lambda *ts, dim=dim: torch.stack(ts, dim=dim),
               {"dim": dim})
    for sx, pad, value in [((3, 4), [1, 2], 0.0), ((3, 4), [1, 0, 2, 1], 1.5), ((2, 3, 4), [0, 1, 1, 0, 2, 0], 0.0),
                           ((5,), [3, 0], -2.0), ((2, 3, 2, 2), [1, 1, 1, 1], 0.0)]:
        b.case("pad_%s_%s" % (sid(sx), "_".join(str(p) for p in pad)), "pad", [b.randn(*sx)],
               lambda t, pad=pad, value=value: F.pad(t, pad, mode="constant", value=value),
               {"pad": pad, "value": value})
    for sx, dim in [((3, 1, 4), 1), ((3, 1, 4), -2), ((3, 1, 4), 0), ((1, 3, 1), None), ((1,), 0),
                    ((1, 1), None)]:
        f = (lambda t: t.squeeze()) if dim is None else (lambda t, dim=dim: t.squeeze(dim))
        b.case("squeeze_%s_%s" % (sid(sx), "all" if dim is None else "d" + str(dim).replace("-", "m")),
               "squeeze", [b.randn(*sx)], f, {} if dim is None else {"dim": dim})
    for sx, dim in [((3, 4), 0), ((3, 4), 2), ((3, 4), -1), ((), 0), ((3, 4), -3)]:
        b.case("unsqueeze_%s_d%s" % (sid(sx), str(dim).replace("-", "m")), "unsqueeze", [b.randn(*sx)],
               lambda t, dim=dim: t.unsqueeze(dim), {"dim": dim})
    # gather: index shape may be smaller than x in non-dim axes; duplicates accumulate in grad
    for sx, si, dim in [((3, 4), (3, 2), 1), ((3, 4), (2, 4), 0), ((2, 3, 4), (2, 3, 5), -1),
                        ((2, 3, 4), (1, 2, 2), 1), ((5,), (8,), 0)]:
        idx = b.ints(0, sx[dim], *si)
        b.case("gather_%s_%s_d%s" % (sid(sx), sid(si), str(dim).replace("-", "m")), "gather",
               [b.randn(*sx), idx], lambda t, i, dim=dim: torch.gather(t, dim, i), {"dim": dim})
    # scatterAdd: out = x.scatter_add(dim, index, src)
    # src always has the index's shape (torch 1.13's scatter_add backward mishandles a larger src)
    for sx, si, ss, dim in [((3, 5), (3, 3), (3, 3), 1), ((4, 3), (6, 3), (6, 3), 0),
                            ((2, 3, 4), (2, 2, 3), (2, 2, 3), -1), ((5,), (7,), (7,), 0),
                            ((3, 4), (2, 2), (2, 2), 0)]:
        idx = b.ints(0, sx[dim], *si)
        b.case("scatterAdd_%s_%s_%s_d%s" % (sid(sx), sid(si), sid(ss), str(dim).replace("-", "m")),
               "scatterAdd", [b.randn(*sx), idx, b.randn(*ss)],
               lambda t, i, s, dim=dim: torch.scatter_add(t, dim, i, s), {"dim": dim})
    for sx, n, dim in [((5, 3), 4, 0), ((3, 5), 6, 1), ((2, 3, 4), 3, -1), ((7,), 7, 0), ((4, 2), 1, 0)]:
        idx = b.ints(0, sx[dim], n)
        b.case("indexSelect_%s_n%d_d%s" % (sid(sx), n, str(dim).replace("-", "m")), "indexSelect",
               [b.randn(*sx), idx], lambda t, i, dim=dim: torch.index_select(t, dim, i), {"dim": dim})
    for op, fn in [("tril", torch.tril), ("triu", torch.triu)]:
        for sx, k in [((4, 5), 0), ((4, 5), 1), ((5, 4), -1), ((2, 3, 3), 0)]:
            b.case("%s_%s_k%s" % (op, sid(sx), str(k).replace("-", "m")), op, [b.randn(*sx)],
                   lambda t, fn=fn, k=k: fn(t, diagonal=k), {"diagonal": k})
    return b


# ----------------------------------------------------------------------------
# second order
# ----------------------------------------------------------------------------

def gen_secondorder():
    b = Builder("secondorder", 7007)
    so = dict(second_order=True)
    b.case("grad2_mul_3x4_3x4", "mul", [b.randn(3, 4), b.randn(3, 4)], torch.mul, **so)
    b.case("grad2_mul_3x1_1x4", "mul", [b.randn(3, 1), b.randn(1, 4)], torch.mul, **so)
    b.case("grad2_exp_3x4", "exp", [b.randn(3, 4)], torch.exp, **so)
    b.case("grad2_tanh_2x3x4", "tanh", [b.randn(2, 3, 4)], torch.tanh, **so)
    b.case("grad2_sigmoid_7", "sigmoid", [b.randn(7, scale=2.0)], torch.sigmoid, **so)
    b.case("grad2_softmax_3x5_dm1", "softmax", [b.randn(3, 5)], lambda t: F.softmax(t, dim=-1),
           {"dim": -1}, **so)
    b.case("grad2_logSoftmax_3x5_dm1", "logSoftmax", [b.randn(3, 5)],
           lambda t: F.log_softmax(t, dim=-1), {"dim": -1}, **so)
    b.case("grad2_matmul_3x4_4x2", "matmul", [b.randn(3, 4), b.randn(4, 2)], torch.matmul, **so)
    b.case("grad2_matmul_2x3x4_4", "matmul", [b.randn(2, 3, 4), b.randn(4)], torch.matmul, **so)
    b.case("grad2_sum_3x4_all", "sum", [b.randn(3, 4)], torch.sum, {"keepdim": False}, **so)
    b.case("grad2_square_5", "square", [b.randn(5)], torch.square, **so)
    b.case("grad2_relu_3x4", "relu", [b.away(3, 4, lo=0.05, hi=2.0)], torch.relu, **so)
    b.case("grad2_softplus_6_b1_t20", "softplus", [b.randn(6, scale=2.0)],
           lambda t: F.softplus(t, beta=1.0, threshold=20.0), {"beta": 1.0, "threshold": 20.0}, **so)
    b.case("grad2_div_3x4_4", "div", [b.randn(3, 4), b.away(4, lo=0.5, hi=2.0)], torch.div, **so)
    b.case("grad2_log_5", "log", [b.pos(5)], torch.log, **so)
    b.case("grad2_mean_2x3x4_d1", "mean", [b.randn(2, 3, 4)], lambda t: torch.mean(t, dim=1),
           {"dim": 1, "keepdim": False}, **so)
    b.case("grad2_gelu_7", "gelu", [b.randn(7, scale=1.5)], F.gelu, **so)
    b.case("grad2_crossEntropy_4x5_mean", "crossEntropy", [b.randn(4, 5), b.ints(0, 5, 4)],
           lambda x, t: F.cross_entropy(x, t), {"reduction": "mean", "labelSmoothing": 0.0}, **so)
    return b


def main():
    builders = [gen_elementwise, gen_reductions, gen_matmul, gen_softmax, gen_losses, gen_views,
                gen_secondorder]
    total = 0
    for gen in builders:
        b = gen()
        path = b.write()
        sz = os.path.getsize(path)
        total += sz
        print("%-40s %4d cases %8d bytes" % (os.path.relpath(path, ROOT), len(b.cases), sz))
    print("total: %d cases, %d bytes" % (len(ALL_IDS), total))


if __name__ == "__main__":
    sys.exit(main())
