/**
 * Every differentiable op's gradient against central finite differences of the float64
 * reference in tests/reference/ops64.ts.
 *
 * First order: for seeded random inputs x (rounded to float32, so glassbox and the reference
 * see the same values) and a random G of the output's shape, glassbox's analytic gradient of
 * L = sum(op(x) * G) must match (L(x + h e_i) - L(x - h e_i)) / 2h computed in float64 with
 * h = 1e-6 * max(1, |x_i|). In float64 that difference is accurate to ~1e-9 (truncation
 * O(h^2) plus rounding ~1e-16 * |L| / h), so the whole tolerance (atol 1e-4, rtol 1e-3, as for
 * the PyTorch fixtures) is left to glassbox's float32 arithmetic.
 *
 * Inputs are often views: an op's input is a transposed, step-sliced (offset, strided) or
 * expanded (stride 0) view of the leaf that is differentiated, so the check also covers the
 * views' adjoints and the kernels' strided reads.
 *
 * Second order: s(x, G) = sum_k sum(dL/dx_k * V_k), with dL/dx computed by glassbox with
 * createGraph, is differentiated again by glassbox (with respect to x and G) and compared with
 * finite differences of the same s built from float64 reference gradients (ops64's `vjp`,
 * themselves checked against differences of the reference forward first).
 */
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import type { Tensor } from '../src/index.ts';
import * as R from './reference/ops64.ts';
import type { Arr } from './reference/ops64.ts';
import { expectClose } from './helpers.ts';

const GRAD_TOL = { atol: 1e-4, rtol: 1e-3 };
/** Forward values are checked too, loosely (sums of ~100 float32 terms): the PyTorch fixtures check them tightly. */
const FWD_TOL = { atol: 1e-5, rtol: 1e-3 };

// ---------------------------------------------------------------- seeded inputs

/** mulberry32, seeded from the check's name so every check is reproducible on its own. */
function rng(name: string): () => number {
  let s = 0;
  for (const ch of name) s = (Math.imul(s, 31) + ch.charCodeAt(0)) >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** normal: N(0, 1); positive: [0.5, 2); nonzero: +-[0.5, 1.5); unit: [0.05, 0.95) (probabilities). */
type Dist = 'normal' | 'positive' | 'nonzero' | 'unit';

function sample(r: () => number, dist: Dist, n: number): Float64Array {
  const draw = () => {
    switch (dist) {
      case 'normal':
        return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
      case 'positive':
        return 0.5 + 1.5 * r();
      case 'nonzero':
        return (r() < 0.5 ? -1 : 1) * (0.5 + r());
      case 'unit':
        return 0.05 + 0.9 * r();
    }
  };
  return Float64Array.from(Float32Array.from({ length: n }, draw));
}

// ---------------------------------------------------------------- layouts: how an op's input is made from its leaf

type Layout = 'contiguous' | 'transposed' | 'strided' | 'expanded';

interface Placed {
  /** The leaf's shape. */
  base: number[];
  gb: (t: Tensor) => Tensor;
  ref: (a: Arr) => Arr;
}

function place(layout: Layout, shape: readonly number[]): Placed {
  const s = [...shape];
  switch (layout) {
    case 'contiguous':
      return { base: s, gb: (t) => t, ref: (a) => a };
    case 'transposed': // the last two dims swapped: a permuted view
      return { base: [...s.slice(0, -2), s[s.length - 1]!, s[s.length - 2]!], gb: (t) => gb.transpose(t, -1, -2), ref: (a) => R.transpose(a, -1, -2) };
    case 'strided': // every other row from row 1: an offset, stride-2 view
      return { base: [2 * s[0]! + 1, ...s.slice(1)], gb: (t) => gb.slice(t, 0, { start: 1, step: 2 }), ref: (a) => R.slice(a, 0, { start: 1, step: 2 }) };
    case 'expanded': // dim 0 broadcast from size 1: a stride-0 view
      return { base: [1, ...s.slice(1)], gb: (t) => gb.expand(t, s), ref: (a) => R.expand(a, s) };
  }
}

interface Input {
  shape: number[];
  dist?: Dist;
  layout?: Layout;
  /** Fixed leaf values instead of random ones. */
  values?: number[];
}

const inp = (shape: number[], dist: Dist = 'normal', layout: Layout = 'contiguous'): Input => ({ shape, dist, layout });

interface Check {
  inputs: Input[];
  gb: (x: Tensor[]) => Tensor;
  ref: (x: Arr[]) => Arr;
}

interface Leaves {
  placed: Placed[];
  data: Float64Array[];
  tensors: Tensor[];
}

function makeLeaves(r: () => number, inputs: readonly Input[]): Leaves {
  const placed = inputs.map((i) => place(i.layout ?? 'contiguous', i.shape));
  const data = placed.map((p, k) => {
    const fixed = inputs[k]!.values;
    return fixed ? Float64Array.from(Float32Array.from(fixed)) : sample(r, inputs[k]!.dist ?? 'normal', R.numel(p.base));
  });
  const tensors = data.map((d, k) => gb.tensor(Float32Array.from(d), placed[k]!.base, { requiresGrad: true }));
  return { placed, data, tensors };
}

const dot = (a: Arr, b: Arr) => a.data.reduce((s, v, i) => s + v * b.data[i]!, 0);

/** Central differences of f with respect to every element of every array in xs (modified in place, then restored). */
function finiteDifferences(f: () => number, xs: readonly Float64Array[]): Float64Array[] {
  return xs.map((x) => {
    const g = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      const h = 1e-6 * Math.max(1, Math.abs(v));
      x[i] = v + h;
      const up = f();
      x[i] = v - h;
      const down = f();
      x[i] = v;
      g[i] = (up - down) / (2 * h);
    }
    return g;
  });
}

/** Glassbox gradients (null where unused) against expected float64 ones. */
async function compareGrads(got: readonly (Tensor | null)[], expected: readonly Float64Array[], what: string): Promise<void> {
  for (let k = 0; k < expected.length; k++) {
    const g = got[k];
    const actual = g ? await g.toArray() : new Float32Array(expected[k]!.length);
    expectClose(actual, expected[k]!, { ...GRAD_TOL, what: `${what}: d/d input ${k}${g ? '' : ' (glassbox: unused)'}` });
  }
}

async function gradcheck(name: string, c: Check): Promise<void> {
  const r = rng(name);
  const { placed, data, tensors } = makeLeaves(r, c.inputs);
  const refInputs = () => data.map((d, k) => placed[k]!.ref(R.arr(d, placed[k]!.base)));
  const out = c.gb(tensors.map((t, k) => placed[k]!.gb(t)));
  const expectedOut = c.ref(refInputs());
  expect(out.shape, `${name}: output shape`).toEqual(expectedOut.shape);
  expectClose(await out.toArray(), expectedOut.data, { ...FWD_TOL, what: `${name}: forward` });

  const G = R.arr(sample(r, 'normal', expectedOut.data.length), expectedOut.shape);
  const L = gb.sum(gb.mul(out, gb.tensor(Float32Array.from(G.data), G.shape)));
  const grads = gb.grad([L], tensors, { allowUnused: true });
  const fd = finiteDifferences(() => dot(c.ref(refInputs()), G), data);
  await compareGrads(grads, fd, name);
}

/** Registers a first-order check. */
function check(name: string, c: Check): void {
  it(name, () => gradcheck(name, c));
}

/** Fixed int32 data (indices, class targets) for both sides. */
const ints = (data: number[], shape: number[]) => ({ t: () => gb.tensor(Int32Array.from(data), shape, { dtype: 'int32' }), a: R.arr(data, shape) });

describe('gradcheck: the check itself', () => {
  it('rejects a gradient that is 0.5% off', async () => {
    const skewed = (t: Tensor) =>
      gb.withBackwardRule('exp', (ctx) => ctx.defaultBackward(ctx.gradOutput).map((g) => g && gb.mul(g, 1.005)), () => gb.exp(t));
    await expect(gradcheck('skewed exp', { inputs: [inp([7])], gb: ([x]) => skewed(x!), ref: ([x]) => R.exp(x!) })).rejects.toThrow(/d\/d input 0/);
  });
});

// ---------------------------------------------------------------- elementwise

/** An op on one tensor, run on a rank-0, a prime-length vector and rank-3 transposed / strided / expanded views. */
function unaryCases(name: string, f: (t: Tensor) => Tensor, ref: (x: number) => number, dist: Dist = 'normal'): void {
  const cases: Array<[number[], Layout]> = [
    [[], 'contiguous'],
    [[7], 'contiguous'],
    [[2, 3, 5], 'transposed'],
    [[3, 1, 5], 'strided'],
    [[4, 1, 3], 'expanded'],
  ];
  for (const [shape, layout] of cases)
    check(`${name} [${shape}] ${layout}`, { inputs: [inp(shape, dist, layout)], gb: ([x]) => f(x!), ref: ([x]) => R.map(x!, ref) });
}

describe('gradcheck: unary elementwise', () => {
  const U = R.unaryFns;
  const plain: Array<[keyof typeof gb & string, Dist]> = [
    ['neg', 'normal'],
    ['exp', 'normal'],
    ['log', 'positive'],
    ['sqrt', 'positive'],
    ['rsqrt', 'positive'],
    ['abs', 'normal'],
    ['sin', 'normal'],
    ['cos', 'normal'],
    ['tanh', 'normal'],
    ['sigmoid', 'normal'],
    ['relu', 'normal'],
    ['square', 'normal'],
    ['reciprocal', 'nonzero'],
    ['erf', 'normal'],
    ['gelu', 'normal'],
    ['silu', 'normal'],
    ['log1p', 'positive'],
    ['expm1', 'normal'],
  ];
  for (const [op, dist] of plain) unaryCases(op, gb[op] as (t: Tensor) => Tensor, U[op]!, dist);
  unaryCases('gelu tanh', (t) => gb.gelu(t, { approximate: 'tanh' }), U.tanhGelu!);
  unaryCases('leakyRelu 0.1', (t) => gb.leakyRelu(t, { negativeSlope: 0.1 }), R.leakyRelu(0.1));
  unaryCases('elu 1.5', (t) => gb.elu(t, { alpha: 1.5 }), R.elu(1.5));
  unaryCases('softplus', (t) => gb.softplus(t), R.softplus(1, 20));
  unaryCases('softplus beta 2 threshold 1', (t) => gb.softplus(t, { beta: 2, threshold: 1 }), R.softplus(2, 1));
  unaryCases('clamp -0.5..0.5', (t) => gb.clamp(t, { min: -0.5, max: 0.5 }), R.clamp(-0.5, 0.5));
  unaryCases('clamp min 0.2', (t) => gb.clamp(t, { min: 0.2 }), R.clamp(0.2, Infinity));
  unaryCases('powScalar 3', (t) => gb.powScalar(t, 3), R.powScalar(3));
  unaryCases('powScalar 0.5', (t) => gb.powScalar(t, 0.5), R.powScalar(0.5), 'positive');
  unaryCases('powScalar -1.5', (t) => gb.powScalar(t, -1.5), R.powScalar(-1.5), 'positive');
  unaryCases('powScalar -2', (t) => gb.powScalar(t, -2), R.powScalar(-2), 'nonzero');
});

describe('gradcheck: binary elementwise and where', () => {
  const ops: Array<['add' | 'sub' | 'mul' | 'div' | 'pow' | 'maximum' | 'minimum' | 'atan2', Dist, Dist]> = [
    ['add', 'normal', 'normal'],
    ['sub', 'normal', 'normal'],
    ['mul', 'normal', 'normal'],
    ['div', 'normal', 'nonzero'],
    ['pow', 'positive', 'normal'],
    ['maximum', 'normal', 'normal'],
    ['minimum', 'normal', 'normal'],
    ['atan2', 'normal', 'normal'],
  ];
  const shapes: Array<[number[], Layout, number[], Layout]> = [
    [[3, 4], 'contiguous', [3, 4], 'contiguous'],
    [[2, 3, 4], 'contiguous', [4], 'contiguous'], // b broadcast over two leading dims
    [[3, 1], 'contiguous', [1, 5], 'contiguous'], // both broadcast
    [[], 'contiguous', [5], 'contiguous'], // rank 0 against a vector
    [[2, 3, 5], 'transposed', [2, 3, 5], 'strided'],
    [[3, 2, 5], 'expanded', [2, 1], 'contiguous'],
  ];
  for (const [op, da, db] of ops) {
    for (const [sa, la, sb, lb] of shapes)
      check(`${op} [${sa}] ${la} with [${sb}] ${lb}`, {
        inputs: [inp(sa, da, la), inp(sb, db, lb)],
        gb: ([a, b]) => gb[op](a!, b!),
        ref: ([a, b]) => R.zip(a!, b!, R.binaryFns[op]!),
      });
  }
  // one operand a plain number
  const withNumber: Array<[string, (t: Tensor) => Tensor, (x: number) => number, Dist]> = [
    ['add(x, 2)', (t) => gb.add(t, 2), (x) => x + 2, 'normal'],
    ['sub(2, x)', (t) => gb.sub(2, t), (x) => 2 - x, 'normal'],
    ['mul(x, 3)', (t) => gb.mul(t, 3), (x) => 3 * x, 'normal'],
    ['div(2, x)', (t) => gb.div(2, t), (x) => 2 / x, 'nonzero'],
    ['div(x, 4)', (t) => gb.div(t, 4), (x) => x / 4, 'normal'],
    ['pow(x, 3)', (t) => gb.pow(t, 3), (x) => x ** 3, 'normal'],
    ['maximum(x, 0.3)', (t) => gb.maximum(t, 0.3), (x) => Math.max(x, 0.3), 'normal'],
    ['minimum(0.3, x)', (t) => gb.minimum(0.3, t), (x) => Math.min(0.3, x), 'normal'],
  ];
  for (const [name, f, ref, dist] of withNumber) check(`${name} [3,4]`, { inputs: [inp([3, 4], dist)], gb: ([x]) => f(x!), ref: ([x]) => R.map(x!, ref) });
  check('atan2(x, 0.7) [3,4]', { inputs: [inp([3, 4])], gb: ([x]) => gb.atan2(x!, 0.7), ref: ([x]) => R.map(x!, (v) => Math.atan2(v, 0.7)) });
  check('atan2(0.7, x) [3,4]', { inputs: [inp([3, 4])], gb: ([x]) => gb.atan2(0.7, x!), ref: ([x]) => R.map(x!, (v) => Math.atan2(0.7, v)) });
  check('pow(2, x) [3,4]', { inputs: [inp([3, 4])], gb: ([x]) => gb.pow(2, x!), ref: ([x]) => R.map(x!, (v) => 2 ** v) });

  const cond = (data: number[], shape: number[]) => ({ t: () => gb.tensor(data, shape), a: R.arr(data, shape) });
  const c34 = cond([1, 0, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1], [3, 4]);
  const c14 = cond([0, 1, 1, 0], [1, 4]);
  check('where [3,4] with a [3,4], b [4]', {
    inputs: [inp([3, 4]), inp([4])],
    gb: ([a, b]) => gb.where(c34.t(), a!, b!),
    ref: ([a, b]) => R.where(c34.a, a!, b!),
  });
  check('where cond [1,4] with a [3,1] transposed, b []', {
    inputs: [inp([2, 3, 1], 'normal', 'transposed'), inp([])],
    gb: ([a, b]) => gb.where(c14.t(), a!, b!),
    ref: ([a, b]) => R.where(c14.a, a!, b!),
  });
  check('where(cond, x, 0) and where(cond, 0.5, x)', {
    inputs: [inp([3, 4], 'normal', 'strided')],
    gb: ([x]) => gb.add(gb.where(c34.t(), x!, 0), gb.where(c34.t(), 0.5, gb.mul(x!, 2))),
    ref: ([x]) => R.add(R.where(c34.a, x!, R.scalar(0)), R.where(c34.a, R.scalar(0.5), R.map(x!, (v) => 2 * v))),
  });
  check('tril -1 / triu 1 on [2,4,5] transposed', {
    inputs: [inp([2, 4, 5], 'normal', 'transposed'), inp([4, 5])],
    gb: ([x, y]) => gb.add(gb.tril(x!, -1), gb.triu(y!, 1)),
    ref: ([x, y]) => R.add(R.tril(x!, -1), R.triu(y!, 1)),
  });
  check('tril / triu diagonal 0 on [3,3]', {
    inputs: [inp([3, 3])],
    gb: ([x]) => gb.sub(gb.tril(x!), gb.mul(gb.triu(x!), 2)),
    ref: ([x]) => R.sub(R.tril(x!), R.map(R.triu(x!), (v) => 2 * v)),
  });
});

// ---------------------------------------------------------------- reductions

describe('gradcheck: reductions', () => {
  type Opts = { dim?: number | number[]; keepdim?: boolean };
  const ops: Array<[string, (x: Tensor, o: Opts) => Tensor, (x: Arr, o: Opts) => Arr, Dist, boolean]> = [
    // name, glassbox, reference, input distribution, whether an expanded input makes sense
    ['sum', (x, o) => gb.sum(x, o), R.sum, 'normal', true],
    ['mean', (x, o) => gb.mean(x, o), R.mean, 'normal', true],
    ['prod', (x, o) => gb.prod(x, o), R.prod, 'nonzero', true],
    ['amax', (x, o) => gb.amax(x, o), R.amax, 'normal', true],
    ['amin', (x, o) => gb.amin(x, o), R.amin, 'normal', true],
    ['var', (x, o) => gb.variance(x, o), (x, o) => R.variance(x, o), 'normal', true],
    ['var correction 0', (x, o) => gb.variance(x, { ...o, correction: 0 }), (x, o) => R.variance(x, { ...o, correction: 0 }), 'normal', true],
    // std of a constant (expanded) row has an infinite gradient: no expanded case
    ['std', (x, o) => gb.std(x, o), (x, o) => R.std(x, o), 'normal', false],
    ['std correction 0', (x, o) => gb.std(x, { ...o, correction: 0 }), (x, o) => R.std(x, { ...o, correction: 0 }), 'normal', false],
    ['logsumexp', (x, o) => gb.logsumexp(x, { dim: o.dim ?? x.shape.map((_, i) => i), keepdim: o.keepdim }), R.logsumexp, 'normal', true],
    ['norm', (x, o) => gb.norm(x, o), (x, o) => R.norm(x, o), 'normal', true],
    ['norm p1', (x, o) => gb.norm(x, { ...o, p: 1 }), (x, o) => R.norm(x, { ...o, p: 1 }), 'normal', true],
  ];
  const cases: Array<[number[], Layout, Opts]> = [
    [[3, 4, 5], 'contiguous', {}],
    [[3, 4, 5], 'contiguous', { dim: 0 }],
    [[3, 4, 5], 'contiguous', { dim: -1, keepdim: true }],
    [[3, 4, 5], 'contiguous', { dim: [0, 2] }],
    [[3, 4, 5], 'transposed', { dim: 1 }],
    [[3, 4, 5], 'strided', { dim: [0, 2], keepdim: true }],
    [[7], 'contiguous', { dim: 0, keepdim: true }],
    [[2, 1, 3], 'strided', { dim: [1, 2] }],
  ];
  for (const [name, f, ref, dist, expandOk] of ops) {
    for (const [shape, layout, o] of cases)
      check(`${name} [${shape}] ${layout} ${JSON.stringify(o)}`, { inputs: [inp(shape, dist, layout)], gb: ([x]) => f(x!, o), ref: ([x]) => ref(x!, o) });
    if (expandOk)
      check(`${name} [3,4,5] expanded {"dim":[0,1]}`, { inputs: [inp([3, 4, 5], dist, 'expanded')], gb: ([x]) => f(x!, { dim: [0, 1] }), ref: ([x]) => ref(x!, { dim: [0, 1] }) });
    // var / std of one element divide by zero (correction 1) or have an infinite gradient (correction 0)
    if (!name.startsWith('var') && !name.startsWith('std'))
      check(`${name} [] contiguous {}`, { inputs: [inp([], dist)], gb: ([x]) => f(x!, {}), ref: ([x]) => ref(x!, {}) });
  }
  check('prod [2,3] dim 1 with a zero entry', {
    inputs: [{ shape: [2, 3], values: [0.5, 0, 1.5, -1, 2, 0.75] }],
    gb: ([x]) => gb.prod(x!, { dim: 1 }),
    ref: ([x]) => R.prod(x!, { dim: 1 }),
  });
  for (const which of ['max', 'min'] as const) {
    const ref = which === 'max' ? R.amax : R.amin;
    check(`${which}({dim}) values [3,4,5] transposed dim 1`, { inputs: [inp([3, 4, 5], 'normal', 'transposed')], gb: ([x]) => gb[which](x!, { dim: 1 }).values, ref: ([x]) => ref(x!, { dim: 1 }) });
    check(`${which}({dim, keepdim}) values [3,4,5] dim -1`, { inputs: [inp([3, 4, 5])], gb: ([x]) => gb[which](x!, { dim: -1, keepdim: true }).values, ref: ([x]) => ref(x!, { dim: -1, keepdim: true }) });
    check(`${which}() [2,5]`, { inputs: [inp([2, 5])], gb: ([x]) => gb[which](x!), ref: ([x]) => ref(x!) });
  }
});

// ---------------------------------------------------------------- views and copies

describe('gradcheck: views and copies', () => {
  const one = (name: string, input: Input, f: (x: Tensor) => Tensor, ref: (x: Arr) => Arr) => check(name, { inputs: [input], gb: ([x]) => f(x!), ref: ([x]) => ref(x!) });
  one('reshape [3,4,5] -> [5,12]', inp([3, 4, 5]), (x) => gb.reshape(x, [5, 12]), (x) => R.reshape(x, [5, 12]));
  one('reshape [12] -> [3,-1]', inp([12]), (x) => gb.reshape(x, [3, -1]), (x) => R.reshape(x, [3, -1]));
  one('reshape transposed [2,3,5] -> [6,5] (a copy)', inp([2, 3, 5], 'normal', 'transposed'), (x) => gb.reshape(x, [6, 5]), (x) => R.reshape(x, [6, 5]));
  one('reshape strided [3,4] -> [12]', inp([3, 4], 'normal', 'strided'), (x) => gb.reshape(x, [12]), (x) => R.reshape(x, [12]));
  one('reshape [] -> [1,1]', inp([]), (x) => gb.reshape(x, [1, 1]), (x) => R.reshape(x, [1, 1]));
  one('view strided [3,4,2] -> [3,8]', inp([3, 4, 2], 'normal', 'strided'), (x) => gb.view(x, [3, 8]), (x) => R.reshape(x, [3, 8]));
  one('flatten [2,3,5] from 1', inp([2, 3, 5]), (x) => gb.flatten(x, 1), (x) => R.reshape(x, [2, 15]));
  one('permute [2,3,5] -> [5,2,3]', inp([2, 3, 5]), (x) => gb.permute(x, [2, 0, 1]), (x) => R.permute(x, [2, 0, 1]));
  one('permute transposed [2,3,5] by [1,2,0]', inp([2, 3, 5], 'normal', 'transposed'), (x) => gb.permute(x, [1, 2, 0]), (x) => R.permute(x, [1, 2, 0]));
  one('transpose [3,4,5] dims 0, 2', inp([3, 4, 5]), (x) => gb.transpose(x, 0, 2), (x) => R.transpose(x, 0, 2));
  one('contiguous of transposed [3,5]', inp([3, 5], 'normal', 'transposed'), (x) => gb.contiguous(x), (x) => x);
  one('expand [3,1,5] -> [2,3,4,5]', inp([3, 1, 5]), (x) => gb.expand(x, [2, 3, 4, 5]), (x) => R.expand(x, [2, 3, 4, 5]));
  one('expand [1] -> [7]', inp([1]), (x) => gb.expand(x, [7]), (x) => R.expand(x, [7]));
  one('expand [] -> [3,2]', inp([]), (x) => gb.expand(x, [3, 2]), (x) => R.expand(x, [3, 2]));
  one('expand transposed [4,1] -> [3,4,2] via -1', inp([4, 1], 'normal', 'transposed'), (x) => gb.expand(x, [3, -1, 2]), (x) => R.expand(x, [3, 4, 2]));
  one('slice [5,7] dim 1 1::2', inp([5, 7]), (x) => gb.slice(x, 1, { start: 1, step: 2 }), (x) => R.slice(x, 1, { start: 1, step: 2 }));
  one('slice [5,7] dim 0 -3:', inp([5, 7]), (x) => gb.slice(x, 0, { start: -3 }), (x) => R.slice(x, 0, { start: -3 }));
  one('slice [2,11] dim -1 2:10:3', inp([2, 11]), (x) => gb.slice(x, -1, { start: 2, end: 10, step: 3 }), (x) => R.slice(x, -1, { start: 2, end: 10, step: 3 }));
  one('slice of strided [4,6] dim 1 ::2', inp([4, 6], 'normal', 'strided'), (x) => gb.slice(x, 1, { step: 2 }), (x) => R.slice(x, 1, { step: 2 }));
  one('slice of slice [13] 1::2 then ::3', inp([13]), (x) => gb.slice(gb.slice(x, 0, { start: 1, step: 2 }), 0, { step: 3 }), (x) => R.slice(R.slice(x, 0, { start: 1, step: 2 }), 0, { step: 3 }));
  one('select [3,4,5] dim 1 index -1', inp([3, 4, 5]), (x) => gb.select(x, 1, -1), (x) => R.squeeze(R.slice(x, 1, { start: 3, end: 4 }), 1));
  one('squeeze [3,1,5,1] all', inp([3, 1, 5, 1]), (x) => gb.squeeze(x), (x) => R.squeeze(x));
  one('squeeze [3,1,5] dim 1 of expanded', inp([3, 1, 5], 'normal', 'expanded'), (x) => gb.squeeze(x, 1), (x) => R.squeeze(x, 1));
  one('unsqueeze transposed [2,3] at -1', inp([2, 3], 'normal', 'transposed'), (x) => gb.unsqueeze(x, -1), (x) => R.unsqueeze(x, -1));
  one('unsqueeze [] at 0', inp([]), (x) => gb.unsqueeze(x, 0), (x) => R.unsqueeze(x, 0));
  one('flip [3,4,5] dims [0,2]', inp([3, 4, 5]), (x) => gb.flip(x, [0, 2]), (x) => R.flip(x, [0, 2]));
  one('flip strided [3,4] dim -1', inp([3, 4], 'normal', 'strided'), (x) => gb.flip(x, -1), (x) => R.flip(x, [-1]));
  one('pad [3,4] [1,2]', inp([3, 4]), (x) => gb.pad(x, [1, 2]), (x) => R.pad(x, [1, 2]));
  one('pad [2,3,4] [1,0,2,1] value 0.5', inp([2, 3, 4]), (x) => gb.pad(x, [1, 0, 2, 1], 0.5), (x) => R.pad(x, [1, 0, 2, 1], 0.5));
  one('pad transposed [3,5] [-1,2,0,-1] (crop and pad)', inp([3, 5], 'normal', 'transposed'), (x) => gb.pad(x, [-1, 2, 0, -1]), (x) => R.pad(x, [-1, 2, 0, -1]));

  check('cat 3 tensors dim 1 (one transposed, one strided)', {
    inputs: [inp([2, 3, 4]), inp([2, 4, 4], 'normal', 'transposed'), inp([2, 1, 4], 'normal', 'strided')],
    gb: (xs) => gb.cat(xs, 1),
    ref: (xs) => R.cat(xs, 1),
  });
  check('cat [5] and [2] dim 0', { inputs: [inp([5]), inp([2])], gb: (xs) => gb.cat(xs, 0), ref: (xs) => R.cat(xs, 0) });
  check('cat the same tensor twice dim -1', { inputs: [inp([3, 2])], gb: ([x]) => gb.cat([x!, x!], -1), ref: ([x]) => R.cat([x!, x!], -1) });
  check('stack 3 [2,3] dim 0 (one expanded)', {
    inputs: [inp([2, 3]), inp([2, 3], 'normal', 'expanded'), inp([2, 3])],
    gb: (xs) => gb.stack(xs, 0),
    ref: (xs) => R.stack(xs, 0),
  });
  check('stack 2 [4] dim -1', { inputs: [inp([4]), inp([4])], gb: (xs) => gb.stack(xs, -1), ref: (xs) => R.stack(xs, -1) });
  check('stack 2 [] dim 0', { inputs: [inp([]), inp([])], gb: (xs) => gb.stack(xs, 0), ref: (xs) => R.stack(xs, 0) });
});

// ---------------------------------------------------------------- indexing

describe('gradcheck: gather, scatterAdd, indexSelect', () => {
  const i34 = ints([0, 4, 4, 1, 2, 2, 2, 0, 3, 1, 0, 4], [3, 4]); // repeats: the gradient must accumulate
  check('gather [3,5] dim 1, index [3,4] with repeats', { inputs: [inp([3, 5])], gb: ([x]) => gb.gather(x!, 1, i34.t()), ref: ([x]) => R.gather(x!, 1, i34.a) });
  const i24 = ints([2, 0, 1, 2, 0, 0, 2, 1], [2, 4]);
  check('gather transposed [3,5] dim 0, index [2,4]', {
    inputs: [inp([3, 5], 'normal', 'transposed')],
    gb: ([x]) => gb.gather(x!, 0, i24.t()),
    ref: ([x]) => R.gather(x!, 0, i24.a),
  });
  const i232 = ints([1, 0, 2, 2, 0, 0, 1, 1, 2, 0, 1, 2], [2, 3, 2]);
  check('gather strided [2,4,3] dim -1, index [2,3,2]', {
    inputs: [inp([2, 4, 3], 'normal', 'strided')],
    gb: ([x]) => gb.gather(x!, -1, i232.t()),
    ref: ([x]) => R.gather(x!, -1, i232.a),
  });
  const s35 = ints([0, 3, 3, 1, 0, 2, 2, 3, 0, 1, 3, 3, 3, 0, 1], [3, 5]);
  check('scatterAdd x [4,5] dim 0, index [3,5], src [3,5]', {
    inputs: [inp([4, 5]), inp([3, 5])],
    gb: ([x, s]) => gb.scatterAdd(x!, 0, s35.t(), s!),
    ref: ([x, s]) => R.scatterAdd(x!, 0, s35.a, s!),
  });
  check('scatterAdd x transposed [4,5] dim 0, src [4,6] larger than index', {
    inputs: [inp([4, 5], 'normal', 'transposed'), inp([4, 6], 'normal', 'strided')],
    gb: ([x, s]) => gb.scatterAdd(x!, 0, s35.t(), s!),
    ref: ([x, s]) => R.scatterAdd(x!, 0, s35.a, s!),
  });
  const i22 = ints([2, 0, 1, 0, 2, 2], [2, 3]);
  check('scatterAdd x [2,3] dim 1, src expanded', {
    inputs: [inp([2, 3]), inp([2, 3], 'normal', 'expanded')],
    gb: ([x, s]) => gb.scatterAdd(x!, 1, i22.t(), s!),
    ref: ([x, s]) => R.scatterAdd(x!, 1, i22.a, s!),
  });
  const sel = ints([2, 0, 2, 1], [4]);
  check('indexSelect [3,4] dim 0 with repeats', { inputs: [inp([3, 4])], gb: ([x]) => gb.indexSelect(x!, 0, sel.t()), ref: ([x]) => R.indexSelect(x!, 0, sel.a) });
  check('indexSelect transposed [2,3,5] dim -1', {
    inputs: [inp([2, 3, 5], 'normal', 'transposed')],
    gb: ([x]) => gb.indexSelect(x!, -1, sel.t()),
    ref: ([x]) => R.indexSelect(x!, -1, sel.a),
  });
});

// ---------------------------------------------------------------- matmul and linear

describe('gradcheck: matmul and linear', () => {
  const mm = (name: string, a: Input, b: Input) => check(`matmul ${name}`, { inputs: [a, b], gb: ([x, y]) => gb.matmul(x!, y!), ref: ([x, y]) => R.matmul(x!, y!) });
  mm('[3,4] @ [4,5]', inp([3, 4]), inp([4, 5]));
  mm('[7,13] @ [13,3] (primes)', inp([7, 13]), inp([13, 3]));
  mm('[1,5] @ [5,1]', inp([1, 5]), inp([5, 1]));
  mm('batch broadcast [2,1,3,4] @ [5,4,2]', inp([2, 1, 3, 4]), inp([5, 4, 2]));
  mm('[2,3,4] @ [4,5] (shared right operand)', inp([2, 3, 4]), inp([4, 5]));
  mm('[3,4] @ [2,4,5] (shared left operand)', inp([3, 4]), inp([2, 4, 5]));
  mm('[4] @ [4]', inp([4]), inp([4]));
  mm('[4] @ [4,3]', inp([4]), inp([4, 3]));
  mm('[3,4] @ [4]', inp([3, 4]), inp([4]));
  mm('[2,3,4] @ [4]', inp([2, 3, 4]), inp([4]));
  mm('[4] @ [2,4,3]', inp([4]), inp([2, 4, 3]));
  mm('transposed [3,4] @ transposed [4,5]', inp([3, 4], 'normal', 'transposed'), inp([4, 5], 'normal', 'transposed'));
  mm('strided [3,4] @ [4,5]', inp([3, 4], 'normal', 'strided'), inp([4, 5]));
  mm('expanded [2,3,4] @ transposed [2,4,5]', inp([2, 3, 4], 'normal', 'expanded'), inp([2, 4, 5], 'normal', 'transposed'));
  check('matmul x @ x^T (one tensor, both operands)', { inputs: [inp([3, 4])], gb: ([x]) => gb.matmul(x!, gb.transpose(x!, 0, 1)), ref: ([x]) => R.matmul(x!, R.transpose(x!, 0, 1)) });
  check('linear [3,5] W [4,5] b [4]', { inputs: [inp([3, 5]), inp([4, 5]), inp([4])], gb: ([x, w, b]) => gb.linear(x!, w!, b), ref: ([x, w, b]) => R.linear(x!, w!, b) });
  check('linear [2,3,5] W [4,5] no bias', { inputs: [inp([2, 3, 5]), inp([4, 5])], gb: ([x, w]) => gb.linear(x!, w!), ref: ([x, w]) => R.linear(x!, w!) });
  check('linear [5] W [1,5] b [1]', { inputs: [inp([5]), inp([1, 5]), inp([1])], gb: ([x, w, b]) => gb.linear(x!, w!, b), ref: ([x, w, b]) => R.linear(x!, w!, b) });
});

// ---------------------------------------------------------------- softmax family and losses

describe('gradcheck: softmax and losses', () => {
  for (const [shape, layout, dim] of [
    [[3, 4, 5], 'contiguous', -1],
    [[3, 4, 5], 'transposed', 1],
    [[3, 4, 5], 'strided', 0],
    [[7], 'contiguous', 0],
    [[2, 1, 3], 'contiguous', 1],
  ] as Array<[number[], Layout, number]>) {
    check(`softmax [${shape}] ${layout} dim ${dim}`, { inputs: [inp(shape, 'normal', layout)], gb: ([x]) => gb.softmax(x!, dim), ref: ([x]) => R.softmax(x!, dim) });
    check(`logSoftmax [${shape}] ${layout} dim ${dim}`, { inputs: [inp(shape, 'normal', layout)], gb: ([x]) => gb.logSoftmax(x!, dim), ref: ([x]) => R.logSoftmax(x!, dim) });
  }
  const t4 = ints([2, 0, 4, 2], [4]);
  const t1 = ints([3], []);
  const t23 = ints([1, 0, 2, 2, 1, 1], [2, 3]);
  type CE = { reduction?: 'mean' | 'sum' | 'none'; labelSmoothing?: number };
  const ce: Array<[string, Input, ReturnType<typeof ints>, CE]> = [
    ['[4,5]', inp([4, 5]), t4, {}],
    ['[4,5] label smoothing 0.1', inp([4, 5]), t4, { labelSmoothing: 0.1 }],
    ['[4,5] transposed, sum', inp([4, 5], 'normal', 'transposed'), t4, { reduction: 'sum' }],
    ['[4,5] strided, none, smoothing 0.2', inp([4, 5], 'normal', 'strided'), t4, { reduction: 'none', labelSmoothing: 0.2 }],
    ['[5] one sample', inp([5]), t1, {}],
    ['[2,3,3] spatial', inp([2, 3, 3]), t23, { labelSmoothing: 0.1 }],
  ];
  for (const [name, input, target, o] of ce)
    check(`crossEntropy ${name}`, { inputs: [input], gb: ([x]) => gb.crossEntropy(x!, target.t(), o), ref: ([x]) => R.crossEntropy(x!, target.a, o) });
  check('nllLoss [4,5] mean', { inputs: [inp([4, 5])], gb: ([x]) => gb.nllLoss(x!, t4.t()), ref: ([x]) => R.nllLoss(x!, t4.a) });
  check('nllLoss of logSoftmax [2,3,3] sum', {
    inputs: [inp([2, 3, 3])],
    gb: ([x]) => gb.nllLoss(gb.logSoftmax(x!, 1), t23.t(), { reduction: 'sum' }),
    ref: ([x]) => R.nllLoss(R.logSoftmax(x!, 1), t23.a, { reduction: 'sum' }),
  });
  check('nllLoss [5] one sample, none', { inputs: [inp([5])], gb: ([x]) => gb.nllLoss(x!, t1.t(), { reduction: 'none' }), ref: ([x]) => R.nllLoss(x!, t1.a, { reduction: 'none' }) });
  for (const reduction of ['mean', 'sum', 'none'] as const) {
    check(`mseLoss [3,4] ${reduction}`, {
      inputs: [inp([3, 4]), inp([3, 4], 'normal', 'transposed')],
      gb: ([a, b]) => gb.mseLoss(a!, b!, { reduction }),
      ref: ([a, b]) => R.mseLoss(a!, b!, { reduction }),
    });
    check(`binaryCrossEntropyWithLogits [3,4] ${reduction}`, {
      inputs: [inp([3, 4], 'normal', 'strided'), inp([3, 4], 'unit')],
      gb: ([x, y]) => gb.binaryCrossEntropyWithLogits(x!, y!, { reduction }),
      ref: ([x, y]) => R.bceWithLogits(x!, y!, { reduction }),
    });
  }
});

// ---------------------------------------------------------------- second order

interface Check2 {
  inputs: Input[];
  gb: (x: Tensor[]) => Tensor;
  ref: (x: Arr[]) => Arr;
  /** Reference dL/dx_k for L = sum(ref(x) * G). */
  vjp: (x: Arr[], G: Arr) => Arr[];
}

async function gradgradcheck(name: string, c: Check2): Promise<void> {
  const r = rng(name);
  const { data, tensors } = makeLeaves(r, c.inputs);
  const shapes = c.inputs.map((i) => i.shape);
  const xs = () => data.map((d, k) => R.arr(d, shapes[k]!));
  const outShape = c.ref(xs()).shape;
  const gData = sample(r, 'normal', R.numel(outShape));
  const G = () => R.arr(gData, outShape);
  const V = shapes.map((s) => R.arr(sample(r, 'normal', R.numel(s)), s));

  // the oracle first: reference gradients against differences of the reference forward
  const first = c.vjp(xs(), G());
  const fd1 = finiteDifferences(() => dot(c.ref(xs()), G()), data);
  first.forEach((g, k) => expectClose(g.data, fd1[k]!, { atol: 1e-7, rtol: 1e-6, what: `${name}: reference gradient ${k}` }));

  const Gt = gb.tensor(Float32Array.from(gData), outShape, { requiresGrad: true });
  const L = gb.sum(gb.mul(c.gb(tensors), Gt));
  const g = gb.grad([L], tensors, { createGraph: true });
  const s = g.map((gk, k) => gb.sum(gb.mul(gk, gb.tensor(Float32Array.from(V[k]!.data), shapes[k]!)))).reduce((a, b) => gb.add(a, b));
  const gg = gb.grad([s], [...tensors, Gt], { allowUnused: true });
  const sRef = () => c.vjp(xs(), G()).reduce((acc, gk, k) => acc + dot(gk, V[k]!), 0);
  const fd2 = finiteDifferences(sRef, [...data, gData]);
  await compareGrads(gg, fd2, `${name} (second order; the last input is G)`);
}

function check2(name: string, c: Check2): void {
  it(name, () => gradgradcheck(name, c));
}

describe('gradgradcheck: second order', () => {
  const V = R.vjp;
  check2('matmul [3,4] @ [4,5]', { inputs: [inp([3, 4]), inp([4, 5])], gb: ([a, b]) => gb.matmul(a!, b!), ref: ([a, b]) => R.matmul(a!, b!), vjp: ([a, b], G) => V.matmul(a!, b!, G) });
  check2('matmul batch broadcast [2,1,3,4] @ [5,4,2]', {
    inputs: [inp([2, 1, 3, 4]), inp([5, 4, 2])],
    gb: ([a, b]) => gb.matmul(a!, b!),
    ref: ([a, b]) => R.matmul(a!, b!),
    vjp: ([a, b], G) => V.matmul(a!, b!, G),
  });
  check2('mul [3,4] * [4]', { inputs: [inp([3, 4]), inp([4])], gb: ([a, b]) => gb.mul(a!, b!), ref: ([a, b]) => R.mul(a!, b!), vjp: ([a, b], G) => V.mul(a!, b!, G) });
  check2('mul x * x', { inputs: [inp([5])], gb: ([a]) => gb.mul(a!, a!), ref: ([a]) => R.mul(a!, a!), vjp: ([a], G) => [R.map(R.mul(G, a!), (v) => 2 * v)] });
  check2('div [3,4] / [3,1]', { inputs: [inp([3, 4]), inp([3, 1], 'nonzero')], gb: ([a, b]) => gb.div(a!, b!), ref: ([a, b]) => R.div(a!, b!), vjp: ([a, b], G) => V.div(a!, b!, G) });
  for (const [op, dist] of [
    ['exp', 'normal'],
    ['tanh', 'normal'],
    ['sigmoid', 'normal'],
    ['softplus', 'normal'],
    ['log', 'positive'],
  ] as const) {
    check2(`${op} [2,3,5]`, {
      inputs: [inp([2, 3, 5], dist)],
      gb: ([x]) => (gb[op] as (t: Tensor) => Tensor)(x!),
      ref: ([x]) => R.map(x!, op === 'softplus' ? R.softplus(1, 20) : R.unaryFns[op]!),
      vjp: ([x], G) => [V.unary(op, x!, G)],
    });
  }
  for (const dim of [-1, 0]) {
    check2(`softmax [3,4,5] dim ${dim}`, { inputs: [inp([3, 4, 5])], gb: ([x]) => gb.softmax(x!, dim), ref: ([x]) => R.softmax(x!, dim), vjp: ([x], G) => [V.softmax(x!, dim, G)] });
    check2(`logSoftmax [3,4,5] dim ${dim}`, { inputs: [inp([3, 4, 5])], gb: ([x]) => gb.logSoftmax(x!, dim), ref: ([x]) => R.logSoftmax(x!, dim), vjp: ([x], G) => [V.logSoftmax(x!, dim, G)] });
  }
  for (const o of [{}, { dim: 1 }, { dim: [0, 2], keepdim: true }]) {
    check2(`sum [2,3,4] ${JSON.stringify(o)}`, { inputs: [inp([2, 3, 4])], gb: ([x]) => gb.sum(x!, o), ref: ([x]) => R.sum(x!, o), vjp: ([x], G) => [V.sum(x!, o, G)] });
    check2(`mean [2,3,4] ${JSON.stringify(o)}`, { inputs: [inp([2, 3, 4])], gb: ([x]) => gb.mean(x!, o), ref: ([x]) => R.mean(x!, o), vjp: ([x], G) => [V.mean(x!, o, G)] });
  }
  check2('mean(exp(x)) [2,3,4] dim 1 (chain)', {
    inputs: [inp([2, 3, 4])],
    gb: ([x]) => gb.mean(gb.exp(x!), { dim: 1 }),
    ref: ([x]) => R.mean(R.exp(x!), { dim: 1 }),
    vjp: ([x], G) => [V.unary('exp', x!, V.mean(x!, { dim: 1 }, G))],
  });
  const t4 = ints([2, 0, 4, 2], [4]);
  for (const smoothing of [0, 0.1])
    check2(`crossEntropy [4,5] label smoothing ${smoothing}`, {
      inputs: [inp([4, 5])],
      gb: ([x]) => gb.crossEntropy(x!, t4.t(), { labelSmoothing: smoothing }),
      ref: ([x]) => R.crossEntropy(x!, t4.a, { labelSmoothing: smoothing }),
      vjp: ([x], G) => [V.crossEntropy(x!, t4.a, smoothing, G)],
    });
});

// ---------------------------------------------------------------- graph structure

describe('gradcheck: shared subgraphs and deep graphs', () => {
  check('x used three times: x * sin(x) + x / 3', {
    inputs: [inp([2, 3])],
    gb: ([x]) => gb.add(gb.mul(x!, gb.sin(x!)), gb.div(x!, 3)),
    ref: ([x]) => R.map(x!, (v) => v * Math.sin(v) + v / 3),
  });
  check('x as both operands: x * x + (x + x)', {
    inputs: [inp([4])],
    gb: ([x]) => gb.add(gb.mul(x!, x!), gb.add(x!, x!)),
    ref: ([x]) => R.map(x!, (v) => v * v + 2 * v),
  });
  check('diamond: a = exp(x); (2a) * sin(a)', {
    inputs: [inp([3, 2])],
    gb: ([x]) => {
      const a = gb.exp(x!);
      return gb.mul(gb.mul(a, 2), gb.sin(a));
    },
    ref: ([x]) => R.map(x!, (v) => 2 * Math.exp(v) * Math.sin(Math.exp(v))),
  });
  check('diamond through a view: x + x^T', {
    inputs: [inp([4, 4])],
    gb: ([x]) => gb.mul(gb.add(x!, gb.transpose(x!, 0, 1)), x!),
    ref: ([x]) => R.mul(R.add(x!, R.transpose(x!, 0, 1)), x!),
  });
  check('diamond through a reduction: (x - mean(x, 1)) ^ 2', {
    inputs: [inp([3, 5])],
    gb: ([x]) => gb.square(gb.sub(x!, gb.mean(x!, { dim: 1, keepdim: true }))),
    ref: ([x]) => R.map(R.sub(x!, R.mean(x!, { dim: 1, keepdim: true })), (v) => v * v),
  });
  check('a chain of diamonds: y <- y + 0.01 sin(y), 667 times (2001 ops)', {
    inputs: [inp([3])],
    gb: ([x]) => {
      let y = x!;
      for (let i = 0; i < 667; i++) y = gb.add(y, gb.mul(gb.sin(y), 0.01));
      return y;
    },
    ref: ([x]) =>
      R.map(x!, (v) => {
        for (let i = 0; i < 667; i++) v += 0.01 * Math.sin(v);
        return v;
      }),
  });

  it('grad() of two outputs sharing a subgraph adds their contributions', async () => {
    const x = gb.tensor([0.5, -1, 2], { requiresGrad: true });
    const h = gb.tanh(x);
    const [g] = gb.grad([gb.sum(gb.mul(h, 3)), gb.sum(gb.square(h))], [x]);
    const expected = [0.5, -1, 2].map((v) => (3 + 2 * Math.tanh(v)) * (1 - Math.tanh(v) ** 2));
    expectClose(await g!.toArray(), expected, { ...GRAD_TOL, what: 'two outputs' });
  });

  it('backward() twice accumulates into .grad', async () => {
    const x = gb.tensor([1, 2, 3], { requiresGrad: true });
    gb.sum(gb.mul(x, x)).backward();
    gb.sum(gb.mul(x, 3)).backward();
    expectClose(await x.grad!.toArray(), [5, 7, 9], { ...GRAD_TOL, what: 'accumulated .grad' });
  });

  it('a plain chain of 2000 ops backprops without overflowing the stack', async () => {
    const x = gb.tensor([0.5, -2], { requiresGrad: true });
    let y = x;
    for (let i = 0; i < 1000; i++) y = gb.add(gb.mul(y, 1.001), 0.25);
    gb.sum(y).backward();
    const expected = 1.001 ** 1000;
    expectClose(await x.grad!.toArray(), [expected, expected], { ...GRAD_TOL, what: 'deep chain' });
  });
});

describe('gradcheck: gridSample and affineGrid', () => {
  // grid points N(0, 1): about a third fall outside [-1, 1], so zeros and border padding both matter
  for (const mode of ['bilinear', 'nearest'] as const)
    for (const paddingMode of ['zeros', 'border'] as const)
      for (const alignCorners of [false, true]) {
        const o = { mode, paddingMode, alignCorners };
        check(`gridSample ${mode} ${paddingMode} alignCorners ${alignCorners}: input transposed, grid strided`, {
          inputs: [inp([2, 2, 4, 5], 'normal', 'transposed'), inp([2, 3, 4, 2], 'normal', 'strided')],
          gb: ([x, g]) => gb.gridSample(x!, g!, o),
          ref: ([x, g]) => R.gridSample(x!, g!, o),
        });
      }
  for (const alignCorners of [false, true]) {
    check(`affineGrid alignCorners ${alignCorners}`, {
      inputs: [inp([2, 2, 3])],
      gb: ([t]) => gb.affineGrid(t!, [2, 1, 3, 4], { alignCorners }),
      ref: ([t]) => R.affineGrid(t!, [2, 1, 3, 4], alignCorners),
    });
    // theta near the identity (a rotation and scale of the image), with irregular values: round ones put
    // points on pixel centres, where bilinear sampling has a kink and finite differences mean nothing
    check(`gridSample(affineGrid(theta)) bilinear border alignCorners ${alignCorners}`, {
      inputs: [inp([2, 3, 5, 4]), { shape: [2, 2, 3], values: [0.9137, -0.2791, 0.1173, 0.2469, 1.0841, -0.0537, 1.1893, 0.2137, -0.1571, -0.1029, 0.8233, 0.2113] }],
      gb: ([x, t]) => gb.gridSample(x!, gb.affineGrid(t!, [2, 3, 6, 5], { alignCorners }), { paddingMode: 'border', alignCorners }),
      ref: ([x, t]) => R.gridSample(x!, R.affineGrid(t!, [2, 3, 6, 5], alignCorners), { mode: 'bilinear', paddingMode: 'border', alignCorners }),
    });
  }
});
