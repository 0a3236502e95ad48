/**
 * Catalogue C3 (Srinivas & Fleuret 2021) on the trained LeNet: adding the same g(x) to every
 * logit leaves predictions and probabilities as they were, moves every logit-gradient map by
 * exactly grad g, and leaves the probability gradients unchanged. Two choices of g: a scaled
 * squared norm (its gradient is the image itself) and a small random conv net.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { compareUnderShift, RandomConvShift, SquaredNormShift, type ShiftComparison } from '../src/xai/shift.ts';
import { expectClose } from './helpers.ts';
import { mnistBatch, type Batch } from './gradient-test-inputs.ts';
import { trainedModel } from './trained-models.ts';

const N = 16;
let model: gb.nn.Module;
let batch: Batch;

beforeAll(async () => {
  const trained = await trainedModel('lenet-mnist');
  model = trained.model;
  batch = await mnistBatch(trained, N);
});

const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);

describe.each([
  // scale 0.05: g ~ 20 on normalised MNIST (logits are ~10), grad g = 0.1 x up to 0.28 per pixel
  ['squared norm', () => new SquaredNormShift(0.05)],
  // the conv net's output is a spatial mean, so its per-pixel gradient is ~1/784 of its weights: scale 1000
  ['random conv net', () => new RandomConvShift(1, 1000, 7)],
])('g = %s', (_name, makeShift) => {
  let c: ShiftComparison;
  beforeAll(async () => {
    const predicted = Array.from(await gb.noGrad(() => gb.argmax(model.forward(batch.x), { dim: 1 })).toArray());
    c = await compareUnderShift(model, makeShift(), batch.x, predicted);
  });

  it('leaves every prediction and probability as it was', () => {
    expect(c.predictedShifted).toEqual(c.predicted);
    // the logits grow by g(x) ~ tens, so float32 rounds them at ~1e-6 relative; softmax sees differences only
    expect(c.maxProbabilityChange).toBeLessThan(1e-4);
  });

  it('moves every logit-gradient map by exactly grad g, a change as large as the map itself', () => {
    const difference = c.logitGradientShifted.map((v, i) => v - c.logitGradient[i]!);
    const scale = maxAbs(c.logitGradient);
    expectClose(difference, c.shiftGradient, { atol: 1e-5 * scale, rtol: 1e-4, what: 'shifted minus original logit gradient vs grad g' });
    // not a vacuous identity: the maps really were replaced by something of their own size
    expect(maxAbs(c.shiftGradient)).toBeGreaterThan(0.3 * scale);
  });

  it('leaves the probability gradients unchanged to float tolerance', () => {
    const scale = maxAbs(c.probabilityGradient);
    expect(scale).toBeGreaterThan(0);
    expectClose(c.probabilityGradientShifted, c.probabilityGradient, { atol: 1e-3 * scale, rtol: 1e-3, what: 'probability gradient under the shift' });
  });
});
