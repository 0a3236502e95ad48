/**
 * Each data set's input normalisation as data (`normalization.mnist = {mean, std}`, per channel,
 * of pixels in [0, 1]), and `normalize` / `denormalize` to apply it: the trained models of the zoo
 * expect normalised inputs, and an attack or a visualisation that works in pixel space puts
 * `normalize` in front of the model. Browser-safe; the values are those training uses
 * (src/train/data-loader.ts), and every model the CLI trains records them in its metadata.
 */
import { NORMALISATION } from '../train/data-loader.ts';
import { shapeStr } from '../tensor/shape.ts';
import { Tensor } from '../tensor/tensor.ts';
import { tensor } from '../tensor/ops/creation.ts';
import { add, div, mul, sub } from '../tensor/ops/elementwise.ts';

export interface Normalization {
  /** Per-channel mean of the [0, 1] pixels (one value per channel, or one for all). */
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

const frozen = (n: { mean: number[]; std: number[] }): Normalization => Object.freeze({ mean: Object.freeze([...n.mean]), std: Object.freeze([...n.std]) });

/** By data set name: mnist, fashion-mnist, cifar10, mnist-mixture (also mnist-mixture-usefulness). */
export const normalization: Readonly<Record<string, Normalization>> = Object.freeze({
  ...Object.fromEntries(Object.entries(NORMALISATION).map(([name, n]) => [name, frozen(n)])),
  'mnist-mixture-usefulness': frozen(NORMALISATION['mnist-mixture']!),
});

/** (x - mean[c]) / std[c] over the channel axis of x ([N, C, H, W] or [C, H, W]); differentiable. */
export function normalize(x: Tensor, norm: Normalization): Tensor {
  const { mean, std } = perChannel('normalize', x, norm);
  return div(sub(x, mean), std);
}

/** The inverse: x * std[c] + mean[c], back to [0, 1] pixels. */
export function denormalize(x: Tensor, norm: Normalization): Tensor {
  const { mean, std } = perChannel('denormalize', x, norm);
  return add(mul(x, std), mean);
}

function perChannel(op: string, x: Tensor, norm: Normalization): { mean: Tensor; std: Tensor } {
  if (!(x instanceof Tensor)) throw new Error(`glassbox.${op}: the first argument must be a tensor of images [N, C, H, W] or [C, H, W], got ${typeof x}`);
  if (x.rank !== 3 && x.rank !== 4) throw new Error(`glassbox.${op}: expects images [N, C, H, W] or [C, H, W], got shape ${shapeStr(x.shape)}`);
  const check = (name: 'mean' | 'std') => {
    const v = norm?.[name];
    if (!Array.isArray(v) || v.length === 0 || v.some((n) => typeof n !== 'number' || !Number.isFinite(n)))
      throw new Error(`glassbox.${op}: norm.${name} must be an array of finite numbers (e.g. normalization.mnist = {mean: [0.1307], std: [0.3081]}), got ${JSON.stringify(v)}`);
    return v as number[];
  };
  const mean = check('mean');
  const std = check('std');
  if (std.some((s) => s <= 0)) throw new Error(`glassbox.${op}: norm.std must be positive, got ${JSON.stringify(std)}`);
  const C = x.shape[x.rank - 3]!;
  for (const [name, v] of [['mean', mean], ['std', std]] as const)
    if (v.length !== 1 && v.length !== C) throw new Error(`glassbox.${op}: norm.${name} has ${v.length} values but the images ${shapeStr(x.shape)} have ${C} channels; give one per channel (or one for all)`);
  const shape = [mean.length === 1 && std.length === 1 ? 1 : C, 1, 1];
  const spread = (v: number[]) => tensor(v.length === 1 ? Array(shape[0]).fill(v[0]) : v, shape);
  return { mean: spread(mean), std: spread(std) };
}
