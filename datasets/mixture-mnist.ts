/**
 * Catalogue item E3, "mixture-of-MNIST": synthetic images holding several
 * MNIST digits, with per-digit pixel masks and boxes, for testing whether an
 * explanation method points at the right digit.
 *
 * Variant 'pairs' (data set name 'mnist-mixture'):
 *   - Canvas 56x56 (option `canvas`), 1 channel, background 0.
 *   - Two different digits a != b. Each 28x28 MNIST image is pasted at an
 *     independent uniform random integer position (x, y in [0, canvas-28]).
 *     Positions are redrawn (up to 100 times) until the two digits' ink boxes
 *     (box of pixels > maskThreshold) overlap by at most `maxOverlap` (default
 *     0.1) of the smaller ink box's area, so digits touch or overlap slightly
 *     but stay readable; after 100 failed draws (rare) the digits go to the
 *     opposite corners (0,0) and (canvas-28, canvas-28) in random order.
 *   - Pixels are combined by max.
 *   - Label: the unordered pair {a, b} as one of 45 classes, see pairToClass.
 *   - Slots: slot 0 holds the smaller digit, slot 1 the larger.
 *
 * Variant 'usefulness' (data set name 'mnist-mixture-usefulness'):
 *   - Canvas 64x64, split into a 2x2 grid of 32x32 cells. Four digits per
 *     image: a pair a < b of distinct digits from 0..7 (the label, one of 28
 *     classes, pairToClass(a, b, 8)), plus an 8 and a 9 as distractors that
 *     never decide the label. The four digits go to the four cells in random
 *     order, each at a random offset 0..4 inside its cell (no overlap).
 *   - Slots: 0 = a, 1 = b, 2 = the 8, 3 = the 9.
 *
 * Both: classes are balanced (every class appears floor(n/K) or ceil(n/K)
 * times, in shuffled order), so every pair appears once n >= K. For each image
 * and slot: the digit identity (`digits`), its pixel mask (`masks`: 1 where
 * that digit's own pixel > maskThreshold, default 32, in canvas coordinates),
 * its box (`boxes`: [x0, y0, x1, y1), the tight box of the mask, end
 * exclusive), the top-left corner of its 28x28 patch (`positions`: x, y) and
 * the index of the MNIST image it came from (`sourceIndex`).
 *
 * Splits, with no leakage: 'train' draws from MNIST train (all 60,000),
 * 'validation' from MNIST test images 0..4999, 'test' from MNIST test images
 * 5000..9999. Deterministic: the same (seed, variant, split, n, options) give
 * the same bytes.
 */
import { loadMnist } from './mnist.ts';
import { Rng } from './rng.ts';
import type { ImageDataset, LoadOptions, Split } from './types.ts';

export type MixtureVariant = 'pairs' | 'usefulness';

export interface MixtureOptions {
  split?: Split;
  /** Number of images (default 20,000 for train, 5,000 for validation and test). */
  n?: number;
  /** Seed of the generator (default 0). */
  seed?: number;
  variant?: MixtureVariant;
  /** Canvas side (default 56 for 'pairs', 64 for 'usefulness'). */
  canvas?: number;
  /** A digit's mask is its pixels > maskThreshold (default 32). */
  maskThreshold?: number;
  /** 'pairs' only: largest allowed ink-box overlap, as a fraction of the smaller box (default 0.1). */
  maxOverlap?: number;
  /** Produce the masks (default true; false leaves `masks` empty to save memory). */
  masks?: boolean;
  /** The MNIST split to draw from (must be MNIST 'train' for split 'train', MNIST 'test' otherwise). Loaded if absent. */
  mnist?: ImageDataset;
  /** Options for loadMnist when `mnist` is not given (dir, download, ...). */
  mnistOptions?: Omit<LoadOptions, 'split' | 'limit'>;
}

export interface MixtureDataset extends ImageDataset {
  variant: MixtureVariant;
  /** Digits per image (2 or 4). */
  slots: number;
  /** n * slots * height * width bytes, 0/1: mask of slot s of image i at ((i*slots + s)*H + y)*W + x. Empty if masks: false. */
  masks: Uint8Array;
  /** n * slots * 4: x0, y0, x1, y1 (end exclusive) of each slot's mask. */
  boxes: Uint16Array;
  /** n * slots: the digit in each slot. */
  digits: Uint8Array;
  /** n * slots * 2: x, y of the top-left corner of each slot's 28x28 patch. */
  positions: Uint16Array;
  /** Which MNIST split the digits come from. */
  sourceSplit: 'train' | 'test';
  /** n * slots: index of each slot's image in that MNIST split. */
  sourceIndex: Int32Array;
  seed: number;
  maskThreshold: number;
}

// The pair <-> class arithmetic lives in mixture-pairs.ts, which the browser build can import
// (this file reads MNIST from disk).
export { classToPair, numPairClasses, pairClassNames, pairToClass } from './mixture-pairs.ts';
import { classToPair, numPairClasses, pairClassNames } from './mixture-pairs.ts';

const D = 28; // MNIST digit side

/** Which MNIST split and index range a mixture split draws from. */
export function mixtureSourceRange(split: Split, mnistCount: number): { sourceSplit: 'train' | 'test'; start: number; end: number } {
  switch (split) {
    case 'train': return { sourceSplit: 'train', start: 0, end: mnistCount };
    case 'validation': return { sourceSplit: 'test', start: 0, end: Math.min(5000, mnistCount) };
    case 'test': return { sourceSplit: 'test', start: 5000, end: mnistCount };
  }
}

/** Generate a mixture data set from an already loaded MNIST split (synchronous). */
export function generateMnistMixture(mnist: ImageDataset, opts: Omit<MixtureOptions, 'mnist' | 'mnistOptions'> = {}): MixtureDataset {
  const split = opts.split ?? 'train';
  const variant = opts.variant ?? 'pairs';
  const seed = opts.seed ?? 0;
  const n = opts.n ?? (split === 'train' ? 20000 : 5000);
  const thr = opts.maskThreshold ?? 32;
  const maxOverlap = opts.maxOverlap ?? 0.1;
  const wantMasks = opts.masks ?? true;
  const C = opts.canvas ?? (variant === 'pairs' ? 56 : 64);
  const m = variant === 'pairs' ? 10 : 8;
  const slots = variant === 'pairs' ? 2 : 4;
  const K = numPairClasses(m);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`mnist mixture: n must be a non-negative integer, got ${n}`);
  if (variant === 'pairs' && !(C >= D)) throw new RangeError(`mnist mixture: canvas must be >= ${D}, got ${C}`);
  if (variant === 'usefulness' && !(Math.floor(C / 2) >= D)) throw new RangeError(`mnist mixture (usefulness): canvas must be >= ${2 * D}, got ${C}`);
  if (mnist.height !== D || mnist.width !== D || mnist.channels !== 1) throw new Error(`mnist mixture: need 28x28x1 MNIST images, got ${mnist.channels}x${mnist.height}x${mnist.width}`);
  const { sourceSplit, start, end } = mixtureSourceRange(split, mnist.n);
  if (mnist.split !== sourceSplit) {
    throw new Error(`mnist mixture: split '${split}' must draw from MNIST '${sourceSplit}' (no leakage), got MNIST '${mnist.split}'`);
  }

  // Ink box of every source digit; digits with no pixel above the threshold are skipped.
  const ink = new Int16Array(mnist.n * 4);
  const pools: number[][] = Array.from({ length: 10 }, () => []);
  for (let idx = start; idx < end; idx++) {
    const base = idx * D * D;
    let x0 = D, y0 = D, x1 = -1, y1 = -1;
    for (let y = 0; y < D; y++) {
      for (let x = 0; x < D; x++) {
        if (mnist.images[base + y * D + x]! > thr) {
          if (x < x0) x0 = x;
          if (x > x1) x1 = x;
          if (y < y0) y0 = y;
          if (y > y1) y1 = y;
        }
      }
    }
    if (x1 < 0) continue;
    ink.set([x0, y0, x1 + 1, y1 + 1], idx * 4);
    pools[mnist.labels[idx]!]!.push(idx);
  }
  for (let d = 0; d < 10; d++) {
    if (pools[d]!.length === 0) throw new Error(`mnist mixture: MNIST ${sourceSplit} images ${start}..${end - 1} contain no usable digit ${d}`);
  }

  const rng = new Rng(seed, variant === 'pairs' ? 1 : 2, split === 'train' ? 1 : split === 'validation' ? 2 : 3);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) labels[i] = i % K;
  rng.shuffle(labels);

  const HW = C * C;
  const images = new Uint8Array(n * HW);
  const masks = new Uint8Array(wantMasks ? n * slots * HW : 0);
  const boxes = new Uint16Array(n * slots * 4);
  const digits = new Uint8Array(n * slots);
  const positions = new Uint16Array(n * slots * 2);
  const sourceIndex = new Int32Array(n * slots);
  const px = new Int32Array(slots);
  const py = new Int32Array(slots);

  for (let i = 0; i < n; i++) {
    const [a, b] = classToPair(labels[i]!, m);
    const ds = variant === 'pairs' ? [a, b] : [a, b, 8, 9];
    for (let s = 0; s < slots; s++) {
      const pool = pools[ds[s]!]!;
      digits[i * slots + s] = ds[s]!;
      sourceIndex[i * slots + s] = pool[rng.int(pool.length)]!;
    }
    if (variant === 'pairs') {
      const i0 = sourceIndex[i * 2]! * 4, i1 = sourceIndex[i * 2 + 1]! * 4;
      const area0 = (ink[i0 + 2]! - ink[i0]!) * (ink[i0 + 3]! - ink[i0 + 1]!);
      const area1 = (ink[i1 + 2]! - ink[i1]!) * (ink[i1 + 3]! - ink[i1 + 1]!);
      let placed = false;
      for (let t = 0; t < 100 && !placed; t++) {
        px[0] = rng.range(0, C - D); py[0] = rng.range(0, C - D);
        px[1] = rng.range(0, C - D); py[1] = rng.range(0, C - D);
        const ox = Math.min(px[0]! + ink[i0 + 2]!, px[1]! + ink[i1 + 2]!) - Math.max(px[0]! + ink[i0]!, px[1]! + ink[i1]!);
        const oy = Math.min(py[0]! + ink[i0 + 3]!, py[1]! + ink[i1 + 3]!) - Math.max(py[0]! + ink[i0 + 1]!, py[1]! + ink[i1 + 1]!);
        const inter = ox > 0 && oy > 0 ? ox * oy : 0;
        placed = inter <= maxOverlap * Math.min(area0, area1);
      }
      if (!placed) {
        const first = rng.int(2);
        px[first] = 0; py[first] = 0;
        px[1 - first] = C - D; py[1 - first] = C - D;
      }
    } else {
      const cell = Math.floor(C / 2);
      const order = rng.shuffle([0, 1, 2, 3]);
      for (let s = 0; s < 4; s++) {
        const c = order[s]!;
        px[s] = (c % 2) * cell + rng.range(0, cell - D);
        py[s] = Math.floor(c / 2) * cell + rng.range(0, cell - D);
      }
    }
    const img = i * HW;
    for (let s = 0; s < slots; s++) {
      const k = i * slots + s;
      const src = sourceIndex[k]! * D * D;
      const x = px[s]!, y = py[s]!;
      positions[k * 2] = x;
      positions[k * 2 + 1] = y;
      const ib = sourceIndex[k]! * 4;
      boxes.set([x + ink[ib]!, y + ink[ib + 1]!, x + ink[ib + 2]!, y + ink[ib + 3]!], k * 4);
      const mk = k * HW;
      for (let r = 0; r < D; r++) {
        const rowC = (y + r) * C + x;
        const rowS = src + r * D;
        for (let c = 0; c < D; c++) {
          const v = mnist.images[rowS + c]!;
          const o = rowC + c;
          if (v > images[img + o]!) images[img + o] = v;
          if (wantMasks && v > thr) masks[mk + o] = 1;
        }
      }
    }
  }

  return {
    name: variant === 'pairs' ? 'mnist-mixture' : 'mnist-mixture-usefulness',
    split,
    images,
    labels,
    n,
    channels: 1,
    height: C,
    width: C,
    classes: pairClassNames(m),
    source: `generated from MNIST ${sourceSplit} images ${start}..${end - 1}${mnist.source ? ` (${mnist.source})` : ''}`,
    variant,
    slots,
    masks,
    boxes,
    digits,
    positions,
    sourceSplit,
    sourceIndex,
    seed,
    maskThreshold: thr,
  };
}

/** Load MNIST (the right split) if needed and generate a mixture data set. */
export async function loadMnistMixture(opts: MixtureOptions = {}): Promise<MixtureDataset> {
  const split = opts.split ?? 'train';
  const sourceSplit = split === 'train' ? 'train' : 'test';
  const mnist = opts.mnist ?? (await loadMnist({ ...opts.mnistOptions, split: sourceSplit }));
  return generateMnistMixture(mnist, opts);
}
