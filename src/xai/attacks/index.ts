/**
 * Adversarial examples (catalogue row C1), torchattacks' shape: `new PGD(model, {eps, normalization}).attack(x, y, {targetClass})`.
 *   attack.ts        the shared core: the model seen from [0, 1] pixels (normalisation declared once),
 *                    the untargeted / targeted losses (and as an optimisation objective), projection onto
 *                    the L-inf and L2 balls and the pixel range, input checks
 *   fgsm.ts          FGSM (Goodfellow et al. 2015)
 *   pgd.ts           PGD under L-inf and L2 with random start and restarts (Madry et al. 2018)
 *   search.ts        the per-image binary search over c and the best adversarial so far (C&W, L-BFGS)
 *   cw.ts            Carlini & Wagner's L2 attack (2017), in tanh space
 *   lbfgs-attack.ts  the box-constrained L-BFGS attack of Szegedy et al. (2014), on optim.LBFGS
 *   registry.ts      attacks by name (fgsm, pgd, pgd-l2, cw, lbfgs) for the CLI
 *   adversarial-training.ts  the batch hook of `train --adversarial pgd|fgsm-rs` (Madry; Wong, Rice & Kolter 2020)
 *   robustness.ts    accuracy and success under attack, and the gradient-masking checks
 *   manipulation.ts  manipulated explanations (C4, Dombrowski et al. 2019): an input whose explanation matches another's
 */
export * from './attack.ts';
export * from './fgsm.ts';
export * from './pgd.ts';
export * from './search.ts';
export * from './cw.ts';
export * from './lbfgs-attack.ts';
export * from './registry.ts';
export * from './adversarial-training.ts';
export * from './robustness.ts';
export * from './manipulation.ts';
