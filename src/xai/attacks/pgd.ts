/**
 * Projected gradient descent (Madry et al. 2018) under L-inf or L2: a random start in the ball,
 * `steps` steps of `alpha` (the gradient's sign for L-inf, the gradient scaled to unit L2 norm per
 * image for L2), each projected back onto the ball and [0, 1]; with `restarts` > 1 every image
 * keeps the first restart that fooled the model. Madry et al.'s MNIST settings: eps 0.3, 40 steps
 * of 0.01, random start.
 */
import type { Module } from '../../nn/module.ts';
import { rand, randn } from '../../tensor/ops/creation.ts';
import { add, div, maximum, mul, sign, sub } from '../../tensor/ops/elementwise.ts';
import { sum } from '../../tensor/ops/reduce.ts';
import { keep, tidy, type Tensor } from '../../tensor/tensor.ts';
import { where } from '../../tensor/ops/elementwise.ts';
import { Attack, checkCount, checkEpsilon, checkPositive, goalMet, lossGradientAndLogits, perImage, perImageNorm, project, type AttackNorm, type AttackOptions } from './attack.ts';

export interface PGDOptions extends AttackOptions {
  /** Budget: pixel units for L-inf (default 0.3), an L2 distance for L2 (default 2). */
  eps?: number;
  /** Step size (default 2.5 * eps / steps, Madry et al.'s rule). */
  alpha?: number;
  /** Default 40. */
  steps?: number;
  /** Start from a uniform random point of the ball (default true). */
  randomStart?: boolean;
  /** Runs from different random starts; an image counts as fooled if any run fools it (default 1). */
  restarts?: number;
  /** Default 'linf'. */
  norm?: AttackNorm;
  /** Each image keeps its first successful iterate (default true); false returns the last iterate, which transfers better to other models. */
  keepFirstSuccess?: boolean;
}

export class PGD extends Attack {
  readonly name: string;
  readonly eps: number;
  readonly alpha: number;
  readonly steps: number;
  readonly randomStart: boolean;
  readonly restarts: number;
  readonly norm: AttackNorm;
  readonly keepFirstSuccess: boolean;
  /** Called after every step with the iterate (tests check it stays in the ball). */
  onStep?: (step: number, adv: Tensor) => void;

  constructor(model: Module, opts: PGDOptions = {}) {
    super(model, opts);
    this.norm = opts.norm ?? 'linf';
    if (this.norm !== 'linf' && this.norm !== 'l2') throw new Error(`glassbox.attacks.PGD: norm must be 'linf' or 'l2', got ${String(this.norm)}`);
    this.name = this.norm === 'linf' ? 'PGD' : 'PGD-L2';
    this.eps = opts.eps ?? (this.norm === 'linf' ? 0.3 : 2);
    this.steps = opts.steps ?? 40;
    checkCount(this.name, 'steps', this.steps, 0);
    this.alpha = opts.alpha ?? (2.5 * this.eps) / Math.max(1, this.steps);
    if (this.eps > 0) checkPositive(this.name, 'alpha', this.alpha);
    this.randomStart = opts.randomStart ?? true;
    this.keepFirstSuccess = opts.keepFirstSuccess ?? true;
    this.restarts = opts.restarts ?? 1;
    checkCount(this.name, 'restarts', this.restarts, 1);
    checkEpsilon(this.name, this.eps, this.norm);
  }

  /** A uniform point of the L-inf ball, or a random direction at a uniform radius in the L2 ball (torchattacks' start). */
  private start(x: Tensor): Tensor {
    if (this.norm === 'linf') return add(x, mul(sub(rand(x.shape), 0.5), 2 * this.eps));
    const direction = randn(x.shape);
    const radius = mul(rand([x.shape[0]!]), this.eps);
    return add(x, mul(div(direction, perImageNorm(direction)), perImage(radius, x)));
  }

  /**
   * One run from one start, without the checks of attack() (synchronous; adversarial training calls it
   * every batch and trains on the last iterate, as Madry et al.). With `keepFirstSuccess` each image
   * keeps the first iterate that met the attacker's goal (read from the logits the gradient step
   * computes anyway), so that a later step cannot undo a success and more steps never help the model.
   */
  perturb(x: Tensor, y: Tensor, target?: Tensor, opts: { keepFirstSuccess?: boolean } = {}): Tensor {
    let adv = tidy(() => project(this.norm, this.randomStart ? this.start(x) : x, x, this.eps));
    let kept: { pixels: Tensor; done: Tensor } | null = null;
    for (let step = 1; step <= this.steps; step++) {
      const next = tidy(() => {
        const { gradient: g, logits } = lossGradientAndLogits(this.pixelModel, adv, y, target, this.loss);
        const direction = this.norm === 'linf' ? sign(g) : div(g, add(perImageNorm(g), 1e-12));
        const moved = project(this.norm, add(adv, mul(direction, this.alpha)), x, this.eps);
        if (!opts.keepFirstSuccess) return { moved };
        const met = goalMet(logits, y, target);
        const record = kept
          ? { pixels: keep(where(perImage(kept.done, x), kept.pixels, adv)), done: keep(maximum(kept.done, met)) }
          : { pixels: keep(mul(adv, 1)), done: keep(met) };
        return { moved, record };
      });
      if (adv !== x) adv.dispose();
      adv = next.moved;
      if (next.record) {
        if (kept) [kept.pixels, kept.done].forEach((t) => t.dispose());
        kept = next.record;
      }
      this.onStep?.(step, adv);
    }
    if (kept) {
      const final = tidy(() => where(perImage(kept.done, x), kept.pixels, adv));
      [kept.pixels, kept.done, adv].forEach((t) => t.dispose());
      return final;
    }
    return adv === x ? tidy(() => add(x, 0)) : adv;
  }

  protected async run(x: Tensor, y: Tensor, target: Tensor | undefined): Promise<Tensor> {
    let best = keep(this.perturb(x, y, target, { keepFirstSuccess: this.keepFirstSuccess }));
    for (let r = 1; r < this.restarts; r++) {
      const fooled = this.pixelModel.fooled(best, y, target);
      const count = sum(fooled);
      const all = await count.item().finally(() => count.dispose());
      if (all === x.shape[0]) {
        fooled.dispose();
        break;
      }
      const candidate = this.perturb(x, y, target, { keepFirstSuccess: this.keepFirstSuccess });
      const merged = keep(tidy(() => where(perImage(fooled, x), best, candidate)));
      [fooled, candidate, best].forEach((t) => t.dispose());
      best = merged;
    }
    return best;
  }
}
