/**
 * Catalogue C5 (src/xai/robustness): MNIST-C and CIFAR-10-C corruptions as GPU tensor ops.
 * Severity 0 is the identity, so the accuracy there is exactly the clean accuracy of the trained
 * LeNet-5; every corruption is a function of its seed (same seed, same pixels; another seed,
 * other pixels, unless it draws nothing); the noise and blur corruptions cost the trained net more
 * accuracy as the severity rises; the geometric ones move pixels where they should (a translation
 * by k pixels is a roll with zero fill, a quarter turn is a transpose and flip). The CLI writes its
 * table, JSON and pictures and names the fix for bad corruption names and severities.
 */
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { CORRUPTIONS, corrupt, translatePixels, type CorruptionSuite } from '../src/xai/robustness/corruptions.ts';
import { corruptionAccuracy, datasetPixels, normalisePixels } from '../src/xai/robustness/accuracy.ts';
import { aboutCentre, warpAffine } from '../src/xai/robustness/image-ops.ts';
import { datasetSpec } from '../src/train/datasets.ts';
import { parseArgs, UsageError } from '../src/cli/args.ts';
import { ROBUSTNESS_OPTIONS } from '../src/cli/options.ts';
import { robustnessCommand } from '../src/cli/robustness.ts';
import type { ImageDataset } from '../datasets/index.ts';
import { trainedModel, type TrainedModel } from './trained-models.ts';
import { expectCommandReport } from './command-report.ts';

let lenet: TrainedModel;
let mnist: ImageDataset;
let cifar: ImageDataset;
const N = 300;

beforeAll(async () => {
  lenet = await trainedModel('lenet-mnist');
  mnist = await datasetSpec('mnist').load('validation', N);
  cifar = await datasetSpec('cifar10').load('validation', 4);
});

/** Corruptions whose reference draws no random numbers: the seed cannot change them. */
const SEED_FREE = new Set(['scale', 'brightness', 'stripe', 'canny_edges', 'defocus_blur', 'zoom_blur', 'contrast', 'pixelate', 'jpeg_compression']);

const pixelsOf = (suite: CorruptionSuite, n: number) => (suite === 'mnist-c' ? datasetPixels(mnist, 0, n) : datasetPixels(cifar, 0, n));

async function values(x: gb.Tensor): Promise<Float32Array> {
  const v = Float32Array.from(await x.toArray());
  x.dispose();
  return v;
}

describe('corruptions', () => {
  it('severity 0 returns every image exactly, in both suites', async () => {
    for (const suite of ['mnist-c', 'cifar-10-c'] as const) {
      const x = pixelsOf(suite, 4);
      const clean = await x.toArray();
      for (const c of CORRUPTIONS[suite]) expect(await values(corrupt(x, c.name, 0, { suite, seed: 3 })), `${suite} ${c.name}`).toEqual(Float32Array.from(clean));
      x.dispose();
    }
  });

  it('severity 0 scores exactly the clean accuracy of the trained LeNet-5', async () => {
    const x = datasetPixels(mnist, 0, N);
    const predicted = await values(gb.argmax(lenet.model.forward(normalisePixels(x, lenet.mean, lenet.std)), { dim: 1 }));
    x.dispose();
    const clean = predicted.filter((p, i) => p === mnist.labels[i]).length / N;
    expect(clean).toBeGreaterThan(0.9);
    const rows = await corruptionAccuracy(lenet.model, mnist, N, { suite: 'mnist-c', corruptions: ['shot_noise', 'rotate', 'fog'], severities: [0], mean: lenet.mean, std: lenet.std, batchSize: 128 });
    for (const r of rows) expect(r.accuracy, r.corruption).toBe(clean);
  });

  it('is a function of the seed: the same seed repeats, another seed differs unless nothing is drawn', async () => {
    for (const suite of ['mnist-c', 'cifar-10-c'] as const) {
      const x = pixelsOf(suite, 2);
      for (const c of CORRUPTIONS[suite]) {
        const a = await values(corrupt(x, c.name, 3, { suite, seed: 11 }));
        const again = await values(corrupt(x, c.name, 3, { suite, seed: 11 }));
        const other = await values(corrupt(x, c.name, 3, { suite, seed: 12 }));
        expect(again, `${suite} ${c.name} repeats`).toEqual(a);
        if (SEED_FREE.has(c.name)) expect(other, `${suite} ${c.name} draws nothing`).toEqual(a);
        else expect(other, `${suite} ${c.name} differs for another seed`).not.toEqual(a);
      }
      x.dispose();
    }
  });

  it('costs the trained LeNet-5 more accuracy at higher severity for the noise and blur corruptions', async () => {
    const n = 300;
    // shot noise is left out: MNIST-C's photon counts cost LeNet-5 little (96.2% -> 94.8% on 1,000 images), too little to order on 300
    const names = ['impulse_noise', 'glass_blur', 'motion_blur'];
    const rows = await corruptionAccuracy(lenet.model, mnist, n, { suite: 'mnist-c', corruptions: names, severities: [1, 3, 5], mean: lenet.mean, std: lenet.std, seed: 1 });
    const acc = (name: string, s: number) => rows.find((r) => r.corruption === name && r.severity === s)!.accuracy;
    for (const name of names) {
      const curve = `${name}: ${[1, 3, 5].map((s) => acc(name, s)).join(', ')}`;
      expect(acc(name, 3), curve).toBeLessThan(acc(name, 1));
      expect(acc(name, 5), curve).toBeLessThan(acc(name, 3));
    }
  });

  it('translates by k pixels as a roll with zero fill', async () => {
    const x = datasetPixels(mnist, 0, 2);
    for (const [dx, dy] of [
      [3, -2],
      [-5, 4],
    ] as const) {
      // output pixel p reads p + (dx, dy): the content moves by (-dx, -dy)
      const rolled = gb.roll(x, [-dy, -dx], [2, 3]);
      const keepRows = gb.reshape(gb.tensor(Float32Array.from({ length: 28 }, (_, r) => (r + dy >= 0 && r + dy < 28 ? 1 : 0))), [1, 1, 28, 1]);
      const keepCols = gb.reshape(gb.tensor(Float32Array.from({ length: 28 }, (_, c) => (c + dx >= 0 && c + dx < 28 ? 1 : 0))), [1, 1, 1, 28]);
      const expected = await values(gb.mul(gb.mul(rolled, keepRows), keepCols));
      expect(await values(translatePixels(x, [dx, dx], [dy, dy]))).toEqual(expected);
    }
    // the registered corruption shifts each image by the severity in x and y, each way by the seed
    const shifted = await values(corrupt(x, 'translate', 4, { suite: 'mnist-c', seed: 5 }));
    for (let i = 0; i < 2; i++) {
      const image = shifted.subarray(i * 784, (i + 1) * 784);
      const one = gb.slice(x, 0, { start: i, end: i + 1 });
      const candidates = await Promise.all([[4, 4], [4, -4], [-4, 4], [-4, -4]].map(([dx, dy]) => values(translatePixels(one, [dx!], [dy!]))));
      expect(candidates.some((c) => c.every((v, k) => v === image[k]))).toBe(true);
      one.dispose();
    }
    x.dispose();
  });

  it('turns by a quarter about the centre as a transpose and flip', async () => {
    const x = datasetPixels(mnist, 0, 1);
    // output (col, row) reads the input at R (p - c) + c with R = [[0, -1], [1, 0]]: out[i][j] = in[j][W - 1 - i]
    const turned = await values(warpAffine(x, [aboutCentre([Math.cos(Math.PI / 2), -1, 1, Math.cos(Math.PI / 2)], 28, 28)]));
    const expected = await values(gb.flip(gb.transpose(x, 2, 3), [2]));
    let worst = 0;
    turned.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - expected[k]!))));
    // bilinear weights of cos(pi / 2) = 6e-17 away from whole pixels: float32 rounding only
    expect(worst).toBeLessThan(1e-5);
    x.dispose();
  });
});

describe('glassbox robustness', () => {
  it('writes the table, JSON and pictures, severity 0 being the clean accuracy', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-robustness-'));
    await robustnessCommand(parseArgs(['--model', 'tests/fixtures/models/lenet-mnist.safetensors', '--corruptions', 'translate,impulse_noise', '--severities', '0-2', '--n', '200', '--out', out], ROBUSTNESS_OPTIONS));
    for (const f of ['robustness.md', 'accuracy.png', 'corruptions.png']) expect(existsSync(join(out, f)), f).toBe(true);
    expectCommandReport(out, { shown: ['accuracy.png', 'corruptions.png'], listed: ['robustness.md', 'robustness.json'] });
    const json = JSON.parse(readFileSync(join(out, 'robustness.json'), 'utf8')) as { cleanAccuracy: number; accuracy: Array<{ corruption: string; severity: number; accuracy: number }>; suite: string };
    expect(json.suite).toBe('mnist-c');
    expect(json.accuracy.map((r) => `${r.corruption}@${r.severity}`)).toEqual(['translate@1', 'translate@2', 'impulse_noise@1', 'impulse_noise@2']);
    expect(json.cleanAccuracy).toBeGreaterThan(0.9);
    expect(readFileSync(join(out, 'robustness.md'), 'utf8')).toContain(`| translate | ${(100 * json.cleanAccuracy).toFixed(1)} |`);
  });

  it('refuses unknown corruptions and severities outside 0-5, naming the choices', async () => {
    const run = (extra: string[]) => robustnessCommand(parseArgs(['--model', 'tests/fixtures/models/lenet-mnist.safetensors', '--n', '10', '--out', mkdtempSync(join(tmpdir(), 'gb-robustness-')), ...extra], ROBUSTNESS_OPTIONS));
    await expect(run(['--corruptions', 'frost'])).rejects.toThrow(UsageError);
    await expect(run(['--corruptions', 'frost'])).rejects.toThrow(/frost not in mnist-c; choose from shot_noise/);
    await expect(run(['--severities', '1-7'])).rejects.toThrow(/--severities 1-7: give severities 0-5/);
    expect(() => corrupt(datasetPixels(mnist, 0, 1), 'fog', 6, { suite: 'mnist-c' })).toThrow(/severity must be an integer 0-5/);
  });
});
