/**
 * The box-constrained L-BFGS attack of Szegedy et al. (2014): the smallest r with x + r in [0, 1]
 * that the model classifies as the target l, found by minimising c * |r|^2 + loss(x + r, l) with
 * optim.LBFGS (strong Wolfe line search) and a search for the largest c that still succeeds. The
 * box constraint is kept by clamping: the model and the distance both see clamp(x + r, 0, 1)
 * (the paper used L-BFGS-B). Untargeted, the target is each image's runner-up class.
 */
import { grad } from '../../autograd/backward.ts';
import { noGrad } from '../../autograd/node.ts';
import type { Module } from '../../nn/module.ts';
import { tensor, zeros } from '../../tensor/ops/creation.ts';
import { add, clamp, mul, square, sub } from '../../tensor/ops/elementwise.ts';
import { crossEntropy } from '../../tensor/ops/loss.ts';
import { argmax, sum } from '../../tensor/ops/reduce.ts';
import { oneHot } from '../../tensor/ops/indexing.ts';
import { keep, tidy, type Tensor } from '../../tensor/tensor.ts';
import { LBFGS } from '../../train/lbfgs.ts';
import { Attack, checkCount, checkPositive, type AttackOptions } from './attack.ts';
import { BestAdversarial, ConstantSearch } from './search.ts';

export interface LBFGSAttackOptions extends AttackOptions {
  /** The first weight of the distortion (default 0.1). */
  c?: number;
  /** L-BFGS iterations per search (default 30). */
  steps?: number;
  /** Search rounds over c (default 5). */
  searchSteps?: number;
}

export class LBFGSAttack extends Attack {
  readonly name = 'LBFGS';
  readonly c: number;
  readonly steps: number;
  readonly searchSteps: number;

  constructor(model: Module, opts: LBFGSAttackOptions = {}) {
    super(model, opts);
    this.c = opts.c ?? 0.1;
    this.steps = opts.steps ?? 30;
    this.searchSteps = opts.searchSteps ?? 5;
    checkPositive('LBFGS', 'c', this.c);
    checkCount('LBFGS', 'steps', this.steps, 1);
    checkCount('LBFGS', 'searchSteps', this.searchSteps, 1, 100);
  }

  /** Each image's runner-up class (the untargeted attack's target). */
  private runnerUp(x: Tensor, y: Tensor): Tensor {
    return tidy(() =>
      noGrad(() => {
        const logits = this.pixelModel.logits(x);
        return argmax(sub(logits, mul(oneHot(y, logits.shape[1]!), 1e9)), { dim: 1 });
      }),
    );
  }

  protected async run(x: Tensor, y: Tensor, target: Tensor | undefined): Promise<Tensor> {
    const n = x.shape[0]!;
    const goal = target ?? this.runnerUp(x, y);
    const best = new BestAdversarial(x);
    const search = new ConstantSearch(n, this.c, true);
    const dims = Array.from({ length: x.rank - 1 }, (_, i) => i + 1);
    try {
      for (let round = 0; round < this.searchSteps; round++) {
        const r = zeros(x.shape).requiresGrad_();
        const c = tensor(Float32Array.from(search.c), [n]);
        const opt = new LBFGS([r], { maxIter: this.steps, lineSearchFn: 'strong_wolfe' });
        try {
          await opt.step(() =>
            tidy(() => {
              opt.zeroGrad();
              const adv = clamp(add(x, r), { min: 0, max: 1 });
              const distortion = mul(c, sum(square(sub(adv, x)), { dim: dims }));
              const loss = sum(add(distortion, crossEntropy(this.pixelModel.logits(adv), goal, { reduction: 'none' })));
              r.grad = keep(grad([loss], [r])[0]!);
              return loss.detach();
            }),
          );
          tidy(() => best.offer(this.pixelModel, clamp(add(x, r), { min: 0, max: 1 }), y, target));
        } finally {
          opt.zeroGrad();
          opt.reset();
          [r, c].forEach((t) => t.dispose());
        }
        search.update(await best.endRound());
      }
      return best.pixels;
    } finally {
      if (!target) goal.dispose();
      best.dispose();
    }
  }
}
