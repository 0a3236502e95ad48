/** Making tensors: from data, constants, ranges and seeded random numbers. */
import { checkShape, numel, shapeStr, type Shape } from '../shape.ts';
import { emptyTensor, tensorFromArray, typedArrayOf, type DType, type Tensor } from '../tensor.ts';
import { elementwiseKernel } from './elementwise.ts';
import { checkOptions, TENSOR_OPTIONS } from '../check-options.ts';

export interface TensorOptions {
  dtype?: DType;
  requiresGrad?: boolean;
}

type Nested = number | boolean | readonly Nested[];

function inferShape(data: Nested): number[] {
  const shape: number[] = [];
  let cur: Nested = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0] as Nested;
  }
  return shape;
}

function finalise(t: Tensor, opts: TensorOptions): Tensor {
  if (opts.requiresGrad) {
    if (t.dtype !== 'float32') throw new Error(`glassbox: only float32 tensors can require grad (got ${t.dtype})`);
    t.requiresGrad = true;
  }
  return t;
}

/**
 * tensor(data, shape?, {dtype, requiresGrad}): data is a number, (nested) array or typed array.
 * With a flat array, `shape` says how to lay it out; nested arrays carry their own shape.
 */
export function tensor(data: Nested | ArrayLike<number> | ArrayBufferView, shape?: Shape | TensorOptions, opts: TensorOptions = {}): Tensor {
  checkOptions('tensor', shape && !Array.isArray(shape) ? shape : opts, TENSOR_OPTIONS);
  if (shape && !Array.isArray(shape)) return tensor(data, undefined, shape as TensorOptions);
  const explicitShape = shape as Shape | undefined;
  let flat: ArrayLike<number>;
  let inferred: number[];
  if (typeof data === 'number' || typeof data === 'boolean') {
    flat = [Number(data)];
    inferred = [];
  } else if (ArrayBuffer.isView(data)) {
    flat = data as unknown as ArrayLike<number>;
    inferred = [flat.length];
  } else {
    inferred = inferShape(data as Nested);
    flat = (data as Nested[]).flat(Infinity as 1) as unknown as number[];
    if (flat.length !== numel(inferred)) throw new Error(`glassbox.tensor: nested array is ragged (expected ${numel(inferred)} values for shape ${shapeStr(inferred)}, found ${flat.length})`);
  }
  const dtype = opts.dtype ?? (data instanceof Int32Array ? 'int32' : data instanceof Uint32Array ? 'uint32' : 'float32');
  const target = explicitShape ?? inferred;
  checkShape('tensor', target);
  for (let i = 0; i < flat.length; i++)
    if (typeof flat[i] !== 'number' && typeof flat[i] !== 'boolean') throw new Error(`glassbox.tensor: element ${i} is ${typeof flat[i]}, expected a number`);
  return finalise(tensorFromArray(typedArrayOf(dtype, flat), target, dtype), opts);
}

/** A number an op takes as an option, checked: finite (and an integer where `integer`), else an error naming the op and the option. */
function checkNumber(op: string, name: string, value: number, integer = false): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isSafeInteger(value)))
    throw new Error(`glassbox.${op}: ${name} must be a finite ${integer ? 'integer' : 'number'}, got ${String(value)}`);
}

export function full(shape: Shape, value: number, dtype: DType = 'float32', opts: TensorOptions = {}, op = 'full'): Tensor {
  checkOptions(op, opts, TENSOR_OPTIONS);
  checkOptions(op, { dtype }, TENSOR_OPTIONS);
  checkShape(op, shape);
  const t = emptyTensor(shape, dtype);
  elementwiseKernel('fill', '{0}', [value], [], { into: t, intOk: dtype !== 'float32' });
  return finalise(t, opts);
}

export const zeros = (shape: Shape, opts: TensorOptions = {}) => full(shape, 0, opts.dtype, opts, 'zeros');
export const ones = (shape: Shape, opts: TensorOptions = {}) => full(shape, 1, opts.dtype, opts, 'ones');
export const zerosLike = (t: Tensor, opts: TensorOptions = {}) => full(t.shape, 0, opts.dtype ?? t.dtype, opts);
export const onesLike = (t: Tensor, opts: TensorOptions = {}) => full(t.shape, 1, opts.dtype ?? t.dtype, opts);
export const fullLike = (t: Tensor, value: number, opts: TensorOptions = {}) => full(t.shape, value, opts.dtype ?? t.dtype, opts);

/** arange(end) or arange(start, end, step), like torch.arange. */
export function arange(startOrEnd: number, endOrOpts?: number | TensorOptions, step = 1, opts: TensorOptions = {}): Tensor {
  checkOptions('arange', typeof endOrOpts === 'object' ? endOrOpts : opts, TENSOR_OPTIONS);
  const options = typeof endOrOpts === 'object' ? endOrOpts : opts;
  const start = typeof endOrOpts === 'number' ? startOrEnd : 0;
  const end = typeof endOrOpts === 'number' ? endOrOpts : startOrEnd;
  for (const [name, v] of [['start', start], ['end', end], ['step', step]] as const) checkNumber('arange', name, v);
  if (step === 0) throw new Error('glassbox.arange: step must not be zero');
  const n = Math.max(0, Math.ceil((end - start) / step));
  checkShape('arange', [n]);
  const dtype = options.dtype ?? 'float32';
  const t = emptyTensor([n], dtype);
  elementwiseKernel('arange', dtype === 'float32' ? '{p0} + f32(i) * {p1}' : 'i32({p0}) + i32(i) * i32({p1})', [], [start, step], { into: t, out: dtype });
  return finalise(t, options);
}

export function linspace(start: number, end: number, steps: number, opts: TensorOptions = {}): Tensor {
  checkOptions('linspace', opts, TENSOR_OPTIONS);
  checkNumber('linspace', 'start', start);
  checkNumber('linspace', 'end', end);
  checkShape('linspace', [steps]);
  const t = emptyTensor([steps]);
  const step = steps > 1 ? (end - start) / (steps - 1) : 0;
  elementwiseKernel('linspace', '{p0} + f32(i) * {p1}', [], [start, step], { into: t });
  return finalise(t, opts);
}

export function eye(n: number, m = n, opts: TensorOptions = {}): Tensor {
  checkOptions('eye', opts, TENSOR_OPTIONS);
  checkShape('eye', [n, m]);
  const t = emptyTensor([n, m]);
  elementwiseKernel('eye', 'select(0.0, 1.0, i / u32({p0}) == i % u32({p0}))', [], [m], { into: t });
  return finalise(t, opts);
}

// ---------------------------------------------------------------- random

let seed = 0;
let counter = 0;

/** Seeds the generator behind rand / randn / dropout; the same seed gives the same numbers. */
export function manualSeed(s: number): void {
  seed = s >>> 0;
  counter = 0;
}

/** The generator's state, to save and restore (e.g. in checkpoints). */
export function rngState(): { seed: number; counter: number } {
  return { seed, counter };
}
export function setRngState(s: { seed: number; counter: number }): void {
  seed = s.seed >>> 0;
  counter = s.counter;
}

function randomKernel(name: string, fn: 'rand_uniform' | 'rand_normal', shape: Shape, scale: number, shift: number, opts: TensorOptions): Tensor {
  checkOptions(name, opts, TENSOR_OPTIONS);
  checkShape(name, shape);
  const t = emptyTensor(shape);
  const n = numel(shape);
  const params = [seed & 0xffff, seed >>> 16, counter & 0xffff, (counter >>> 16) & 0xffff];
  counter = (counter + n) >>> 0;
  elementwiseKernel(name, `${fn}({p0}, {p1}, {p2}, {p3}, i) * {p4} + {p5}`, [], [...params, scale, shift], { into: t, random: true });
  return finalise(t, opts);
}

/** Uniform in [0, 1). */
export const rand = (shape: Shape, opts: TensorOptions = {}) => randomKernel('rand', 'rand_uniform', shape, 1, 0, opts);
/** Standard normal. */
export const randn = (shape: Shape, opts: TensorOptions = {}) => randomKernel('randn', 'rand_normal', shape, 1, 0, opts);
/** Uniform in [low, high). */
export function uniform(shape: Shape, low: number, high: number, opts: TensorOptions = {}): Tensor {
  checkNumber('uniform', 'low', low);
  checkNumber('uniform', 'high', high);
  if (!(low <= high)) throw new Error(`glassbox.uniform: low (${low}) must not exceed high (${high})`);
  return randomKernel('uniform', 'rand_uniform', shape, high - low, low, opts);
}
/** Normal with the given mean and standard deviation. */
export function normal(shape: Shape, mean: number, stdev: number, opts: TensorOptions = {}): Tensor {
  checkNumber('normal', 'mean', mean);
  checkNumber('normal', 'stdev', stdev);
  if (stdev < 0) throw new Error(`glassbox.normal: stdev must be non-negative, got ${stdev}`);
  return randomKernel('normal', 'rand_normal', shape, stdev, mean, opts);
}
export const randLike = (t: Tensor) => rand(t.shape);
export const randnLike = (t: Tensor) => randn(t.shape);

/** Random integers in [low, high) as int32. */
export function randint(low: number, high: number, shape: Shape): Tensor {
  checkNumber('randint', 'low', low, true);
  checkNumber('randint', 'high', high, true);
  if (low >= high) throw new Error(`glassbox.randint: low (${low}) must be less than high (${high}); the values are drawn from [low, high)`);
  if (low < -(2 ** 31) || high > 2 ** 31) throw new Error(`glassbox.randint: [${low}, ${high}) does not fit int32`);
  checkShape('randint', shape);
  const t = emptyTensor(shape, 'int32');
  const n = numel(shape);
  const params = [seed & 0xffff, seed >>> 16, counter & 0xffff, (counter >>> 16) & 0xffff];
  counter = (counter + n) >>> 0;
  elementwiseKernel('randint', `i32({p4}) + i32(floor(rand_uniform({p0}, {p1}, {p2}, {p3}, i) * {p5}))`, [], [...params, low, high - low], {
    into: t,
    out: 'int32',
    random: true,
  });
  return t;
}

