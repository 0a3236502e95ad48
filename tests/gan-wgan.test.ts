/**
 * WGAN-GP (src/gan/wgan-gp.ts): the gradient penalty's gradient with respect to the critic's weights
 * (a second-order gradient: backward through the critic's input gradient) against central finite
 * differences of the same penalty computed in float64 by hand on a tiny critic; a short WGAN-GP
 * training whose run loads and resumes with its batch-norm-free critic; and the classifier commands
 * (eval, train --resume) refusing a GAN run folder with the GAN command to use instead.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { gradientPenalty } from '../src/gan/wgan-gp.ts';
import { ganConfig, trainGan, type GanEpochRecord } from '../src/gan/train.ts';
import { loadClassifier, loadGenerator } from '../src/cli/gan.ts';
import { Linear } from '../src/nn/layers.ts';
import { BatchNorm2d } from '../src/nn/conv-layers.ts';
import { parseArgs } from '../src/cli/args.ts';
import { evalCommand, train } from '../src/cli/train.ts';
import { EVAL_OPTIONS, TRAIN_OPTIONS } from '../src/cli/options.ts';
import { readCheckpoint } from '../src/train/checkpoint.ts';
import { expectClose } from './helpers.ts';

beforeAll(async () => {
  await gb.init();
});

/** mulberry32: seeded values, rounded to float32 so the engine and the float64 reference see the same numbers. */
function values(n: number, seed: number, scale = 1): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.fround(scale * (2 * (((t ^ (t >>> 14)) >>> 0) / 4294967296) - 1));
  });
}

describe('gradient penalty', () => {
  // critic D(x) = w2 . leakyReLU(W1 x + b1) + b2 on 2x2 images; its input gradient is W1^T (w2 * slope(W1 x + b1))
  const [B, D, H, slope, lambda] = [3, 4, 3, 0.2, 10];
  const real = values(B * D, 1);
  const fake = values(B * D, 2);
  const mix = values(B, 3).map((v) => Math.fround((v + 1) / 2));
  const theta = { w1: values(H * D, 4, 0.8), b1: values(H, 5, 0.3), w2: values(H, 6, 0.8), b2: values(1, 7) };

  /** The penalty in float64, written out: lambda * mean_i (|grad_x D(x^_i)| - 1)^2. */
  function penalty64(p: typeof theta): number {
    let total = 0;
    for (let i = 0; i < B; i++) {
      const x = Array.from({ length: D }, (_, d) => mix[i]! * real[i * D + d]! + (1 - mix[i]!) * fake[i * D + d]!);
      const g = new Float64Array(D);
      for (let h = 0; h < H; h++) {
        let pre = p.b1[h]!;
        for (let d = 0; d < D; d++) pre += p.w1[h * D + d]! * x[d]!;
        const back = p.w2[h]! * (pre > 0 ? 1 : slope);
        for (let d = 0; d < D; d++) g[d]! += p.w1[h * D + d]! * back;
      }
      total += (Math.hypot(...g) - 1) ** 2;
    }
    return (lambda * total) / B;
  }

  it("its gradient in the critic's weights matches float64 finite differences (second order through the input gradient)", async () => {
    const lin1 = new Linear(D, H);
    const lin2 = new Linear(H, 1);
    gb.noGrad(() => {
      lin1.weight.assign(gb.tensor(theta.w1, [H, D]));
      lin1.bias!.assign(gb.tensor(theta.b1, [H]));
      lin2.weight.assign(gb.tensor(theta.w2, [1, H]));
      lin2.bias!.assign(gb.tensor(theta.b2, [1]));
    });
    const critic = (x: gb.Tensor) => lin2.forward(gb.leakyRelu(lin1.forward(x.reshape([x.shape[0]!, D])), { negativeSlope: slope })).reshape([x.shape[0]!]);
    const p = gradientPenalty(critic, gb.tensor(real, [B, 1, 2, 2]), gb.tensor(fake, [B, 1, 2, 2]), { weight: lambda, mix: gb.tensor(mix, [B]) });
    expect(await p.item()).toBeCloseTo(penalty64(theta), 4);
    p.backward();
    const analytic = { w1: lin1.weight.grad!, b1: lin1.bias!.grad!, w2: lin2.weight.grad!, b2: lin2.bias!.grad! };
    for (const key of ['w1', 'b1', 'w2', 'b2'] as const) {
      const numeric = theta[key].map((v, k) => {
        const h = 1e-6 * Math.max(1, Math.abs(v));
        const at = (delta: number) => penalty64({ ...theta, [key]: theta[key].map((u, j) => (j === k ? u + delta : u)) });
        return (at(h) - at(-h)) / (2 * h);
      });
      // b2 does not reach the input gradient at all: no gradient (null), which is zero
      const got = analytic[key] ? ((await analytic[key].toArray()) as Float32Array) : new Float32Array(numeric.length);
      expectClose(got, numeric, { atol: 1e-4, rtol: 1e-3, what: `d penalty / d ${key}` });
    }
    // the weights the penalty depends on get a gradient (a first-order-only backward would give W2 none through the input gradient)
    expect(numberOfNonzero((await analytic.w2.toArray()) as Float32Array)).toBe(H);
  });

  it('is lambda for a constant critic and refuses batches of different shapes', async () => {
    const constant = (x: gb.Tensor) => gb.add(gb.mul(gb.sum(x.reshape([x.shape[0]!, -1]), { dim: 1 }), 0), 1);
    const real4 = gb.tensor(real, [B, 1, 2, 2]);
    expect(await gradientPenalty(constant, real4, gb.tensor(fake, [B, 1, 2, 2])).item()).toBeCloseTo(10, 5);
    expect(() => gradientPenalty(constant, real4, gb.zeros([B, 4]))).toThrow(/one shape, got \[3, 1, 2, 2\] and \[3, 4\]/);
  });
});

const numberOfNonzero = (a: Float32Array) => a.reduce((s, v) => s + (v !== 0 ? 1 : 0), 0);

describe('WGAN-GP training and GAN run folders', () => {
  it('trains a critic without batch norm, saves, loads and resumes; classifier commands name the GAN commands', async () => {
    const out = mkdtempSync(join(tmpdir(), 'wgan-'));
    const config = ganConfig({ dataset: 'mnist', ganLoss: 'wgan-gp', epochs: 1, batchSize: 16, width: 4, latentSize: 8, limit: 160, seed: 2 });
    expect([config.lr, config.beta1, config.beta2, config.nCritic, config.penaltyWeight]).toEqual([1e-4, 0, 0.9, 5, 10]);
    const history = await trainGan({ out, config, log: () => {} });
    expect(Number.isFinite(history[0]!.discriminatorLoss)).toBe(true);
    const { gan } = await loadGenerator(out);
    expect(gan.discriminator.namedModules().some(([, m]) => m instanceof BatchNorm2d)).toBe(false);
    expect(gan.generator.namedModules().some(([, m]) => m instanceof BatchNorm2d)).toBe(true);
    // 10 batches: 10 critic steps, 2 generator steps, each optimiser's own count kept for resuming
    const first = readCheckpoint(out);
    expect(first.state.optimizer.step).toBe(2);
    expect((first.state.history[0] as GanEpochRecord).criticSteps).toBe(10);
    const resumed = await trainGan({ out, epochs: 2, log: () => {} });
    expect(resumed).toHaveLength(2);
    expect((readCheckpoint(out).state.history[1] as GanEpochRecord).criticSteps).toBe(20);
    expect(readCheckpoint(out).state.optimizer.step).toBe(4);

    await expect(evalCommand(parseArgs(['--model', out], EVAL_OPTIONS))).rejects.toThrow(new RegExp(`is a GAN run of glassbox gan train.*glassbox gan sample --model ${out}`));
    await expect(train(parseArgs(['--resume', out, '--epochs', '3'], TRAIN_OPTIONS))).rejects.toThrow(new RegExp(`is a GAN run of glassbox gan train.*glassbox gan train --resume ${out}`));
    // and a GAN run is no classifier for the GAN commands either
    await expect(loadClassifier({ classifier: out }, 'mnist')).rejects.toThrow(/is a 'dcgan' run on mnist; .*glassbox train --model lenet5 --dataset mnist/);
    await expect(loadClassifier({ classifier: join(out, 'none') }, 'fashion-mnist')).rejects.toThrow(/does not exist; give a LeNet-5 run folder/);
  }, 120_000);
});
