/**
 * Perceptually aligned gradients (Tsipras et al. 2019) on two really trained LeNet-5 fixtures: the
 * normally trained `lenet-mnist` and `lenet-mnist-robust`, trained by the same recipe with every
 * batch replaced by its PGD attack (eps 0.3, 5 steps; tests/trained-models.ts).
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../src/cli/args.ts';
import { methodsByName, type LoadedModel } from '../src/cli/explain-setup.ts';
import { ROBUST_SALIENCY_OPTIONS } from '../src/cli/options.ts';
import { compareSaliency, robustSaliencyCommand, type SaliencyComparison } from '../src/cli/robust-saliency.ts';
import { inkMask, maskAlignment } from '../src/xai/perceptual-alignment.ts';
import { expectCommandReport } from './command-report.ts';
import { trainedModel, type FixtureName } from './trained-models.ts';

describe('ink masks and mask alignment', () => {
  it('a map on the mask scores 1, an even map scores the mask area, a map off the mask 0', () => {
    // a 4x4 image with a 2x2 "digit" in the middle, no dilation
    const pixels = new Uint8Array(16);
    for (const p of [5, 6, 9, 10]) pixels[p] = 200;
    const mask = inkMask(pixels, 0, 1, 4, 4, { dilation: 0 });
    expect(Array.from(mask)).toEqual(Array.from(pixels, (v) => (v ? 1 : 0)));
    expect(inkMask(pixels, 0, 1, 4, 4).reduce((a, b) => a + b, 0)).toBe(16); // grown by 1 pixel: everything
    const on = maskAlignment([Float64Array.from(mask, (m) => -3 * m)], [mask], 4, 4); // signed: the magnitude counts
    expect(on).toEqual({ energyOnMask: 1, pointing: 1, maskArea: 0.25 });
    expect(maskAlignment([new Float64Array(16).fill(2)], [mask], 4, 4).energyOnMask).toBeCloseTo(0.25, 12);
    const off = maskAlignment([Float64Array.from(mask, (m) => 1 - m)], [mask], 4, 4);
    expect([off.energyOnMask, off.pointing]).toEqual([0, 0]);
    expect(() => maskAlignment([new Float64Array(15)], [mask], 4, 4)).toThrow(/map 0 has 15 values, not 4x4/);
  });
});

/** The methods on the first 32 validation images of two fixture models (normal, robust) of one data set. */
async function compareFixtures(normal: FixtureName, robust: FixtureName, methods: string, curveSteps: number): Promise<SaliencyComparison> {
  const load = async (name: FixtureName): Promise<LoadedModel> => {
    const { model, recipe } = await trainedModel(name);
    return { model, arch: recipe.model, dataset: recipe.dataset };
  };
  return compareSaliency(await load(normal), await load(robust), methodsByName(methods), 32, { steps: curveSteps, log: () => {} });
}

describe('perceptually aligned gradients on trained LeNet-5s', () => {
  let comparison: SaliencyComparison;
  beforeAll(async () => {
    comparison = await compareFixtures('lenet-mnist', 'lenet-mnist-robust', 'saliency,smoothgrad', 8);
  }, 120_000);

  it("the robust model's gradient lies more on the digit than the normal model's", () => {
    // Tsipras et al.'s finding as a number: the share of |gradient| on the ink. On 100 test images the
    // README's C1 section measured 0.494 (normal) and 0.990 (robust); here 32 images must show most of
    // that gap, and the robust map must be mostly on the digit.
    const saliency = comparison.scores.find((s) => s.method === 'saliency')!;
    const [normal, robust] = [saliency.normal.ink!, saliency.robust.ink!];
    console.log(`|gradient| on the digit: normal ${normal.energyOnMask.toFixed(3)}, robust ${robust.energyOnMask.toFixed(3)}, digit area ${normal.maskArea.toFixed(3)}`);
    expect(robust.energyOnMask - normal.energyOnMask).toBeGreaterThan(0.3);
    expect(robust.energyOnMask).toBeGreaterThan(0.8);
    // both models see the same images, so the digits (and their area) are the same
    expect(robust.maskArea).toBe(normal.maskArea);
    expect(comparison.robust.labels).toEqual(comparison.normal.labels);
  });

  it('scores both models with the same evaluation: curves of the same length, AUCs in [0, 1]', () => {
    for (const s of comparison.scores)
      for (const m of [s.normal, s.robust]) {
        expect(m.error).toBeUndefined();
        expect(m.deletionAuc).toBeGreaterThanOrEqual(0);
        expect(m.insertionAuc).toBeLessThanOrEqual(1);
      }
    expect(comparison.robust.results[0]!.deletion).toHaveLength(comparison.normal.results[0]!.deletion.length);
  });
});

describe('perceptually aligned gradients on trained mixture-of-MNIST nets: pointing game and energy', () => {
  let comparison: SaliencyComparison;
  beforeAll(async () => {
    comparison = await compareFixtures('mixture-net', 'mixture-net-robust', 'saliency', 4);
  }, 120_000);

  it("the robust net's gradient lies more in the two digits' masks and points at them at least as often", () => {
    // the robust fixture is the normal one fine-tuned on FGSM-RS batches, eps 0.1 (tests/trained-models.ts)
    const { normal, robust } = comparison.scores[0]!;
    console.log(`mixture |gradient| energy in the digit masks: normal ${normal.energyInMask!.toFixed(3)}, robust ${robust.energyInMask!.toFixed(3)}, digit area ${normal.digitArea!.toFixed(3)}; pointing ${normal.pointingGame!.toFixed(2)} / ${robust.pointingGame!.toFixed(2)}`);
    expect(robust.digitArea).toBe(normal.digitArea);
    expect(normal.digitArea!).toBeGreaterThan(0.05);
    expect(normal.digitArea!).toBeLessThan(0.5);
    // measured on these 32 images: 0.232 (normal) and 0.376 (robust), the masks covering 0.082 of the image
    expect(robust.energyInMask! - normal.energyInMask!).toBeGreaterThan(0.1);
    expect(robust.pointingGame!).toBeGreaterThanOrEqual(normal.pointingGame!);
  });
});

describe('glassbox robust-saliency', () => {
  it('writes the side-by-side picture, the table and the JSON; refuses a missing --robust', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-robust-saliency-'));
    const run = (extra: string[]) => robustSaliencyCommand(parseArgs(['--model', 'tests/fixtures/models/lenet-mnist.safetensors', '--n', '4', '--steps', '4', '--out', out, ...extra], ROBUST_SALIENCY_OPTIONS));
    await expect(run([])).rejects.toThrow(UsageError);
    await expect(run([])).rejects.toThrow(/--robust <adversarially trained one>/);
    await run(['--robust', 'tests/fixtures/models/lenet-mnist-robust.safetensors', '--methods', 'saliency,ig']);
    expect(existsSync(join(out, 'saliency.png'))).toBe(true);
    expectCommandReport(out, { shown: ['saliency.png'], listed: ['scores.md', 'robust-saliency.json'] });
    const json = JSON.parse(readFileSync(join(out, 'robust-saliency.json'), 'utf8'));
    expect(json.scores.map((s: { method: string }) => s.method)).toEqual(['saliency', 'integrated-gradients']);
    expect(json.scores[0].robust.ink.energyOnMask).toBeGreaterThan(0);
    expect(readFileSync(join(out, 'scores.md'), 'utf8')).toMatch(/\| saliency \| robust \|/);
    // mixture-of-MNIST: the digit masks' scores, with the energy an even map would get
    const mixture = ['--model', 'tests/fixtures/models/mixture-net.safetensors', '--robust', 'tests/fixtures/models/mixture-net-robust.safetensors', '--methods', 'saliency', '--n', '2', '--steps', '4', '--out', out];
    await robustSaliencyCommand(parseArgs(mixture, ROBUST_SALIENCY_OPTIONS));
    expect(readFileSync(join(out, 'scores.md'), 'utf8')).toMatch(/\| pointing game \| energy in digit masks \| digit area \(an even map's energy\) \|/);
    const area = JSON.parse(readFileSync(join(out, 'robust-saliency.json'), 'utf8')).scores[0].normal.digitArea;
    expect(area).toBeGreaterThan(0);
    expect(area).toBeLessThan(1);
  }, 60_000);
});
