/**
 * Madry et al.'s finding on two really trained LeNet-5 fixtures on 12,000 MNIST images with
 * Adam: `lenet-mnist` normally (2 epochs), `lenet-mnist-robust` with every batch replaced by its PGD
 * attack (eps 0.3, 5 steps, 3 epochs; tests/trained-models.ts). Under PGD-40 at eps 0.3 the
 * normal net falls to about 0% while the adversarially trained one keeps a large share, and the
 * robust net's accuracy is not an artefact of masked gradients: an unbounded PGD still fools it and
 * more steps never help it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { mnist } from '../src/data/datasets.ts';
import { PGD, PixelModel } from '../src/xai/attacks/index.ts';
import { trainedModel } from './trained-models.ts';

const normalization = gb.normalization.mnist!;
let normal: gb.nn.Module;
let robust: gb.nn.Module;
let x: gb.Tensor;
let y: gb.Tensor;

beforeAll(async () => {
  normal = (await trainedModel('lenet-mnist')).model;
  robust = (await trainedModel('lenet-mnist-robust')).model;
  const data = await mnist({ split: 'test', limit: 128 });
  [x, y] = [gb.keep(data.images), gb.keep(data.labels)];
}, 120_000);

async function accuracy(model: gb.nn.Module, images: gb.Tensor): Promise<number> {
  const m = new PixelModel(model, normalization);
  const hits = gb.tidy(() => gb.noGrad(() => gb.eq(gb.argmax(m.logits(images), { dim: 1 }), y).sum()));
  return (await hits.item()) / y.shape[0]!;
}

async function underPgd(model: gb.nn.Module, eps: number, steps: number): Promise<number> {
  gb.manualSeed(0);
  const adv = await new PGD(model, { eps, steps, alpha: Math.max(0.01, (2.5 * eps) / steps), normalization }).attack(x, y);
  try {
    return await accuracy(model, adv);
  } finally {
    adv.dispose();
  }
}

describe('adversarial training (Madry et al. 2018) on trained LeNet-5 fixtures', () => {
  it("the PGD-trained net's accuracy under PGD-40 at eps 0.3 is far above the normal net's", async () => {
    const [normalPgd, robustPgd] = [await underPgd(normal, 0.3, 40), await underPgd(robust, 0.3, 40)];
    const [normalClean, robustClean] = [await accuracy(normal, x), await accuracy(robust, x)];
    console.log(`128 test images: normal clean ${normalClean}, PGD-40 ${normalPgd}; robust clean ${robustClean}, PGD-40 ${robustPgd}`);
    expect(normalPgd).toBeLessThanOrEqual(0.05);
    // the margin the issue asks for: at least 30 points (see the README's C1 section for the measured one)
    expect(robustPgd - normalPgd).toBeGreaterThanOrEqual(0.3);
    // robustness costs clean accuracy, but the net still classifies
    expect(robustClean).toBeGreaterThan(0.7);
  }, 120_000);

  it("the robust net's accuracy is no gradient masking: more steps never help it, an unbounded attack fools it", async () => {
    const curve = [await underPgd(robust, 0.3, 10), await underPgd(robust, 0.3, 40)];
    expect(curve[1]).toBeLessThanOrEqual(curve[0]!);
    expect(await underPgd(robust, 1, 40)).toBeLessThanOrEqual(0.02);
  }, 120_000);
});
