/**
 * WGAN-GP (Gulrajani et al. 2017): the critic D estimates the Wasserstein-1 distance between real
 * and generated images, kept 1-Lipschitz by a gradient penalty on random interpolates:
 *
 *   critic step     minimise  E[D(G(z))] - E[D(x)] + lambda E[(|grad_x^ D(x^)|_2 - 1)^2],
 *                             x^ = e x + (1 - e) G(z), e ~ U[0, 1] per image, lambda = 10
 *   generator step  minimise  -E[D(G(z))], once every n_critic = 5 critic steps
 *
 * with Adam (lr 1e-4, betas (0, 0.9)) and a critic without batch norm (the penalty is per image,
 * and batch norm would make each image's score depend on the batch: Dcgan's discriminatorNorm
 * 'none'). The penalty differentiates D's input gradient with respect to D's weights: the input
 * gradient is taken with createGraph, so backward runs through it (second-order gradients).
 */
import * as gb from '../index.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { GanState } from './train.ts';

export const WGAN_GP_DEFAULTS = { lr: 1e-4, beta1: 0, beta2: 0.9, nCritic: 5, penaltyWeight: 10 } as const;

/**
 * lambda * mean over images of (|d critic(x^) / d x^|_2 - 1)^2 on interpolates of `real` and `fake`
 * (both detached here). `mix` gives e per image ([n]); drawn from U[0, 1] when omitted.
 */
export function gradientPenalty(critic: (x: Tensor) => Tensor, real: Tensor, fake: Tensor, opts: { weight?: number; mix?: Tensor } = {}): Tensor {
  const n = real.shape[0]!;
  if (fake.shape.length !== real.shape.length || fake.shape.some((d, i) => d !== real.shape[i]))
    throw new Error(`glassbox.gan: gradient penalty needs real and fake batches of one shape, got [${real.shape.join(', ')}] and [${fake.shape.join(', ')}]`);
  const perImage = [n, ...real.shape.slice(1).map(() => 1)];
  const e = (opts.mix ?? gb.uniform([n], 0, 1)).reshape(perImage);
  const mixed = gb.add(gb.mul(e, real.detach()), gb.mul(gb.sub(1, e), fake.detach())).detach().requiresGrad_();
  const [g] = gb.grad(gb.sum(critic(mixed)), mixed, { createGraph: true });
  const norms = gb.norm(g!.reshape([n, -1]), { dim: 1 });
  return gb.mul(gb.mean(gb.square(gb.sub(norms, 1))), opts.weight ?? WGAN_GP_DEFAULTS.penaltyWeight);
}

/**
 * One critic step on a batch of real images in [-1, 1], and a generator step when `generatorStep`.
 * Returns the critic's loss (with the penalty), the generator's loss (-E[D(G(z))], from this batch's
 * fakes when the generator did not step) and the critic's hits: twice the images whose real score
 * is above their fake partner's, so hits / 2n is the share of pairs it ranks right.
 */
export function wganGpStep(s: GanState, real: Tensor, opts: { generatorStep: boolean; penaltyWeight?: number }): { dLoss: Tensor; gLoss: Tensor; hits: Tensor } {
  const { gan, optG, optD } = s;
  const critic = (x: Tensor) => gan.discriminator.forward(x);
  const n = real.shape[0]!;
  const fake = gb.noGrad(() => gan.generator.forward(gb.randn([n, gan.generator.latentSize])));
  optD.zeroGrad();
  // one forward for both halves: without batch norm an image's score does not depend on its batch
  const scores = critic(gb.cat([real, fake], 0));
  const realScores = scores.slice(0, { start: 0, end: n });
  const fakeScores = scores.slice(0, { start: n, end: 2 * n });
  const penalty = gradientPenalty(critic, real, fake, { weight: opts.penaltyWeight });
  const dLoss = gb.add(gb.sub(gb.mean(fakeScores), gb.mean(realScores)), penalty);
  dLoss.backward();
  optD.step();
  let gLoss: Tensor;
  if (opts.generatorStep) {
    optG.zeroGrad();
    gLoss = gb.neg(gb.mean(critic(gan.generator.forward(gb.randn([n, gan.generator.latentSize])))));
    gLoss.backward();
    optG.step();
  } else gLoss = gb.neg(gb.mean(fakeScores));
  const hits = gb.noGrad(() => gb.mul(gb.sum(gb.gt(realScores, fakeScores)), 2));
  return { dLoss: dLoss.detach(), gLoss: gLoss.detach(), hits };
}
