/**
 * Adversarial training's batch hook: every training batch is replaced by its adversarial version
 * before the step (the trainer's `perturbBatch`). Two recipes:
 *   pgd      Madry et al. (2018): PGD from a random start, `steps` steps of `alpha` (MNIST: eps 0.3, 40 steps of 0.01)
 *   fgsm-rs  Wong, Rice & Kolter (2020): one FGSM step of alpha from a uniform random start, projected
 *            back onto the ball (MNIST: eps 0.3, alpha 0.375 = 1.25 eps); as cheap as two ordinary steps
 * The trainer's batches are normalised; the hook attacks in pixel space and normalises back.
 */
import { denormalize, normalize, type Normalization } from '../../data/normalization.ts';
import type { Module } from '../../nn/module.ts';
import { tidy, type Tensor } from '../../tensor/tensor.ts';
import { clamp } from '../../tensor/ops/elementwise.ts';
import { checkCount, checkEpsilon, checkPositive } from './attack.ts';
import { PGD } from './pgd.ts';

export const ADVERSARIAL_TRAINING = ['pgd', 'fgsm-rs'] as const;
export type AdversarialTrainingMethod = (typeof ADVERSARIAL_TRAINING)[number];

/** What a run records in its checkpoint config. */
export interface AdversarialTrainingSettings {
  method: AdversarialTrainingMethod;
  /** L-inf budget in pixel units. */
  eps: number;
  alpha: number;
  /** PGD steps (1 for fgsm-rs). */
  steps: number;
}

/** The settings with each method's published defaults filled in, checked. */
export function adversarialTrainingSettings(method: string, opts: { eps?: number; alpha?: number; steps?: number } = {}): AdversarialTrainingSettings {
  if (!(ADVERSARIAL_TRAINING as readonly string[]).includes(method))
    throw new Error(`glassbox.attacks: unknown adversarial training method '${method}'; use one of ${ADVERSARIAL_TRAINING.join(', ')}`);
  const eps = opts.eps ?? 0.3;
  checkEpsilon('adversarial training', eps, 'linf');
  const fast = method === 'fgsm-rs';
  if (fast && opts.steps !== undefined && opts.steps !== 1) throw new Error(`glassbox.attacks: fgsm-rs takes one attack step, got --attack-steps ${opts.steps}; use --adversarial pgd for more`);
  const steps = fast ? 1 : (opts.steps ?? 40);
  const alpha = opts.alpha ?? (fast ? 1.25 * eps : Math.max(eps / 30, (2.5 * eps) / steps));
  checkCount('adversarial training', 'steps', steps, 1);
  checkPositive('adversarial training', 'alpha', alpha);
  return { method: method as AdversarialTrainingMethod, eps, alpha, steps };
}

/** (normalised batch, labels) -> the normalised adversarial batch, for fit()'s perturbBatch. */
export function adversarialBatchHook(model: Module, settings: AdversarialTrainingSettings, normalization: Normalization): (x: Tensor, y: Tensor) => Tensor {
  const attack = new PGD(model, { eps: settings.eps, alpha: settings.alpha, steps: settings.steps, randomStart: true, normalization });
  return (x, y) =>
    tidy(() => {
      // the loader's pixels may sit a rounding error outside [0, 1] after normalising and back
      const pixels = clamp(denormalize(x, normalization), { min: 0, max: 1 });
      return normalize(attack.perturb(pixels, y), normalization);
    });
}
