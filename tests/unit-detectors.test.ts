/**
 * Units as concept detectors (src/xai/units/detectors.ts): precision@K, precision at recall, the
 * AUC alignment and the per-unit summary, on hand-built scores whose answers are worked out by hand.
 */
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { loadDataset } from '../datasets/index.ts';
import type { MixtureDataset as Mixture } from '../datasets/mixture-mnist.ts';
import { forwardWithLayer } from '../src/xai/attribution.ts';
import { ImageMaxTally, unitPass } from '../src/xai/units/statistics.ts';
import { trainedModel } from './trained-models.ts';
import { correlation, precisionAtK, precisionAtRecall, precisionCurve, presentAbsentAuc, rankImages, unitDetectors } from '../src/xai/units/detectors.ts';

// 10 images; scores in a known order; the hits are images 9, 7, 1, 3 (ranked 1st, 2nd, 5th, 8th)
const scores = [0.5, 3, 0.1, 0.4, 0.6, 0.2, 2, 8, 0.3, 9];
const hit = [0, 1, 0, 1, 0, 0, 0, 1, 0, 1];

describe('detector scores', () => {
  it('ranks images by score, ties in data-set order', () => {
    expect([...rankImages(scores)]).toEqual([9, 7, 1, 6, 4, 0, 3, 8, 5, 2]);
    expect([...rankImages([1, 2, 1, 2])]).toEqual([1, 3, 0, 2]);
  });

  it('precision@K and its curve', () => {
    const r = rankImages(scores);
    expect(precisionAtK(r, hit, 1)).toBe(1);
    expect(precisionAtK(r, hit, 2)).toBe(1);
    expect(precisionAtK(r, hit, 4)).toBe(3 / 4); // 9, 7, 1 hit; 6 does not
    expect(precisionAtK(r, hit, 10)).toBe(4 / 10);
    expect([...precisionCurve(r, hit, 7)]).toEqual([1, 1, 1, 3 / 4, 3 / 5, 3 / 6, 4 / 7]);
    expect(() => precisionAtK(r, hit, 11)).toThrow(/K must be an integer from 1 to the 10 images/);
    expect(() => precisionAtK(r, hit, 0)).toThrow(/K must be/);
  });

  it('precision at recall: at the first rank where the share of hits found reaches it', () => {
    const r = rankImages(scores);
    expect(precisionAtRecall(r, hit, 0.25)).toBe(1); // 1 of 4 hits at rank 1
    expect(precisionAtRecall(r, hit, 0.5)).toBe(1); // 2 of 4 at rank 2
    expect(precisionAtRecall(r, hit, 0.75)).toBe(3 / 3); // 3 of 4 at rank 3
    expect(precisionAtRecall(r, hit, 1)).toBe(4 / 7); // all 4 at rank 7 (image 3)
    expect(precisionAtRecall(r, new Array(10).fill(0), 0.5)).toBeNaN();
    expect(() => precisionAtRecall(r, hit, 0)).toThrow(/recall must be in \(0, 1\]/);
  });

  it('AUC: the share of (present, absent) pairs ordered right, ties half', () => {
    // present 9, 8, 3, 0.4 against absent 0.5, 0.1, 0.6, 0.2, 2, 0.3: pairs won 6 + 6 + 6 + 3 (0.4 beats 0.1, 0.2, 0.3) = 21 of 24
    expect(presentAbsentAuc(scores, hit)).toBeCloseTo(21 / 24, 12);
    expect(presentAbsentAuc([1, 1, 1, 1], [1, 0, 1, 0])).toBe(0.5);
    expect(presentAbsentAuc([2, 1, 1, 0], [1, 1, 0, 0])).toBe((2 + 1.5) / 4);
    expect(presentAbsentAuc([1, 2], [1, 1])).toBeNaN(); // no absent image: undefined
  });

  it('per unit: the detected concept, clean detectors, dead units, localised precision', () => {
    // 4 images, 2 units, 2 concepts; concept 0 in images 0, 1; concept 1 in every image (uninformative)
    const present = Uint8Array.from([1, 1, 1, 1, 0, 1, 0, 1]);
    // unit 0 scores images 0, 1 highest (a clean detector of concept 0); unit 1 is dead (0 everywhere)
    const s = Float32Array.from([5, 0, 4, 0, 1, 0, 0, 0]);
    // the maximum of unit 0 sits at cell 0 (top-left) on every image; a 2x2 map over a 4x4 image
    const positions = new Int32Array(8);
    const boxContains = (_i: number, k: number, x: number, y: number) => k === 1 && x < 2 && y < 2; // concept 1 boxed at the top-left
    const units = unitDetectors({ scores: s, positions, channels: 2, map: [2, 2], image: [4, 4], present, concepts: 2, boxContains }, [1, 2], [0.5, 1]);
    expect(units[0]!.concept).toBe(0);
    expect(units[0]!.clean).toBe(true);
    expect(units[0]!.concepts[0]!.precision).toEqual([1, 1]);
    expect(units[0]!.concepts[0]!.auc).toBe(1);
    expect(units[0]!.concepts[1]!.auc).toBeNaN();
    expect(units[0]!.concepts[1]!.localPrecision).toEqual([1, 1]); // cell 0's centre (1, 1) lies in the box
    expect(units[0]!.localConcept).toBe(1);
    expect(units[1]!.concept).toBe(-1);
    expect(units[1]!.clean).toBe(false);
  });

  it('correlation', () => {
    expect(correlation([1, 2, 3, 4], [2, 4, 6, 8])).toBeCloseTo(1, 12);
    expect(correlation([1, 2, 3, NaN], [3, 2, 1, 0])).toBeCloseTo(-1, 12);
    expect(correlation([1, 2], [1, 2])).toBeNaN();
  });
});

describe('a unit built to detect digit 0, on the trained fixture mixture net', () => {
  // conv3's input (conv2 after pooling, 14x14) of the 50.8% fixture has 2 live channels of 20; the
  // 18 dead ones are first made copies of conv1's channels (the centre tap of one channel each,
  // bias 0), then conv3's unit 0 becomes a linear discriminant of the 5x5 windows of that input:
  // shrinkage LDA of windows centred on 0s (from the data set's digit positions) against windows
  // of images without a 0, with 3 rounds of hard negatives (the best-scoring window of each image
  // without a 0). Fitted on 1,000 training images, scored on 2,000 validation images.
  it('reaches precision 1.0 for digit 0 at K = 100', async () => {
    process.env.GLASSBOX_DATA ??= '/work/shared/datasets';
    const t = await trainedModel('mixture-net');
    const normalization = { mean: t.mean, std: t.std };
    const features = (t.model as unknown as { features: { layers: gb.nn.Module[] } }).features.layers;
    const [conv2, conv3] = [features[3] as gb.nn.Conv2d, features[6] as gb.nn.Conv2d];
    const pixels = (d: Mixture, start: number, end: number) => gb.tensor(Float32Array.from(d.images.subarray(start * 3136, end * 3136), (v) => v / 255), [end - start, 1, 56, 56]);
    const layerOut = async (d: Mixture, layer: string) => {
      const parts: Float32Array[] = [];
      for (let s = 0; s < d.n; s += 250) parts.push((await gb.noGrad(() => gb.tidy(() => forwardWithLayer(t.model, layer, gb.normalize(pixels(d, s, Math.min(d.n, s + 250)), normalization)).activation)).toArray()) as Float32Array);
      const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      parts.reduce((o, p) => (out.set(p, o), o + p.length), 0);
      return out;
    };
    const has0 = (d: Mixture, i: number) => d.digits[2 * i] === 0 || d.digits[2 * i + 1] === 0;
    const val = (await loadDataset('mnist-mixture', { split: 'validation', n: 2000, masks: false })) as Mixture;
    const zeroScores = async () => {
      const tally = new ImageMaxTally();
      await unitPass(t.model, pixels(val, 0, val.n), { layer: 'features.7', normalization }, [tally]);
      const s = tally.values();
      return Float32Array.from({ length: val.n }, (_, i) => s[i * 10]!);
    };
    const hit = Uint8Array.from({ length: val.n }, (_, i) => (has0(val, i) ? 1 : 0));
    const before = precisionAtK(rankImages(await zeroScores()), hit, 100);

    const fit = (await loadDataset('mnist-mixture', { split: 'train', n: 1000, masks: false })) as Mixture;
    const W2 = await conv2.weight.toArray(), B2 = await conv2.bias!.toArray();
    const conv2Out = await layerOut({ ...fit, n: 100 }, 'features.4');
    let copied = 0;
    for (let k = 0; k < 20 && copied < 10; k++) {
      if (conv2Out.some((v, j) => Math.floor(j / 784) % 20 === k && v > 0)) continue;
      W2.fill(0, k * 250, (k + 1) * 250);
      W2[k * 250 + copied * 25 + 12] = 1;
      B2[k] = 0;
      copied++;
    }
    expect(copied).toBe(10);
    gb.noGrad(() => {
      conv2.weight.assign(gb.tensor(Float32Array.from(W2), conv2.weight.shape));
      conv2.bias!.assign(gb.tensor(Float32Array.from(B2), conv2.bias!.shape));
    });

    const feats = await layerOut(fit, 'features.5');
    const [C, S, D] = [20, 14, 500];
    const windowAt = (i: number, cy: number, cx: number) => {
      const v = new Float64Array(D);
      for (let c = 0; c < C; c++) for (let dy = 0; dy < 5; dy++) for (let dx = 0; dx < 5; dx++) v[c * 25 + dy * 5 + dx] = feats[((i * C + c) * S + cy + dy - 2) * S + cx + dx - 2]!;
      return v;
    };
    const cell = (p: number) => Math.min(S - 3, Math.max(2, Math.floor((p + 14) / 4))); // the conv3 cell at a digit's centre
    const pos: Float64Array[] = [], neg: Float64Array[] = [];
    let seed = 1;
    const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    for (let i = 0; i < fit.n; i++) {
      for (let s = 0; s < 2; s++) if (fit.digits[i * 2 + s] === 0) pos.push(windowAt(i, cell(fit.positions[(i * 2 + s) * 2 + 1]!), cell(fit.positions[(i * 2 + s) * 2]!)));
      if (!has0(fit, i)) for (let j = 0; j < 6; j++) neg.push(windowAt(i, 2 + Math.floor(rnd() * (S - 4)), 2 + Math.floor(rnd() * (S - 4))));
    }
    // per class the sums of x and of x x^T (upper triangle), kept as windows are added
    const stats = () => ({ n: 0, sum: new Float64Array(D), sxx: new Float64Array(D * D) });
    const [posStats, negStats] = [stats(), stats()];
    const add = (st: ReturnType<typeof stats>, x: Float64Array) => {
      st.n++;
      for (let a = 0; a < D; a++) {
        const xa = x[a]!;
        st.sum[a] += xa;
        if (xa !== 0) for (let c = a; c < D; c++) st.sxx[a * D + c] += xa * x[c]!;
      }
    };
    const lda = () => {
      for (const x of pos.splice(0)) add(posStats, x);
      for (const x of neg.splice(0)) add(negStats, x);
      const [mp, mn] = [posStats, negStats].map((st) => st.sum.map((v) => v / st.n));
      const cov = new Float64Array(D * D); // pooled scatter: sum over classes of sxx - n mu mu^T
      for (const [st, m] of [[posStats, mp], [negStats, mn]] as const)
        for (let a = 0; a < D; a++) for (let c = a; c < D; c++) cov[a * D + c] += st.sxx[a * D + c]! - st.n * m![a]! * m![c]!;
      for (let a = 0; a < D; a++) for (let c = 0; c < a; c++) cov[a * D + c] = cov[c * D + a]!;
      let trace = 0;
      for (let a = 0; a < D; a++) trace += cov[a * D + a]!;
      for (let a = 0; a < D; a++) cov[a * D + a] += (0.1 * trace) / D; // shrinkage
      const L = new Float64Array(D * D); // Cholesky, then solve cov w = mp - mn
      for (let a = 0; a < D; a++)
        for (let c = 0; c <= a; c++) {
          let s = cov[a * D + c]!;
          for (let k = 0; k < c; k++) s -= L[a * D + k]! * L[c * D + k]!;
          L[a * D + c] = a === c ? Math.sqrt(s) : s / L[c * D + c]!;
        }
      const y = new Float64Array(D), w = new Float64Array(D);
      for (let a = 0; a < D; a++) {
        let s = mp![a]! - mn![a]!;
        for (let k = 0; k < a; k++) s -= L[a * D + k]! * y[k]!;
        y[a] = s / L[a * D + a]!;
      }
      for (let a = D - 1; a >= 0; a--) {
        let s = y[a]!;
        for (let k = a + 1; k < D; k++) s -= L[k * D + a]! * w[k]!;
        w[a] = s / L[a * D + a]!;
      }
      return { w, b: -w.reduce((s, v, j) => s + (v * (mp![j]! + mn![j]!)) / 2, 0) };
    };
    let { w, b } = lda();
    for (let round = 0; round < 3; round++) {
      const hardest: { v: number; x: Float64Array }[] = [];
      for (let i = 0; i < fit.n; i++) {
        if (has0(fit, i)) continue;
        let best = { v: -Infinity, x: new Float64Array(0) };
        for (let cy = 2; cy < S - 2; cy++)
          for (let cx = 2; cx < S - 2; cx++) {
            const x = windowAt(i, cy, cx);
            const v = x.reduce((s, xv, j) => s + w[j]! * xv, b);
            if (v > best.v) best = { v, x };
          }
        hardest.push(best);
      }
      hardest.sort((p, q) => q.v - p.v).slice(0, 300).forEach((e) => neg.push(e.x));
      ({ w, b } = lda());
    }
    const W3 = await conv3.weight.toArray(), B3 = await conv3.bias!.toArray();
    W3.set(Float32Array.from(w), 0); // unit 0's [20, 5, 5] kernel
    B3[0] = b;
    gb.noGrad(() => {
      conv3.weight.assign(gb.tensor(Float32Array.from(W3), conv3.weight.shape));
      conv3.bias!.assign(gb.tensor(Float32Array.from(B3), conv3.bias!.shape));
    });

    const scores = await zeroScores();
    const ranking = rankImages(scores);
    expect(before).toBeLessThan(1); // the trained unit 0 was no clean 0 detector
    expect(precisionAtK(ranking, hit, 100)).toBe(1);
    expect(precisionAtK(ranking, hit, 300)).toBeGreaterThanOrEqual(0.95);
    expect(presentAbsentAuc(scores, hit)).toBeGreaterThan(0.95);
  }, 300_000);
});
