/**
 * Gradient maps on really trained models: saliency is the true gradient (central finite
 * differences), it falls on the digits of mixture-of-MNIST images, SmoothGrad is smoother at equal
 * mass, a hidden unit's gradient is its receptive field's weights, guided backprop survives
 * randomising the top layers (Adebayo et al. 2018) while the gradient does not, saliency segments
 * the digits, and every method gives the same maps in a batch as one by one.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import * as gb from '../src/index.ts';
import { batchVersusSingles, mixtureBatch, mnistBatch, type Batch } from './gradient-test-inputs.ts';
import { trainedModel, type TrainedModel } from './trained-models.ts';

let lenet: TrainedModel;
let digits: Batch;
beforeAll(async () => {
  lenet = await trainedModel('lenet-mnist');
  digits = await mnistBatch(lenet, 3);
});

/** Sum of |differences| between horizontal and vertical neighbours of each [H, W] map, after scaling each map to unit L1 mass. */
function totalVariation(maps: ArrayLike<number>, n: number, h: number, w: number): number[] {
  return Array.from({ length: n }, (_, i) => {
    const m = Array.from({ length: h * w }, (_, p) => Math.abs(maps[i * h * w + p]!));
    const mass = m.reduce((a, b) => a + b, 0);
    let tv = 0;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        if (x + 1 < w) tv += Math.abs(m[y * w + x + 1]! - m[y * w + x]!);
        if (y + 1 < h) tv += Math.abs(m[(y + 1) * w + x]! - m[y * w + x]!);
      }
    return tv / mass;
  });
}

/** Spearman rank correlation of two equally long arrays. */
function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ranks = (v: ArrayLike<number>) => {
    const order = Array.from(v, (_, i) => i).sort((i, j) => v[i]! - v[j]!);
    const r = new Float64Array(v.length);
    order.forEach((i, k) => (r[i] = k));
    return r;
  };
  const [ra, rb] = [ranks(a), ranks(b)];
  const mean = (a.length - 1) / 2;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < a.length; i++) {
    num += (ra[i]! - mean) * (rb[i]! - mean);
    da += (ra[i]! - mean) ** 2;
    db += (rb[i]! - mean) ** 2;
  }
  return num / Math.sqrt(da * db);
}

describe('vanilla gradient (Simonyan et al. 2014)', () => {
  test('equals a central finite-difference gradient of the trained model', async () => {
    // MNIST's background is one constant value, so first-layer activations tie exactly inside
    // max-pool windows and the function has a kink (one-sided derivatives differ) at the image
    // itself; a small jitter (0.3% of the range) puts it at a generic, differentiable point
    gb.manualSeed(11);
    const x = gb.add(gb.slice(digits.x, 0, { start: 0, end: 1 }), gb.mul(gb.randn([1, 1, 28, 28]), 1e-2));
    const target = digits.labels[0]!;
    const g = await (await new gb.xai.Saliency(lenet.model).attribute(x, { target, abs: false, reduce: 'none' })).toArray();
    // the 12 largest entries and 12 spread over the image
    const byMagnitude = Array.from(g, (_, p) => p).sort((p, q) => Math.abs(g[q]!) - Math.abs(g[p]!));
    const pixels = [...byMagnitude.slice(0, 12), ...Array.from({ length: 12 }, (_, k) => byMagnitude[40 + k * 50]!)];
    // eps 3e-3 in normalised units (0.1% of the pixel range). The net is piecewise linear, so the
    // central difference is exact unless a ReLU or max-pool switch lies within eps; those pixels
    // show as one-sided differences that disagree, and are left out (a few of 24). Float32 logits
    // (~10, ulp ~1e-6) put ~2 ulp / eps ~ 6e-4 of rounding into each quotient.
    const eps = 3e-3;
    const base = await x.toArray();
    const rows = new Float32Array(pixels.length * 3 * base.length);
    pixels.forEach((p, k) => {
      for (const [j, sign] of [[0, 1], [1, -1], [2, 0]] as const) {
        rows.set(base, (3 * k + j) * base.length);
        rows[(3 * k + j) * base.length + p] += sign * eps;
      }
    });
    const logits = await gb.noGrad(() => lenet.model.forward(gb.tensor(rows, [pixels.length * 3, 1, 28, 28]))).toArray();
    const f = (k: number, j: number) => logits[(3 * k + j) * 10 + target]!;
    const fd = pixels.map((_, k) => (f(k, 0) - f(k, 1)) / (2 * eps));
    const kink = pixels.map((_, k) => Math.abs(f(k, 0) - 2 * f(k, 2) + f(k, 1)) / eps > 2e-3);
    const biggest = Math.abs(g[byMagnitude[0]!]!);
    console.log(`saliency vs finite differences (largest |grad| ${biggest.toExponential(2)}, ${kink.filter(Boolean).length} of ${pixels.length} pixels at a kink): ${pixels.slice(0, 4).map((p, k) => `${g[p]!.toExponential(3)}/${fd[k]!.toExponential(3)}`).join(' ')}`);
    expect(kink.filter(Boolean).length).toBeLessThanOrEqual(4);
    pixels.forEach((p, k) => {
      if (kink[k]) return;
      // same value within 1% of the largest entry (rounding is ~0.5% of it)
      expect(Math.abs(fd[k]! - g[p]!)).toBeLessThan(0.01 * biggest);
      // and the same sign for the bigger entries
      if (Math.abs(g[p]!) > 0.1 * biggest) expect(Math.sign(fd[k]!)).toBe(Math.sign(g[p]!));
    });
  });

  test('on mixture-of-MNIST the saliency mass falls on the digits', async () => {
    const mix = await trainedModel('mixture-net');
    const b = await mixtureBatch(mix, 8);
    const maps = await (await new gb.xai.Saliency(mix.model).attribute(b.x, { target: b.labels })).toArray();
    const hw = b.h * b.w;
    const ratios = b.masks.map((mask, i) => {
      let inside = 0;
      let total = 0;
      for (let p = 0; p < hw; p++) {
        total += maps[i * hw + p]!;
        if (mask[p]) inside += maps[i * hw + p]!;
      }
      const area = mask.reduce((a, v) => a + v, 0) / hw;
      return { massInside: inside / total, area };
    });
    const meanMass = ratios.reduce((a, r) => a + r.massInside, 0) / ratios.length;
    const meanArea = ratios.reduce((a, r) => a + r.area, 0) / ratios.length;
    console.log(`saliency mass inside the digit masks ${meanMass.toFixed(3)} vs their area fraction ${meanArea.toFixed(3)}`);
    // a map blind to the digits would put the area fraction of its mass inside the masks
    expect(meanMass).toBeGreaterThan(2 * meanArea);
    ratios.forEach((r) => expect(r.massInside).toBeGreaterThan(1.3 * r.area));
  });
});

describe('SmoothGrad (Smilkov et al. 2017)', () => {
  test('is less noisy than the vanilla gradient: lower total variation at equal L1 mass', async () => {
    const target = digits.labels;
    const opts = { target, abs: true, reduce: 'max' as const };
    const vanilla = await (await new gb.xai.Saliency(lenet.model).attribute(digits.x, opts)).toArray();
    const smooth = await (await new gb.xai.SmoothGrad(lenet.model).attribute(digits.x, { ...opts, samples: 32, noiseLevel: 0.15, internalBatchSize: 96 })).toArray();
    const tvVanilla = totalVariation(vanilla, 3, 28, 28);
    const tvSmooth = totalVariation(smooth, 3, 28, 28);
    console.log(`total variation at unit mass: vanilla ${tvVanilla.map((v) => v.toFixed(3)).join(' ')}, SmoothGrad ${tvSmooth.map((v) => v.toFixed(3)).join(' ')}`);
    // measurably less noisy: at least 10% less variation on every image (measured: 15-22% less with 32 samples)
    tvSmooth.forEach((tv, i) => expect(tv).toBeLessThan(0.9 * tvVanilla[i]!));
  });

  test('the variants: squared is the mean of squared gradients, VarGrad their variance (>= 0)', async () => {
    const x = gb.slice(digits.x, 0, { start: 0, end: 1 });
    const common = { target: digits.labels[0]!, samples: 8, reduce: 'none' as const, abs: false };
    const run = async (variant: 'smoothgrad' | 'smoothgrad-squared' | 'vargrad') => (await new gb.xai.SmoothGrad(lenet.model).attribute(x, { ...common, variant })).toArray();
    const mean = await run('smoothgrad');
    const squared = await run('smoothgrad-squared');
    const variance = await run('vargrad');
    // E[g^2] = Var[g] + E[g]^2, pixel by pixel
    const scale = Math.max(...squared);
    squared.forEach((s, p) => expect(Math.abs(s - variance[p]! - mean[p]! ** 2)).toBeLessThan(1e-4 * scale));
    expect(Math.min(...variance)).toBeGreaterThanOrEqual(-1e-6 * scale);
  });
});

describe('hidden-unit gradient', () => {
  test("a first-layer conv unit's input gradient is its kernel placed over its receptive field", async () => {
    const [c, y, x] = [2, 10, 12];
    const g = await (await new gb.xai.LayerUnitGradient(lenet.model, 'features.0').attribute(digits.x, { target: gb.xai.unit(c, y, x), abs: false, reduce: 'none' })).toArray();
    const conv = lenet.model.getSubmodule('features.0') as unknown as { weight: gb.Tensor };
    const k = await conv.weight.toArray(); // [6, 1, 5, 5], padding 2
    for (let i = 0; i < 3; i++)
      for (let py = 0; py < 28; py++)
        for (let px = 0; px < 28; px++) {
          const [dy, dx] = [py - y + 2, px - x + 2];
          const expected = dy >= 0 && dy < 5 && dx >= 0 && dx < 5 ? k[c * 25 + dy * 5 + dx]! : 0;
          expect(Math.abs(g[i * 784 + py * 28 + px]! - expected)).toBeLessThan(1e-6);
        }
  });
});

describe('guided backprop and deconvnet', () => {
  test('guided backprop barely changes when the top layers are randomised; the gradient does', async () => {
    const randomised = await trainedModel('lenet-mnist');
    gb.manualSeed(7);
    for (const [name, p] of randomised.model.namedParameters()) if (name.startsWith('classifier.')) p.assign(gb.mul(gb.randn(p.shape), 0.1));
    const target = digits.labels;
    const similarity = async (make: (m: gb.nn.Module) => gb.xai.Attribution<gb.xai.SaliencyOptions>) => {
      const [a, b] = await Promise.all([lenet.model, randomised.model].map(async (m) => (await make(m).attribute(digits.x, { target, abs: true, reduce: 'max' })).toArray()));
      return Array.from({ length: 3 }, (_, i) => spearman(a.subarray(i * 784, (i + 1) * 784), b.subarray(i * 784, (i + 1) * 784)));
    };
    const guided = await similarity((m) => ({ attribute: async (x, o) => gb.abs(await new gb.xai.GuidedBackprop(m).attribute(x, { target: o.target })) }) as gb.xai.Attribution<gb.xai.SaliencyOptions>);
    const gradient = await similarity((m) => new gb.xai.Saliency(m));
    console.log(`rank correlation with the map before randomising the classifier: guided backprop ${guided.map((v) => v.toFixed(2)).join(' ')}, gradient ${gradient.map((v) => v.toFixed(2)).join(' ')}`);
    guided.forEach((s, i) => {
      expect(s).toBeGreaterThan(0.6);
      expect(s).toBeGreaterThan(gradient[i]! + 0.1);
    });
  });

  test('guided backprop passes only positive signals back through ReLUs; deconvnet ignores the forward mask', async () => {
    // on a single ReLU, x -> sum(w * relu(x)): gradient w * [x > 0], deconvnet relu(w), guided relu(w) * [x > 0]
    const net = new gb.nn.Sequential(new gb.nn.ReLU(), new gb.nn.Flatten(), new gb.nn.Linear(4, 1, { bias: false }));
    const lin = net.getSubmodule('2') as unknown as { weight: gb.Tensor };
    lin.weight.assign(gb.tensor([[1, -2, 3, -4]]));
    const x = gb.tensor([1, 1, -1, -1], [1, 1, 2, 2]);
    const target = (o: gb.Tensor) => o.reshape(1);
    const values = async (t: Promise<gb.Tensor>) => Array.from(await (await t).toArray(), (v) => v + 0); // -0 -> 0
    expect(await values(new gb.xai.GuidedBackprop(net).attribute(x, { target }))).toEqual([1, 0, 0, 0]);
    expect(await values(new gb.xai.Deconvnet(net).attribute(x, { target }))).toEqual([1, 0, 3, 0]);
    expect(await values(new gb.xai.Saliency(net).attribute(x, { target, abs: false, reduce: 'none' }))).toEqual([1, -2, 0, 0]);
  });
});

describe('saliency to segmentation (Simonyan et al. 2014, sec. 3.1)', () => {
  test('masks derived from saliency overlap the digit masks far better than random masks of equal area', async () => {
    const mix = await trainedModel('mixture-net');
    const b = await mixtureBatch(mix, 8);
    const maps = await new gb.xai.Saliency(mix.model).attribute(b.x, { target: b.labels });
    const rng = new (await import('../datasets/rng.ts')).Rng(3);
    for (const method of ['threshold', 'region-growing', 'grabcut'] as const) {
      const masks = await gb.xai.segmentSaliency(maps, { method }, b.x);
      const ious = masks.map((m, i) => gb.xai.maskIoU(m, b.masks[i]!));
      // a random mask with the same number of pixels, placed uniformly
      const randomIous = masks.map((m, i) => {
        const area = m.reduce((a, v) => a + v, 0);
        const order = Array.from(m, (_, p) => p).sort(() => rng.next() - 0.5);
        const r = new Uint8Array(m.length);
        order.slice(0, area).forEach((p) => (r[p] = 1));
        return gb.xai.maskIoU(r, b.masks[i]!);
      });
      const mean = (v: number[]) => v.reduce((a, x) => a + x, 0) / v.length;
      console.log(`segmentation ${method}: mean IoU ${mean(ious).toFixed(3)} (random mask of equal area ${mean(randomIous).toFixed(3)})`);
      // the property: the saliency-derived mask finds the digits, far beyond chance overlap
      expect(mean(ious)).toBeGreaterThan(3 * mean(randomIous));
    }
  });
});

describe('batch == one-by-one', () => {
  test('every gradient method gives the same maps for a batch as for each sample alone', async () => {
    const m = lenet.model;
    const t = (i: number[]) => i.map((k) => digits.labels[k]!);
    const runs: Array<[string, (x: gb.Tensor, i: number[]) => Promise<gb.Tensor>]> = [
      ['saliency', (x, i) => new gb.xai.Saliency(m).attribute(x, { target: t(i), score: 'log-probability' })],
      ['input-x-gradient', (x, i) => new gb.xai.InputXGradient(m).attribute(x, { target: t(i) })],
      ['smoothgrad', (x, i) => new gb.xai.SmoothGrad(m).attribute(x, { target: t(i), samples: 6, internalBatchSize: 4, variant: 'vargrad' })],
      ['unit gradient', (x) => new gb.xai.LayerUnitGradient(m, 'features.4').attribute(x, { target: gb.xai.unit(3) })],
      ['guided-backprop', (x, i) => new gb.xai.GuidedBackprop(m).attribute(x, { target: t(i) })],
      ['deconvnet', (x, i) => new gb.xai.Deconvnet(m).attribute(x, { target: t(i) })],
    ];
    for (const [name, run] of runs) {
      const worst = await batchVersusSingles(run, digits.x);
      expect(worst, name).toBeLessThan(1e-4);
    }
  });
});
