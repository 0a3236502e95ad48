/** The evaluation metrics (catalogue B8) and the evaluate command, on the trained LeNet. */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { auc, deletionInsertion, energyInMask, pointingHit } from '../src/xai/metrics.ts';
import { evaluateMethods, writeEvaluation, type LoadedModel } from '../src/cli/evaluate.ts';
import { trainedModel } from './trained-models.ts';
import { mnistBatch } from './gradient-test-inputs.ts';

describe('evaluation metrics', () => {
  it('auc is the trapezoid area over [0, 1]', () => {
    expect(auc([1, 1, 1])).toBe(1);
    expect(auc([1, 0])).toBe(0.5);
    expect(auc([0, 0.5, 1])).toBe(0.5);
  });

  it('pointing game and energy in mask on known maps', () => {
    const h = 5;
    const w = 5;
    const mask = new Uint8Array(25);
    mask[0] = 1; // the top-left pixel is the object
    const peakOnObject = Float64Array.from({ length: 25 }, (_, p) => (p === 0 ? 9 : 1));
    const peakAtCentre = Float64Array.from({ length: 25 }, (_, p) => (p === 12 ? 9 : 1));
    expect(pointingHit(peakOnObject, mask, h, w, 0)).toBe(1);
    expect(pointingHit(peakAtCentre, mask, h, w, 0)).toBe(0);
    expect(pointingHit(peakAtCentre, mask, h, w, 2)).toBe(1); // within the 2-pixel tolerance
    expect(energyInMask(Float64Array.from(mask), mask)).toBe(1);
    expect(energyInMask(peakAtCentre, mask)).toBeCloseTo(1 / 33, 10);
  });

  it('deletion falls faster and insertion rises faster for an occlusion map than for a random map (trained LeNet)', async () => {
    const lenet = await trainedModel('lenet-mnist');
    const b = await mnistBatch(lenet, 6);
    const predicted = Array.from(await gb.noGrad(() => gb.argmax(lenet.model.forward(b.x), { dim: 1 })).toArray());
    // occlusion measures each region's real effect on the score: a near-oracle ranking for deletion
    const oracle = await new gb.xai.Occlusion(lenet.model).attribute(b.x, { target: predicted, window: 4, stride: 2 });
    gb.manualSeed(1);
    const random = gb.rand(oracle.shape);
    const good = await deletionInsertion(lenet.model, b.x, oracle, predicted);
    const bad = await deletionInsertion(lenet.model, b.x, random, predicted);
    const mean = (v: number[]) => v.reduce((a, x) => a + x, 0) / v.length;
    const [gd, bd, gi, bi] = [mean(good.map((c) => c.deletionAuc)), mean(bad.map((c) => c.deletionAuc)), mean(good.map((c) => c.insertionAuc)), mean(bad.map((c) => c.insertionAuc))];
    console.log(`deletion AUC occlusion ${gd.toFixed(3)} vs random ${bd.toFixed(3)}; insertion AUC ${gi.toFixed(3)} vs ${bi.toFixed(3)}`);
    expect(gd).toBeLessThan(bd);
    expect(gi).toBeGreaterThan(bi);
    // the curves start at the unmodified image and end at the fully substituted one
    good.forEach((c, i) => {
      expect(c.deletion[0]).toBeCloseTo(bad[i]!.deletion[0]!, 5);
      expect(c.deletion[c.deletion.length - 1]).toBeCloseTo(bad[i]!.deletion[bad[i]!.deletion.length - 1]!, 5);
    });
  });

  it('evaluate scores several methods and writes the table, curves, maps and report', async () => {
    const lenet = await trainedModel('lenet-mnist');
    const loaded: LoadedModel = { model: lenet.model, arch: 'lenet5', dataset: 'mnist' };
    const methods = gb.xai.allMethods().filter((m) => ['saliency', 'grad-cam', 'integrated-gradients'].includes(m.name));
    expect(methods).toHaveLength(3);
    const ev = await evaluateMethods(loaded, methods, 3, undefined, () => {});
    expect(ev.results.every((r) => !r.error && r.deletionAuc >= 0 && r.insertionAuc <= 1)).toBe(true);
    const out = mkdtempSync(join(tmpdir(), 'gb-eval-'));
    writeEvaluation(ev, out, 'test');
    for (const f of ['evaluation.md', 'evaluation.json', 'deletion.png', 'insertion.png', 'maps.png', 'report.html']) expect(existsSync(join(out, f)), f).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8'));
    expect(json.results.map((r: { method: string }) => r.method)).toEqual(methods.map((m) => m.name));
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('data:image/png;base64');
  });
});
