/**
 * Float64 CPU reference for glassbox's ops: the oracle of tests/gradcheck.test.ts.
 *
 * Plain loops over row-major Float64Arrays with NumPy broadcasting and PyTorch semantics.
 * Everything is written for obviousness, never speed: an element is addressed by its
 * multi-index, and most ops are one `build(shape, idx => ...)` saying what each output
 * element is. Composite ops (softmax, losses, ...) are composed from the primitives here,
 * the way their definitions read, not the way glassbox computes them.
 *
 * Forward passes only, plus (at the end) first-order gradients of the few ops that the
 * second-order checks difference.
 */

export interface Arr {
  readonly shape: readonly number[];
  readonly data: Float64Array;
}

// ---------------------------------------------------------------- indexing helpers

export const numel = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

export function arr(data: ArrayLike<number>, shape: readonly number[]): Arr {
  if (data.length !== numel(shape)) throw new Error(`ops64.arr: ${data.length} values for shape [${shape}]`);
  return { shape: [...shape], data: Float64Array.from(data) };
}

export const scalar = (v: number): Arr => arr([v], []);

/** The multi-index of flat position i in a row-major array of `shape`. */
function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    idx[d] = i % shape[d]!;
    i = Math.floor(i / shape[d]!);
  }
  return idx;
}

/**
 * Element of `a` at multi-index `idx`, NumPy-broadcast: `idx` may have more (leading) dims
 * than `a`, and a size-1 dim of `a` reads position 0 whatever the index.
 */
export function at(a: Arr, idx: readonly number[]): number {
  const lead = idx.length - a.shape.length;
  let flat = 0;
  for (let d = 0; d < a.shape.length; d++) flat = flat * a.shape[d]! + (a.shape[d] === 1 ? 0 : idx[lead + d]!);
  return a.data[flat]!;
}

/** The array of `shape` whose element at multi-index idx is f(idx). */
export function build(shape: readonly number[], f: (idx: number[]) => number): Arr {
  const data = new Float64Array(numel(shape));
  for (let i = 0; i < data.length; i++) data[i] = f(unravel(i, shape));
  return { shape: [...shape], data };
}

const normDim = (d: number, rank: number) => (d < 0 ? d + Math.max(rank, 1) : d);
const replaceAt = (idx: readonly number[], d: number, v: number) => idx.map((x, k) => (k === d ? v : x));

export function broadcastShape(...shapes: (readonly number[])[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  return Array.from({ length: rank }, (_, d) => {
    const sizes = shapes.map((s) => s[s.length - rank + d] ?? 1);
    const n = Math.max(...sizes);
    if (sizes.some((s) => s !== 1 && s !== n)) throw new Error(`ops64: shapes ${JSON.stringify(shapes)} do not broadcast`);
    return n;
  });
}

// ---------------------------------------------------------------- elementwise

export const map = (a: Arr, f: (x: number) => number): Arr => ({ shape: a.shape, data: a.data.map(f) });

export function zip(a: Arr, b: Arr, f: (x: number, y: number) => number): Arr {
  return build(broadcastShape(a.shape, b.shape), (i) => f(at(a, i), at(b, i)));
}

/** where(cond, a, b): a where cond != 0, else b (all three broadcast). */
export function where(cond: Arr, a: Arr, b: Arr): Arr {
  return build(broadcastShape(cond.shape, a.shape, b.shape), (i) => (at(cond, i) !== 0 ? at(a, i) : at(b, i)));
}

/**
 * erf(x) = 2/sqrt(pi) exp(-x^2) sum_n 2^n x^(2n+1) / (1*3*...*(2n+1)): every term is positive,
 * so there is no cancellation; accurate to ~1e-16 for |x| < 6, and erf is 1 to double precision beyond.
 */
export function erf(x: number): number {
  const ax = Math.abs(x);
  if (ax >= 6) return Math.sign(x);
  let term = ax;
  let total = ax;
  for (let n = 1; term > 1e-17 * total; n++) {
    term *= (2 * ax * ax) / (2 * n + 1);
    total += term;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-ax * ax) * total;
}

export const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Scalar forms of the unary ops, by glassbox name. */
export const unaryFns: Record<string, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  abs: Math.abs,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  sigmoid,
  relu: (x) => Math.max(x, 0),
  square: (x) => x * x,
  reciprocal: (x) => 1 / x,
  erf,
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  tanhGelu: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  silu: (x) => x * sigmoid(x),
  log1p: Math.log1p,
  expm1: Math.expm1,
};

export const leakyRelu = (slope: number) => (x: number) => (x > 0 ? x : slope * x);
export const elu = (alpha: number) => (x: number) => (x > 0 ? x : alpha * Math.expm1(x));
/** log(1 + exp(beta x)) / beta, and x itself where beta x > threshold (PyTorch's cut-over). */
export const softplus = (beta: number, threshold: number) => (x: number) => (beta * x > threshold ? x : Math.log1p(Math.exp(beta * x)) / beta);
export const clamp = (lo: number, hi: number) => (x: number) => Math.min(Math.max(x, lo), hi);
export const powScalar = (e: number) => (x: number) => x ** e;

/** Scalar forms of the binary ops, by glassbox name. */
export const binaryFns: Record<string, (x: number, y: number) => number> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  pow: (x, y) => x ** y,
  maximum: Math.max,
  minimum: Math.min,
  atan2: Math.atan2,
};

export const add = (a: Arr, b: Arr) => zip(a, b, binaryFns.add!);
export const sub = (a: Arr, b: Arr) => zip(a, b, binaryFns.sub!);
export const mul = (a: Arr, b: Arr) => zip(a, b, binaryFns.mul!);
export const div = (a: Arr, b: Arr) => zip(a, b, binaryFns.div!);
export const exp = (a: Arr) => map(a, Math.exp);

// ---------------------------------------------------------------- reductions

export interface ReduceOpts {
  /** Axis or axes; all when omitted. */
  dim?: number | readonly number[];
  keepdim?: boolean;
}

function axesOf(a: Arr, dim: ReduceOpts['dim']): number[] {
  if (dim === undefined) return a.shape.map((_, i) => i);
  return (typeof dim === 'number' ? [dim] : [...dim]).map((d) => normDim(d, a.shape.length));
}

/** Applies f to the list of values along the reduced axes, for every kept position. */
export function reduce(a: Arr, opts: ReduceOpts, f: (values: number[]) => number): Arr {
  const axes = axesOf(a, opts.dim);
  const keepShape = a.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const buckets: number[][] = Array.from({ length: numel(keepShape) }, () => []);
  for (let i = 0; i < a.data.length; i++) {
    const idx = unravel(i, a.shape).map((x, d) => (axes.includes(d) ? 0 : x));
    let flat = 0;
    for (let d = 0; d < idx.length; d++) flat = flat * keepShape[d]! + idx[d]!;
    buckets[flat]!.push(a.data[i]!);
  }
  const shape = opts.keepdim ? keepShape : a.shape.filter((_, i) => !axes.includes(i));
  return arr(buckets.map(f), shape);
}

const total = (v: number[]) => v.reduce((s, x) => s + x, 0);
const average = (v: number[]) => total(v) / v.length;

export const sum = (a: Arr, o: ReduceOpts = {}) => reduce(a, o, total);
export const mean = (a: Arr, o: ReduceOpts = {}) => reduce(a, o, average);
export const prod = (a: Arr, o: ReduceOpts = {}) => reduce(a, o, (v) => v.reduce((p, x) => p * x, 1));
export const amax = (a: Arr, o: ReduceOpts = {}) => reduce(a, o, (v) => Math.max(...v));
export const amin = (a: Arr, o: ReduceOpts = {}) => reduce(a, o, (v) => Math.min(...v));
/** Variance with `correction` (1: unbiased, PyTorch's default). */
export const variance = (a: Arr, o: ReduceOpts & { correction?: number } = {}) =>
  reduce(a, o, (v) => {
    const m = average(v);
    return total(v.map((x) => (x - m) ** 2)) / Math.max(v.length - (o.correction ?? 1), 0);
  });
export const std = (a: Arr, o: ReduceOpts & { correction?: number } = {}) => map(variance(a, o), Math.sqrt);
export const logsumexp = (a: Arr, o: ReduceOpts) =>
  reduce(a, o, (v) => {
    const m = Math.max(...v);
    return m + Math.log(total(v.map((x) => Math.exp(x - m))));
  });
export const norm = (a: Arr, o: ReduceOpts & { p?: number } = {}) =>
  reduce(a, o, (v) => ((o.p ?? 2) === 1 ? total(v.map(Math.abs)) : Math.sqrt(total(v.map((x) => x * x)))));

// ---------------------------------------------------------------- views and copies

export function reshape(a: Arr, shape: readonly number[]): Arr {
  const known = numel(shape.filter((d) => d !== -1));
  return arr(a.data, shape.map((d) => (d === -1 ? a.data.length / known : d)));
}

/** out[i_0, ..., i_n] = a[j] with j[dims[k]] = i_k. */
export function permute(a: Arr, dims: readonly number[]): Arr {
  const ds = dims.map((d) => normDim(d, a.shape.length));
  return build(
    ds.map((d) => a.shape[d]!),
    (idx) => {
      const src = new Array<number>(idx.length);
      ds.forEach((d, k) => (src[d] = idx[k]!));
      return at(a, src);
    },
  );
}

export function transpose(a: Arr, d0: number, d1: number): Arr {
  const dims = a.shape.map((_, i) => i);
  const [x, y] = [normDim(d0, a.shape.length), normDim(d1, a.shape.length)];
  [dims[x], dims[y]] = [dims[y]!, dims[x]!];
  return permute(a, dims);
}

export const expand = (a: Arr, shape: readonly number[]) => build(shape, (i) => at(a, i));

/** Python slice a[..., start:end:step, ...] along `dim` (step > 0). */
export function slice(a: Arr, dim: number, s: { start?: number; end?: number; step?: number }): Arr {
  const d = normDim(dim, a.shape.length);
  const n = a.shape[d]!;
  const clampIndex = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
  const start = clampIndex(s.start ?? 0);
  const step = s.step ?? 1;
  const len = Math.max(0, Math.ceil((clampIndex(s.end ?? n) - start) / step));
  return build(replaceAt(a.shape, d, len), (i) => at(a, replaceAt(i, d, start + i[d]! * step)));
}

export function cat(list: readonly Arr[], dim: number): Arr {
  const d = normDim(dim, list[0]!.shape.length);
  const shape = replaceAt(list[0]!.shape, d, list.reduce((s, a) => s + a.shape[d]!, 0));
  return build(shape, (i) => {
    let k = i[d]!;
    for (const a of list) {
      if (k < a.shape[d]!) return at(a, replaceAt(i, d, k));
      k -= a.shape[d]!;
    }
    throw new Error('unreachable');
  });
}

export function unsqueeze(a: Arr, dim: number): Arr {
  const d = normDim(dim, a.shape.length + 1);
  return reshape(a, [...a.shape.slice(0, d), 1, ...a.shape.slice(d)]);
}

export function squeeze(a: Arr, dim?: number): Arr {
  const d = dim === undefined ? undefined : normDim(dim, a.shape.length);
  return reshape(a, a.shape.filter((s, i) => !(s === 1 && (d === undefined || d === i))));
}

export const stack = (list: readonly Arr[], dim: number) => cat(list.map((a) => unsqueeze(a, normDim(dim, a.shape.length + 1))), dim);

/** F.pad order: [left, right] of the last dim, then of the one before...; negative amounts crop. */
export function pad(a: Arr, amounts: readonly number[], value = 0): Arr {
  const r = a.shape.length;
  const before = (d: number) => amounts[2 * (r - 1 - d)] ?? 0;
  const after = (d: number) => amounts[2 * (r - 1 - d) + 1] ?? 0;
  const shape = a.shape.map((s, d) => s + before(d) + after(d));
  return build(shape, (i) => {
    const src = i.map((x, d) => x - before(d));
    return src.every((x, d) => x >= 0 && x < a.shape[d]!) ? at(a, src) : value;
  });
}

export function flip(a: Arr, dims: readonly number[]): Arr {
  const ds = dims.map((d) => normDim(d, a.shape.length));
  return build(a.shape, (i) => at(a, i.map((x, d) => (ds.includes(d) ? a.shape[d]! - 1 - x : x))));
}

/** Lower triangle: keeps col - row <= diagonal over the last two dims. */
export const tril = (a: Arr, diagonal = 0) => build(a.shape, (i) => (i[i.length - 1]! - i[i.length - 2]! <= diagonal ? at(a, i) : 0));
export const triu = (a: Arr, diagonal = 0) => build(a.shape, (i) => (i[i.length - 1]! - i[i.length - 2]! >= diagonal ? at(a, i) : 0));

// ---------------------------------------------------------------- indexing (index arrays hold integers)

/** out[i] = a[i with i[dim] replaced by index[i]] (torch.gather). */
export function gather(a: Arr, dim: number, index: Arr): Arr {
  const d = normDim(dim, a.shape.length);
  return build(index.shape, (i) => at(a, replaceAt(i, d, at(index, i))));
}

/** a with src[i] added at (i with i[dim] replaced by index[i]), for every i of index (torch.scatter_add). */
export function scatterAdd(a: Arr, dim: number, index: Arr, src: Arr): Arr {
  const d = normDim(dim, a.shape.length);
  const out = arr(a.data, a.shape);
  const strides = a.shape.map((_, k) => numel(a.shape.slice(k + 1)));
  for (let k = 0; k < numel(index.shape); k++) {
    const i = unravel(k, index.shape);
    const target = replaceAt(i, d, at(index, i));
    out.data[target.reduce((f, x, j) => f + x * strides[j]!, 0)] += at(src, i);
  }
  return out;
}

/** Entries `index` (1-D) along `dim` (torch.index_select). */
export function indexSelect(a: Arr, dim: number, index: Arr): Arr {
  const d = normDim(dim, a.shape.length);
  return build(replaceAt(a.shape, d, index.data.length), (i) => at(a, replaceAt(i, d, index.data[i[d]!]!)));
}

// ---------------------------------------------------------------- matmul

/** PyTorch matmul: 1-D operands are vectors (the added dim is dropped again), batch dims broadcast. */
export function matmul(a: Arr, b: Arr): Arr {
  if (a.shape.length === 1) return squeeze(matmul(unsqueeze(a, 0), b), b.shape.length === 1 ? -1 : -2);
  if (b.shape.length === 1) return squeeze(matmul(a, unsqueeze(b, 1)), -1);
  const [M, K] = a.shape.slice(-2) as [number, number];
  const N = b.shape[b.shape.length - 1]!;
  if (b.shape[b.shape.length - 2] !== K) throw new Error('ops64.matmul: inner dims differ');
  const batch = broadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return build([...batch, M, N], (i) => {
    const bi = i.slice(0, -2);
    let s = 0;
    for (let k = 0; k < K; k++) s += at(a, [...bi, i[i.length - 2]!, k]) * at(b, [...bi, k, i[i.length - 1]!]);
    return s;
  });
}

/** x W^T + b, W of shape [out, in]. */
export const linear = (x: Arr, w: Arr, b?: Arr) => {
  const y = matmul(x, transpose(w, 0, 1));
  return b ? add(y, b) : y;
};

// ---------------------------------------------------------------- softmax family and losses

export const softmax = (a: Arr, dim: number) => {
  const e = exp(sub(a, amax(a, { dim, keepdim: true })));
  return div(e, sum(e, { dim, keepdim: true }));
};

export const logSoftmax = (a: Arr, dim: number) => sub(a, logsumexp(a, { dim, keepdim: true }));

export type Reduction = 'mean' | 'sum' | 'none';

const reduceLoss = (a: Arr, reduction: Reduction = 'mean') => (reduction === 'none' ? a : reduction === 'sum' ? sum(a) : mean(a));

/**
 * Per-sample -sum_c w_c * logp[n, c, ...] with class dim 1 ([C] alone for one sample), where
 * the weights are w_c = (1 - smoothing) [c == target] + smoothing / C.
 */
function classLoss(logp: Arr, target: Arr, smoothing: number): Arr {
  const single = logp.shape.length === 1;
  const lp = single ? unsqueeze(logp, 0) : logp;
  const t = single ? unsqueeze(target, 0) : target;
  const C = lp.shape[1]!;
  const perSample = build(t.shape, (i) => {
    let s = 0;
    for (let c = 0; c < C; c++) {
      const w = (c === at(t, i) ? 1 - smoothing : 0) + smoothing / C;
      s -= w * at(lp, [i[0]!, c, ...i.slice(1)]);
    }
    return s;
  });
  return single ? squeeze(perSample, 0) : perSample;
}

export const nllLoss = (logp: Arr, target: Arr, o: { reduction?: Reduction } = {}) => reduceLoss(classLoss(logp, target, 0), o.reduction);

export const crossEntropy = (logits: Arr, target: Arr, o: { reduction?: Reduction; labelSmoothing?: number } = {}) =>
  reduceLoss(classLoss(logSoftmax(logits, logits.shape.length === 1 ? 0 : 1), target, o.labelSmoothing ?? 0), o.reduction);

export const mseLoss = (a: Arr, b: Arr, o: { reduction?: Reduction } = {}) => reduceLoss(zip(a, b, (x, y) => (x - y) ** 2), o.reduction);

/** -(y log sigmoid(x) + (1 - y) log(1 - sigmoid(x))), written in the overflow-free form. */
export const bceWithLogits = (x: Arr, y: Arr, o: { reduction?: Reduction } = {}) =>
  reduceLoss(zip(x, y, (v, t) => Math.max(v, 0) - v * t + Math.log1p(Math.exp(-Math.abs(v)))), o.reduction);

// ---------------------------------------------------------------- resampling

export interface GridSampleOpts {
  mode: 'bilinear' | 'nearest';
  paddingMode: 'zeros' | 'border';
  alignCorners: boolean;
}

/** Round half to even (std::nearbyint, which PyTorch's nearest grid sampling uses). */
const roundHalfEven = (v: number) => (Math.abs(v - Math.trunc(v)) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));

/** torch.nn.functional.grid_sample, 4-D: x [N, C, H, W] read at grid [N, HO, WO, 2] (x then y, -1..1 across the image). */
export function gridSample(x: Arr, grid: Arr, o: GridSampleOpts): Arr {
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [, HO, WO] = grid.shape as [number, number, number];
  const source = (g: number, size: number) => {
    const v = o.alignCorners ? ((g + 1) / 2) * (size - 1) : ((g + 1) * size - 1) / 2;
    return o.paddingMode === 'border' ? Math.min(Math.max(v, 0), size - 1) : v;
  };
  return build([N, C, HO, WO], ([n, c, ho, wo]) => {
    const pixel = (py: number, px: number) => (py >= 0 && py < H && px >= 0 && px < W ? at(x, [n!, c!, py, px]) : 0);
    const px = source(at(grid, [n!, ho!, wo!, 0]), W);
    const py = source(at(grid, [n!, ho!, wo!, 1]), H);
    if (o.mode === 'nearest') return pixel(roundHalfEven(py), roundHalfEven(px));
    const [x0, y0] = [Math.floor(px), Math.floor(py)];
    const [tx, ty] = [px - x0, py - y0];
    return (1 - tx) * (1 - ty) * pixel(y0, x0) + tx * (1 - ty) * pixel(y0, x0 + 1) + (1 - tx) * ty * pixel(y0 + 1, x0) + tx * ty * pixel(y0 + 1, x0 + 1);
  });
}

/** torch.nn.functional.affine_grid, 4-D: theta [N, 2, 3] applied to each output pixel's normalised (x, y, 1), for an output of size [N, C, H, W]. */
export function affineGrid(theta: Arr, size: readonly number[], alignCorners: boolean): Arr {
  const [N, , H, W] = size as [number, number, number, number];
  const position = (i: number, n: number) => (n <= 1 ? 0 : (-1 + (2 * i) / (n - 1)) * (alignCorners ? 1 : (n - 1) / n));
  return build([N, H, W, 2], ([n, h, w, k]) => at(theta, [n!, k!, 0]) * position(w!, W) + at(theta, [n!, k!, 1]) * position(h!, H) + at(theta, [n!, k!, 2]));
}

// ---------------------------------------------------------------- first-order gradients (for second-order checks)
// Each is the vector-Jacobian product: given the inputs and G (the gradient of some L with
// respect to the op's output), the gradient of L with respect to each input.

/** Sums `g` over the dims broadcasting added or expanded, so that it has `shape`. */
export function sumTo(g: Arr, shape: readonly number[]): Arr {
  const lead = g.shape.length - shape.length;
  const axes = g.shape.map((_, i) => i).filter((i) => i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1));
  return reshape(axes.length ? sum(g, { dim: axes, keepdim: true }) : g, shape);
}

/** G scaled by f'(x), for the unary ops with a simple derivative. */
export const unaryDerivatives: Record<string, (x: number) => number> = {
  exp: Math.exp,
  log: (x) => 1 / x,
  tanh: (x) => 1 - Math.tanh(x) ** 2,
  sigmoid: (x) => sigmoid(x) * (1 - sigmoid(x)),
  softplus: sigmoid, // beta 1, below the threshold
};

export const vjp = {
  unary: (name: string, x: Arr, G: Arr) => zip(G, x, (g, v) => g * unaryDerivatives[name]!(v)),
  mul: (a: Arr, b: Arr, G: Arr) => [sumTo(mul(G, b), a.shape), sumTo(mul(G, a), b.shape)],
  div: (a: Arr, b: Arr, G: Arr) => [sumTo(div(G, b), a.shape), sumTo(zip(mul(G, a), b, (ga, v) => -ga / (v * v)), b.shape)],
  /** [G B^T, A^T G], summed over broadcast batch dims (operands at least 2-D). */
  matmul: (a: Arr, b: Arr, G: Arr) => [sumTo(matmul(G, transpose(b, -1, -2)), a.shape), sumTo(matmul(transpose(a, -1, -2), G), b.shape)],
  /** y * (G - sum(G * y)) with y = softmax(x). */
  softmax: (x: Arr, dim: number, G: Arr) => {
    const y = softmax(x, dim);
    return mul(y, sub(G, sum(mul(G, y), { dim, keepdim: true })));
  },
  /** G - softmax(x) * sum(G). */
  logSoftmax: (x: Arr, dim: number, G: Arr) => sub(G, mul(softmax(x, dim), sum(G, { dim, keepdim: true }))),
  /** G broadcast back over the reduced axes (divided by their count for mean). */
  sum: (x: Arr, o: ReduceOpts, G: Arr) => expand(reshape(G, x.shape.map((d, i) => (axesOf(x, o.dim).includes(i) ? 1 : d))), x.shape),
  mean: (x: Arr, o: ReduceOpts, G: Arr) => {
    const n = numel(axesOf(x, o.dim).map((d) => x.shape[d]!));
    return map(vjp.sum(x, o, G), (v) => v / n);
  },
  /** Logits [N, C], mean reduction: G * (softmax(z) - w) / N with w the smoothed one-hot targets. */
  crossEntropy: (z: Arr, target: Arr, smoothing: number, G: Arr) => {
    const [N, C] = z.shape as [number, number];
    const p = softmax(z, 1);
    return build(z.shape, ([n, c]) => (G.data[0]! * (at(p, [n!, c!]) - ((c === at(target, [n!]) ? 1 - smoothing : 0) + smoothing / C))) / N);
  },
};
