/**
 * Path attributions on a trained LeNet (MNIST): Integrated Gradients' completeness and its
 * convergence with steps, DeepLIFT's summation-to-delta, GradientSHAP's efficiency in expectation,
 * and batch == one-by-one for each.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import * as gb from '../src/index.ts';
import { gaussLegendre, quadrature } from '../src/xai/integrated-gradients.ts';
import { batchVersusSingles, mnistBatch, type Batch } from './gradient-test-inputs.ts';
import { trainedModel, type TrainedModel } from './trained-models.ts';

let lenet: TrainedModel;
let batch: Batch;
beforeAll(async () => {
  lenet = await trainedModel('lenet-mnist');
  batch = await mnistBatch(lenet, 4);
});
const norm = () => ({ mean: lenet.mean, std: lenet.std });

describe('quadrature rules', () => {
  test('Gauss-Legendre with m nodes integrates polynomials of degree 2m - 1 exactly on [0, 1]', () => {
    for (const m of [1, 2, 5, 16, 128]) {
      const { nodes, weights } = gaussLegendre(m);
      for (const degree of [0, 1, 2 * m - 1]) {
        const integral = nodes.reduce((acc, a, k) => acc + weights[k]! * a ** degree, 0);
        expect(Math.abs(integral - 1 / (degree + 1))).toBeLessThan(1e-12);
      }
    }
  });
  test('every rule has weights summing to 1 and nodes in [0, 1]', () => {
    for (const rule of ['riemann-left', 'riemann-right', 'riemann-middle', 'riemann-trapezoid', 'gauss-legendre'] as const) {
      const { nodes, weights } = quadrature(rule, 7);
      expect(Math.abs(weights.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-12);
      expect(nodes.every((a) => a >= 0 && a <= 1)).toBe(true);
    }
  });
});

describe('Integrated Gradients', () => {
  test('completeness within 1% at 128 steps (trapezoid and Gauss-Legendre, black / blurred / noise baselines)', async () => {
    const ig = new gb.xai.IntegratedGradients(lenet.model);
    const cases = [
      ['riemann-trapezoid', 'black'],
      ['gauss-legendre', 'black'],
      ['gauss-legendre', 'blurred'],
      ['gauss-legendre', 'uniform-noise'],
    ] as const;
    for (const [method, baseline] of cases) {
      const e = await ig.explain(batch.x, { target: batch.labels, steps: 128, method, baseline, normalization: norm(), internalBatchSize: 256 });
      e.attribution.dispose();
      console.log(`IG ${method} ${baseline}: relative completeness errors ${e.relativeError.map((v) => v.toExponential(1)).join(' ')}`);
      // the score differences are far from 0 (several logits), so the relative error is meaningful
      e.delta.forEach((d) => expect(Math.abs(d)).toBeGreaterThan(0.5));
      e.relativeError.forEach((r) => expect(r).toBeLessThan(0.01));
    }
  });

  test('the completeness error falls with the number of steps', async () => {
    const curve = await new gb.xai.IntegratedGradients(lenet.model).convergence(
      batch.x,
      { target: batch.labels, method: 'riemann-left', normalization: norm(), internalBatchSize: 256 },
      [2, 8, 32, 128],
    );
    console.log(`IG riemann-left convergence: ${curve.map((c) => `${c.steps}: ${c.meanRelativeError.toExponential(2)}`).join(', ')}`);
    // a left Riemann sum's error is O(1/steps): each 4x more steps must cut the mean error clearly
    for (let i = 1; i < curve.length; i++) expect(curve[i]!.meanRelativeError).toBeLessThan(0.7 * curve[i - 1]!.meanRelativeError);
  });

  test('a batch gives the same attributions as one-by-one', async () => {
    const ig = new gb.xai.IntegratedGradients(lenet.model);
    const worst = await batchVersusSingles((x, i) => ig.attribute(x, { target: i.map((k) => batch.labels[k]!), steps: 16, baseline: 'uniform-noise', normalization: norm(), internalBatchSize: 24 }), batch.x);
    expect(worst).toBeLessThan(1e-4);
  });
});

describe('DeepLIFT (rescale)', () => {
  test('summation-to-delta holds to float tolerance on a ReLU + max-pool net', async () => {
    const dl = new gb.xai.DeepLift(lenet.model);
    for (const baseline of ['black', 'blurred', 'uniform-noise'] as const) {
      const e = await dl.explain(batch.x, { target: batch.labels, baseline, normalization: norm() });
      e.attribution.dispose();
      const errors = e.delta.map((d, i) => Math.abs(e.attributionSum[i]! - d) / Math.abs(d));
      console.log(`DeepLIFT ${baseline}: relative summation-to-delta errors ${errors.map((v) => v.toExponential(1)).join(' ')}`);
      // float32 sums of ~800 terms of size ~0.1 around a delta of ~10: rounding ~1e-6 relative; 1e-4 leaves room for the EPS fallback
      errors.forEach((r) => expect(r).toBeLessThan(1e-4));
    }
  });

  test('a batch gives the same attributions as one-by-one', async () => {
    const dl = new gb.xai.DeepLift(lenet.model);
    const worst = await batchVersusSingles((x, i) => dl.attribute(x, { target: i.map((k) => batch.labels[k]!), normalization: norm(), internalBatchSize: 3 }), batch.x);
    expect(worst).toBeLessThan(1e-4);
  });
});

describe('GradientSHAP', () => {
  test('efficiency: attributions sum to f(x) - E[f(baseline)] within the Monte-Carlo error', async () => {
    const background = (await mnistBatch(lenet, 32, 1000)).x;
    const target = batch.labels.slice(0, 2);
    const x = gb.slice(batch.x, 0, { start: 0, end: 2 });
    const draws = 256;
    const { attribution, drawSums } = await new gb.xai.GradientShap(lenet.model, background).explain(x, { target, samples: draws, internalBatchSize: 256 });
    const sums = await drawSums.toArray();
    const total = await attribution.sum({ dim: [1, 2, 3] }).toArray();
    // E[f(baseline)] exactly: the background is the (uniform) distribution the baselines are drawn from
    const fx = await gb.noGrad(() => lenet.model.forward(x)).toArray();
    const fb = await gb.noGrad(() => lenet.model.forward(background)).toArray();
    for (let i = 0; i < 2; i++) {
      const expected = fx[i * 10 + target[i]!]! - Array.from({ length: 32 }, (_, b) => fb[b * 10 + target[i]!]!).reduce((a, v) => a + v, 0) / 32;
      const row = Array.from(sums.subarray(i * draws, (i + 1) * draws));
      const mean = row.reduce((a, v) => a + v, 0) / draws;
      const sd = Math.sqrt(row.reduce((a, v) => a + (v - mean) ** 2, 0) / (draws - 1));
      const se = sd / Math.sqrt(draws);
      console.log(`GradientSHAP sample ${i}: sum ${mean.toFixed(3)}, f(x) - E f(b) ${expected.toFixed(3)}, standard error ${se.toFixed(3)} (n = ${draws})`);
      expect(Math.abs(total[i]! - mean)).toBeLessThan(1e-3 * Math.abs(mean) + 1e-4);
      // each draw is an unbiased estimate of the expected value (drawn baseline, uniform point on its path):
      // the mean of 256 draws is within 4 standard errors with probability > 0.9999 (CLT)
      expect(Math.abs(mean - expected)).toBeLessThan(4 * se);
      // and the estimate is informative: the standard error is small against the value explained
      expect(se).toBeLessThan(0.1 * Math.abs(expected));
    }
  });

  test('a batch gives the same attributions as one-by-one', async () => {
    const background = (await mnistBatch(lenet, 8, 1000)).x;
    const gs = new gb.xai.GradientShap(lenet.model, background);
    const worst = await batchVersusSingles((x, i) => gs.attribute(x, { target: i.map((k) => batch.labels[k]!), samples: 8, noise: 0.1, internalBatchSize: 12 }), batch.x);
    expect(worst).toBeLessThan(1e-4);
  });
});
