/** FGSM (Goodfellow, Shlens & Szegedy 2015): one step of eps along the sign of the loss gradient, clipped to [0, 1]. */
import type { Module } from '../../nn/module.ts';
import { add, clamp, mul, sign } from '../../tensor/ops/elementwise.ts';
import { keep, tidy, type Tensor } from '../../tensor/tensor.ts';
import { Attack, checkEpsilon, lossGradient, type AttackOptions } from './attack.ts';

export interface FGSMOptions extends AttackOptions {
  /** L-inf budget in pixel units (default 8/255). */
  eps?: number;
}

export class FGSM extends Attack {
  readonly name = 'FGSM';
  readonly eps: number;

  constructor(model: Module, opts: FGSMOptions = {}) {
    super(model, opts);
    this.eps = opts.eps ?? 8 / 255;
    checkEpsilon('FGSM', this.eps, 'linf');
  }

  /** The step without the checks of attack() (synchronous; adversarial training calls it every batch). */
  perturb(x: Tensor, y: Tensor, target?: Tensor): Tensor {
    return tidy(() => clamp(add(x, mul(sign(lossGradient(this.pixelModel, x, y, target, this.loss)), this.eps)), { min: 0, max: 1 }));
  }

  protected async run(x: Tensor, y: Tensor, target: Tensor | undefined): Promise<Tensor> {
    return keep(this.perturb(x, y, target));
  }
}
