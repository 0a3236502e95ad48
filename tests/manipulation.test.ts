/**
 * Catalogue C4, manipulated explanations (Dombrowski et al. 2019), on the trained LeNet-5 (MNIST):
 * the differentiable explanations equal the library's methods on the ReLU net; smoothRelus swaps and
 * restores; the attack lowers the saliency map's distance to another image's map on the real ReLU
 * network while the output barely moves; and the beta trend (the paper's beta-smoothing defence).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { differentiableAttribution, heatmap, libraryAttribution, manipulateExplanation, MANIPULATED_METHODS, smoothRelus } from '../src/xai/attacks/manipulation.ts';
import { validationImages } from '../src/cli/visualize-invert.ts';
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, UsageError } from '../src/cli/args.ts';
import { MANIPULATE_OPTIONS } from '../src/cli/options.ts';
import { manipulateCommand } from '../src/cli/manipulate.ts';
import { MnistCnn } from '../src/nn/models/mnist-cnn.ts';
import { trainedModel } from './trained-models.ts';
import { expectCommandReport } from './command-report.ts';

let model: gb.nn.Module;
let x: gb.Tensor;
let other: gb.Tensor;
const norm = gb.normalization.mnist!;

beforeAll(async () => {
  model = (await trainedModel('lenet-mnist')).model;
  [x, other] = [await validationImages('mnist', 0, 1), await validationImages('mnist', 1, 1)];
}, 120_000);

describe('manipulated explanations (C4)', () => {
  it('the differentiable explanations equal the library methods on the ReLU network', async () => {
    const z = gb.normalize(x, norm);
    for (const method of MANIPULATED_METHODS) {
      const ours = gb.tidy(() => gb.enableGrad(() => differentiableAttribution(model, z.detach().requiresGrad_(), method, { target: [7], createGraph: false, normalization: norm, igSteps: 8 }).detach()));
      const library = await libraryAttribution(model, z, method, [7], { normalization: norm, igSteps: 8 });
      const [a, b] = [await ours.toArray(), await library.toArray()];
      const scale = Math.max(...Array.from(b, Math.abs));
      expect(scale, method).toBeGreaterThan(0);
      expect(Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i]!))) / scale, method).toBeLessThan(1e-4);
      [ours, library].forEach((t) => t.dispose());
    }
    z.dispose();
  });

  it('smoothRelus swaps every ReLU module for softplus and puts them back', async () => {
    const before = await gb.readItem(gb.noGrad(() => model.forward(gb.normalize(x, norm)).sum()));
    const restore = smoothRelus(model, 10);
    const relus = () => model.namedModules().filter(([, m]) => m instanceof gb.nn.ReLU).length;
    expect(relus()).toBe(0);
    // the swapped net is second-order differentiable: the saliency map has a non-zero gradient in the input
    const z = gb.normalize(x, norm).detach().requiresGrad_();
    const map = heatmap(differentiableAttribution(model, z, 'saliency', { target: [7], createGraph: true }));
    const [g] = gb.grad(gb.sum(gb.square(map)), z);
    expect(await gb.readItem(gb.amax(gb.abs(g!)))).toBeGreaterThan(0);
    restore();
    expect(relus()).toBe(4);
    expect(await gb.readItem(gb.noGrad(() => model.forward(gb.normalize(x, norm)).sum()))).toBe(before);
    expect(() => smoothRelus(model, 0)).toThrow(/beta must be a positive number/);
  });

  it("moves the saliency map towards another image's map on the ReLU net while the output stays", async () => {
    const r = await manipulateExplanation(model, x, other, { method: 'saliency', normalization: norm, steps: 60, lr: 3e-2 });
    const factor = r.relu.mseBefore[0]! / r.relu.mseAfter[0]!;
    console.log(`C4 saliency, 60 Adam steps: ReLU-net map MSE ${r.relu.mseBefore[0]!.toExponential(3)} -> ${r.relu.mseAfter[0]!.toExponential(3)} (${factor.toFixed(2)}x), output change ${r.relu.outputChange[0]!.toFixed(4)}`);
    expect(factor).toBeGreaterThan(1.5);
    expect(r.relu.outputChange[0]!).toBeLessThan(0.02);
    expect(r.relu.predictedAfter).toEqual(r.relu.predictedBefore);
    expect(r.curve.at(-1)!).toBeLessThan(r.curve[0]!);
    const pixels = await r.adversarial.toArray();
    expect(Math.min(...pixels)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...pixels)).toBeLessThanOrEqual(1);
    [r.adversarial, ...Object.values(r.relu.maps)].forEach((t) => t.dispose());
  }, 60_000);

  // Dombrowski et al.'s beta-smoothing defence: the explanation of the softplus(beta) net itself, attacked
  // on that net. Measured with the CLI (200 steps, lr 0.01, gamma 0.1, image 0 -> 1): achieved MSE 2.20e-6
  // (beta 1), 2.07e-6 (3), 2.42e-6 (10), 2.60e-6 (30), drops by 2.14x, 2.21x, 1.73x, 1.57x. So here
  // smoothing does not make the map harder to move (if anything the reverse), unlike the paper's finding on
  // its CIFAR-10/ImageNet nets; what holds at every beta is that the attack works, which this test checks
  // at beta 1 (beta 10 is the test above) and logs.
  it('the beta-smoothed explanation is still moved at small beta (trend logged)', async () => {
    const trend: string[] = [];
    for (const beta of [1]) {
      const r = await manipulateExplanation(model, x, other, { method: 'saliency', normalization: norm, beta, steps: 30, lr: 3e-2 });
      const factor = r.smoothed.mseBefore[0]! / r.smoothed.mseAfter[0]!;
      trend.push(`beta ${beta}: ${r.smoothed.mseBefore[0]!.toExponential(2)} -> ${r.smoothed.mseAfter[0]!.toExponential(2)} (${factor.toFixed(2)}x)`);
      expect(factor, `beta ${beta}`).toBeGreaterThan(1.2);
      expect(r.relu.predictedAfter).toEqual(r.relu.predictedBefore);
      [r.adversarial, ...Object.values(r.relu.maps)].forEach((t) => t.dispose());
    }
    console.log(`C4 beta-smoothed saliency map MSE to target, 30 steps: ${trend.join('; ')}`);
  }, 60_000);

  it('refuses a model whose ReLUs are functions, and an unknown method, naming the fix', async () => {
    await expect(manipulateExplanation(new MnistCnn(), x, other, { method: 'saliency', normalization: norm, steps: 1 })).rejects.toThrow(/applies 'relu' as a function.*ReLUs are modules/);
    await expect(manipulateExplanation(model, x, other, { method: 'lrp' as never, normalization: norm })).rejects.toThrow(/unknown explanation method 'lrp'; use saliency/);
  });

  it('glassbox manipulate writes the pictures, the curve and the JSON; refuses a target equal to the image', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-manipulate-'));
    const run = (extra: string[]) => manipulateCommand(parseArgs(['--model', 'tests/fixtures/models/lenet-mnist.safetensors', '--steps', '2', '--out', out, ...extra], MANIPULATE_OPTIONS));
    await expect(run(['--index', '3', '--target-index', '3'])).rejects.toThrow(UsageError);
    expect(() => parseArgs(['--method', 'lime'], MANIPULATE_OPTIONS)).toThrow(UsageError);
    // Adam's first steps move each pixel by about lr = 0.1, so the 0.05 budget binds
    await run(['--method', 'input-x-gradient', '--lr', '0.1', '--eps', '0.05']);
    for (const f of ['manipulate.png', 'manipulate-curve.png']) expect(existsSync(join(out, f))).toBe(true);
    expectCommandReport(out, { shown: ['manipulate.png', 'manipulate-curve.png'], listed: ['manipulate.json'] });
    const json = JSON.parse(readFileSync(join(out, 'manipulate.json'), 'utf8'));
    expect(json.method).toBe('input-x-gradient');
    expect(json.curve).toHaveLength(2);
    expect(json.relu.mseBefore).toBeGreaterThan(0);
    expect(json.relu.predictedAfter).toBe(json.relu.predictedBefore);
    expect(json.maxPixelChange).toBeGreaterThan(0.04);
    expect(json.maxPixelChange).toBeLessThanOrEqual(0.05 + 1e-6);
  }, 60_000);
});
