/**
 * What every attack shares (torchattacks' shape: `new PGD(model, {eps, ...}).attack(x, y, {targetClass})`):
 *   - the model seen from pixel space: the attack moves pixels in [0, 1] and the model's input
 *     normalisation (gb.normalization.mnist, or what loadModel read from the file's metadata) is
 *     applied in front of the model, declared once here; epsilon is therefore in pixel units;
 *   - the loss an attack ascends: cross-entropy of the true class (untargeted) or minus the
 *     cross-entropy of the target class (targeted), one value per image, replaceable by any loss;
 *   - projection onto the epsilon-ball (L-inf or L2) and the valid pixel range;
 *   - the checks every attack makes on its input: pixels in [0, 1], epsilon in range, a target
 *     class that is not the image's own class.
 */
import { grad } from '../../autograd/backward.ts';
import { noGrad } from '../../autograd/node.ts';
import { normalize, type Normalization } from '../../data/normalization.ts';
import type { Module } from '../../nn/module.ts';
import { tensor } from '../../tensor/ops/creation.ts';
import { add, clamp, div, eq, minimum, ne, sqrt, square, sub, neg, mul } from '../../tensor/ops/elementwise.ts';
import { crossEntropy } from '../../tensor/ops/loss.ts';
import { amax, amin, argmax, sum } from '../../tensor/ops/reduce.ts';
import { reshape, slice, stack } from '../../tensor/ops/views.ts';
import { oneHot } from '../../tensor/ops/indexing.ts';
import { tidy, type Tensor } from '../../tensor/tensor.ts';
import { Objective } from '../optimize/objectives.ts';

export type AttackNorm = 'linf' | 'l2';
/** One target class for every image, or one per image. */
export type TargetClasses = number | readonly number[];
/** The per-image loss an attack ascends ([N]); `target` is set for a targeted attack. */
export type AttackLoss = (logits: Tensor, y: Tensor, target: Tensor | undefined) => Tensor;

export interface AttackOptions {
  /** The model's input normalisation; the attack works on [0, 1] pixels in front of it (default: none). */
  normalization?: Normalization;
  /** The loss to ascend, per image (default: adversarialLoss). */
  loss?: AttackLoss;
}

export interface AttackCall {
  /** Make the model predict this class (one for all images, or one per image) instead of any wrong class. */
  targetClass?: TargetClasses;
}

/** Cross-entropy of the true class (untargeted), or minus that of the target class (targeted): larger is a stronger attack. */
export const adversarialLoss: AttackLoss = (logits, y, target) =>
  target ? neg(crossEntropy(logits, target, { reduction: 'none' })) : crossEntropy(logits, y, { reduction: 'none' });

/** Carlini & Wagner's margin f: how far the model still is from the attacker's goal (<= 0 once reached), floored at -kappa. */
export function marginLoss(logits: Tensor, y: Tensor, target: Tensor | undefined, kappa = 0): Tensor {
  const classes = logits.shape[1]!;
  const goal = oneHot(target ?? y, classes);
  const goalLogit = sum(mul(logits, goal), { dim: 1 });
  const otherLogit = amax(sub(logits, mul(goal, 1e9)), { dim: 1 });
  const margin = target ? sub(otherLogit, goalLogit) : sub(goalLogit, otherLogit);
  return clamp(margin, { min: -kappa });
}

/** The attack's loss as an objective of the optimisation core (src/xai/optimize), to combine with other objectives. */
export function adversarialObjective(y: Tensor, target?: Tensor, loss: AttackLoss = adversarialLoss): Objective {
  return new Objective([], (ctx) => loss(ctx.output, y, target), target ? 'targeted adversarial loss' : 'adversarial loss');
}

/** The model seen from [0, 1] pixels: normalisation in front. */
export class PixelModel {
  constructor(
    readonly model: Module,
    readonly normalization?: Normalization,
  ) {}

  logits(pixels: Tensor): Tensor {
    return this.model.forward(this.normalization ? normalize(pixels, this.normalization) : pixels);
  }

  /** 1 where the model's prediction meets the attacker's goal (not y; or the target), else 0: [N]. */
  fooled(pixels: Tensor, y: Tensor, target: Tensor | undefined): Tensor {
    return noGrad(() => goalMet(this.logits(pixels), y, target));
  }
}

/** The gradient of the summed per-image loss with respect to the pixels (the model's parameters get none), and the logits it came from. */
export function lossGradientAndLogits(m: PixelModel, pixels: Tensor, y: Tensor, target: Tensor | undefined, loss: AttackLoss = adversarialLoss): { gradient: Tensor; logits: Tensor } {
  const x = pixels.detach().requiresGrad_();
  const logits = m.logits(x);
  return { gradient: grad([sum(loss(logits, y, target))], [x])[0]!, logits: logits.detach() };
}

/** The gradient of the summed per-image loss with respect to the pixels. */
export function lossGradient(m: PixelModel, pixels: Tensor, y: Tensor, target: Tensor | undefined, loss: AttackLoss = adversarialLoss): Tensor {
  return lossGradientAndLogits(m, pixels, y, target, loss).gradient;
}

/** 1 where logits meet the attacker's goal (not y; or the target), else 0: [N]. */
export function goalMet(logits: Tensor, y: Tensor, target: Tensor | undefined): Tensor {
  const predicted = argmax(logits, { dim: 1 });
  return target ? eq(predicted, target) : ne(predicted, y);
}

/** [N] -> [N, 1, 1, 1] (broadcasts over an image batch's other axes). */
export function perImage(v: Tensor, like: Tensor): Tensor {
  return reshape(v, [v.shape[0]!, ...like.shape.slice(1).map(() => 1)]);
}

/** The L2 norm of each image of a batch, [N, 1, ..., 1]. */
export function perImageNorm(d: Tensor): Tensor {
  const dims = Array.from({ length: d.rank - 1 }, (_, i) => i + 1);
  return sqrt(sum(square(d), { dim: dims, keepdim: true }));
}

/** Back onto the L-inf ball of radius eps around x, intersected with [0, 1]. */
export function projectLinf(adv: Tensor, x: Tensor, eps: number): Tensor {
  return clamp(adv, { min: clamp(sub(x, eps), { min: 0 }), max: clamp(add(x, eps), { max: 1 }) });
}

/** Back onto the L2 ball of radius eps around x (radial scaling), then into [0, 1] (which only shrinks the step). */
export function projectL2(adv: Tensor, x: Tensor, eps: number): Tensor {
  const delta = sub(adv, x);
  const factor = minimum(1, div(eps, add(perImageNorm(delta), 1e-12)));
  return clamp(add(x, mul(delta, factor)), { min: 0, max: 1 });
}

export const project = (norm: AttackNorm, adv: Tensor, x: Tensor, eps: number) => (norm === 'linf' ? projectLinf(adv, x, eps) : projectL2(adv, x, eps));

/** Refuses an epsilon outside its range: L-inf in pixel units [0, 1]; L2 from 0 to the diagonal of the pixel cube. */
export function checkEpsilon(who: string, eps: number, norm: AttackNorm, pixels?: number): void {
  const max = norm === 'linf' ? 1 : Math.sqrt(pixels ?? Infinity);
  if (!(typeof eps === 'number' && eps >= 0 && eps <= max))
    throw new Error(
      norm === 'linf'
        ? `glassbox.attacks.${who}: eps ${eps} is out of range: an L-inf epsilon is in pixel units, from 0 to 1 (0.3 is 30% of the pixel range; 8/255 = 0.031); pass a number in [0, 1]`
        : `glassbox.attacks.${who}: eps ${eps} is out of range: an L2 epsilon is a distance between [0, 1] images, from 0 to ${max.toFixed(2)} (the image's diagonal); pass a number in that range`,
    );
}

/** Refuses a count that is not a whole number in [min, max]. */
export function checkCount(who: string, name: string, value: number, min: number, max = 1e6): void {
  if (!(Number.isInteger(value) && value >= min && value <= max)) throw new Error(`glassbox.attacks.${who}: ${name} must be a whole number from ${min} to ${max}, got ${value}`);
}

/** Refuses a positive setting that is not a finite number > 0. */
export function checkPositive(who: string, name: string, value: number): void {
  if (!(typeof value === 'number' && Number.isFinite(value) && value > 0)) throw new Error(`glassbox.attacks.${who}: ${name} must be a finite number > 0, got ${value}`);
}

/** Checks pixels and labels, and makes the target tensor (undefined for an untargeted attack); the caller disposes it. */
export async function prepareTargets(who: string, x: Tensor, y: Tensor, classes: number, targetClass: TargetClasses | undefined): Promise<Tensor | undefined> {
  if (x.rank < 2 || y.rank !== 1 || y.shape[0] !== x.shape[0]) throw new Error(`glassbox.attacks.${who}: x must be a batch [N, ...] of pixels and y its N labels, got x [${x.shape}] and y [${y.shape}]`);
  const range = tidy(() => stack([amin(x), amax(x)]));
  const [lo, hi] = Array.from(await range.toArray().finally(() => range.dispose()));
  if (!(lo! >= 0 && hi! <= 1))
    throw new Error(`glassbox.attacks.${who}: x must be pixels in [0, 1], got values from ${lo} to ${hi}; pass unnormalised pixels and give the model's normalisation as the normalization option`);
  if (targetClass === undefined) return undefined;
  const n = x.shape[0]!;
  const targets = typeof targetClass === 'number' ? Array<number>(n).fill(targetClass) : [...targetClass];
  if (targets.length !== n) throw new Error(`glassbox.attacks.${who}: ${targets.length} target classes for ${n} images; give one class or one per image`);
  const bad = targets.find((t) => !Number.isInteger(t) || t < 0 || t >= classes);
  if (bad !== undefined) throw new Error(`glassbox.attacks.${who}: target class ${bad} is out of range: the model has ${classes} classes (0 to ${classes - 1})`);
  const labels = Array.from(await y.toArray());
  const same = targets.findIndex((t, i) => t === labels[i]);
  if (same >= 0)
    throw new Error(`glassbox.attacks.${who}: the target class ${targets[same]} of image ${same} is its true class; a targeted attack needs another class (leave such images out, or attack them untargeted)`);
  return tensor(Int32Array.from(targets), [n]);
}

/** The base of every attack: options, checks, and `attack(x, y, {targetClass})` returning adversarial pixels. */
export abstract class Attack {
  abstract readonly name: string;
  readonly pixelModel: PixelModel;
  readonly loss: AttackLoss;

  constructor(model: Module, opts: AttackOptions) {
    this.pixelModel = new PixelModel(model, opts.normalization);
    this.loss = opts.loss ?? adversarialLoss;
  }

  /** Adversarial pixels for the [0, 1] images x with labels y (a new tensor; x is kept). */
  async attack(x: Tensor, y: Tensor, call: AttackCall = {}): Promise<Tensor> {
    const classes = noGrad(() => tidy(() => this.pixelModel.logits(slice(x, 0, { start: 0, end: 1 })).shape[1]!));
    const target = await prepareTargets(this.name, x, y, classes, call.targetClass);
    try {
      return await this.run(x, y, target);
    } finally {
      target?.dispose();
    }
  }

  protected abstract run(x: Tensor, y: Tensor, target: Tensor | undefined): Promise<Tensor>;
}
