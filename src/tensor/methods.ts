/**
 * Method forms of the ops (x.add(y), x.sum({dim: 1}), y.backward()), attached to Tensor's
 * prototype so that tensor.ts does not import every op, and declared here for TypeScript.
 */
import { backward } from '../autograd/backward.ts';
import { Tensor } from './tensor.ts';
import * as ew from './ops/elementwise.ts';
import * as red from './ops/reduce.ts';
import * as vw from './ops/views.ts';
import * as idx from './ops/indexing.ts';
import { matmul } from './ops/matmul.ts';
import { logSoftmax, softmax } from './ops/activation.ts';
import { roll } from './ops/roll.ts';
import type { TensorLike } from './ops/elementwise.ts';

declare module './tensor.ts' {

  interface Tensor {
    add(o: TensorLike): Tensor;
    sub(o: TensorLike): Tensor;
    mul(o: TensorLike): Tensor;
    div(o: TensorLike): Tensor;
    pow(o: TensorLike): Tensor;
    maximum(o: TensorLike): Tensor;
    minimum(o: TensorLike): Tensor;
    eq(o: TensorLike): Tensor;
    ne(o: TensorLike): Tensor;
    lt(o: TensorLike): Tensor;
    le(o: TensorLike): Tensor;
    gt(o: TensorLike): Tensor;
    ge(o: TensorLike): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    abs(): Tensor;
    square(): Tensor;
    relu(): Tensor;
    sigmoid(): Tensor;
    tanh(): Tensor;
    clamp(opts: { min?: TensorLike; max?: TensorLike }): Tensor;
    atan2(x: TensorLike): Tensor;
    rsqrt(): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    reciprocal(): Tensor;
    sign(): Tensor;
    floor(): Tensor;
    ceil(): Tensor;
    round(): Tensor;
    erf(): Tensor;
    silu(): Tensor;
    log1p(): Tensor;
    expm1(): Tensor;
    gelu(opts?: { approximate?: 'none' | 'tanh' }): Tensor;
    leakyRelu(opts?: { negativeSlope?: number }): Tensor;
    elu(opts?: { alpha?: number }): Tensor;
    softplus(opts?: { beta?: number; threshold?: number }): Tensor;
    powScalar(exponent: number): Tensor;
    /** where(cond, this, other): this where cond != 0, else other. */
    where(cond: Tensor, other: TensorLike): Tensor;
    roll(shifts: number | readonly number[], dims?: number | readonly number[]): Tensor;
    sum(opts?: red.ReduceOptions): Tensor;
    mean(opts?: red.ReduceOptions): Tensor;
    amax(opts?: red.ReduceOptions): Tensor;
    amin(opts?: red.ReduceOptions): Tensor;
    argmax(opts?: { dim?: number; keepdim?: boolean }): Tensor;
    argmin(opts?: { dim?: number; keepdim?: boolean }): Tensor;
    var(opts?: red.VarOptions): Tensor;
    std(opts?: red.VarOptions): Tensor;
    matmul(o: Tensor): Tensor;
    softmax(dim?: number): Tensor;
    logSoftmax(dim?: number): Tensor;
    reshape(...shape: number[] | [readonly number[]]): Tensor;
    view(...shape: number[] | [readonly number[]]): Tensor;
    permute(...dims: number[] | [readonly number[]]): Tensor;
    transpose(dim0?: number, dim1?: number): Tensor;
    /** Transpose of a 2-D tensor. */
    readonly T: Tensor;
    expand(...shape: number[] | [readonly number[]]): Tensor;
    contiguous(): Tensor;
    squeeze(dim?: number): Tensor;
    unsqueeze(dim: number): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    slice(dim: number, spec: vw.SliceSpec): Tensor;
    select(dim: number, index: number): Tensor;
    gather(dim: number, index: Tensor): Tensor;
    flip(dims: number | readonly number[]): Tensor;
    detach(): Tensor;
    clone(): Tensor;
    float(): Tensor;
    int(): Tensor;
    to(dtype: import('./tensor.ts').DType): Tensor;
    backward(gradOutput?: Tensor, opts?: { retainGraph?: boolean; createGraph?: boolean }): void;
    /** Calls `hook(grad)` when this tensor's gradient is computed; a returned tensor replaces it. */
    registerHook(hook: (grad: Tensor) => Tensor | void): () => void;
    /** Keep .grad on this non-leaf tensor after backward. */
    retainGrad(): Tensor;
    requiresGrad_(on?: boolean): Tensor;
  }
}

const shapeArgs = (args: number[] | [readonly number[]]): number[] => (Array.isArray(args[0]) ? [...(args[0] as number[])] : (args as number[]));
const P = Tensor.prototype;

for (const name of ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'atan2', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const) {
  P[name] = function (this: Tensor, o: TensorLike) {
    return ew[name](this, o);
  };
}
const UNARY_METHODS = ['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'abs', 'sin', 'cos', 'square', 'reciprocal', 'relu', 'sigmoid', 'tanh', 'sign', 'floor', 'ceil', 'round', 'erf', 'silu', 'log1p', 'expm1'] as const;
for (const name of UNARY_METHODS) {
  P[name] = function (this: Tensor) {
    return ew[name](this);
  };
}
// the ones with an options object or a parameter
for (const name of ['gelu', 'leakyRelu', 'elu', 'softplus', 'clamp'] as const) {
  P[name] = function (this: Tensor, opts?: object) {
    return (ew[name] as (x: Tensor, o?: object) => Tensor)(this, opts);
  };
}
P.powScalar = function (exponent) {
  return ew.powScalar(this, exponent);
};
P.where = function (cond, other) {
  return ew.where(cond, this, other);
};
P.roll = function (shifts, dims) {
  return roll(this, shifts, dims);
};
for (const name of ['sum', 'mean', 'amax', 'amin'] as const) {
  P[name] = function (this: Tensor, opts?: red.ReduceOptions) {
    return red[name](this, opts);
  };
}
P.argmax = function (opts) {
  return red.argmax(this, opts);
};
P.argmin = function (opts) {
  return red.argmin(this, opts);
};
P.var = function (opts) {
  return red.variance(this, opts);
};
P.std = function (opts) {
  return red.std(this, opts);
};
P.matmul = function (o) {
  return matmul(this, o);
};
P.softmax = function (dim) {
  return softmax(this, dim);
};
P.logSoftmax = function (dim) {
  return logSoftmax(this, dim);
};
P.reshape = function (...shape) {
  return vw.reshape(this, shapeArgs(shape));
};
P.view = function (...shape) {
  return vw.view(this, shapeArgs(shape));
};
P.permute = function (...dims) {
  return vw.permute(this, shapeArgs(dims));
};
P.transpose = function (d0, d1) {
  return vw.transpose(this, d0, d1);
};
Object.defineProperty(P, 'T', {
  get(this: Tensor) {
    return vw.transpose(this, 0, 1);
  },
});
P.expand = function (...shape) {
  return vw.expand(this, shapeArgs(shape));
};
P.contiguous = function () {
  return vw.contiguous(this);
};
P.squeeze = function (dim) {
  return vw.squeeze(this, dim);
};
P.unsqueeze = function (dim) {
  return vw.unsqueeze(this, dim);
};
P.flatten = function (s, e) {
  return vw.flatten(this, s, e);
};
P.slice = function (dim, spec) {
  return vw.slice(this, dim, spec);
};
P.select = function (dim, index) {
  return vw.select(this, dim, index);
};
P.gather = function (dim, index) {
  return idx.gather(this, dim, index);
};
P.flip = function (dims) {
  return idx.flip(this, dims);
};
P.detach = function () {
  return vw.detach(this);
};
P.clone = function () {
  return ew.mul(this, 1);
};
P.float = function () {
  return ew.cast(this, 'float32');
};
P.int = function () {
  return ew.cast(this, 'int32');
};
P.to = function (dtype) {
  return ew.cast(this, dtype);
};
P.backward = function (gradOutput, opts) {
  backward(this, gradOutput, opts);
};
P.registerHook = function (hook) {
  if (!this.requiresGrad) throw new Error('glassbox.registerHook: cannot register a hook on a tensor that does not require grad');
  this.gradHooks.push(hook);
  return () => {
    const i = this.gradHooks.indexOf(hook);
    if (i >= 0) this.gradHooks.splice(i, 1);
  };
};
P.retainGrad = function () {
  this.retainsGrad = true;
  return this;
};
P.requiresGrad_ = function (on = true) {
  if (!this.isLeaf) throw new Error('glassbox.requiresGrad_: only leaf tensors can change requiresGrad; use detach() first');
  if (on && this.dtype !== 'float32') throw new Error(`glassbox: only float32 tensors can require grad (got ${this.dtype})`);
  this.requiresGrad = on;
  return this;
};
