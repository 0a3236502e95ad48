/** Scoring an attack: accuracy under attack, success rate, distortion, and the checks against gradient masking (Athalye et al. 2018; Carlini et al. 2019). */
import { noGrad } from '../../autograd/node.ts';
import { abs, eq, sub } from '../../tensor/ops/elementwise.ts';
import { amax, argmax } from '../../tensor/ops/reduce.ts';
import { flatten } from '../../tensor/ops/views.ts';
import { tidy, type Tensor } from '../../tensor/tensor.ts';
import { perImageNorm, type PixelModel } from './attack.ts';

/** Per image: the clean and adversarial predictions and the perturbation's L-inf and L2 size. */
export interface AttackOutcome {
  clean: number[];
  adversarial: number[];
  linf: number[];
  l2: number[];
}

export async function attackOutcome(m: PixelModel, x: Tensor, adv: Tensor): Promise<AttackOutcome> {
  const t = tidy(() =>
    noGrad(() => {
      const d = sub(adv, x);
      return [argmax(m.logits(x), { dim: 1 }), argmax(m.logits(adv), { dim: 1 }), amax(abs(flatten(d, 1)), { dim: 1 }), perImageNorm(d).view(-1)];
    }),
  );
  try {
    const [clean, adversarial, linf, l2] = await Promise.all(t.map(async (v) => Array.from(await v.toArray())));
    return { clean: clean!, adversarial: adversarial!, linf: linf!, l2: l2! };
  } finally {
    t.forEach((v) => v.dispose());
  }
}

/**
 * Accuracy under attack (share of all images still classified right) and success rate (untargeted:
 * share of the images classified right before that the attack turned wrong; targeted: share of all
 * images now classified as the target).
 */
export function scoreOutcome(o: AttackOutcome, labels: readonly number[], target?: readonly number[]): { accuracy: number; cleanAccuracy: number; successRate: number } {
  const n = labels.length;
  const right = labels.map((l, i) => o.clean[i] === l);
  const accuracy = labels.filter((l, i) => o.adversarial[i] === l).length / n;
  const cleanAccuracy = right.filter(Boolean).length / n;
  const successRate = target
    ? target.filter((t, i) => o.adversarial[i] === t).length / n
    : right.filter((r, i) => r && o.adversarial[i] !== labels[i]).length / Math.max(1, right.filter(Boolean).length);
  return { accuracy, cleanAccuracy, successRate };
}

/** Accuracy of `m` on pixels (a transfer attack's adversarials made on another model). */
export async function accuracyOn(m: PixelModel, pixels: Tensor, y: Tensor): Promise<number> {
  const hits = tidy(() => noGrad(() => eq(argmax(m.logits(pixels), { dim: 1 }), y).sum()));
  return (await hits.item().finally(() => hits.dispose())) / y.shape[0]!;
}

/** One check against gradient masking: what must hold, the figures, and whether they do. */
export interface MaskingCheck {
  check: string;
  expected: string;
  measured: string;
  pass: boolean;
}

/** Accuracy must not rise as eps grows (a larger budget never helps the model). */
export function epsilonMonotone(attack: string, eps: readonly number[], accuracy: readonly number[]): MaskingCheck {
  const rises = accuracy.slice(1).map((a, i) => ({ from: eps[i]!, to: eps[i + 1]!, before: accuracy[i]!, after: a })).filter((s) => s.after > s.before);
  return {
    check: `${attack}: larger eps never helps the model`,
    expected: 'accuracy non-increasing in eps',
    measured: eps.map((e, i) => `${e}: ${(100 * accuracy[i]!).toFixed(1)}%`).join(', '),
    pass: rises.length === 0,
  };
}
