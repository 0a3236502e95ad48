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
import { trainedModel } from './trained-models.ts';

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
      const ours = gb.tidy(() => gb.enableGrad(() => differentiableAttribution(model, z.detach().requiresGrad_(), method, { target: [7], createGraph: false, normalization: norm }).detach()));
      const library = await libraryAttribution(model, z, method, [7], { normalization: norm });
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
    const r = await manipulateExplanation(model, x, other, { method: 'saliency', normalization: norm, steps: 30, lr: 3e-2 });
    const factor = r.relu.mseBefore[0]! / r.relu.mseAfter[0]!;
    console.log(`C4 saliency, 30 Adam steps: ReLU-net map MSE ${r.relu.mseBefore[0]!.toExponential(3)} -> ${r.relu.mseAfter[0]!.toExponential(3)} (${factor.toFixed(2)}x), output change ${r.relu.outputChange[0]!.toFixed(4)}`);
    expect(factor).toBeGreaterThan(1.5);
    expect(r.relu.outputChange[0]!).toBeLessThan(0.05);
    expect(r.relu.predictedAfter).toEqual(r.relu.predictedBefore);
    expect(r.curve.at(-1)!).toBeLessThan(r.curve[0]!);
    const pixels = await r.adversarial.toArray();
    expect(Math.min(...pixels)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...pixels)).toBeLessThanOrEqual(1);
    [r.adversarial, ...Object.values(r.relu.maps)].forEach((t) => t.dispose());
  }, 60_000);
});
