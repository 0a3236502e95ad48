/**
 * Carlini & Wagner's L2 attack (2017): pixels x' = (tanh(w) + 1) / 2, always in [0, 1], and Adam on w
 * minimising ||x' - x||^2 + c * f(x'), with f the logit margin to the goal floored at -kappa; c is
 * found per image by binary search, and the closest successful x' is returned. Defaults are far
 * cheaper than the paper's (9 searches of 10,000 steps of lr 0.01): 5 searches of 100 steps of lr 0.1 (at 0.01, 100 steps
 * cannot move MNIST's black background, which sits where tanh is flat).
 */
import { grad } from '../../autograd/backward.ts';
import type { Module } from '../../nn/module.ts';
import { tensor } from '../../tensor/ops/creation.ts';
import { add, clamp, div, log, mul, square, sub, tanh } from '../../tensor/ops/elementwise.ts';
import { sum } from '../../tensor/ops/reduce.ts';
import { keep, tidy, type Tensor } from '../../tensor/tensor.ts';
import { Adam } from '../../train/optim.ts';
import { Attack, checkCount, checkPositive, marginLoss, type AttackOptions } from './attack.ts';
import { BestAdversarial, ConstantSearch } from './search.ts';

export interface CWOptions extends AttackOptions {
  /** The first c (default 1). */
  c?: number;
  /** Confidence: the margin the goal must be reached by (default 0). */
  kappa?: number;
  /** Adam steps per search (default 100). */
  steps?: number;
  /** Binary-search rounds over c (default 5). */
  searchSteps?: number;
  /** Adam's learning rate (default 0.1). */
  lr?: number;
}

/** atanh(2x - 1), with x pulled slightly inside (0, 1) so that it stays finite. */
function toTanhSpace(x: Tensor): Tensor {
  const u = clamp(sub(mul(x, 2), 1), { min: -1 + 1e-4, max: 1 - 1e-4 });
  return mul(log(div(add(u, 1), sub(1, u))), 0.5);
}

export class CW extends Attack {
  readonly name = 'CW';
  readonly c: number;
  readonly kappa: number;
  readonly steps: number;
  readonly searchSteps: number;
  readonly lr: number;

  constructor(model: Module, opts: CWOptions = {}) {
    super(model, opts);
    this.c = opts.c ?? 1;
    this.kappa = opts.kappa ?? 0;
    this.steps = opts.steps ?? 100;
    this.searchSteps = opts.searchSteps ?? 5;
    this.lr = opts.lr ?? 0.1;
    checkPositive('CW', 'c', this.c);
    checkPositive('CW', 'lr', this.lr);
    if (!(this.kappa >= 0 && Number.isFinite(this.kappa))) throw new Error(`glassbox.attacks.CW: kappa must be a finite number >= 0, got ${this.kappa}`);
    checkCount('CW', 'steps', this.steps, 1);
    checkCount('CW', 'searchSteps', this.searchSteps, 1, 100);
  }

  protected async run(x: Tensor, y: Tensor, target: Tensor | undefined): Promise<Tensor> {
    const n = x.shape[0]!;
    const best = new BestAdversarial(x);
    const search = new ConstantSearch(n, this.c, false);
    const start = keep(tidy(() => toTanhSpace(x)));
    try {
      for (let round = 0; round < this.searchSteps; round++) {
        const w = keep(tidy(() => mul(start, 1))).requiresGrad_();
        const opt = new Adam([w], { lr: this.lr });
        const c = keep(tensor(Float32Array.from(search.c), [n]));
        try {
          for (let step = 0; step < this.steps; step++) {
            tidy(() => {
              const adv = mul(add(tanh(w), 1), 0.5);
              const dims = Array.from({ length: x.rank - 1 }, (_, i) => i + 1);
              const l2 = sum(square(sub(adv, x)), { dim: dims });
              const f = marginLoss(this.pixelModel.logits(adv), y, target, this.kappa);
              w.grad = grad([sum(add(l2, mul(c, f)))], [w])[0]!;
              best.offer(this.pixelModel, adv, y, target);
              opt.step();
              w.grad = null;
            });
          }
        } finally {
          for (const t of opt.stateDict().tensors.values()) t.dispose();
          [w, c].forEach((t) => t.dispose());
        }
        search.update(await best.endRound());
      }
      return best.pixels;
    } finally {
      start.dispose();
      best.dispose();
    }
  }
}
