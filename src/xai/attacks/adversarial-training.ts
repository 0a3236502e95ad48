/**
 * Adversarial training's batch hook: every training batch is replaced by its adversarial version
 * before the step (the trainer's `perturbBatch`). Two recipes:
 *   pgd      Madry et al. (2018): PGD from a random start, `steps` steps of `alpha` (MNIST: eps 0.3, 40 steps of 0.01)
 *   fgsm-rs  Wong, Rice & Kolter (2020): one FGSM step of alpha from a uniform random start, projected
 *            back onto the ball (MNIST: eps 0.3, alpha 0.375 = 1.25 eps); as cheap as two ordinary steps
 * The trainer's batches are normalised; the hook attacks in pixel space and normalises back.
 *
 * An optional warm-up ramps eps (and alpha with it) linearly from eps / W to eps over the first
 * `warmupEpochs` epochs of W batches in all. A small net trained against the full eps 0.3 from its
 * first step can stay at chance: the attack wins every batch before the net has any feature to
 * defend (measured here: LeNet-5, PGD-5, 3,000 MNIST images, 3 epochs at 13.4%); ramping the budget
 * is the usual remedy (Gowal et al. 2018's eps schedule).
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
  /** Epochs over which eps (and alpha) ramp up linearly to their values; absent: the full eps from the start. */
  warmupEpochs?: number;
}

/** The settings with each method's published defaults filled in, checked. */
export function adversarialTrainingSettings(method: string, opts: { eps?: number; alpha?: number; steps?: number; warmupEpochs?: number } = {}): AdversarialTrainingSettings {
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
  const warmup = opts.warmupEpochs ?? 0;
  if (!Number.isFinite(warmup) || warmup < 0) throw new Error(`glassbox.attacks: the eps warm-up must be a number of epochs >= 0, got ${warmup}`);
  return { method: method as AdversarialTrainingMethod, eps, alpha, steps, ...(warmup > 0 && { warmupEpochs: warmup }) };
}

/** Where the hook's batches fall in the run: needed for a warm-up (and its resume). */
export interface AdversarialSchedule {
  batchesPerEpoch: number;
  /** Batches already trained (a resumed run: epochs done x batches per epoch; default 0). */
  startBatch?: number;
}

/** The share of eps at 0-based training batch `batch`: (batch + 1) / W up to 1, W the warm-up's batches. */
export function warmupScale(settings: AdversarialTrainingSettings, batch: number, batchesPerEpoch: number): number {
  const warmupBatches = (settings.warmupEpochs ?? 0) * batchesPerEpoch;
  return warmupBatches > 0 ? Math.min(1, (batch + 1) / warmupBatches) : 1;
}

/** (normalised batch, labels) -> the normalised adversarial batch, for fit()'s perturbBatch. */
export function adversarialBatchHook(model: Module, settings: AdversarialTrainingSettings, normalization: Normalization, schedule?: AdversarialSchedule): (x: Tensor, y: Tensor) => Tensor {
  if (settings.warmupEpochs && !(schedule && schedule.batchesPerEpoch > 0))
    throw new Error(`glassbox.attacks: an eps warm-up of ${settings.warmupEpochs} epochs needs the batches per epoch (adversarialBatchHook's schedule argument)`);
  const attackAt = (scale: number) => new PGD(model, { eps: scale * settings.eps, alpha: scale * settings.alpha, steps: settings.steps, randomStart: true, normalization });
  const full = attackAt(1);
  let batch = schedule?.startBatch ?? 0;
  return (x, y) => {
    const scale = schedule ? warmupScale(settings, batch++, schedule.batchesPerEpoch) : 1;
    const attack = scale < 1 ? attackAt(scale) : full;
    return tidy(() => {
      // the loader's pixels may sit a rounding error outside [0, 1] after normalising and back
      const pixels = clamp(denormalize(x, normalization), { min: 0, max: 1 });
      return normalize(attack.perturb(pixels, y), normalization);
    });
  };
}
