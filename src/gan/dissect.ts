/**
 * E6: GAN dissection (Bau et al. 2019) of a DCGAN generator layer.
 *
 * Dissection, two passes over generated samples (NetDissect's structure): the first finds each unit's
 * activation threshold (its top `quantile` over every sample and place); the second upsamples each
 * unit's map bilinearly to 28x28, thresholds it, and tallies its IoU with stroke masks of the image:
 * 'ink' (pixel > 0 in [-1, 1]), the ink in the top, bottom, left and right half of the digit's
 * bounding box, and 'loop': the digit's enclosed holes (background that no background path connects
 * to the image's border, as inside a 0, 6, 8 or 9).
 *
 * Intervention, through a forward hook on the layer: switching units off (their maps set to 0) and
 * on (set to `high` in a window of the map). The effect is measured on the images: ink pixels inside
 * the unit's region, ink per stroke part, and the classifier's digit.
 */
import * as gb from '../index.ts';
import type { DcganGenerator } from '../nn/models/dcgan.ts';
import type { Module } from '../nn/module.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { ClassifierFrechet } from './frechet.ts';
import { fixedLatents } from './train.ts';

export const STROKE_PARTS = ['ink', 'top', 'bottom', 'left', 'right', 'loop'] as const;
export type StrokePart = (typeof STROKE_PARTS)[number];
export const GENERATOR_LAYERS = ['block1', 'block2'] as const;

/** Ink masks per stroke part of one [-1, 1] image (h x w): 1 where the part has ink. */
export function strokeMasks(pixels: ArrayLike<number>, h: number, w: number): Record<StrokePart, Uint8Array> {
  const ink = new Uint8Array(h * w);
  let top = h;
  let bottom = -1;
  let left = w;
  let right = -1;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      if (pixels[y * w + x]! > 0) {
        ink[y * w + x] = 1;
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
  const cy = (top + bottom) / 2;
  const cx = (left + right) / 2;
  const part = (keep: (y: number, x: number) => boolean) => ink.map((v, i) => (v && keep(Math.floor(i / w), i % w) ? 1 : 0));
  return { ink, top: part((y) => y < cy), bottom: part((y) => y > cy), left: part((_, x) => x < cx), right: part((_, x) => x > cx), loop: enclosedHoles(ink, h, w) };
}

/**
 * The holes of an ink mask (h x w, 1 = ink): background pixels that no 4-connected path through
 * background joins to the image's border. A flood fill from every border background pixel marks
 * the outside; the background it never reaches is enclosed by ink. (4-connected background: two ink
 * pixels touching only at a corner close a loop, as they do to the eye.)
 */
export function enclosedHoles(ink: Uint8Array, h: number, w: number): Uint8Array {
  const outside = new Uint8Array(h * w);
  const stack: number[] = [];
  const visit = (i: number) => {
    if (!ink[i] && !outside[i]) (outside[i] = 1), stack.push(i);
  };
  for (let x = 0; x < w; x++) visit(x), visit((h - 1) * w + x);
  for (let y = 0; y < h; y++) visit(y * w), visit(y * w + w - 1);
  while (stack.length) {
    const i = stack.pop()!;
    const y = Math.floor(i / w);
    const x = i % w;
    if (y > 0) visit(i - w);
    if (y < h - 1) visit(i + w);
    if (x > 0) visit(i - 1);
    if (x < w - 1) visit(i + 1);
  }
  return ink.map((v, i) => (v || outside[i] ? 0 : 1));
}

/** The generator layer `layer`, or an error naming the layers there are. */
export function generatorLayer(generator: DcganGenerator, layer: string): Module {
  if (!(GENERATOR_LAYERS as readonly string[]).includes(layer)) throw new Error(`glassbox.gan: '${layer}' is not a generator layer to dissect; use one of ${GENERATOR_LAYERS.join(', ')}`);
  return generator.getSubmodule(layer);
}

/** A change of a layer's units: switched off (0), or on (`high`) inside a window of the map (rows y0..y1, cols x0..x1, exclusive ends). */
export type UnitEdit = { units: readonly number[]; mode: 'off' } | { units: readonly number[]; mode: 'on'; high: number; window: { y0: number; y1: number; x0: number; x1: number } };

/** Installs `edit` on the layer's output with a forward hook; returns the remover. Unit indices are checked against the layer's channels. */
export function registerUnitEdit(layer: Module, channels: number, edit: UnitEdit): () => void {
  for (const u of edit.units)
    if (!Number.isInteger(u) || u < 0 || u >= channels) throw new Error(`glassbox.gan: unit ${u} is out of range; the layer has ${channels} units (0 to ${channels - 1})`);
  return layer.registerForwardHook((_m, _i, out) => {
    const [, c, h, w] = out.shape as [number, number, number, number];
    const mask = new Float32Array(c * h * w);
    for (const u of edit.units)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          const inside = edit.mode === 'off' || (y >= edit.window.y0 && y < edit.window.y1 && x >= edit.window.x0 && x < edit.window.x1);
          if (inside) mask[(u * h + y) * w + x] = 1;
        }
    const m = gb.tensor(mask, [1, c, h, w]);
    // out * (1 - m) + m * value: the edited places take the value, every other place stays exactly as it was
    const kept = gb.mul(out, gb.sub(1, m));
    return edit.mode === 'off' ? kept : gb.add(kept, gb.mul(m, edit.high));
  });
}

export interface GanDissectionOptions {
  /** 'block1' (7x7) or 'block2' (14x14); default 'block2'. */
  layer?: string;
  /** Samples dissected (default 1000). */
  samples?: number;
  /** The top share of a unit's activations that counts as its region (default 0.1: its top 10%). */
  quantile?: number;
  seed?: number;
  batchSize?: number;
  classifier?: ClassifierFrechet;
}

export interface UnitReport {
  unit: number;
  threshold: number;
  /** The unit's largest activation seen. */
  max: number;
  iou: Record<StrokePart, number>;
  bestPart: StrokePart;
  /** Switched off alone: share of the ink inside its region that disappears (mean over samples). */
  inkRemoved?: number;
  /** Switched off alone: share of samples whose digit changes. */
  digitChanged?: number;
}

export interface PartEffect {
  part: StrokePart;
  units: number[];
  /** Share of the part's ink removed by switching the units off, and of the rest of the digit's ink (for 'loop': share of the hole's pixels no longer enclosed, and of the ink removed). */
  partInkRemoved: number;
  otherInkRemoved: number;
  /** The same for as many random units (the control). */
  randomUnits: number[];
  randomPartInkRemoved: number;
  digitChanged: number;
}

export interface InsertionEffect {
  units: number[];
  /** Ink pixels added inside the upsampled window, and outside it, per sample (mean over windows). */
  inkAddedInside: number;
  inkAddedOutside: number;
  randomUnits: number[];
  randomInkAddedInside: number;
}

export class GanDissection {
  readonly layerName: string;
  readonly layer: Module;
  readonly channels: number;
  readonly mapSize: number;
  constructor(
    readonly generator: DcganGenerator,
    readonly opts: GanDissectionOptions = {},
  ) {
    this.layerName = opts.layer ?? 'block2';
    this.layer = generatorLayer(generator, this.layerName);
    const conv = this.layer.getSubmodule('0') as unknown as { outChannels: number };
    this.channels = conv.outChannels;
    this.mapSize = this.layerName === 'block1' ? 7 : 14;
  }

  /** Latents of the dissected samples. */
  latents(): Tensor {
    return fixedLatents(this.opts.samples ?? 1000, this.generator.latentSize, this.opts.seed ?? 7);
  }

  /** Images for latents z under an optional unit edit, and the layer's (edited) maps when `withMaps`. */
  async generate(z: Tensor, edit?: UnitEdit, withMaps = false): Promise<{ images: Float32Array; maps?: Float32Array }> {
    this.generator.eval();
    const batch = this.opts.batchSize ?? 250;
    const images: Float32Array[] = [];
    const maps: Float32Array[] = [];
    const removeEdit = edit ? registerUnitEdit(this.layer, this.channels, edit) : undefined;
    let captured: Tensor | undefined;
    // registered after the edit, so it sees the edited output
    const removeCapture = withMaps ? this.layer.registerForwardHook((_m, _i, out) => void (captured = gb.keep(out))) : undefined;
    try {
      for (let s = 0; s < z.shape[0]!; s += batch) {
        const out = gb.tidy(() => gb.noGrad(() => this.generator.forward(z.slice(0, { start: s, end: Math.min(s + batch, z.shape[0]!) }))));
        images.push((await out.toArray()) as Float32Array);
        out.dispose();
        if (captured) {
          maps.push((await captured.toArray()) as Float32Array);
          captured.dispose();
          captured = undefined;
        }
      }
    } finally {
      removeEdit?.();
      removeCapture?.();
    }
    return { images: concat(images), maps: withMaps ? concat(maps) : undefined };
  }

  /** Per unit: threshold, IoU with each stroke part, and (with `ablate`) the effect of switching it off alone. */
  async dissect(opts: { ablate?: boolean; ablationSamples?: number; onUnit?: (done: number, total: number) => void } = {}): Promise<UnitReport[]> {
    const z = this.latents();
    const n = z.shape[0]!;
    const { images, maps } = await this.generate(z, undefined, true);
    const c = this.channels;
    const m = this.mapSize;
    // pass 1: each unit's threshold at its top quantile over every sample and place
    const q = this.opts.quantile ?? 0.1;
    const thresholds = new Float64Array(c);
    const maxima = new Float64Array(c);
    const values = new Float32Array(n * m * m);
    for (let u = 0; u < c; u++) {
      for (let i = 0; i < n; i++) values.set(maps!.subarray((i * c + u) * m * m, (i * c + u + 1) * m * m), i * m * m);
      const sorted = Float32Array.from(values).sort();
      thresholds[u] = sorted[Math.min(sorted.length - 1, Math.floor((1 - q) * sorted.length))]!;
      maxima[u] = sorted[sorted.length - 1]!;
    }
    // pass 2: upsampled maps against the stroke masks
    const regions = await this.regions(maps!, n, thresholds);
    const inter = new Float64Array(c * STROKE_PARTS.length);
    const unitArea = new Float64Array(c);
    const partArea = new Float64Array(STROKE_PARTS.length);
    const hw = 28 * 28;
    for (let i = 0; i < n; i++) {
      const masks = strokeMasks(images.subarray(i * hw, (i + 1) * hw), 28, 28);
      STROKE_PARTS.forEach((p, k) => (partArea[k]! += count(masks[p])));
      for (let u = 0; u < c; u++) {
        const r = regions.subarray((i * c + u) * hw, (i * c + u + 1) * hw);
        unitArea[u]! += count(r);
        STROKE_PARTS.forEach((p, k) => {
          const mk = masks[p];
          let both = 0;
          for (let j = 0; j < hw; j++) both += r[j]! & mk[j]!;
          inter[u * STROKE_PARTS.length + k]! += both;
        });
      }
    }
    const reports: UnitReport[] = [];
    for (let u = 0; u < c; u++) {
      const iou = {} as Record<StrokePart, number>;
      STROKE_PARTS.forEach((p, k) => {
        const i = inter[u * STROKE_PARTS.length + k]!;
        const union = unitArea[u]! + partArea[k]! - i;
        iou[p] = union > 0 ? i / union : 0;
      });
      // 'ink' is the halves' union; a unit's part is the half (or the loop) it overlaps best
      const parts = STROKE_PARTS.filter((p) => p !== 'ink');
      const bestPart = parts.reduce((a, b) => (iou[b] > iou[a] ? b : a));
      reports.push({ unit: u, threshold: thresholds[u]!, max: maxima[u]!, iou, bestPart });
    }
    if (opts.ablate) await this.ablateEach(reports, z, images, regions, n, opts);
    z.dispose();
    return reports;
  }

  /** Each unit's thresholded, upsampled map per sample: [n, c, 28, 28] of 0/1. */
  private async regions(maps: Float32Array, n: number, thresholds: Float64Array): Promise<Uint8Array> {
    const c = this.channels;
    const hw = 28 * 28;
    const out = new Uint8Array(n * c * hw);
    const mm = this.mapSize * this.mapSize;
    // in slices: a device binds at most 128 MiB at once (1000 samples x 64 units x 28 x 28 is 191 MiB)
    const slice = Math.max(1, Math.floor((32 << 20) / (4 * c * hw)));
    for (let s = 0; s < n; s += slice) {
      const k = Math.min(slice, n - s);
      const t = gb.tensor(maps.subarray(s * c * mm, (s + k) * c * mm), [k, c, this.mapSize, this.mapSize]);
      const up = gb.interpolate(t, { size: [28, 28], mode: 'bilinear' });
      const v = (await up.toArray()) as Float32Array;
      t.dispose();
      up.dispose();
      for (let i = 0; i < k; i++) for (let u = 0; u < c; u++) for (let j = 0; j < hw; j++) out[((s + i) * c + u) * hw + j] = v[(i * c + u) * hw + j]! > thresholds[u]! ? 1 : 0;
    }
    return out;
  }

  private async ablateEach(reports: UnitReport[], z: Tensor, images: Float32Array, regions: Uint8Array, n: number, opts: { ablationSamples?: number; onUnit?: (done: number, total: number) => void }): Promise<void> {
    const k = Math.min(n, opts.ablationSamples ?? 200);
    const zk = z.slice(0, { start: 0, end: k });
    const digits = await this.digits(images.subarray(0, k * 784), k);
    const c = this.channels;
    for (let u = 0; u < c; u++) {
      const after = await this.generate(zk, { units: [u], mode: 'off' });
      let removedShare = 0;
      let counted = 0;
      for (let i = 0; i < k; i++) {
        const r = regions.subarray((i * c + u) * 784, (i * c + u + 1) * 784);
        let before = 0;
        let still = 0;
        for (let j = 0; j < 784; j++)
          if (r[j]) {
            before += images[i * 784 + j]! > 0 ? 1 : 0;
            still += after.images[i * 784 + j]! > 0 ? 1 : 0;
          }
        if (before > 0) (removedShare += (before - still) / before), counted++;
      }
      reports[u]!.inkRemoved = counted ? removedShare / counted : 0;
      if (digits) reports[u]!.digitChanged = changed(digits, (await this.digits(after.images, k))!);
      opts.onUnit?.(u + 1, c);
    }
  }

  /** The classifier's digit for each image, or undefined without a classifier. */
  async digits(images: Float32Array, n: number): Promise<Int32Array | undefined> {
    if (!this.opts.classifier) return undefined;
    const t = gb.tensor(images, [n, 1, 28, 28]);
    const r = await this.opts.classifier.readout(t);
    t.dispose();
    return r.predicted;
  }

  /** Switches `units` off together and measures the ink removed from `part` and from the rest, against as many random units. */
  async partEffect(part: StrokePart, units: number[], opts: { samples?: number; seed?: number } = {}): Promise<PartEffect> {
    const z = fixedLatents(opts.samples ?? 200, this.generator.latentSize, (this.opts.seed ?? 7) + 1);
    const n = z.shape[0]!;
    const before = await this.generate(z);
    const after = await this.generate(z, { units, mode: 'off' });
    const randomUnits = randomSubset(this.channels, units.length, opts.seed ?? 3, units);
    const control = await this.generate(z, { units: randomUnits, mode: 'off' });
    // a part's pixel is lost when it has no ink after the edit; a loop's pixel, when it is no longer enclosed
    const removed = (a: Float32Array, inPart: boolean) => {
      let had = 0;
      let lost = 0;
      for (let i = 0; i < n; i++) {
        const masks = strokeMasks(before.images.subarray(i * 784, (i + 1) * 784), 28, 28);
        const loopAfter = inPart && part === 'loop' ? strokeMasks(a.subarray(i * 784, (i + 1) * 784), 28, 28).loop : undefined;
        for (let j = 0; j < 784; j++) {
          const sel = inPart ? masks[part][j] : masks.ink[j]! && !masks[part][j];
          if (!sel) continue;
          had++;
          if (loopAfter ? !loopAfter[j] : !(a[i * 784 + j]! > 0)) lost++;
        }
      }
      return had ? lost / had : 0;
    };
    const d0 = await this.digits(before.images, n);
    const d1 = await this.digits(after.images, n);
    z.dispose();
    return {
      part,
      units,
      partInkRemoved: removed(after.images, true),
      otherInkRemoved: removed(after.images, false),
      randomUnits,
      randomPartInkRemoved: removed(control.images, true),
      digitChanged: d0 && d1 ? changed(d0, d1) : NaN,
    };
  }

  /** Switches `units` on at `high` in a 3x3 window of the map at each of a few places; ink added inside the window's image region vs outside. */
  async insertionEffect(units: number[], high: number, opts: { samples?: number; seed?: number } = {}): Promise<InsertionEffect> {
    const z = fixedLatents(opts.samples ?? 100, this.generator.latentSize, (this.opts.seed ?? 7) + 2);
    const n = z.shape[0]!;
    const before = await this.generate(z);
    const m = this.mapSize;
    const places = [Math.floor(m / 4), Math.floor(m / 2), Math.floor((3 * m) / 4)];
    const randomUnits = randomSubset(this.channels, units.length, opts.seed ?? 5, units);
    const measure = async (us: number[]) => {
      let inside = 0;
      let outside = 0;
      let windows = 0;
      for (const cy of places)
        for (const cx of places) {
          const window = { y0: cy - 1, y1: cy + 2, x0: cx - 1, x1: cx + 2 };
          const after = await this.generate(z, { units: us, mode: 'on', high, window });
          const scale = 28 / m;
          for (let i = 0; i < n; i++)
            for (let j = 0; j < 784; j++) {
              const y = Math.floor(j / 28) / scale;
              const x = (j % 28) / scale;
              const added = (after.images[i * 784 + j]! > 0 ? 1 : 0) - (before.images[i * 784 + j]! > 0 ? 1 : 0);
              if (y >= window.y0 && y < window.y1 && x >= window.x0 && x < window.x1) inside += added;
              else outside += added;
            }
          windows++;
        }
      return { inside: inside / (windows * n), outside: outside / (windows * n) };
    };
    const chosen = await measure(units);
    const control = await measure(randomUnits);
    z.dispose();
    return { units, inkAddedInside: chosen.inside, inkAddedOutside: chosen.outside, randomUnits, randomInkAddedInside: control.inside };
  }
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), (at += p.length);
  return out;
}
const count = (a: Uint8Array) => a.reduce((s, v) => s + v, 0);
const changed = (a: Int32Array, b: Int32Array) => a.reduce((s, v, i) => s + (v !== b[i] ? 1 : 0), 0) / a.length;

/** `k` distinct units of `channels` other than `exclude`, by a seeded shuffle. */
function randomSubset(channels: number, k: number, seed: number, exclude: readonly number[]): number[] {
  const pool = Array.from({ length: channels }, (_, i) => i).filter((u) => !exclude.includes(u));
  let s = seed + 1;
  for (let i = pool.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, k).sort((a, b) => a - b);
}
