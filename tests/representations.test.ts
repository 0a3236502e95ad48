/**
 * A5/A6 representations: the Jacobi eigensolver on random symmetric matrices; PCA against a
 * hand-built covariance, an exact small case and a planted spectrum (the subspace-iteration path);
 * t-SNE's perplexity calibration, its KL gradient against float64 finite differences, and separated
 * clusters staying separated; kNN on a hand-built case; weight pictures; and the depth finding on
 * the trained LeNet-5 fixture (class separation rises from the pixels to the logits).
 */
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { mnist } from '../src/data/datasets.ts';
import { defaultLayers, INPUT_LAYER } from '../src/xai/representations/activations.ts';
import { LayerEmbedding } from '../src/xai/representations/embedding.ts';
import { symmetricEigen } from '../src/xai/representations/eigen.ts';
import { knnAccuracy, vote } from '../src/xai/representations/knn.ts';
import { PCA } from '../src/xai/representations/pca.ts';
import { calibratePerplexity, calibratePerplexityFused, jointProbabilities, klGradient, klGradientFused, offDiagonal, squaredDistances, TSNE } from '../src/xai/representations/tsne.ts';
import { WeightPictures } from '../src/xai/representations/templates.ts';
import { seededNormal } from '../src/xai/representations/util.ts';
import { trainedModel } from './trained-models.ts';

/** A random symmetric n x n matrix, float64. */
function randomSymmetric(n: number, seed: number): Float64Array {
  const r = seededNormal(n * n, seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) a[i * n + j] = (r[i * n + j]! + r[j * n + i]!) / 2;
  return a;
}

describe('symmetric eigensolver (Jacobi)', () => {
  for (const [n, seed] of [[1, 1], [2, 2], [7, 3], [40, 4]] as const)
    it(`A v = lambda v and orthonormal vectors, random ${n}x${n}`, () => {
      const a = randomSymmetric(n, seed);
      const { values, vectors } = symmetricEigen(a, n);
      let trace = 0;
      for (let i = 0; i < n; i++) trace += a[i * n + i]!;
      expect(values.reduce((s, v) => s + v, 0)).toBeCloseTo(trace, 10);
      for (let k = 0; k < n; k++) {
        if (k > 0) expect(values[k]!).toBeLessThanOrEqual(values[k - 1]!);
        for (let i = 0; i < n; i++) {
          let av = 0;
          for (let j = 0; j < n; j++) av += a[i * n + j]! * vectors[k * n + j]!;
          expect(Math.abs(av - values[k]! * vectors[k * n + i]!)).toBeLessThan(1e-10);
        }
        for (let l = 0; l < n; l++) {
          let dot = 0;
          for (let i = 0; i < n; i++) dot += vectors[k * n + i]! * vectors[l * n + i]!;
          expect(Math.abs(dot - (k === l ? 1 : 0))).toBeLessThan(1e-12);
        }
      }
    });

  it('a hand-built matrix: [[2, 1], [1, 2]] has eigenvalues 3 and 1 on the diagonals', () => {
    const { values, vectors } = symmetricEigen([2, 1, 1, 2], 2);
    expect(Array.from(values)).toEqual([expect.closeTo(3, 14), expect.closeTo(1, 14)]);
    const s = Math.SQRT1_2;
    expect(Math.abs(vectors[0]!)).toBeCloseTo(s, 14);
    expect(vectors[0]! * vectors[1]!).toBeCloseTo(0.5, 14); // (1, 1) / sqrt 2
    expect(vectors[2]! * vectors[3]!).toBeCloseTo(-0.5, 14); // (1, -1) / sqrt 2
  });

  it('refuses a non-symmetric or non-finite matrix, naming the entry', () => {
    expect(() => symmetricEigen([1, 2, 3, 4], 2)).toThrow(/not symmetric: \(0, 1\) = 2 but \(1, 0\) = 3/);
    expect(() => symmetricEigen([1, NaN, NaN, 1], 2)).toThrow(/entry \(0, 1\) is NaN/);
    expect(() => symmetricEigen([1, 2, 3], 2)).toThrow(/has 3 entries; an 2 x 2 matrix needs 4/);
  });
});

describe('PCA', () => {
  it('points on a line: one axis along it with all the variance (exact small case)', async () => {
    // x = t (3, 4) / 5 + (1, 1) for t = -2..2: variance of t is 2.5, all along (0.6, 0.8)
    const ts = [-2, -1, 0, 1, 2];
    const x = gb.tensor(ts.flatMap((t) => [1 + (3 * t) / 5, 1 + (4 * t) / 5]), [5, 2]);
    const r = await new PCA({ components: 2 }).fit(x);
    expect(r.method).toBe('jacobi');
    expect(r.eigenvalues[0]).toBeCloseTo(2.5, 5);
    expect(Math.abs(r.eigenvalues[1]!)).toBeLessThan(1e-6);
    expect(r.components[0]).toBeCloseTo(0.6, 5);
    expect(r.components[1]).toBeCloseTo(0.8, 5);
    expect(Array.from(r.mean)).toEqual([expect.closeTo(1, 6), expect.closeTo(1, 6)]);
    ts.forEach((t, i) => expect(r.projected[2 * i]).toBeCloseTo(t, 5));
    expect(r.explainedVarianceRatio[0]).toBeCloseTo(1, 5);
    x.dispose();
  });

  it('recovers the eigenvalues and axes of a hand-built covariance', async () => {
    // x = z L^T with z whitened exactly (sample mean 0, sample covariance I): cov(x) = L L^T = Sigma
    const sigma = [4, 1, 0, 1, 3, 0.5, 0, 0.5, 1];
    const l = cholesky(sigma, 3);
    const z = whitened(600, 3, 11);
    const x = new Float64Array(600 * 3);
    for (let i = 0; i < 600; i++) for (let r = 0; r < 3; r++) for (let c = 0; c <= r; c++) x[i * 3 + r] += l[r * 3 + c]! * z[i * 3 + c]!;
    const expected = symmetricEigen(sigma, 3);
    const xt = gb.tensor(Float32Array.from(x), [600, 3]);
    const r = await new PCA({ components: 3 }).fit(xt);
    for (let k = 0; k < 3; k++) {
      expect(r.eigenvalues[k]! / expected.values[k]!).toBeCloseTo(1, 4);
      for (let j = 0; j < 3; j++) expect(r.components[k * 3 + j]!).toBeCloseTo(expected.vectors[k * 3 + j]!, 4);
    }
    expect(r.totalVariance).toBeCloseTo(8, 3);
    xt.dispose();
  });

  it('subspace iteration finds a planted spectrum in 400 dimensions', async () => {
    // x = U diag(s) V^T with orthonormal U (N x 6, centred) and V (d x 6): covariance eigenvalues s^2 / (N - 1)
    const n = 300;
    const d = 400;
    const s = [40, 30, 20, 10, 5, 2];
    const u = whitened(n, 6, 21).map((v) => v / Math.sqrt(n - 1)); // orthonormal columns
    const v = orthonormalRows(6, d, 22);
    const x = new Float32Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) {
      let sum = 0;
      for (let c = 0; c < 6; c++) sum += u[i * 6 + c]! * s[c]! * v[c * d + j]!;
      x[i * d + j] = sum;
    }
    const xt = gb.tensor(x, [n, d]);
    const r = await new PCA({ components: 3 }).fit(xt);
    expect(r.method).toBe('subspace-iteration');
    for (let k = 0; k < 3; k++) {
      expect(r.eigenvalues[k]! / (s[k]! ** 2 / (n - 1))).toBeCloseTo(1, 4);
      let dot = 0;
      for (let j = 0; j < d; j++) dot += r.components[k * d + j]! * v[k * d + j]!;
      expect(Math.abs(dot)).toBeCloseTo(1, 4);
    }
    xt.dispose();
  });

  it('refuses bad shapes and options with the numbers', async () => {
    const x = gb.tensor([1, 2, 3], [3, 1]);
    await expect(new PCA({ components: 2 }).fit(x)).rejects.toThrow(/components 2 is more than the points' 1 dimensions/);
    expect(() => new PCA({ componets: 2 } as never)).toThrow(/unknown option 'componets' \(did you mean 'components'\?\)/);
    x.dispose();
  });
});

describe('t-SNE', () => {
  it('perplexity calibration hits the target entropy on every row', async () => {
    const n = 120;
    const x = gb.tensor(Float32Array.from(seededNormal(n * 5, 31), (v, i) => v * (1 + (i % 5))), [n, 5]);
    const mask = offDiagonal(n);
    const dist = squaredDistances(x);
    const cal = await calibratePerplexity(dist, mask, 20);
    expect(cal.entropyError).toBeLessThan(1e-4);
    // recompute each row's entropy in float64 from beta and the distances
    const d = await dist.toArray();
    for (const i of [0, 17, 119]) {
      let z = 0;
      let h = 0;
      const dmin = Math.min(...Array.from({ length: n }, (_, j) => (j === i ? Infinity : d[i * n + j]!)));
      for (let j = 0; j < n; j++) if (j !== i) z += Math.exp(-cal.beta[i]! * (d[i * n + j]! - dmin));
      for (let j = 0; j < n; j++) if (j !== i) {
        const p = Math.exp(-cal.beta[i]! * (d[i * n + j]! - dmin)) / z;
        h -= p * Math.log(p);
      }
      expect(Math.abs(h - Math.log(20))).toBeLessThan(1e-3);
    }
    const rows = await gb.sum(cal.conditional, { dim: 1 }).toArray();
    for (const s of rows) expect(s).toBeCloseTo(1, 5);
    // the fused per-row kernel (what TSNE.fit runs) gives the same precisions and rows
    const fused = await calibratePerplexityFused(dist, 20);
    expect(fused.entropyError).toBeLessThan(1e-4);
    fused.beta.forEach((b, i) => expect(b / cal.beta[i]!).toBeCloseTo(1, 3));
    const [pf, pr] = [await fused.conditional.toArray(), await cal.conditional.toArray()];
    pr.forEach((v, i) => expect(Math.abs(pf[i]! - v)).toBeLessThan(1e-5));
    fused.conditional.dispose();
    [x, mask, dist, cal.conditional].forEach((t) => t.dispose());
  });

  it('the KL gradient matches float64 central differences on a tiny case', async () => {
    const n = 6;
    const x = gb.tensor(Float32Array.from(seededNormal(n * 3, 41)), [n, 3]);
    const mask = offDiagonal(n);
    const dist = squaredDistances(x);
    const cal = await calibratePerplexity(dist, mask, 2);
    const pT = jointProbabilities(cal.conditional, mask);
    const p = Float64Array.from(await pT.toArray());
    const y0 = Float64Array.from(seededNormal(n * 2, 42));
    const yT = gb.tensor(Float32Array.from(y0), [n, 2]);
    const { grad, kl } = klGradient(pT, yT, { withKl: true });
    const g = await grad.toArray();
    expect(await kl!.item()).toBeCloseTo(klDivergence64(p, y0, n), 5);
    // the fused kernels (what TSNE.fit runs) give the same gradient and KL, with and without exaggeration
    for (const exaggeration of [1, 12]) {
      const reference = klGradient(pT, yT, { withKl: true, exaggeration });
      const fused = klGradientFused(pT, yT, { withKl: true, exaggeration });
      const [rg, fg] = [await reference.grad.toArray(), await fused.grad.toArray()];
      rg.forEach((v, i) => expect(fg[i]!).toBeCloseTo(v, 5));
      expect(await fused.kl!.item()).toBeCloseTo(await reference.kl!.item(), 5);
      [reference.grad, reference.kl!, fused.grad, fused.kl!].forEach((t) => t.dispose());
    }
    yT.dispose();
    const h = 1e-6;
    for (let i = 0; i < n * 2; i++) {
      const plus = Float64Array.from(y0);
      const minus = Float64Array.from(y0);
      plus[i] += h;
      minus[i] -= h;
      const numeric = (klDivergence64(p, plus, n) - klDivergence64(p, minus, n)) / (2 * h);
      expect(Math.abs(g[i]! - numeric), `coordinate ${i}: ${g[i]} vs ${numeric}`).toBeLessThan(1e-4 + 1e-3 * Math.abs(numeric));
    }
    [x, mask, dist, cal.conditional, pT, grad, kl!].forEach((t) => t.dispose());
  });

  it('well-separated clusters stay separated (kNN accuracy 1.0 in 2-D), and KL falls', async () => {
    const perCluster = 40;
    const dims = 10;
    const noise = seededNormal(4 * perCluster * dims, 51);
    const points = new Float32Array(4 * perCluster * dims);
    const labels: number[] = [];
    for (let c = 0; c < 4; c++)
      for (let i = 0; i < perCluster; i++) {
        labels.push(c);
        for (let j = 0; j < dims; j++) points[(c * perCluster + i) * dims + j] = noise[(c * perCluster + i) * dims + j]! + (j === c ? 20 : 0);
      }
    const x = gb.tensor(points, [4 * perCluster, dims]);
    const r = await new TSNE({ perplexity: 15, iterations: 250, exaggerationIterations: 100, init: 'random', klEvery: 50 }).fit(x);
    const y = gb.tensor(r.embedding, [4 * perCluster, 2]);
    expect((await knnAccuracy(y, labels, 5)).accuracy).toBe(1);
    expect(r.kl).toBeLessThan(r.klCurve[0]!.kl);
    expect(r.kl).toBeGreaterThan(0);
    [x, y].forEach((t) => t.dispose());
  });

  it('refuses a perplexity the points cannot have', async () => {
    const x = gb.tensor(new Float32Array(20), [10, 2]);
    await expect(new TSNE({ perplexity: 30 }).fit(x)).rejects.toThrow(/perplexity 30 needs more than 31 points, got 10/);
    expect(() => new TSNE({ learningRate: -1 })).toThrow(/learningRate must be above 0 or 'auto', got -1/);
    x.dispose();
  });
});

describe('kNN accuracy', () => {
  it('a hand-built case: votes, ties and the left-out point', async () => {
    // 1-D points: class 0 at 0, 1, 2; class 1 at 10, 11; one class-1 point at 3 among class 0
    const xs = [0, 1, 2, 3, 10, 11];
    const labels = [0, 0, 0, 1, 1, 1];
    const x = gb.tensor(xs, [6, 1]);
    const r1 = await knnAccuracy(x, labels, 1);
    // nearest other point: 0->1 (0), 1->0 (0), 2->1 or 3 (tie at 1: the first found, 1 -> 0), 3->2 (0, wrong), 10->11, 11->10
    expect(Array.from(r1.predicted)).toEqual([0, 0, 0, 0, 1, 1]);
    expect(r1.accuracy).toBeCloseTo(5 / 6, 12);
    const r3 = await knnAccuracy(x, labels, 3);
    // 10's three nearest: 11 (1), 3 (1), 2 (0) -> 1; 11's: 10, 3, 2 -> 1; 3's: 2, 1, 0 -> 0
    expect(Array.from(r3.predicted)).toEqual([0, 0, 0, 0, 1, 1]);
    // a 1-1 tie between classes among k = 2 goes to the nearer neighbour's class
    expect(vote([0, 5, 1, 2], 0, 4, 0, 2, [9, 7, 3, 7])).toBe(3);
    await expect(knnAccuracy(x, labels, 6)).rejects.toThrow(/k must be a whole number from 1 to N - 1 = 5, got 6/);
    await expect(knnAccuracy(x, [0, 1], 1)).rejects.toThrow(/2 labels for 6 points/);
    x.dispose();
  });
});

describe('on the trained LeNet-5 (MNIST fixture)', () => {
  it('class separation rises with depth: kNN accuracy at the logits above the pixels, in full space and in PCA 2-D', async () => {
    const { model, mean, std } = await trainedModel('lenet-mnist');
    const data = await mnist({ split: 'test', limit: 600 });
    const labels = Array.from(await data.labels.toArray());
    const probe = gb.slice(data.images, 0, { start: 0, end: 1 });
    const layers = defaultLayers(model, probe);
    expect(layers).toEqual([INPUT_LAYER, 'features.1', 'features.2', 'features.4', 'features.5', 'classifier.2', 'classifier.4', 'classifier.5']);
    const r = await new LayerEmbedding(model, { layers: [INPUT_LAYER, 'features.5', 'classifier.5'], methods: ['pca'], normalization: { mean, std } }).embed(data.images, labels);
    const [pixels, pool2, logits] = r.layers as [typeof r.layers[0], typeof r.layers[0], typeof r.layers[0]];
    expect(pixels.dimensions).toBe(784);
    expect(logits.dimensions).toBe(10);
    expect(logits.knnFull).toBeGreaterThan(pixels.knnFull);
    expect(logits.knnFull).toBeGreaterThan(0.9);
    expect(logits.projections.pca!.knn2d).toBeGreaterThan(pixels.projections.pca!.knn2d + 0.1);
    expect(pool2.projections.pca!.knn2d).toBeGreaterThan(pixels.projections.pca!.knn2d);
    [probe, data.images, data.labels].forEach((t) => t.dispose());
  }, 60_000);

  it("softmax regression trained here: each class's template matches its own class's mean digit best (CS231n's templates)", async () => {
    const data = await mnist({ split: 'train', limit: 1000, normalize: true });
    gb.manualSeed(0);
    const model = new gb.models.LinearClassifier(784, 10);
    const opt = new gb.optim.Adam(model.parameters(), { lr: 0.01 });
    for (let step = 0; step < 60; step++) {
      opt.zeroGrad();
      const loss = gb.crossEntropy(model.forward(data.images), data.labels);
      loss.backward();
      opt.step();
      loss.dispose();
    }
    const pic = await new WeightPictures(model, { inputShape: [1, 28, 28] }).draw();
    expect(pic.kind).toBe('class-templates');
    // each class's mean normalised image minus the mean over all classes, against each template
    const x = await data.images.toArray();
    const y = await data.labels.toArray();
    const means = Array.from({ length: 10 }, () => new Float64Array(784));
    const counts = new Array<number>(10).fill(0);
    for (let i = 0; i < 1000; i++) {
      counts[y[i]!]++;
      for (let p = 0; p < 784; p++) means[y[i]!]![p] += x[i * 784 + p]!;
    }
    means.forEach((m, k) => m.forEach((_, p) => (m[p] /= counts[k]!)));
    const overall = Float64Array.from({ length: 784 }, (_, p) => means.reduce((a, m) => a + m[p]!, 0) / 10);
    const cosine = (k: number, c: number) => {
      let dot = 0, a = 0, b = 0;
      for (let p = 0; p < 784; p++) {
        const w = pic.weights[k * 784 + p]!;
        const m = means[c]![p]! - overall[p]!;
        dot += w * m;
        a += w * w;
        b += m * m;
      }
      return dot / Math.sqrt(a * b);
    };
    for (let k = 0; k < 10; k++) {
      const own = cosine(k, k);
      for (let c = 0; c < 10; c++) if (c !== k) expect(own, `template ${k} against class ${c}'s mean`).toBeGreaterThan(cosine(k, c));
    }
    [data.images, data.labels].forEach((t) => t.dispose());
  }, 30_000);

  it('first-layer filters and class templates are drawn from the weights', async () => {
    const { model } = await trainedModel('lenet-mnist');
    const pic = await new WeightPictures(model, { inputShape: [1, 28, 28] }).draw();
    expect(pic.layer).toBe('features.0');
    expect(pic.kind).toBe('conv-filters');
    expect(pic.shape).toEqual([6, 1, 5, 5]);
    expect(pic.tiles).toHaveLength(6);
    // the tile's colour follows the weight: the filter's largest |w| is beyond the scale, drawn at a colormap end
    const w = pic.weights;
    expect(pic.scale).toBeLessThanOrEqual(pic.maxAbs);
    const at = w.reduce((best, v, i) => (Math.abs(v) > Math.abs(w[best]!) ? i : best), 0);
    const tile = pic.tiles[Math.floor(at / 25)]!;
    const px = at % 25;
    const end = gb.viz.colorAt('coolwarm', w[at]! > 0 ? 1 : 0);
    expect(Array.from(tile.data.subarray(px * 4, px * 4 + 3))).toEqual(end);
    const linear = new gb.models.LinearClassifier(784, 10);
    const templates = await new WeightPictures(linear, { inputShape: [1, 28, 28] }).draw();
    expect(templates.kind).toBe('class-templates');
    expect(templates.shape).toEqual([10, 1, 28, 28]);
    await expect(new WeightPictures(linear, { inputShape: [3, 32, 32] }).draw()).rejects.toThrow(/reads 784 features, not the 3x32x32 = 3072 pixels/);
  });
});

// ---- float64 references ----

function klDivergence64(p: Float64Array, y: Float64Array, n: number): number {
  let z = 0;
  const q = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) {
    const d = (y[2 * i]! - y[2 * j]!) ** 2 + (y[2 * i + 1]! - y[2 * j + 1]!) ** 2;
    q[i * n + j] = 1 / (1 + d);
    z += q[i * n + j]!;
  }
  let kl = 0;
  for (let i = 0; i < n * n; i++) if (p[i]! > 0) kl += p[i]! * Math.log(p[i]! / (q[i]! / z));
  return kl;
}

function cholesky(a: number[], n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j]!;
      for (let k = 0; k < j; k++) s -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = i === j ? Math.sqrt(s) : s / l[j * n + j]!;
    }
  return l;
}

/** n x d samples with sample mean exactly 0 and sample covariance exactly I (centred, then whitened by Gram-Schmidt on the columns). */
function whitened(n: number, d: number, seed: number): Float64Array {
  const z = seededNormal(n * d, seed);
  for (let c = 0; c < d; c++) {
    let m = 0;
    for (let i = 0; i < n; i++) m += z[i * d + c]!;
    for (let i = 0; i < n; i++) z[i * d + c] -= m / n;
  }
  for (let c = 0; c < d; c++) {
    for (let b = 0; b < c; b++) {
      let dot = 0;
      for (let i = 0; i < n; i++) dot += z[i * d + c]! * z[i * d + b]!;
      for (let i = 0; i < n; i++) z[i * d + c] -= (dot / (n - 1)) * z[i * d + b]!; // column b has squared norm n - 1
    }
    let norm = 0;
    for (let i = 0; i < n; i++) norm += z[i * d + c]! ** 2;
    for (let i = 0; i < n; i++) z[i * d + c] *= Math.sqrt((n - 1) / norm);
  }
  // z^T z = (n - 1) I
  for (let c = 0; c < d; c++) for (let b = 0; b < c; b++) {
    let dot = 0;
    for (let i = 0; i < n; i++) dot += z[i * d + c]! * z[i * d + b]!;
    if (Math.abs(dot) > 1e-6 * n) throw new Error('whitened: not orthogonal');
  }
  return z;
}

function orthonormalRows(k: number, d: number, seed: number): Float64Array {
  const v = seededNormal(k * d, seed);
  for (let r = 0; r < k; r++) {
    for (let b = 0; b < r; b++) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += v[r * d + j]! * v[b * d + j]!;
      for (let j = 0; j < d; j++) v[r * d + j] -= dot * v[b * d + j]!;
    }
    let norm = 0;
    for (let j = 0; j < d; j++) norm += v[r * d + j]! ** 2;
    for (let j = 0; j < d; j++) v[r * d + j] /= Math.sqrt(norm);
  }
  return v;
}
