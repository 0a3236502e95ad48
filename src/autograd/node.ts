/**
 * The tape. Every differentiable op calls `record()` with its inputs, its output and its
 * backward closure, written in differentiable tensor ops, right beside its forward code.
 * Because backward is made of ordinary ops, running it with grad mode on records a graph
 * of the backward pass itself: that is all `createGraph` (higher-order gradients) needs.
 */
import type { Tensor } from '../tensor/tensor.ts';
import { isRecordedOp, unknownOpError } from './recorded-ops.ts';

/** Gradients for each input of an op given the gradient of its output; null where an input needs none. */
export type BackwardFn = (gradOutput: Tensor) => Array<Tensor | null>;

export interface BackwardRuleContext {
  op: string;
  inputs: readonly Tensor[];
  output: Tensor;
  gradOutput: Tensor;
  /** The op's own backward, for rules that only adjust it. */
  defaultBackward: BackwardFn;
  /** Op-specific values saved by the forward (e.g. the pooling indices). */
  saved: Readonly<Record<string, unknown>>;
  /**
   * The options the forward ran with, so a rule can re-run the op with other weights (LRP-gamma):
   * conv2d's {stride, padding, dilation, groups}, matmulAddBias's {along}, leakyRelu's
   * {negativeSlope}, ... (src/autograd/recorded-ops.ts lists them per op); {} for ops without.
   */
  options: Readonly<Record<string, unknown>>;
}

/**
 * A replacement for an op's backward (guided backprop, deconvnet, DeepLIFT, LRP rules...):
 * returns one gradient per entry of `ctx.inputs` (null for an input it gives none).
 */
export type BackwardRule = (ctx: BackwardRuleContext) => Array<Tensor | null>;

export interface Node {
  op: string;
  inputs: Tensor[];
  /** Weakly conceptual back-pointer; set by record(). */
  output: Tensor;
  backward: BackwardFn | null;
  /** Storage versions of the inputs at record time, to detect in-place changes. */
  versions: number[];
  /** A backward rule captured when the forward ran inside withBackwardRule(). */
  rule: BackwardRule | undefined;
  saved: Record<string, unknown>;
  options: Readonly<Record<string, unknown>>;
}

let gradEnabled = true;

/**
 * While a backward pass runs: the tensors it must compute gradients for (those on a path to a
 * wanted tensor). grad(y, [x]) on a network then skips every parameter's gradient, as PyTorch does.
 */
let gradientsNeeded: ReadonlySet<Tensor> | undefined;

/** Whether an op's backward should compute the gradient of its input `t` (use instead of t.requiresGrad in backward closures). */
export function needsGrad(t: Tensor): boolean {
  return t.requiresGrad && (gradientsNeeded === undefined || gradientsNeeded.has(t));
}

/** Runs `fn` (a backward pass) with `needed` as the tensors whose gradients are wanted. */
export function withGradientsNeeded<T>(needed: ReadonlySet<Tensor>, fn: () => T): T {
  const prev = gradientsNeeded;
  gradientsNeeded = needed;
  try {
    return fn();
  } finally {
    gradientsNeeded = prev;
  }
}

export function isGradEnabled(): boolean {
  return gradEnabled;
}

function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** Runs `fn` without recording anything for autograd (evaluation, optimiser updates). */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs `fn` with recording on, even inside noGrad (used by the backward pass with createGraph). */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}

export function setGradEnabled<T>(enabled: boolean, fn: () => T): T {
  return withGradMode(enabled, fn);
}

const activeRules: Array<{ op: string; rule: BackwardRule }> = [];

/**
 * Inside `fn`, op `op` uses `rule` as its backward. The rule applies both to nodes recorded
 * inside `fn` and to backward passes run inside `fn`, so forward-then-backward inside one
 * call and a backward of a graph recorded earlier both see it. `op` must be a name the engine
 * records (`recordedOpNames()`; a Linear layer records 'matmulAddBias'); any other name throws.
 */
export function withBackwardRule<T>(op: string | readonly string[], rule: BackwardRule, fn: () => T): T {
  const ops = typeof op === 'string' ? [op] : op;
  if (!Array.isArray(ops) && typeof ops !== 'string') throw unknownOpError('withBackwardRule', op);
  for (const o of ops) if (typeof o !== 'string' || !isRecordedOp(o)) throw unknownOpError('withBackwardRule', o);
  if (typeof rule !== 'function') throw new Error(`glassbox.withBackwardRule: the rule must be a function (ctx) => gradients, got ${typeof rule}`);
  if (typeof fn !== 'function') throw new Error(`glassbox.withBackwardRule: the third argument must be the function to run under the rule, got ${typeof fn}`);
  for (const o of ops) activeRules.push({ op: o, rule });
  try {
    const result = fn();
    if (result instanceof Promise) throw new Error('glassbox.withBackwardRule: the function must be synchronous');
    return result;
  } finally {
    activeRules.splice(activeRules.length - ops.length, ops.length);
  }
}

export function activeRuleFor(op: string): BackwardRule | undefined {
  for (let i = activeRules.length - 1; i >= 0; i--) if (activeRules[i]!.op === op) return activeRules[i]!.rule;
  return undefined;
}

/**
 * Records `output = op(inputs)` on the tape if any input needs a gradient. Returns `output`.
 * `op` must be listed in RECORDED_OPS (src/autograd/recorded-ops.ts); `options` are the values a
 * backward rule needs to re-run the op (conv2d's stride, padding, ...).
 */
export function record(
  op: string,
  inputs: Tensor[],
  output: Tensor,
  backward: BackwardFn,
  saved: Record<string, unknown> = {},
  options: Readonly<Record<string, unknown>> = {},
): Tensor {
  if (!isRecordedOp(op)) throw new Error(`glassbox internal: op '${op}' records a name missing from RECORDED_OPS in src/autograd/recorded-ops.ts; add it there`);
  if (!gradEnabled || !inputs.some((t) => t.requiresGrad)) return output;
  output.requiresGrad = true;
  output.node = {
    op,
    inputs,
    output,
    backward,
    versions: inputs.map((t) => t.storage.version),
    rule: activeRuleFor(op),
    saved,
    options,
  };
  return output;
}
