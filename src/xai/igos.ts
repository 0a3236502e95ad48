/**
 * iGOS++ (Khorram, Lawson & Fuxin 2021, "iGOS++: Integrated Gradient Optimized Saliency by
 * Bilateral Perturbations"). One mask m (1 = pixel of x, 0 = baseline x0) is optimised against
 * both perturbations at once:
 *   deletion   D(m) = S(blend(x, x0, m))       should be low  (deleting 1 - m kills the score)
 *   insertion  I(m) = S(blend(x0, x, m))       should be high (inserting 1 - m alone restores it)
 *   min_m  D(m) - I(m) + l1 mean|1 - m| + tv TV_beta(m)
 * The descent direction of D and I is not their plain gradient but their integrated gradient
 * along the straight mask path from the fully perturbed image to the current one (I-GOS, Qi et
 * al. 2020, eq. 6; iGOS++ eq. 4-5):
 *   IG_D(m) = (1/S) sum_i d/dm D((i/S) m)              (from m = 0: x0 everywhere)
 *   IG_I(m) = (1/S) sum_i d/dm I(1 - (i/S)(1 - m))     (from m = 1: x0 everywhere)
 * which sees past the saturated flat regions where plain gradients vanish. All S points of both
 * paths run as one batch. Simplifications (documented): projected Adam on the mask instead of the
 * paper's backtracking line search; a low-resolution mask upsampled bilinearly (the paper's too)
 * with plain TV instead of its bilateral TV; the softmax probability as the score by default.
 * The saliency returned is 1 - m upsampled to the input: [N, 1, H, W].
 */
import { grad } from '../autograd/backward.ts';
import { noGrad } from '../autograd/node.ts';
import { tidy, Tensor } from '../tensor/tensor.ts';
import { full } from '../tensor/ops/creation.ts';
import { add, mul, sub } from '../tensor/ops/elementwise.ts';
import { sum } from '../tensor/ops/reduce.ts';
import { cat, slice } from '../tensor/ops/views.ts';
import { Attribution, checkAttributeOptions, targetScores } from './attribution.ts';
import { blend, deletedArea, optimiseMask, repeatBatch, repeatTarget, totalVariation, upsampleMask } from './masks.ts';
import { PERTURBATION_OPTIONS, perturbedImage, type PerturbationOptions } from './perturbation.ts';
import { registerMethods } from './registry.ts';

export interface IGOSOptions extends PerturbationOptions {
  /** Points on each integration path (default 10). */
  steps?: number;
  /** Weight of the deleted area mean|1 - m| (default 1). */
  l1?: number;
  /** Weight of TV_beta(m) (default 2), beta 3. */
  tv?: number;
  /** The mask has (H / maskScale) x (W / maskScale) cells (default 4). */
  maskScale?: number;
}

export class IGOS extends Attribution<IGOSOptions> {
  async attribute(input: Tensor, opts: IGOSOptions): Promise<Tensor> {
    checkAttributeOptions('IGOS', opts, { ...PERTURBATION_OPTIONS, steps: 'number', l1: 'number', tv: 'number', maskScale: 'number' });
    const [n, , h, w] = input.shape as [number, number, number, number];
    const steps = opts.steps ?? 10;
    const scale = opts.maskScale ?? 4;
    const [l1, tv] = [opts.l1 ?? 1, opts.tv ?? 2];
    const x = repeatBatch(input, steps);
    const x0 = tidy(() => perturbedImage(x, opts.perturbation, opts.blurSigma));
    const target = repeatTarget(opts.target, 2 * steps);
    const fractions = Array.from({ length: steps }, (_, i) => (i + 1) / steps);
    const direction = (m: Tensor) => {
      const deletionMasks = upsampleMask(cat(fractions.map((f) => mul(m, f)), 0), [h, w]);
      const insertionMasks = upsampleMask(cat(fractions.map((f) => sub(1, mul(sub(1, m), f))), 0), [h, w]);
      // rows: the S deletion-path points (x seen through the mask), then the S insertion-path
      // points (x seen where the mask is 0), each a copy of the batch
      const rows = cat([blend(x, x0, deletionMasks), blend(x0, x, insertionMasks)], 0);
      const scores = targetScores(this.model.forward(rows), target, opts.score ?? 'probability');
      const half = steps * n;
      const objective = sub(sum(slice(scores, 0, { end: half })), sum(slice(scores, 0, { start: half })));
      const [integrated] = grad(objective, m);
      const [regulariser] = grad(add(mul(sum(deletedArea(m)), l1), mul(sum(totalVariation(m)), tv)), m);
      return add(mul(integrated!, 1 / steps), regulariser!);
    };
    try {
      const m = await optimiseMask(full([n, 1, Math.ceil(h / scale), Math.ceil(w / scale)], 1), opts.iterations ?? 40, opts.lr ?? 0.1, direction);
      const saliency = noGrad(() => tidy(() => sub(1, upsampleMask(m, [h, w]))));
      m.dispose();
      return saliency;
    } finally {
      [x, x0, ...(target instanceof Tensor ? [target] : [])].forEach((t) => t.dispose());
    }
  }
}

registerMethods([
  {
    name: 'igos++',
    catalogue: 'B6',
    description: 'iGOS++ (Khorram et al. 2021): a mask optimised with integrated gradients of the deletion and insertion scores',
    output: 'input',
    signed: false,
    create: (model) => new IGOS(model),
  },
]);
