/**
 * The one shape every explanation method has (as in Captum):
 *   new Method(model, options).attribute(input, {target, ...}) -> Promise<Tensor>
 * returning a map of the input's shape [N, C, H, W] (or, for CAM-style methods, of the
 * chosen layer's spatial shape upsampled to the input: [N, 1, H, W]), for a whole batch.
 */
import type { Module } from '../nn/module.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { tensor } from '../tensor/ops/creation.ts';
import { gather } from '../tensor/ops/indexing.ts';
import { logSoftmax, softmax } from '../tensor/ops/activation.ts';
import { reshape } from '../tensor/ops/views.ts';
import { neg } from '../tensor/ops/elementwise.ts';
import { shapeStr } from '../tensor/shape.ts';
import { checkOptions, describeValue, type OptionSchema } from '../tensor/check-options.ts';

/**
 * What to explain: a class index for every sample, one per sample, an int32 tensor [N], or a
 * function from the model's output [N, ...] to one score per sample [N] (a hidden unit, a
 * probability, a loss...).
 */
export type Target = number | readonly number[] | Tensor | ((output: Tensor) => Tensor);

/** Which score of the target class: the pre-softmax logit (default), the probability, its log, or the loss -log p. */
export type ScoreKind = 'logit' | 'probability' | 'log-probability' | 'loss';

export interface AttributeOptions {
  target: Target;
  /** Default 'logit'. Ignored when target is a function. */
  score?: ScoreKind;
}

/** The per-sample scalars [N] that an attribution explains. */
export function targetScores(output: Tensor, target: Target, score: ScoreKind = 'logit'): Tensor {
  if (typeof target === 'function') {
    const s = target(output);
    if (s.rank !== 1 || s.shape[0] !== output.shape[0])
      throw new Error(`glassbox.xai: a target function must return one score per sample ([${output.shape[0]}]), got ${shapeStr(s.shape)}`);
    return s;
  }
  if (output.rank !== 2) throw new Error(`glassbox.xai: a class target needs model output [N, classes], got ${shapeStr(output.shape)}; pass a target function instead`);
  const n = output.shape[0]!;
  const classes = output.shape[1]!;
  const index = classIndices(target, n, classes);
  const values = score === 'logit' ? output : score === 'probability' ? softmax(output, 1) : logSoftmax(output, 1);
  const picked = reshape(gather(values, 1, reshape(index, [n, 1])), [n]);
  return score === 'loss' ? neg(picked) : picked;
}

/** Class indices as an int32 tensor [N], with a clear error for out-of-range classes. */
export function classIndices(target: Exclude<Target, (o: Tensor) => Tensor>, n: number, classes: number): Tensor {
  if (typeof target === 'number' || Array.isArray(target)) {
    const list = typeof target === 'number' ? new Array<number>(n).fill(target) : [...(target as readonly number[])];
    if (list.length !== n) throw new Error(`glassbox.xai: ${list.length} targets for a batch of ${n}`);
    list.forEach((c) => {
      if (!Number.isInteger(c) || c < 0 || c >= classes) throw new Error(`glassbox.xai: target class ${c} is not in 0..${classes - 1}`);
    });
    return tensor(Int32Array.from(list), [n], { dtype: 'int32' });
  }
  const t = target as Tensor;
  if (t.dtype !== 'int32' || t.rank !== 1 || t.shape[0] !== n)
    throw new Error(`glassbox.xai: a target tensor must be int32 [${n}], got ${t.dtype} ${shapeStr(t.shape)}`);
  return t;
}

/** The options every method's attribute() takes; a method adds its own (checkAttributeOptions). */
export const ATTRIBUTE_OPTIONS: OptionSchema = { target: 'target', score: ['=logit', '=probability', '=log-probability', '=loss'] };

/**
 * Checks the options of `method`'s attribute() at run time (plain JavaScript never type-checks
 * them): `target` is required, an unknown key or a value of the wrong kind throws naming the
 * method, the option and what it takes. Returns `opts`. A custom method calls it too.
 */
export function checkAttributeOptions<T>(method: string, opts: T, schema: OptionSchema = {}): T {
  return checkOptions(`xai.${method}.attribute`, opts, { ...ATTRIBUTE_OPTIONS, ...schema }, ['target']);
}

export abstract class Attribution<O extends AttributeOptions = AttributeOptions> {
  constructor(readonly model: Module) {
    if (typeof (model as Partial<Module> | undefined)?.forward !== 'function')
      throw new Error(`glassbox.xai.${new.target.name}: the first argument must be the model (an nn.Module), got ${describeValue(model)}`);
  }
  /** The attribution map for every sample of `input`. */
  abstract attribute(input: Tensor, opts: O): Promise<Tensor>;
}

/**
 * Runs the model on `input` and captures the output of the submodule at `layer` (a path from
 * the model summary, e.g. 'features.6'). With `replace`, the hook substitutes the returned tensor
 * for the layer's output (used to inject masks, ablations, or a leaf that needs gradients).
 */
export function forwardWithLayer(
  model: Module,
  layer: string,
  input: Tensor,
  replace?: (activation: Tensor) => Tensor,
): { output: Tensor; activation: Tensor } {
  let activation: Tensor | undefined;
  const remove = model.getSubmodule(layer).registerForwardHook((_m, _inputs, out) => {
    activation = replace ? replace(out) : out;
    return activation;
  });
  try {
    const output = model.forward(input);
    if (!activation) throw new Error(`glassbox.xai: layer '${layer}' did not run in the forward pass`);
    return { output, activation };
  } finally {
    remove();
  }
}
