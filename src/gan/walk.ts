/**
 * E7: latent walks along attribute boundaries (Shen et al. 2020, InterFaceGAN). Sampled latents are
 * labelled by attributes measured from the generated pixels (thickness, slant, size; width, brightness for clothes: attributes.ts)
 * and by a classifier's digit; a logistic regression, trained with the engine, separates latents
 * above an attribute's median from those below; its unit normal n is the direction to walk,
 * z + alpha n. Conditional manipulation walks n1 - (n1 . n2) n2 (normalised), which moves along n1
 * but not along a second attribute's n2 (InterFaceGAN's projection).
 */
import * as gb from '../index.ts';
import type { DcganGenerator } from '../nn/models/dcgan.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { Adam } from '../train/optim.ts';
import { ATTRIBUTES, measureBatch, spearman, type AttributeName } from './attributes.ts';
import type { ClassifierFrechet } from './frechet.ts';
import { fixedLatents } from './train.ts';

export interface LabelledLatents {
  latents: Float32Array;
  count: number;
  latentSize: number;
  attributes: Record<AttributeName, Float64Array>;
  /** The classifier's digit per latent, when a classifier was given. */
  digits?: Int32Array;
}

export interface Boundary {
  attribute: AttributeName;
  /** Unit normal in latent space, pointing to larger attribute values. */
  normal: Float32Array;
  /** The attribute's median: the class boundary of the regression. */
  threshold: number;
  /** Share of the latents the boundary puts on their side. */
  trainAccuracy: number;
}

export interface WalkResult {
  attribute: AttributeName;
  steps: number[];
  /** scores[s][i]: every attribute of latent i after step s. */
  scores: Record<AttributeName, number[][]>;
  /** Mean of each attribute per step. */
  meanPerStep: Record<AttributeName, number[]>;
  /** Spearman of step against attribute over every (step, latent) pair, per attribute. */
  spearman: Record<AttributeName, number>;
  /** Share of latents whose digit (by the classifier) stays the step-0 digit, per step. */
  sameDigit?: number[];
  /** The walked images [steps * latents, 1, 28, 28], step-major (the caller disposes). */
  images: Tensor;
}

export interface LatentWalkOptions {
  /** Reads digits from generated images; without it, walks report no digits. */
  classifier?: ClassifierFrechet;
  batchSize?: number;
}

export class LatentWalk {
  constructor(
    readonly generator: DcganGenerator,
    readonly opts: LatentWalkOptions = {},
  ) {}

  /** Images for the latents z [N, latentSize], in eval mode, in batches. */
  generate(z: Tensor): Tensor {
    this.generator.eval();
    const batch = this.opts.batchSize ?? 500;
    const parts: Tensor[] = [];
    for (let s = 0; s < z.shape[0]!; s += batch) parts.push(gb.noGrad(() => this.generator.forward(z.slice(0, { start: s, end: Math.min(s + batch, z.shape[0]!) }))));
    if (parts.length === 1) return parts[0]!;
    const all = gb.cat(parts, 0);
    for (const p of parts) p.dispose();
    return all;
  }

  private async measure(images: Tensor): Promise<{ attributes: Record<AttributeName, Float64Array>; digits?: Int32Array }> {
    const [n, , h, w] = images.shape as [number, number, number, number];
    const attributes = measureBatch((await images.toArray()) as Float32Array, n, h, w);
    const digits = this.opts.classifier ? (await this.opts.classifier.readout(images)).predicted : undefined;
    return { attributes, digits };
  }

  /** `count` latents drawn with `seed`, labelled with attributes and digits. */
  async label(count: number, seed: number): Promise<LabelledLatents> {
    const z = fixedLatents(count, this.generator.latentSize, seed);
    const images = this.generate(z);
    const { attributes, digits } = await this.measure(images);
    images.dispose();
    const latents = (await z.toArray()) as Float32Array;
    z.dispose();
    return { latents, count, latentSize: this.generator.latentSize, attributes, digits };
  }

  /** A logistic regression on the latents, attribute above its median or not; its normal, unit length. */
  async boundary(data: LabelledLatents, attribute: AttributeName, opts: { steps?: number; lr?: number } = {}): Promise<Boundary> {
    const scores = data.attributes[attribute];
    const keep: number[] = [];
    for (let i = 0; i < data.count; i++) if (Number.isFinite(scores[i]!)) keep.push(i);
    if (keep.length < 10) throw new Error(`glassbox.gan.LatentWalk: only ${keep.length} of ${data.count} samples have ink; the generator draws blank images`);
    const sorted = keep.map((i) => scores[i]!).sort((a, b) => a - b);
    const threshold = sorted[Math.floor(sorted.length / 2)]!;
    const d = data.latentSize;
    const x = new Float32Array(keep.length * d);
    const y = new Float32Array(keep.length);
    keep.forEach((i, r) => {
      x.set(data.latents.subarray(i * d, (i + 1) * d), r * d);
      y[r] = scores[i]! > threshold ? 1 : 0;
    });
    const xs = gb.tensor(x, [keep.length, d]);
    const ys = gb.tensor(y, [keep.length]);
    const weight = gb.zeros([d, 1]).requiresGrad_();
    const bias = gb.zeros([1]).requiresGrad_();
    const opt = new Adam([weight, bias], { lr: opts.lr ?? 0.05 });
    for (let s = 0; s < (opts.steps ?? 200); s++)
      gb.tidy(() => {
        opt.zeroGrad();
        const logits = gb.add(gb.matmul(xs, weight).reshape([keep.length]), bias);
        gb.binaryCrossEntropyWithLogits(logits, ys).backward();
        opt.step();
      });
    const logits = gb.noGrad(() => gb.add(gb.matmul(xs, weight).reshape([keep.length]), bias));
    const l = (await logits.toArray()) as Float32Array;
    let hits = 0;
    for (let r = 0; r < keep.length; r++) if (l[r]! > 0 === y[r]! > 0.5) hits++;
    const w = (await weight.toArray()) as Float32Array;
    for (const t of [xs, ys, weight, bias, logits]) t.dispose();
    return { attribute, normal: unit(w), threshold, trainAccuracy: hits / keep.length };
  }

  /** Walks `count` latents (seed `seed`) along `direction` by `steps` (multiples of the unit normal). */
  async walk(direction: Float32Array, attribute: AttributeName, opts: { count?: number; seed?: number; steps?: number[] } = {}): Promise<WalkResult> {
    const steps = opts.steps ?? [-3, -2, -1, 0, 1, 2, 3];
    const count = opts.count ?? 64;
    const d = this.generator.latentSize;
    if (direction.length !== d) throw new Error(`glassbox.gan.LatentWalk: the direction has ${direction.length} entries but the generator's latents have ${d}`);
    const base = (await fixedLatents(count, d, opts.seed ?? 1234).toArray()) as Float32Array;
    const z = new Float32Array(steps.length * count * d);
    steps.forEach((a, s) => {
      for (let i = 0; i < count; i++) for (let k = 0; k < d; k++) z[(s * count + i) * d + k] = base[i * d + k]! + a * direction[k]!;
    });
    const zt = gb.tensor(z, [steps.length * count, d]);
    const images = this.generate(zt);
    zt.dispose();
    const { attributes, digits } = await this.measure(images);
    const scores = {} as Record<AttributeName, number[][]>;
    const meanPerStep = {} as Record<AttributeName, number[]>;
    const rho = {} as Record<AttributeName, number>;
    const stepOf = Array.from({ length: steps.length * count }, (_, j) => steps[Math.floor(j / count)]!);
    for (const name of ATTRIBUTES) {
      scores[name] = steps.map((_, s) => Array.from(attributes[name].subarray(s * count, (s + 1) * count)));
      meanPerStep[name] = scores[name].map((row) => finiteMean(row));
      rho[name] = spearman(stepOf, attributes[name]);
    }
    const zero = steps.indexOf(0);
    const sameDigit = digits && zero >= 0 ? steps.map((_, s) => countWhere(count, (i) => digits[s * count + i] === digits[zero * count + i]) / count) : undefined;
    return { attribute, steps, scores, meanPerStep, spearman: rho, sameDigit, images };
  }
}

/** n1 with its component along n2 removed, unit length (InterFaceGAN's conditional manipulation). */
export function projectOut(n1: Float32Array, n2: Float32Array): Float32Array {
  let dot = 0;
  for (let k = 0; k < n1.length; k++) dot += n1[k]! * n2[k]!;
  return unit(n1.map((v, k) => v - dot * n2[k]!));
}

export function cosine(a: Float32Array, b: Float32Array): number {
  let dot = 0;
  for (let k = 0; k < a.length; k++) dot += a[k]! * b[k]!;
  return dot / (norm(a) * norm(b));
}

const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
function unit(v: Float32Array): Float32Array {
  const n = norm(v);
  if (!(n > 0)) throw new Error('glassbox.gan.LatentWalk: the boundary has a zero normal; the attribute does not vary with the latent');
  return v.map((x) => x / n);
}
const finiteMean = (row: number[]) => {
  const f = row.filter(Number.isFinite);
  return f.reduce((s, x) => s + x, 0) / Math.max(f.length, 1);
};
const countWhere = (n: number, p: (i: number) => boolean) => {
  let c = 0;
  for (let i = 0; i < n; i++) if (p(i)) c++;
  return c;
};

/** Linear interpolation between pairs of latents: rows of `steps` images from z_a to z_b. */
export function interpolationLatents(a: Float32Array, b: Float32Array, pairs: number, latentSize: number, steps: number): Tensor {
  const z = new Float32Array(pairs * steps * latentSize);
  for (let p = 0; p < pairs; p++)
    for (let s = 0; s < steps; s++) {
      const t = s / (steps - 1);
      for (let k = 0; k < latentSize; k++) z[(p * steps + s) * latentSize + k] = (1 - t) * a[p * latentSize + k]! + t * b[p * latentSize + k]!;
    }
  return gb.tensor(z, [pairs * steps, latentSize]);
}
