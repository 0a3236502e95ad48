/**
 * Unit ablation (catalogue E5, src/xai/units/ablation.ts) on the trained fixture mixture net:
 * every conv3 unit off leaves only the classifier's bias; no unit off changes nothing; a unit made
 * dead by editing its weights has no effect; the tiled pass (every ablation in one batch) equals
 * one pass per ablation; cumulative curves start at the intact accuracy and end at the bias-only
 * one; bad input gets errors that name the layer and its unit count.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import type { Tensor } from '../src/index.ts';
import { datasetSpec } from '../src/train/datasets.ts';
import { forwardWithLayer } from '../src/xai/attribution.ts';
import {
  ablationCurves, ablationMask, classAccuracies, countsAccuracy, digitDrops, evaluateAblations, mixtureClassDigits, registerAblation, unitAblationEffects, UnitAblation, type UnitAblationSweep,
} from '../src/xai/units/ablation.ts';
import { classToPair } from '../datasets/mixture-mnist.ts';
import { parseArgs } from '../src/cli/args.ts';
import { ABLATE_OPTIONS } from '../src/cli/options.ts';
import { ablateCommand } from '../src/cli/ablate.ts';
import { trainedModel, type TrainedModel } from './trained-models.ts';
import { expectCommandReport } from './command-report.ts';

const LAYER = 'features.7'; // conv3's ReLU
const N = 200;
let net: TrainedModel;
let images: Tensor;
let labels: Uint8Array;
let normalization: gb.Normalization;
let sweep: UnitAblationSweep; // every conv3 unit alone, with per-digit drops

beforeAll(async () => {
  await gb.init();
  net = await trainedModel('mixture-net');
  const data = await datasetSpec('mnist-mixture').load('validation', N);
  images = gb.tensor(Float32Array.from(data.images.subarray(0, N * 56 * 56), (v) => v / 255), [N, 1, 56, 56]);
  labels = Uint8Array.from(data.labels.subarray(0, N));
  normalization = { mean: net.mean, std: net.std };
  sweep = await unitAblationEffects(net.model, images, labels, { layer: LAYER, normalization, batchSize: 100, classDigits: mixtureClassDigits('pairs') });
}, 120_000);

const logitsWith = (masks: Uint8Array[] | null, n = 8) =>
  gb.noGrad(() =>
    gb.tidy(() => {
      const x = gb.normalize(gb.slice(images, 0, { start: 0, end: n }), normalization);
      const remove = masks ? registerAblation(net.model, LAYER, masks) : () => {};
      try {
        return net.model.forward(x);
      } finally {
        remove();
      }
    }),
  );

describe('unit ablation', () => {
  it('every unit of conv3 off leaves only the bias path: each logit is the classifier bias', async () => {
    const out = logitsWith([ablationMask(10, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])]);
    const bias = await (net.model.getSubmodule('fc') as gb.nn.Linear).bias!.toArray();
    const got = await out.toArray();
    expect(out.shape).toEqual([8, 45]);
    for (let i = 0; i < 8; i++) for (let k = 0; k < 45; k++) expect(got[i * 45 + k]).toBeCloseTo(bias[k]!, 6);
    // and the evaluation agrees: every image gets the bias's argmax class
    const top = Array.from(bias).indexOf(Math.max(...bias));
    const ev = await evaluateAblations(net.model, images, labels, [ablationMask(10, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])], { layer: LAYER, normalization });
    expect(countsAccuracy(ev.counts[0]!)).toBeCloseTo(labels.filter((y) => y === top).length / N, 12);
    out.dispose();
  });

  it('no unit off changes nothing, and the hook is gone afterwards', async () => {
    const plain = await logitsWith(null).toArray();
    expect(Array.from(await logitsWith([ablationMask(10, [])]).toArray())).toEqual(Array.from(plain));
    expect(Array.from(await logitsWith(null).toArray())).toEqual(Array.from(plain));
    // the sweep's intact accuracy is the model's plain accuracy
    const predicted = (await gb.noGrad(() => gb.tidy(() => gb.argmax(net.model.forward(gb.normalize(images, normalization)), { dim: 1 }))).toArray()) as ArrayLike<number>;
    const plainAccuracy = Array.from(labels).filter((y, i) => predicted[i] === y).length / N;
    expect(sweep.baseline.accuracy).toBe(plainAccuracy);
  });

  it('the hook is removed even when the forward pass throws', () => {
    const remove = registerAblation(net.model, LAYER, [ablationMask(3, [])]); // wrong size: throws inside the forward
    remove();
    expect(() => logitsWith([ablationMask(3, [])])).toThrow(/3 entries but layer 'features.7' has 10 units/);
    expect(() => logitsWith(null)).not.toThrow();
  });

  it('the tiled pass equals one pass per ablation, and ablating units changes accuracy per class as counted by hand', async () => {
    expect(sweep.mode).toBe('tiled');
    const ablation = new UnitAblation(net.model, { layer: LAYER, normalization });
    for (const unit of [sweep.ranking[0]!, sweep.ranking[9]!]) {
      const alone = await ablation.evaluate(images, labels, [unit]);
      const effect = sweep.effects[unit]!;
      expect(effect.accuracy).toBe(alone.accuracy);
      alone.classAccuracy.forEach((a, k) => (Number.isNaN(a) ? expect(effect.classChange[k]).toBeNaN() : expect(effect.classChange[k]).toBeCloseTo(a - sweep.baseline.classAccuracy[k]!, 12)));
    }
    // ranking: by accuracy change, most harmful first
    const changes = sweep.ranking.map((u) => sweep.effects[u]!.accuracyChange);
    expect(changes).toEqual([...changes].sort((a, b) => a - b));
    expect(changes[0]).toBeLessThan(-0.02); // a trained net has units it needs
    // the per-digit drop: the images whose pair holds digit d, counted directly
    const top = sweep.effects[sweep.ranking[0]!]!;
    const ev = await evaluateAblations(net.model, images, labels, [ablationMask(10, []), ablationMask(10, [top.unit])], { layer: LAYER, normalization });
    for (const d of [0, 5]) {
      const holds = (k: number) => classToPair(k).includes(d);
      const [intact, ablated] = ev.counts.map((c) => c.correct.reduce((s, v, k) => s + (holds(k) ? v : 0), 0));
      const total = ev.counts[0]!.total.reduce((s, v, k) => s + (holds(k) ? v : 0), 0);
      expect(top.digitDrop![d]).toBeCloseTo((intact! - ablated!) / total, 12);
    }
    expect(digitDrops(ev.counts[0]!, ev.counts[0]!, mixtureClassDigits('pairs'))).toEqual(new Array(10).fill(0));
    expect(classAccuracies(ev.counts[0]!).length).toBe(45);
  }, 60_000);

  it('a unit edited to be dead has zero effect', async () => {
    const conv = net.model.getSubmodule('features.6') as gb.nn.Conv2d;
    const [w, b] = [await conv.weight.toArray(), await conv.bias!.toArray()];
    const dead = 4;
    const per = w.length / 10;
    try {
      conv.weight.assign(gb.tensor(Float32Array.from(w, (v, i) => (Math.floor(i / per) === dead ? 0 : v)), conv.weight.shape));
      conv.bias!.assign(gb.tensor(Float32Array.from(b, (v, i) => (i === dead ? -1 : v)), [10]));
      const edited = await unitAblationEffects(net.model, images, labels, { layer: LAYER, normalization });
      const e = edited.effects[dead]!;
      expect(e.accuracyChange).toBe(0);
      e.classChange.forEach((c) => (Number.isNaN(c) ? undefined : expect(c).toBe(0)));
      expect(edited.effects.some((x) => x.accuracyChange < 0)).toBe(true);
    } finally {
      conv.weight.assign(gb.tensor(w, conv.weight.shape));
      conv.bias!.assign(gb.tensor(b, [10]));
    }
  }, 60_000);

  it('cumulative curves: intact accuracy with none removed, the bias-only accuracy with all removed, by importance and at random', async () => {
    const curves = await ablationCurves(net.model, images, labels, sweep.ranking, { layer: LAYER, normalization, seeds: [0, 1], batchSize: 100 });
    expect(curves.removed).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(curves.byImportance[0]).toBe(sweep.baseline.accuracy);
    expect(curves.byImportance[1]).toBe(sweep.effects[sweep.ranking[0]!]!.accuracy);
    const none = curves.byImportance[10]!;
    for (const r of curves.random) {
      expect(r[0]).toBe(sweep.baseline.accuracy);
      expect(r[10]).toBe(none);
    }
    // seeded: the same seeds give the same orders
    const again = await ablationCurves(net.model, images, labels, sweep.ranking, { layer: LAYER, normalization, seeds: [0, 1], batchSize: 100 });
    expect(again.random).toEqual(curves.random);
    // removing the most important units first hurts at least as much, summed over the curve, as random orders
    const area = (c: number[]) => c.reduce((a, b) => a + b, 0);
    expect(area(curves.byImportance)).toBeLessThanOrEqual(area(curves.randomMean));
  }, 60_000);

  it('falls back to one pass per ablation when a skip connection bypasses the layer', async () => {
    class Skip extends gb.nn.Module {
      conv = new gb.nn.Conv2d(1, 3, 3, { padding: 1 });
      fc = new gb.nn.Linear(3, 2);
      forward(x: Tensor): Tensor {
        const y = gb.add(this.conv.forward(x), x); // the input bypasses conv
        return this.fc.forward(gb.mean(y, { dim: [2, 3] }));
      }
    }
    gb.manualSeed(0);
    const m = new Skip();
    const x = gb.rand([6, 1, 5, 5]);
    const y = [0, 1, 0, 1, 1, 0];
    const ev = await evaluateAblations(m, x, y, [ablationMask(3, []), ablationMask(3, [1]), ablationMask(3, [0, 2])], { layer: 'conv' });
    expect(ev.mode).toBe('per-ablation');
    for (const [i, off] of [[], [1], [0, 2]].entries()) {
      const alone = await evaluateAblations(m, x, y, [ablationMask(3, off)], { layer: 'conv' });
      expect(ev.counts[i]).toEqual(alone.counts[0]);
    }
  });

  it('bad input: unit out of range names the count, a layer that is not a feature map, labels that are not classes', async () => {
    await expect(unitAblationEffects(net.model, images, labels, { layer: LAYER, units: [10] })).rejects.toThrow(/unit 10 is out of range; layer 'features.7' has 10 units \(0-9\)/);
    await expect(unitAblationEffects(net.model, images, labels, { layer: 'flatten' })).rejects.toThrow(/layer 'flatten' outputs \[1, 10\]; unit ablation needs a feature map/);
    await expect(unitAblationEffects(net.model, images, labels, { layer: 'nope' })).rejects.toThrow(/nope/);
    await expect(unitAblationEffects(net.model, images, new Uint8Array(N).fill(50), { layer: LAYER, units: [0] })).rejects.toThrow(/label 50 of image 0 is not a class index in 0..44/);
    await expect(unitAblationEffects(net.model, images, labels.subarray(0, 5), { layer: LAYER, units: [0] })).rejects.toThrow(new RegExp(`5 labels for ${N} images`));
  });
});

// the activations the hook zeroes are the layer's own: a unit off is exactly zero there
describe('the ablation hook', () => {
  it('zeroes exactly the switched-off channels of the layer', async () => {
    const x = gb.normalize(gb.slice(images, 0, { start: 0, end: 2 }), normalization);
    const { activation } = forwardWithLayer(net.model, LAYER, x, (a) => a);
    const before = await activation.toArray();
    const remove = registerAblation(net.model, LAYER, [ablationMask(10, [2, 7])]);
    let after: ArrayLike<number> = [];
    try {
      after = await forwardWithLayer(net.model, LAYER, x).activation.toArray();
    } finally {
      remove();
    }
    const hw = activation.shape[2]! * activation.shape[3]!;
    for (let i = 0; i < before.length; i++) {
      const c = Math.floor(i / hw) % 10;
      expect(after[i]).toBe(c === 2 || c === 7 ? 0 : before[i]);
    }
  });
});

describe('glassbox ablate', () => {
  const run = (out: string, ...extra: string[]) =>
    ablateCommand(parseArgs(['--model', 'tests/fixtures/models/mixture-net.safetensors', '--arch', 'mixture-net', '--dataset', 'mnist-mixture', '--n', String(N), '--random-orders', '1', '--out', out, ...extra], ABLATE_OPTIONS));

  it('writes the per-unit chart, the curves, the JSON and the report, agreeing with the library', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-ablate-'));
    try {
      await run(out, '--all-units');
      expectCommandReport(out, { shown: ['ablation.png', 'curves.png', 'digits.png'], listed: ['ablation.json', 'ranking.md'] });
      const json = JSON.parse(readFileSync(join(out, 'ablation.json'), 'utf8'));
      expect(json.layer).toBe(LAYER); // the default: the last conv's ReLU
      expect(json.baseline.accuracy).toBe(sweep.baseline.accuracy);
      expect(json.ranking).toEqual(sweep.ranking);
      expect(json.effects.map((e: { accuracy: number }) => e.accuracy)).toEqual(sweep.effects.map((e) => e.accuracy));
      expect(json.extra.accuracy).toBe(json.curves.byImportance[10]); // every unit off = the end of the curve
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);

  it('clear errors: a unit out of range, a layer that is not a feature map, two modes at once', async () => {
    const out = join(tmpdir(), 'gb-ablate-never');
    await expect(run(out, '--units', '3,12')).rejects.toThrow(/--units: unit 12 is out of range; layer 'features.7' has 10 units \(0-9\)/);
    await expect(run(out, '--layer', 'fc')).rejects.toThrow(/--layer fc: layer 'fc' outputs \[1, 45\]; unit ablation needs a feature map.*features.1, features.4, features.7/);
    await expect(run(out, '--keep', '2', '--all-units')).rejects.toThrow(/give one of --units, --keep and --all-units, not --keep and --all-units/);
    await expect(run(out, '--keep', '11')).rejects.toThrow(/--keep 11: layer 'features.7' has only 10 units/);
  }, 60_000);
});
