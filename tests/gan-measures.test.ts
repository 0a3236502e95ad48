/**
 * The measures under the GAN commands, checked on known cases: the matrix square root and the
 * Frechet distance against closed forms, the classifier-feature Frechet distance on real images
 * (test vs train small, vs noise large) with the trained LeNet-5, and the pixel attributes on drawn
 * strokes of known thickness, slant and size.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { featureStats, frechetDistance, symmetricSqrt, ClassifierFrechet } from '../src/gan/frechet.ts';
import { checkAttribute, defaultAttributes, measureAttributes, spearman } from '../src/gan/attributes.ts';
import { enclosedHoles, strokeMasks } from '../src/gan/dissect.ts';
import { datasetImages } from '../src/gan/images.ts';
import { datasetSpec } from '../src/train/datasets.ts';
import { trainedModel } from './trained-models.ts';
import { expectClose } from './helpers.ts';
import { parseArgs } from '../src/cli/args.ts';
import { GAN_WALK_OPTIONS } from '../src/cli/options.ts';
import { ganWalkCommand } from '../src/cli/gan.ts';

beforeAll(async () => {
  await gb.init();
});

describe('matrix square root and Frechet distance', () => {
  it('squares back to a symmetric positive definite matrix, and gives diag(2, 3) for diag(4, 9)', () => {
    expectClose(symmetricSqrt([4, 0, 0, 9], 2), [2, 0, 0, 3], { atol: 1e-12, rtol: 0, what: 'sqrt(diag(4, 9))' });
    // A = [[2, 1], [1, 2]] has sqrt [[a, b], [b, a]] with a = (sqrt3 + 1) / 2, b = (sqrt3 - 1) / 2
    const r = symmetricSqrt([2, 1, 1, 2], 2);
    const a = (Math.sqrt(3) + 1) / 2;
    const b = (Math.sqrt(3) - 1) / 2;
    expectClose(r, [a, b, b, a], { atol: 1e-12, rtol: 0, what: 'sqrt([[2,1],[1,2]])' });
    const n = 6;
    const m = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) m[i * n + j]! += Math.sin(i + 2 * k + 1) * Math.sin(j + 2 * k + 1);
    for (let i = 0; i < n; i++) m[i * n + i]! += 0.5;
    const s = symmetricSqrt(m, n);
    const sq = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) sq[i * n + j]! += s[i * n + k]! * s[k * n + j]!;
    expectClose(sq, m, { atol: 1e-10, rtol: 0, what: 'sqrt(M)^2' });
  });

  it('matches the closed form for commuting covariances and is 0 for identical ones', () => {
    // d^2 = |mu1 - mu2|^2 + sum (sqrt(s1) - sqrt(s2))^2 for diagonal covariances
    const a = { dim: 2, count: 10, mean: Float64Array.from([0, 1]), covariance: Float64Array.from([4, 0, 0, 1]) };
    const b = { dim: 2, count: 10, mean: Float64Array.from([3, 1]), covariance: Float64Array.from([1, 0, 0, 9]) };
    expect(frechetDistance(a, b)).toBeCloseTo(9 + 1 + 4, 10);
    expect(frechetDistance(a, a)).toBeCloseTo(0, 10);
    const f = featureStats([1, 2, 3, 4, 5, 7], 3, 2);
    expectClose(f.mean, [3, 13 / 3], { atol: 1e-12, rtol: 0, what: 'mean' });
    expectClose(f.covariance, [4, 5, 5, 6.333333333333333], { atol: 1e-12, rtol: 0, what: 'covariance' });
  });

  it("in LeNet-5's features: real test vs real train images is small, vs noise large", { timeout: 120_000 }, async () => {
    const lenet = await trainedModel('lenet-mnist');
    const fd = new ClassifierFrechet(lenet.model, { mean: lenet.mean, std: lenet.std });
    const spec = datasetSpec('mnist');
    const test = datasetImages(await spec.load('validation', 500));
    const train = datasetImages(await spec.load('train', 500));
    const noise = gb.uniform([500, 1, 28, 28], -1, 1);
    const realVsReal = await fd.distance(test, train);
    const realVsNoise = await fd.distance(test, noise);
    expect(realVsNoise).toBeGreaterThan(20 * realVsReal);
    const r = await fd.readout(test);
    expect(r.dim).toBe(84);
    for (const t of [test, train, noise]) t.dispose();
  });
});

/** A 28x28 image with a line of `width` pixels from (x0, y0) to (x1, y1), ink 1. */
function drawLine(x0: number, y0: number, x1: number, y1: number, width: number): Float32Array {
  const img = new Float32Array(28 * 28);
  for (let y = y0; y <= y1; y++) {
    const xc = x0 + ((x1 - x0) * (y - y0)) / (y1 - y0);
    const start = Math.round(xc - width / 2);
    for (let x = start; x < start + width; x++) img[y * 28 + x] = 1;
  }
  return img;
}

describe('pixel attributes', () => {
  it('thickness follows the stroke width', () => {
    const measured = [2, 3, 4, 5].map((w) => measureAttributes(drawLine(14, 3, 14, 24, w), 28, 28).thickness);
    for (const [i, w] of [2, 3, 4, 5].entries()) expect(Math.abs(measured[i]! - w)).toBeLessThan(0.6);
  });

  it('slant is the horizontal shift per row upwards; size the ink height', () => {
    // top at x = 18, bottom at x = 10 over 20 rows: leaning right by 8 / 20 = 0.4
    const right = measureAttributes(drawLine(18, 4, 10, 24, 3), 28, 28);
    expect(right.slant).toBeCloseTo(0.4, 1);
    const left = measureAttributes(drawLine(10, 4, 18, 24, 3), 28, 28);
    expect(left.slant).toBeCloseTo(-0.4, 1);
    expect(measureAttributes(drawLine(14, 3, 14, 24, 2), 28, 28).slant).toBeCloseTo(0, 6);
    expect(right.size).toBe(21);
    expect(measureAttributes(drawLine(14, 10, 14, 17, 2), 28, 28).size).toBe(8);
    expect(Number.isNaN(measureAttributes(new Float32Array(784), 28, 28).thickness)).toBe(true);
  });

  it("width and brightness follow a garment's silhouette, dark cloth included", () => {
    // a 'coat' 12 wide and 20 high at value 0.3 (below the ink level 0.5), a white 'collar' inside it
    const img = new Float32Array(784);
    for (let y = 4; y < 24; y++) for (let x = 8; x < 20; x++) img[y * 28 + x] = 0.3;
    expect(measureAttributes(img, 28, 28).width).toBe(12);
    expect(measureAttributes(img, 28, 28).brightness).toBeCloseTo(0.3, 6);
    for (let x = 10; x < 18; x++) img[4 * 28 + x] = 0.9;
    const a = measureAttributes(img, 28, 28);
    expect(a.brightness).toBeCloseTo((232 * 0.3 + 8 * 0.9) / 240, 6);
    expect(a.size).toBe(1); // the digits' size counts ink above 0.5 only: the collar's one row
    const wider = new Float32Array(784);
    for (let y = 10; y < 14; y++) for (let x = 2; x < 26; x++) wider[y * 28 + x] = 1;
    expect(measureAttributes(wider, 28, 28).width).toBe(24);
    expect(defaultAttributes('fashion-mnist')).toEqual({ attribute: 'width', condition: 'brightness' });
    expect(defaultAttributes('mnist')).toEqual({ attribute: 'thickness', condition: 'size' });
  });

  it('names the known attributes for an unknown one; Spearman of monotone data is 1', () => {
    expect(() => checkAttribute('colour')).toThrow(/unknown attribute 'colour'.*thickness, slant, size, width, brightness/);
    expect(spearman([1, 2, 3, 4], [1, 4, 9, 16])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
  });

  it('stroke masks split the ink at the centre of its box', () => {
    const img = drawLine(14, 4, 14, 23, 2).map((v) => 2 * v - 1);
    const m = strokeMasks(img, 28, 28);
    const sum = (a: Uint8Array) => a.reduce((s, v) => s + v, 0);
    expect(sum(m.ink)).toBe(40);
    expect(sum(m.top)).toBe(20);
    expect(sum(m.bottom)).toBe(20);
    expect(sum(m.left) + sum(m.right)).toBe(40);
    expect(sum(m.loop)).toBe(0); // a stroke encloses nothing
  });

  it('loops are the background the ink encloses: a ring\'s inside, both holes of an 8, none in a C', () => {
    const sum = (a: Uint8Array) => a.reduce((s, v) => s + v, 0);
    const ring = (img: Uint8Array, y0: number, y1: number, x0: number, x1: number, open = false) => {
      for (let y = y0; y <= y1; y++)
        for (let x = x0; x <= x1; x++) if (y === y0 || y === y1 || x === x0 || (x === x1 && !(open && y > y0 && y < y1))) img[y * 28 + x] = 1;
      return img;
    };
    const o = ring(new Uint8Array(784), 5, 20, 9, 18);
    const holes = enclosedHoles(o, 28, 28);
    expect(sum(holes)).toBe(14 * 8);
    expect(holes[12 * 28 + 13]).toBe(1);
    expect(holes[2 * 28 + 2]).toBe(0);
    // an 8: two rings sharing a row, two holes
    const eight = ring(ring(new Uint8Array(784), 3, 13, 9, 18), 13, 24, 9, 18);
    expect(sum(enclosedHoles(eight, 28, 28))).toBe(9 * 8 + 10 * 8);
    // a C: the right side open, the inside joins the outside
    expect(sum(enclosedHoles(ring(new Uint8Array(784), 5, 20, 9, 18, true), 28, 28))).toBe(0);
    // ink touching the border still encloses: a ring drawn along the image's edge
    expect(sum(enclosedHoles(ring(new Uint8Array(784), 0, 27, 0, 27), 28, 28))).toBe(26 * 26);
    // through strokeMasks, on a [-1, 1] image
    const img = Float32Array.from(o, (v) => 2 * v - 1);
    expect(sum(strokeMasks(img, 28, 28).loop)).toBe(14 * 8);
  });
});

describe('gan walk refuses bad input before any work', () => {
  it('names the known attributes', async () => {
    await expect(ganWalkCommand(parseArgs(['--model', 'runs/none', '--attribute', 'colour'], GAN_WALK_OPTIONS))).rejects.toThrow(/unknown attribute 'colour'; the known attributes are thickness, slant, size, width, brightness/);
    await expect(ganWalkCommand(parseArgs(['--model', 'runs/none', '--condition', 'colour'], GAN_WALK_OPTIONS))).rejects.toThrow(/unknown attribute 'colour'/);
    await expect(ganWalkCommand(parseArgs(['--model', 'runs/none', '--attribute', 'slant', '--condition', 'slant'], GAN_WALK_OPTIONS))).rejects.toThrow(/--condition slant is the walked --attribute/);
  });
});
