/**
 * Elementwise ops with NumPy broadcasting. Each op is one table row: its WGSL expression
 * (in {0}, {1}, {2} for the inputs and {p0}, {p1} for scalar parameters) and its backward,
 * written in differentiable ops so higher-order gradients work. All rows run through the
 * one kernel generator in src/kernels/wgsl/elementwise.ts.
 */
import { dispatch } from '../../kernels/runtime.ts';
import { wgslType } from '../../kernels/wgsl/common.ts';
import { coalesce, elementwiseLaunch, type TensorOperand } from '../../kernels/wgsl/elementwise.ts';
import { needsGrad, record } from '../../autograd/node.ts';
import { broadcastShapes, contiguousStrides, numel, sameShape, shapeStr } from '../shape.ts';
import { emptyTensor, Tensor, type DType } from '../tensor.ts';
import { sumTo } from './reduce.ts';
import { checkFinite } from '../../autograd/anomaly.ts';
import { checkOptions } from '../check-options.ts';

export type TensorLike = Tensor | number;


/** Broadcast strides of `t` against `shape` (0 where `t` is broadcast). */
function broadcastStrides(t: Tensor, shape: readonly number[]): number[] {
  const lead = shape.length - t.shape.length;
  return shape.map((_, d) => (d < lead || t.shape[d - lead] === 1 ? 0 : t.strides[d - lead]!));
}

export interface KernelOptions {
  /** Output dtype; default: float32 unless every tensor input is int32 and `intOk`. */
  out?: DType;
  intOk?: boolean;
  /** The expression calls the counter-based random number functions (src/kernels/wgsl/random.ts). */
  random?: boolean;
  /** Write into this (possibly strided) view instead of a new tensor; its shape must be the broadcast shape. */
  into?: Tensor;
}

/** Runs one generated elementwise kernel over broadcast inputs; records nothing. */
export function elementwiseKernel(name: string, expr: string, inputs: readonly TensorLike[], params: readonly number[] = [], opts: KernelOptions = {}): Tensor {
  // Expressions may also use the flat output index `i` (u32) and the functions in src/kernels/wgsl/math.ts.
  const tensors = inputs.filter((x): x is Tensor => x instanceof Tensor);
  const into = opts.into;
  const computeInt = opts.intOk === true && tensors.length > 0 && tensors.every((t) => t.dtype === 'int32');
  const outDtype: DType = opts.out ?? (computeInt ? 'int32' : 'float32');
  const layout = !into && sameShapeContiguous(tensors) ? flatLayout(tensors) : broadcastLayout(name, tensors, into);
  const out = into ?? emptyTensor(layout.shape, outDtype);
  if (numel(layout.shape) === 0) return out;

  const scalars: number[] = [];
  for (const x of inputs) if (!(x instanceof Tensor)) scalars.push(x);
  for (const p of params) scalars.push(p);
  const body = substitute(expr, inputs, computeInt);
  const { operands, outView } = layout;
  const launch = elementwiseLaunch({ name, expr: body, operands, scalars, out: out.dtype, shape: layout.launchShape, outView, random: opts.random });
  const buffers = tensors.map((t) => t.storage.buffer);
  buffers.push(out.storage.buffer);
  dispatch({ ...launch, buffers });
  checkFinite(out, name);
  return out;
}

/** The output's shape, and how the kernel walks it: the fewest dimensions (coalesced) and each operand's strides over them. */
interface Layout {
  shape: readonly number[];
  launchShape: number[];
  operands: TensorOperand[];
  outView?: { offset: number; strides: number[] };
}

function sameShapeContiguous(tensors: readonly Tensor[]): boolean {
  const first = tensors[0];
  return first !== undefined && tensors.every((t) => sameShape(t.shape, first.shape) && t.isContiguous);
}

/** Inputs of one shape, all contiguous, into a new tensor (most ops of a training step): one flat dimension, nothing to broadcast. */
function flatLayout(tensors: readonly Tensor[]): Layout {
  const shape = tensors[0]!.shape;
  const operands = tensors.map((t) => ({ dtype: t.dtype, offset: t.offset, strides: [1], contiguous: true }));
  return { shape, launchShape: [numel(shape)], operands };
}

function broadcastLayout(name: string, tensors: readonly Tensor[], into: Tensor | undefined): Layout {
  const shape = broadcastShapes(name, ...(into ? [into.shape] : []), ...tensors.map((t) => t.shape));
  if (into && !sameShape(into.shape, shape)) throw new Error(`glassbox.${name}: cannot write a result of shape ${shapeStr(shape)} into a view of shape ${shapeStr(into.shape)}`);
  const strideSets = [into ? [...into.strides] : contiguousStrides(shape), ...tensors.map((t) => broadcastStrides(t, shape))];
  const merged = coalesce(shape, strideSets);
  const outStrides = merged.strides[0]!;
  const outContiguous = !into || (into.offset === 0 && outStrides.every((s, d) => s === contiguousStrides(merged.shape)[d]));
  const operands: TensorOperand[] = tensors.map((t, k) => {
    const strides = merged.strides[k + 1]!;
    return { dtype: t.dtype, offset: t.offset, strides, contiguous: outContiguous && strides.every((s, d) => s === outStrides[d]) };
  });
  const outView = outContiguous ? undefined : { offset: into!.offset, strides: outStrides };
  return { shape, launchShape: merged.shape, operands, outView };
}

// Expressions with their placeholders filled in, by expression and operand kinds: the same op
// runs every training step, so the substitution is done once.
const substituted = new Map<string, string>();

/** Replaces {k} by the k-th operand's WGSL name (xj for tensors, sj for scalars) and {pk} by the k-th parameter. */
function substitute(expr: string, inputs: readonly TensorLike[], computeInt: boolean): string {
  let kinds = computeInt ? 'i' : 'f';
  for (const x of inputs) kinds += x instanceof Tensor ? (x.dtype === 'float32' ? 't' : 'n') : 's';
  const key = `${kinds}|${expr}`;
  const hit = substituted.get(key);
  if (hit) return hit;
  let tensorIndex = 0;
  let scalarIndex = 0;
  const names = inputs.map((x) => {
    if (x instanceof Tensor) {
      const v = `x${tensorIndex++}`;
      return computeInt || x.dtype === 'float32' ? v : `f32(${v})`;
    }
    const v = `s${scalarIndex++}`;
    return computeInt ? `i32(${v})` : v;
  });
  const body = expr
    .replace(/\{(\d)\}/g, (_, k: string) => names[Number(k)]!)
    .replace(/\{p(\d)\}/g, (_, k: string) => `s${scalarIndex + Number(k)}`);
  substituted.set(key, body);
  return body;
}

// ---------------------------------------------------------------- unary

type UnaryGrad = (g: Tensor, x: Tensor, out: Tensor, params: readonly number[]) => Tensor;
interface UnaryDef {
  expr: string;
  grad?: UnaryGrad;
  intOk?: boolean;
}

const SQRT_2_OVER_PI = 0.7978845608028654;
const INV_SQRT_2PI = 0.3989422804014327;

export type UnaryOp = 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'abs' | 'sin' | 'cos' | 'tanh' | 'sigmoid' | 'relu' | 'square' | 'reciprocal' | 'sign' | 'floor' | 'ceil' | 'round' | 'erf' | 'gelu' | 'silu' | 'log1p' | 'expm1' | 'leakyRelu' | 'elu' | 'softplus' | 'clamp' | 'powScalar' | 'tanhGelu';

const unaryDefs: Record<UnaryOp, UnaryDef> = {
  neg: { expr: '-{0}', grad: (g) => neg(g), intOk: true },
  exp: { expr: 'exp({0})', grad: (g, _x, out) => mul(g, out) },
  log: { expr: 'log({0})', grad: (g, x) => div(g, x) },
  sqrt: { expr: 'sqrt({0})', grad: (g, _x, out) => div(g, mul(out, 2)) },
  rsqrt: { expr: 'inverseSqrt({0})', grad: (g, _x, out) => mul(g, mul(powScalar(out, 3), -0.5)) },
  abs: { expr: 'abs({0})', grad: (g, x) => mul(g, sign(x)), intOk: true },
  sin: { expr: 'sin({0})', grad: (g, x) => mul(g, cos(x)) },
  cos: { expr: 'cos({0})', grad: (g, x) => neg(mul(g, sin(x))) },
  tanh: { expr: 'tanh_({0})', grad: (g, _x, out) => mul(g, sub(1, square(out))) },
  sigmoid: { expr: 'sigmoid_({0})', grad: (g, _x, out) => mul(g, mul(out, sub(1, out))) },
  relu: { expr: 'select(max({0}, 0.0), {0}, is_nan_({0}))', grad: (g, x) => reluBackward(g, x) },
  square: { expr: '{0} * {0}', grad: (g, x) => mul(g, mul(x, 2)), intOk: true },
  reciprocal: { expr: '1.0 / {0}', grad: (g, _x, out) => neg(mul(g, square(out))) },
  sign: { expr: 'sign({0})' },
  floor: { expr: 'floor({0})' },
  ceil: { expr: 'ceil({0})' },
  round: { expr: 'round({0})' },
  erf: { expr: 'erf_({0})', grad: (g, x) => mul(g, mul(exp(neg(square(x))), 2 / Math.sqrt(Math.PI))) },
  gelu: {
    expr: '0.5 * {0} * (1.0 + erf_({0} * 0.7071067811865476))',
    grad: (g, x) => mul(g, add(mul(add(erf(mul(x, Math.SQRT1_2)), 1), 0.5), mul(x, mul(exp(mul(square(x), -0.5)), INV_SQRT_2PI)))),
  },
  silu: {
    expr: '{0} * sigmoid_({0})',
    grad: (g, x) => {
      const s = sigmoid(x);
      return mul(g, add(s, mul(mul(x, s), sub(1, s))));
    },
  },
  log1p: { expr: 'log1p_({0})', grad: (g, x) => div(g, add(x, 1)) },
  expm1: { expr: 'expm1_({0})', grad: (g, _x, out) => mul(g, add(out, 1)) },
  leakyRelu: { expr: 'select({0} * {p0}, {0}, {0} > 0.0)', grad: (g, x, _o, [slope]) => mul(g, where(gt(x, 0), 1, slope!)) },
  elu: { expr: 'select({p0} * expm1_({0}), {0}, {0} > 0.0)', grad: (g, x, out, [alpha]) => mul(g, where(gt(x, 0), 1, add(out, alpha!))) },
  softplus: {
    expr: 'select(log1p_(exp({0} * {p0})) / {p0}, {0}, {0} * {p0} > {p1})',
    grad: (g, x, _o, [beta, threshold]) => mul(g, where(gt(mul(x, beta!), threshold!), 1, sigmoid(mul(x, beta!)))),
  },
  clamp: {
    // min(max(x, lo), hi) as PyTorch: hi everywhere where lo > hi (WGSL's clamp leaves that case to the implementation)
    expr: 'select(min(max({0}, {p0}), {p1}), {0}, is_nan_({0}))',
    grad: (g, x, _o, [lo, hi]) => mul(g, mul(ge(x, lo!), le(x, hi!))),
  },
  powScalar: {
    expr: 'pow_({0}, {p0})',
    grad: (g, x, _o, [e]) => (e === 0 ? mul(g, 0) : mul(g, mul(powScalar(x, e! - 1), e!))),
  },
  tanhGelu: {
    expr: '0.5 * {0} * (1.0 + tanh_(0.7978845608028654 * ({0} + 0.044715 * {0} * {0} * {0})))',
    grad: (g, x) => {
      const inner = mul(add(x, mul(powScalar(x, 3), 0.044715)), SQRT_2_OVER_PI);
      const t = tanh(inner);
      const dinner = mul(add(mul(square(x), 3 * 0.044715), 1), SQRT_2_OVER_PI);
      return mul(g, add(mul(add(t, 1), 0.5), mul(mul(mul(x, 0.5), sub(1, square(t))), dinner)));
    },
  },
};


export function unary(op: UnaryOp, x: Tensor, params: readonly number[] = []): Tensor {
  const def: UnaryDef = unaryDefs[op];
  const out = elementwiseKernel(op, def.expr, [x], params, { intOk: def.intOk });
  const grad = def.grad;
  const names = UNARY_PARAM_NAMES[op];
  const options = names ? Object.fromEntries(names.map((name, k) => [name, params[k]])) : undefined;
  // sign, floor, ...: a zero derivative, recorded so that x stays connected (grad() then returns zeros, as PyTorch)
  if (!grad) return record(op, [x], out, () => [null], {}, options);
  return record(op, [x], out, (g) => [grad(g, x, out, params)], {}, options);
}

/** The names of the unary ops' scalar parameters, as backward rules see them in ctx.options. */
const UNARY_PARAM_NAMES: Partial<Record<UnaryOp, readonly string[]>> = {
  leakyRelu: ['negativeSlope'], elu: ['alpha'], softplus: ['beta', 'threshold'], clamp: ['min', 'max'], powScalar: ['exponent'],
};

export const neg = (x: Tensor): Tensor => unary('neg', x);
export const exp = (x: Tensor): Tensor => unary('exp', x);
export const log = (x: Tensor): Tensor => unary('log', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', x);
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', x);
export const abs = (x: Tensor): Tensor => unary('abs', x);
export const sin = (x: Tensor): Tensor => unary('sin', x);
export const cos = (x: Tensor): Tensor => unary('cos', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', x);
export const relu = (x: Tensor): Tensor => unary('relu', x);

/**
 * relu's backward, g where x > 0 else 0, in one kernel (mul(g, gt(x, 0)) is two, and every
 * ReLU of a training step runs it). Linear in g, so its own gradient is the same mask; x only
 * selects, and its gradient is zero almost everywhere. Where x is NaN, g passes (PyTorch's
 * threshold_backward zeroes only x <= 0), so a NaN input reaches its gradient too.
 */
export function reluBackward(g: Tensor, x: Tensor): Tensor {
  const out = elementwiseKernel('relu_backward', 'select(0.0, {0}, {1} > 0.0 || is_nan_({1}))', [g, x]);
  // x is an input with a zero gradient, so a second derivative through a ReLU net reaches x (as zeros)
  return record('reluBackward', [g, x], out, (gg) => [reluBackward(gg, x), null]);
}
export const square = (x: Tensor): Tensor => unary('square', x);
export const reciprocal = (x: Tensor): Tensor => unary('reciprocal', x);
export const sign = (x: Tensor): Tensor => unary('sign', x);
export const floor = (x: Tensor): Tensor => unary('floor', x);
export const ceil = (x: Tensor): Tensor => unary('ceil', x);
export const round = (x: Tensor): Tensor => unary('round', x);
export const erf = (x: Tensor): Tensor => unary('erf', x);
export const silu = (x: Tensor): Tensor => unary('silu', x);
export const log1p = (x: Tensor): Tensor => unary('log1p', x);
export const expm1 = (x: Tensor): Tensor => unary('expm1', x);
/** GELU; {approximate: 'tanh'} for the tanh form. */
export const gelu = (x: Tensor, opts: { approximate?: 'none' | 'tanh' } = {}): Tensor =>
  unary(checkOptions('gelu', opts, { approximate: ['=none', '=tanh'] }).approximate === 'tanh' ? 'tanhGelu' : 'gelu', x);
export const leakyRelu = (x: Tensor, opts: { negativeSlope?: number } = {}): Tensor =>
  unary('leakyRelu', x, [checkOptions('leakyRelu', opts, { negativeSlope: 'number' }).negativeSlope ?? 0.01]);
export const elu = (x: Tensor, opts: { alpha?: number } = {}): Tensor => unary('elu', x, [checkOptions('elu', opts, { alpha: 'number' }).alpha ?? 1]);
/** softplus(x) = log(1 + exp(beta x)) / beta, linear above `threshold` (PyTorch's defaults: beta 1, threshold 20). */
export const softplus = (x: Tensor, opts: { beta?: number; threshold?: number } = {}): Tensor => {
  checkOptions('softplus', opts, { beta: 'number', threshold: 'number' });
  return unary('softplus', x, [opts.beta ?? 1, opts.threshold ?? 20]);
};
/** Clamps to [min, max]; a bound may be a tensor (broadcast), as PGD's projection onto x0 +- eps uses. */
export const clamp = (x: Tensor, opts: { min?: TensorLike; max?: TensorLike }): Tensor => {
  checkOptions('clamp', opts, { min: 'tensorOrNumber', max: 'tensorOrNumber' });
  if (opts.min === undefined && opts.max === undefined) throw new Error('glassbox.clamp: give at least one of {min, max}');
  if (opts.min instanceof Tensor || opts.max instanceof Tensor) return clampToTensors(x, opts.min, opts.max);
  for (const [name, v] of Object.entries(opts)) if (v !== undefined && Number.isNaN(v)) throw new Error(`glassbox.clamp: ${name} is NaN; give a number or leave it out`);
  return unary('clamp', x, [(opts.min as number | undefined) ?? -3.4e38, (opts.max as number | undefined) ?? 3.4e38]);
};

/** clamp with a tensor bound: maximum then minimum, as PyTorch (their gradients reach x where it is inside the bounds). */
function clampToTensors(x: Tensor, min: TensorLike | undefined, max: TensorLike | undefined): Tensor {
  const low = min === undefined ? x : maximum(x, min);
  return max === undefined ? low : minimum(low, max);
}
export const powScalar = (x: Tensor, exponent: number): Tensor => unary('powScalar', x, [exponent]);

// ---------------------------------------------------------------- binary

function gradFor(x: TensorLike, g: () => Tensor): Tensor | null {
  return x instanceof Tensor && needsGrad(x) ? sumTo(g(), x.shape) : null;
}

function binary(op: string, expr: string, a: TensorLike, b: TensorLike, backward: ((g: Tensor, out: Tensor) => Array<Tensor | null>) | null, intOk = false): Tensor {
  if (!(a instanceof Tensor) && !(b instanceof Tensor)) throw new Error(`glassbox.${op}: at least one operand must be a tensor`);
  const out = elementwiseKernel(op, expr, [a, b], [], { intOk });
  if (!backward) return out;
  const inputs = [a, b].filter((x): x is Tensor => x instanceof Tensor);
  return record(op, inputs, out, (g) => {
    const grads = backward(g, out);
    return [a, b].flatMap((x, i) => (x instanceof Tensor ? [grads[i]!] : []));
  });
}

export function add(a: TensorLike, b: TensorLike): Tensor {
  return binary('add', '{0} + {1}', a, b, (g) => [gradFor(a, () => g), gradFor(b, () => g)], true);
}

export function sub(a: TensorLike, b: TensorLike): Tensor {
  return binary('sub', '{0} - {1}', a, b, (g) => [gradFor(a, () => g), gradFor(b, () => neg(g))], true);
}

export function mul(a: TensorLike, b: TensorLike): Tensor {
  return binary('mul', '{0} * {1}', a, b, (g) => [gradFor(a, () => mul(g, b)), gradFor(b, () => mul(g, a))], true);
}

export function div(a: TensorLike, b: TensorLike): Tensor {
  return binary('div', '{0} / {1}', a, b, (g) => [
    gradFor(a, () => div(g, b)),
    gradFor(b, () => neg(div(mul(g, a), mul(b, b)))),
  ]);
}

export function pow(a: TensorLike, b: TensorLike): Tensor {
  if (typeof b === 'number' && a instanceof Tensor) return powScalar(a, b);
  const out = binary('pow', 'pow_({0}, {1})', a, b, (g, o) => [
    gradFor(a, () => mul(g, mul(b, pow(a, sub(b, 1))))),
    gradFor(b, () => mul(g, mul(o, typeof a === 'number' ? Math.log(a) : log(a)))),
  ]);
  return out;
}

/** The WGSL of maximum / minimum: NaN-propagating on floats (as torch.maximum), WGSL's own on integers. */
const extremumExpr = (fn: 'max' | 'min', a: TensorLike, b: TensorLike) =>
  [a, b].every((x) => !(x instanceof Tensor) || x.dtype === 'int32') ? `${fn}({0}, {1})` : `${fn}_nan_({0}, {1})`;

export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return binary('maximum', extremumExpr('max', a, b), a, b, (g) => [
    gradFor(a, () => mul(g, add(gt(a, b), mul(eq(a, b), 0.5)))),
    gradFor(b, () => mul(g, add(lt(a, b), mul(eq(a, b), 0.5)))),
  ], true);
}

export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return binary('minimum', extremumExpr('min', a, b), a, b, (g) => [
    gradFor(a, () => mul(g, add(lt(a, b), mul(eq(a, b), 0.5)))),
    gradFor(b, () => mul(g, add(gt(a, b), mul(eq(a, b), 0.5)))),
  ], true);
}

export function atan2(y: TensorLike, x: TensorLike): Tensor {
  return binary('atan2', 'atan2({0}, {1})', y, x, (g) => {
    const sq = (v: TensorLike) => (typeof v === 'number' ? v * v : mul(v, v));
    const r2 = add(sq(x), sq(y));
    return [gradFor(y, () => div(mul(g, x), r2)), gradFor(x, () => neg(div(mul(g, y), r2)))];
  });
}

// Comparisons return float32 0/1 and carry no gradient.
const compare = (op: string, symbol: string) => (a: TensorLike, b: TensorLike) =>
  elementwiseKernel(op, `select(0.0, 1.0, {0} ${symbol} {1})`, [a, b], [], { intOk: true, out: 'float32' });
export const eq = compare('eq', '==');
export const ne = compare('ne', '!=');
export const lt = compare('lt', '<');
export const le = compare('le', '<=');
export const gt = compare('gt', '>');
export const ge = compare('ge', '>=');

/** where(cond, a, b): a where cond != 0, else b (broadcast). */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (!(a instanceof Tensor) && !(b instanceof Tensor)) {
    return elementwiseKernel('where', 'select({2}, {1}, {0} != 0.0)', [cond, a, b]);
  }
  const out = elementwiseKernel('where', 'select({2}, {1}, f32({0}) != 0.0)', [cond, a, b], [], { intOk: false });
  const inputs = [a, b].filter((x): x is Tensor => x instanceof Tensor);
  return record('where', inputs, out, (g) => {
    const grads = [gradFor(a, () => where(cond, g, 0)), gradFor(b, () => where(cond, 0, g))];
    return [a, b].flatMap((x, i) => (x instanceof Tensor ? [grads[i]!] : []));
  });
}

/** Casts to another dtype (float32 <-> int32 truncates toward zero, like PyTorch's .to(int)). */
export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  return elementwiseKernel(`cast_${dtype}`, `${wgslType(dtype)}({0})`, [x], [], { out: dtype, intOk: true });
}

/** A contiguous copy of any strided view (the identity expression through the strided reader). */
export function copyKernel(x: Tensor): Tensor {
  return elementwiseKernel('copy', '{0}', [x], [], { intOk: true, out: x.dtype });
}

/** `t` itself where kernels can read it as a plain array, else a contiguous copy to dispose after the dispatch. */
export function asPlainArray(t: Tensor): { t: Tensor; temporary: boolean } {
  return t.isContiguous && t.offset === 0 ? { t, temporary: false } : { t: copyKernel(t), temporary: true };
}

/** Copies `src` (broadcast) into the view `dst` in place; records nothing. */
export function copyInto(dst: Tensor, src: TensorLike): Tensor {
  return elementwiseKernel('copy_into', '{0}', [src], [], { intOk: true, into: dst });
}

export function assertSameShape(op: string, a: Tensor, b: Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i]))
    throw new Error(`glassbox.${op}: shapes ${shapeStr(a.shape)} and ${shapeStr(b.shape)} must be equal`);
}
