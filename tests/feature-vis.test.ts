/**
 * Catalogue E1 and the input-optimisation core (src/xai/optimize) on the trained LeNet-5 (MNIST):
 * every objective kind raises its target by a large factor; class pictures are classified as
 * their class; without transforms and regularisers the pictures are noisier (more spectral energy
 * above half Nyquist); the Fourier parametrisation is exact (zero spectrum -> constant image,
 * inverse DFT == a direct float64 DFT); Gram matching and diversity do what they
 * promise; Yosinski's clipping and blur act; memory stays flat; the CLI writes its PNG and JSON;
 * bad layers and channels get errors that name the fix. Pictures in /tmp/feature-vis/.
 */
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { writePng } from '../src/viz/node.ts';
import * as opt from '../src/xai/optimize/index.ts';
import { featureGrid, highFrequencyShares, visualizeFeatures } from '../src/xai/visualize/features.ts';
import { trainedModel } from './trained-models.ts';
import { modelEntry } from '../src/nn/models/zoo.ts';
import { loadModel } from '../src/nn/safetensors-file.ts';
import { parseArgs, UsageError } from '../src/cli/args.ts';
import { VISUALIZE_FEATURES_OPTIONS } from '../src/cli/options.ts';
import { visualizeFeaturesCommand } from '../src/cli/visualize.ts';
import { readPng } from '../src/viz/node.ts';
import { loadDataset } from '../datasets/index.ts';
import { expectCommandReport } from './command-report.ts';

const OUT = '/tmp/feature-vis';
const CLASSES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
let model: gb.nn.Module;
const norm = gb.normalization.mnist!;
const base = { inputShape: [1, 28, 28] as const, normalization: norm, seed: 0 };

beforeAll(async () => {
  model = (await trainedModel('lenet-mnist')).model;
  mkdirSync(OUT, { recursive: true });
});

/** x^T A for the direct DFT check: the image of a half spectrum by the definition (Hermitian extension, float64). */
function directInverseRealDft2(re: Float32Array, im: Float32Array, h: number, w: number): Float64Array {
  const wf = Math.floor(w / 2) + 1;
  const out = new Float64Array(h * w);
  const coef = (k: number, l: number): [number, number] => {
    if (l < wf) return [re[k * wf + l]!, im[k * wf + l]!];
    const [kk, ll] = [(h - k) % h, w - l]; // conj(X[-k, w - l])
    return [re[kk * wf + ll]!, -im[kk * wf + ll]!];
  };
  for (let m = 0; m < h; m++)
    for (let n = 0; n < w; n++) {
      let acc = 0;
      for (let k = 0; k < h; k++)
        for (let l = 0; l < w; l++) {
          const [a, b] = coef(k, l);
          const angle = 2 * Math.PI * (k * m / h + l * n / w);
          acc += a * Math.cos(angle) - b * Math.sin(angle); // real part of X e^{i angle}
        }
      out[m * w + n] = acc / Math.sqrt(h * w);
    }
  return out;
}

describe('Fourier parametrisation', () => {
  it('a zero spectrum is a constant grey image (sigmoid(0) = 0.5), with and without colour decorrelation', async () => {
    for (const [c, decorrelation] of [[1, 'none'], [3, 'lucid-imagenet']] as const) {
      const param = opt.makeImageParam({ kind: 'fourier', shape: [2, c, 9, 8], decorrelation }, opt.seededRandom(1));
      param.params.forEach((p) => p.assign(gb.zeros(p.shape as number[])));
      const img = await param.image().toArray();
      expect(Math.max(...Array.from(img, (v) => Math.abs(v - 0.5)))).toBe(0);
      param.dispose();
    }
  });

  it('the matmul inverse real DFT equals the direct float64 DFT (odd and even sizes)', async () => {
    for (const [h, w] of [[6, 7], [8, 8], [5, 4]] as const) {
      const wf = opt.halfWidth(w);
      const random = opt.seededRandom(h * 10 + w);
      const re = opt.normalSamples(random, h * wf, 1);
      const im = opt.normalSamples(random, h * wf, 1);
      const m = opt.inverseDftMatrices(h, w);
      const got = await opt.inverseRealDft2(gb.tensor(re, [h, wf]), gb.tensor(im, [h, wf]), m).toArray();
      const want = directInverseRealDft2(re, im, h, w);
      const err = Math.max(...Array.from(got, (v, i) => Math.abs(v - want[i]!)));
      expect(err).toBeLessThan(2e-5); // float32 matmuls of O(1) values over h + w terms
    }
  });

  it("Lucid's spectrum scale: 1 / max(f, 1 / max(w, h)), with f = |fftfreq|", () => {
    const s = opt.spectrumScale(4, 6);
    // half spectrum [4, 4]: DC -> 1 / (1/6) = 6; bin (1, 0): f = 1/4 -> 4; bin (0, 3): f = 3/6 -> 2; bin (2, 2): f = hypot(1/2, 1/3)
    expect(s[0]).toBeCloseTo(6, 5);
    expect(s[1 * 4 + 0]).toBeCloseTo(4, 5);
    expect(s[0 * 4 + 3]).toBeCloseTo(2, 5);
    expect(s[2 * 4 + 2]).toBeCloseTo(1 / Math.hypot(0.5, 1 / 3), 5);
  });
});

describe('random scale and rotation (affineGrid + gridSample)', () => {
  it('rotation by 90 degrees moves every pixel centre onto another one: out[i][j] = in[H-1-j][i]; scale 1 returns the input', async () => {
    const side = 5;
    const values = Float32Array.from({ length: side * side }, (_, k) => k);
    const x = gb.tensor(values, [1, 1, side, side]);
    const rotated = await opt.randomRotate([90]).apply(x, opt.seededRandom(0)).toArray();
    for (let i = 0; i < side; i++) for (let j = 0; j < side; j++) expect(rotated[i * side + j]).toBeCloseTo(values[(side - 1 - j) * side + i]!, 4);
    expect(Array.from(await opt.randomScale([1]).apply(x, opt.seededRandom(0)).toArray())).toEqual(Array.from(values));
    // zoom by 2: the centre pixel stays, the image's edge reads from halfway out
    const zoomed = await opt.randomScale([2]).apply(x, opt.seededRandom(0)).toArray();
    expect(zoomed[2 * side + 2]).toBeCloseTo(values[2 * side + 2]!, 4);
  });
});

describe('colour decorrelation', () => {
  it("Lucid's ImageNet matrix is its svd-sqrt constant over the largest column norm", () => {
    const m = opt.LUCID_COLOR_DECORRELATION;
    const norms = [0, 1, 2].map((j) => Math.hypot(m[j]!, m[3 + j]!, m[6 + j]!));
    expect(Math.max(...norms)).toBeCloseTo(1, 12);
    expect(m[0]! / m[1]!).toBeCloseTo(0.26 / 0.09, 12);
  });

  it("CIFAR-10's matrix: its first column is the luminance direction, close to Lucid's ImageNet one", async () => {
    const m = opt.colorDecorrelationFromData(await loadDataset('cifar10', { split: 'train', n: 500 }));
    const lucid = opt.LUCID_COLOR_DECORRELATION;
    // eigenvector signs are arbitrary: compare the column up to sign
    const sign = Math.sign(m[0]!);
    for (const r of [0, 1, 2]) expect(Math.abs(sign * m[3 * r]! - lucid[3 * r]!)).toBeLessThan(0.05);
  });

  it('a matrix from a covariance S satisfies M M^T = S / largest eigenvalue', () => {
    const cov = [0.06, 0.05, 0.045, 0.05, 0.058, 0.05, 0.045, 0.05, 0.065];
    const m = opt.colorDecorrelationFromCovariance(cov);
    const { values } = opt.symmetricEigen3(cov);
    const top = Math.max(...values);
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        const mmT = [0, 1, 2].reduce((s, k) => s + m[3 * i + k]! * m[3 * j + k]!, 0);
        expect(mmT).toBeCloseTo(cov[3 * i + j]! / top, 10);
      }
  });
});

describe('objectives on the trained LeNet-5', () => {
  it('an unknown layer lists the known paths; a channel out of range names the layer size', async () => {
    await expect(opt.renderVis(model, opt.channel('features.9', 0), { ...base, steps: 1 })).rejects.toThrow(/no layer 'features.9'.*features.3.*classifier.5/);
    await expect(opt.renderVis(model, opt.channel('features.3', 16), { ...base, steps: 1 })).rejects.toThrow(/channel 16 is out of range: layer 'features.3' \(output \[1, 16, 10, 10\]\) has 16 channels/);
    await expect(opt.renderVis(model, opt.classLogit(10), { ...base, steps: 1 })).rejects.toThrow(/class 10 is out of range.*10 classs/);
  });

  // each kind from the same random starts; the score is read without transforms before and after
  const kinds: Array<[string, opt.Objective]> = [
    ['class logit', opt.classLogit(3)],
    ['channel', opt.channel('features.3', 5)],
    ['neuron', opt.neuron('features.3', 5)],
    ['layer norm', opt.layerNorm('features.4')],
    ['sum of objectives', opt.channel('features.4', 2).add(opt.classLogit(7).mul(0.5))],
  ];
  it.each(kinds)('%s rises by a large factor', async (_name, objective) => {
    const r = await opt.renderVis(model, objective, { ...base, param: 'fourier', batch: 2, steps: 48, transforms: opt.standardTransforms() });
    r.images.dispose();
    r.probabilities?.dispose();
    r.final.forEach((f, i) => {
      const start = r.initial[i]!;
      // at least 10x the start's magnitude (a ReLU layer starts at 0: then at least 0.5 absolute)
      expect(f).toBeGreaterThan(Math.max(10 * Math.abs(start), 0.5));
    });
    expect(r.curve[r.curve.length - 1]!).toBeGreaterThan(r.curve[0]!);
  });

  it('class probability and log-probability objectives reach p > 0.99 (a probability cannot rise by a factor from 0.1)', async () => {
    for (const log of [false, true]) {
      const r = await opt.renderVis(model, opt.classProbability(5, { log }), { ...base, param: 'pixel', steps: 48 });
      const p = (await r.probabilities!.toArray())[5]!;
      expect(p).toBeGreaterThan(0.99);
      expect(r.final[0]!).toBeCloseTo(log ? Math.log(p) : p, 4);
      [r.images, r.probabilities].forEach((t) => t?.dispose());
    }
  });

  it('a negated objective drives its target down: the logit falls below the start', async () => {
    const r = await opt.renderVis(model, opt.classLogit(3).neg(), { ...base, param: 'pixel', steps: 24 });
    const logit = (await r.probabilities!.toArray())[3]!;
    r.images.dispose();
    r.probabilities?.dispose();
    // the objective is -logit: it rises while the logit falls
    expect(r.final[0]!).toBeGreaterThan(r.initial[0]! + 2);
    expect(logit).toBeLessThan(0.01);
  });
});

/** Mean pairwise cosine similarity of the batch's images (each centred). */
async function meanSimilarity(images: gb.Tensor): Promise<number> {
  const n = images.shape[0]!;
  const all = await images.toArray();
  const size = all.length / n;
  const centred = Array.from({ length: n }, (_, i) => {
    const v = Array.from(all.subarray(i * size, (i + 1) * size));
    const m = v.reduce((a, b) => a + b, 0) / size;
    return v.map((x) => x - m);
  });
  let total = 0;
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) total += centred[i]!.reduce((s, x, k) => s + x * centred[j]![k]!, 0) / (Math.hypot(...centred[i]!) * Math.hypot(...centred[j]!));
  return total / ((n * (n - 1)) / 2);
}

describe('style and diversity objectives (inversion: tests/inversion.test.ts)', () => {
  it('Gram matching (style) of a digit falls at least 10x', async () => {
    const data = await loadDataset('mnist', { split: 'test', n: 1 });
    const x0 = gb.tensor(Float32Array.from(data.images.subarray(0, 784), (v) => v / 255), [1, 1, 28, 28]);
    const gram = gb.noGrad(() => gb.tidy(() => opt.gramMatrix(opt.forwardCapturing(model, [['features.1', model.getSubmodule('features.1')]], gb.normalize(x0, norm)).activation('features.1'))));
    const r = await opt.renderVis(model, opt.gramMatch('features.1', gram), { ...base, param: 'pixel', steps: 128 });
    expect(-r.final[0]!).toBeLessThan(-r.initial[0]! / 10);
    [x0, gram, r.images, r.probabilities].forEach((t) => t?.dispose());
  });

  it('a diversity term makes the images of a batch differ (mean pairwise similarity at least halves)', async () => {
    const opts = { ...base, param: 'pixel' as const, steps: 48, batch: 4, transforms: opt.standardTransforms() };
    const alone = await opt.renderVis(model, opt.channel('features.3', 5), opts);
    const diverse = await opt.renderVis(model, opt.channel('features.3', 5).add(opt.diversity('features.3').mul(10)), opts);
    const [a, d] = [await meanSimilarity(alone.images), await meanSimilarity(diverse.images)];
    expect(d).toBeLessThan(a / 2);
    for (const r of [alone, diverse]) [r.images, r.probabilities].forEach((t) => t?.dispose());
  });
});

describe('E1 class visualisation', () => {
  it('ten classes drawn in one batch are classified as their class; with no transforms or regularisers they are noisier', async () => {
    const steps = 64;
    const on = await visualizeFeatures(model, { class: CLASSES }, { ...base, param: 'pixel', batch: 10, steps, transforms: opt.standardTransforms(), regularizers: [opt.blur(0.5, 4), opt.totalVariation(0.5)] });
    const off = await visualizeFeatures(model, { class: CLASSES }, { ...base, param: 'pixel', batch: 10, steps });
    const confident = on.predicted!.filter((p, k) => p.class === k && p.probability > 0.9).length;
    console.log(`E1 LeNet-5 class pictures, ${steps} steps: ${confident}/10 classified as their class with p > 0.9; high-frequency share with transforms and regularisers ${mean(on.highFrequency).toFixed(3)}, without ${mean(off.highFrequency).toFixed(3)}`);
    writePng(`${OUT}/classes-regularised.png`, await featureGrid(on.images, on.predicted!.map((p) => `${p.class} ${p.probability.toFixed(2)}`)));
    writePng(`${OUT}/classes-plain.png`, await featureGrid(off.images, off.predicted!.map((p) => `${p.class} ${p.probability.toFixed(2)}`)));
    expect(confident).toBeGreaterThanOrEqual(9);
    expect(mean(off.highFrequency)).toBeGreaterThan(mean(on.highFrequency));
    for (const r of [on, off]) [r.images, r.probabilities].forEach((t) => t?.dispose());
  });

  it('the MNIST CNN trained here (lab/models) draws ten classes it reads as their class; plain pixels without transforms are noisier', async () => {
    // the issue names this net: PyTorch's MNIST example (conv 32 and 64, fc 9216x128), 98.92% on the test set
    const cnn = modelEntry('mnist-cnn').build({ channels: 1, height: 28, width: 28, classes: 10 });
    await loadModel('lab/models/mnist-cnn-mnist.safetensors', cnn);
    cnn.eval();
    const steps = 128;
    const on = await visualizeFeatures(cnn, { class: CLASSES }, { ...base, param: 'fourier', batch: 10, steps, transforms: opt.standardTransforms() });
    const off = await visualizeFeatures(cnn, { class: CLASSES }, { ...base, param: 'pixel', batch: 10, steps });
    const confident = on.predicted!.filter((p, k) => p.class === k && p.probability > 0.9).length;
    console.log(`E1 MNIST CNN class pictures, ${steps} steps: ${confident}/10 with p > 0.9; high-frequency share Fourier + transforms ${mean(on.highFrequency).toFixed(3)}, plain pixels ${mean(off.highFrequency).toFixed(3)}`);
    writePng(`${OUT}/mnist-cnn-classes.png`, await featureGrid(on.images, on.predicted!.map((p) => `${p.class} ${p.probability.toFixed(2)}`)));
    expect(confident).toBeGreaterThanOrEqual(9);
    expect(mean(off.highFrequency)).toBeGreaterThan(mean(on.highFrequency));
    for (const r of [on, off]) [r.images, r.probabilities].forEach((t) => t?.dispose());
  }, 120_000);

  it("Yosinski's clipping resets the smallest pixels to the data mean; blur smooths the picture", async () => {
    for (const reg of [opt.clipNorm(50), opt.clipContribution(50)]) {
      const r = await opt.renderVis(model, opt.classLogit(3), { ...base, param: 'pixel', steps: 4, regularizers: [reg] });
      const x = await r.images.toArray();
      const atMean = Array.from(x).filter((v) => Math.abs(v - norm.mean[0]!) < 1e-4).length;
      expect(atMean).toBeGreaterThanOrEqual(784 / 2);
      [r.images, r.probabilities].forEach((t) => t?.dispose());
    }
    const shares = [];
    for (const regularizers of [[], [opt.blur(1, 1)]]) {
      for (const param of ['pixel', 'fourier'] as const) {
        const r = await opt.renderVis(model, opt.classLogit(3), { ...base, param, steps: 8, lr: 0.2, regularizers });
        shares.push((await highFrequencyShares(r.images))[0]!);
        [r.images, r.probabilities].forEach((t) => t?.dispose());
      }
    }
    // pixel and fourier, without then with blur every step
    expect(shares[2]!).toBeLessThan(shares[0]! / 2);
    expect(shares[3]!).toBeLessThan(shares[1]! / 2);
  });

  it('memory stays flat: a render leaves only its results behind, whatever the step count', async () => {
    const used = async (steps: number) => {
      const before = gb.memory().bytesInUse;
      const r = await opt.renderVis(model, opt.channel('features.3', 1), { ...base, steps, regularizers: [opt.clipNorm(20), opt.clipContribution(20)], param: 'pixel' });
      r.images.dispose();
      r.probabilities?.dispose();
      return gb.memory().bytesInUse - before;
    };
    await used(1); // first use of a kernel may allocate its cached buffers once
    // nothing is left but the results, however many steps (each step runs in a tidy); garbage of
    // earlier tests may be finalised meanwhile, so the count can also fall
    expect(await used(3)).toBeLessThanOrEqual(0);
    expect(await used(12)).toBeLessThanOrEqual(0);
  });
});

describe('glassbox visualize features', () => {
  it('writes a PNG grid and JSON with the objective curve and the classification of the pictures', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-visualize-'));
    const argv = ['--model', 'tests/fixtures/models/lenet-mnist.safetensors', '--class', '7', '--steps', '24', '--batch', '2', '--param', 'pixel', '--reg', 'blur:0.5:4,tv:0.5', '--out', out];
    await visualizeFeaturesCommand(parseArgs(argv, VISUALIZE_FEATURES_OPTIONS));
    const json = JSON.parse(readFileSync(join(out, 'features.json'), 'utf8')) as { curve: number[]; initial: number[]; final: number[]; classification: Array<{ class: number; probability: number }> };
    expect(json.curve).toHaveLength(24);
    expect(json.final[0]!).toBeGreaterThan(json.initial[0]! + 1);
    expect(json.classification.map((c) => c.class)).toEqual([7, 7]);
    const png = readPng(join(out, 'features.png'));
    expectCommandReport(out, { shown: ['features.png'], listed: ['features.json'] });
    expect(png.width).toBeGreaterThan(2 * 28);
  });

  it('--classes and --channels draw one picture per listed target in one batch, each with its own classification or exemplar ratio', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-visualize-'));
    const run = (extra: string[]) => visualizeFeaturesCommand(parseArgs(['--model', 'tests/fixtures/models/lenet-mnist.safetensors', '--steps', '32', '--exemplars', '64', '--out', out, ...extra], VISUALIZE_FEATURES_OPTIONS));
    await run(['--classes', '0-2,7']);
    const classes = JSON.parse(readFileSync(join(out, 'features.json'), 'utf8')) as { final: number[]; classification: Array<{ class: number }> };
    expect(classes.final).toHaveLength(4);
    expect(classes.classification.map((c) => c.class)).toEqual([0, 1, 2, 7]);
    await run(['--layer', 'features.4', '--channels', '0,5']);
    const units = JSON.parse(readFileSync(join(out, 'features.json'), 'utf8')) as { final: number[]; exemplars: Array<{ channel: number; value: number }>; exemplarRatio: number[] };
    expect(units.exemplars.map((e) => e.channel)).toEqual([0, 5]);
    units.exemplarRatio.forEach((r, i) => expect(r).toBeCloseTo(units.final[i]! / units.exemplars[i]!.value, 5));
    await expect(run(['--classes', '0-2', '--batch', '4'])).rejects.toThrow(/--batch 4: with a list of 3 targets the batch is one picture each/);
    await expect(run(['--classes', '8-10'])).rejects.toThrow(/--classes: class 10 is out of range; the model has 10 classes \(0-9\)/);
    await expect(run(['--layer', 'features.4', '--channels', 'all'])).rejects.toThrow(/--channels all: the size of layer 'features.4' is not known here; give a range like 0-7/);
    await expect(run(['--class', '1', '--channels', '0'])).rejects.toThrow(/not --class and --channels/);
  });

  it('refuses a missing target, a bad regulariser and clipping with the Fourier parametrisation, naming the fix', async () => {
    const run = (extra: string[]) => visualizeFeaturesCommand(parseArgs(['--model', 'tests/fixtures/models/lenet-mnist.safetensors', '--steps', '1', '--out', mkdtempSync(join(tmpdir(), 'gb-visualize-')), ...extra], VISUALIZE_FEATURES_OPTIONS));
    await expect(run([])).rejects.toThrow(UsageError);
    await expect(run(['--class', '3', '--reg', 'l2'])).rejects.toThrow(/--reg l2: give a weight, e.g. l2:0.1/);
    await expect(run(['--class', '3', '--reg', 'clip-norm:20'])).rejects.toThrow(/--param pixel/);
    await expect(run(['--class', '12'])).rejects.toThrow(/--class 12: the model has 10 classes/);
  });
});

describe('rendering at a larger size and averaging down (renderSize)', () => {
  it('the net sees the 2x2 block means of the 56x56 picture, its final score is the model\'s on them, and the class rises', async () => {
    const r = await opt.renderVis(model, opt.classLogit([3, 5]), { ...base, param: 'fourier', batch: 2, steps: 24, transforms: opt.standardTransforms(2), renderSize: [56, 56] });
    expect(r.images.shape).toEqual([2, 1, 28, 28]);
    expect(r.rendered!.shape).toEqual([2, 1, 56, 56]);
    const [big, small] = [await r.rendered!.toArray(), await r.images.toArray()];
    let err = 0;
    for (let n = 0; n < 2; n++)
      for (let y = 0; y < 28; y++)
        for (let x = 0; x < 28; x++) {
          const at = (yy: number, xx: number) => big[n * 56 * 56 + yy * 56 + xx]!;
          const block = (at(2 * y, 2 * x) + at(2 * y, 2 * x + 1) + at(2 * y + 1, 2 * x) + at(2 * y + 1, 2 * x + 1)) / 4;
          err = Math.max(err, Math.abs(block - small[n * 28 * 28 + y * 28 + x]!));
        }
    expect(err).toBeLessThan(1e-6);
    const logits = await gb.noGrad(() => model.forward(gb.normalize(r.images, norm))).toArray();
    expect(Math.abs(logits[3]! - r.final[0]!)).toBeLessThan(1e-3);
    expect(Math.abs(logits[10 + 5]! - r.final[1]!)).toBeLessThan(1e-3);
    r.final.forEach((f, i) => expect(f).toBeGreaterThan(5 + 10 * Math.abs(r.initial[i]!)));
    [r.images, r.rendered, r.probabilities].forEach((t) => t?.dispose());
    await expect(opt.renderVis(model, opt.classLogit(3), { ...base, steps: 1, renderSize: [50, 56] })).rejects.toThrow(/renderSize 50x56 must be a whole multiple of the model's input 28x28 \(e.g. 56x56\)/);
  });

  it('ten class pictures rendered at 2x have less high-frequency energy than at 1x (same seed, steps and transforms in net pixels) and are still classified', async () => {
    const steps = 48;
    const run = (k: number) => visualizeFeatures(model, { class: CLASSES }, { ...base, param: 'fourier', batch: 10, steps, transforms: opt.standardTransforms(k), renderSize: k === 1 ? undefined : [28 * k, 28 * k] });
    const [one, two] = [await run(1), await run(2)];
    const confident = (r: typeof one) => r.predicted!.filter((p, k) => p.class === k && p.probability > 0.9).length;
    console.log(`renderSize, LeNet-5 classes, ${steps} Fourier steps: high-frequency share ${mean(one.highFrequency).toFixed(3)} at 1x, ${mean(two.highFrequency).toFixed(3)} at 2x; mean logit ${mean(one.final).toFixed(2)}, ${mean(two.final).toFixed(2)}; p > 0.9 ${confident(one)}, ${confident(two)} of 10`);
    writePng(`${OUT}/classes-render-2x.png`, await featureGrid(two.rendered!, two.predicted!.map((p) => `${p.class} ${p.probability.toFixed(2)}`)));
    expect(mean(two.highFrequency)).toBeLessThan(mean(one.highFrequency));
    expect(confident(two)).toBeGreaterThanOrEqual(9);
    for (const r of [one, two]) [r.images, r.rendered, r.probabilities].forEach((t) => t?.dispose());
  });

  it('glassbox visualize features --render-size writes both sizes and refuses a size that is not a multiple', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-visualize-'));
    await visualizeFeaturesCommand(parseArgs(['--model', 'tests/fixtures/models/lenet-mnist.safetensors', '--class', '2', '--steps', '4', '--batch', '1', '--render-size', '56', '--out', out], VISUALIZE_FEATURES_OPTIONS));
    const json = JSON.parse(readFileSync(join(out, 'features.json'), 'utf8')) as { renderSize: number[] };
    expect(json.renderSize).toEqual([56, 56]);
    expect(readPng(join(out, 'features-rendered.png')).width).toBeGreaterThan(readPng(join(out, 'features.png')).width - 1);
    await expect(visualizeFeaturesCommand(parseArgs(['--model', 'tests/fixtures/models/lenet-mnist.safetensors', '--class', '2', '--steps', '1', '--render-size', '60', '--out', out], VISUALIZE_FEATURES_OPTIONS))).rejects.toThrow(/--render-size 60: give a size that is a whole multiple of the model's input 28x28, e.g. 56/);
  });
});

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
