/**
 * From a saliency map to an object mask (catalogue A1c; Simonyan, Vedaldi, Zisserman 2014,
 * "Deep Inside Convolutional Networks", sec. 3.1: "weakly supervised object localisation").
 * Three ways, on one map [H, W] (row-major) at a time:
 *   'threshold'       pixels at or above the `percentile` quantile of the map;
 *   'region-growing'  seeds at or above `seedPercentile` (the peak and its like: a mixture image
 *                     has more than one object), grown 4-connected through pixels at or above
 *                     `percentile` (hysteresis thresholding);
 *   'grabcut'         the paper's recipe with GraphCut replaced by a simpler optimiser: pixels above
 *                     the 95% quantile are foreground seeds, below the 30% quantile background seeds;
 *                     a Gaussian colour model (diagonal covariance over the image's channels) per
 *                     class is fitted to the labelled pixels, then every other pixel takes the class
 *                     of lower cost -log N(colour) + smoothness * (4-neighbours of the other class)
 *                     (iterated conditional modes on the Potts energy GrabCut minimises), and the
 *                     models are refitted, `iterations` times.
 */
import type { Tensor } from '../tensor/tensor.ts';
import { shapeStr } from '../tensor/shape.ts';

export interface SegmentationOptions {
  /** Default 'grabcut'. */
  method?: 'threshold' | 'region-growing' | 'grabcut';
  /** Quantile in [0, 1] for 'threshold' and the growing threshold of 'region-growing' (default 0.9). */
  percentile?: number;
  /** Seeds of 'region-growing' (default 0.98). */
  seedPercentile?: number;
  /** 'grabcut' seeds: foreground at or above this quantile (default 0.95), background below `backgroundPercentile` (default 0.3). */
  foregroundPercentile?: number;
  backgroundPercentile?: number;
  /** 'grabcut' Potts weight per disagreeing neighbour, in nats (default 1) and refits (default 5). */
  smoothness?: number;
  iterations?: number;
}

/** The q-quantile (0..1) of `values` (nearest rank on the sorted values). */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (!(q >= 0 && q <= 1)) throw new Error(`glassbox.xai: quantile must be in [0, 1], got ${q}`);
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** The 4-neighbours of pixel p in an h x w grid. */
function neighbours(p: number, h: number, w: number): number[] {
  const y = Math.floor(p / w);
  const x = p % w;
  const out: number[] = [];
  if (y > 0) out.push(p - w);
  if (y < h - 1) out.push(p + w);
  if (x > 0) out.push(p - 1);
  if (x < w - 1) out.push(p + 1);
  return out;
}

function thresholdMask(map: ArrayLike<number>, q: number): Uint8Array {
  const t = quantile(map, q);
  return Uint8Array.from(map, (v) => (v >= t ? 1 : 0));
}

function regionGrowing(map: ArrayLike<number>, h: number, w: number, q: number, seedQ: number): Uint8Array {
  const grow = quantile(map, q);
  const seed = quantile(map, seedQ);
  const mask = new Uint8Array(map.length);
  const queue: number[] = [];
  for (let p = 0; p < map.length; p++) if (map[p]! >= seed) (mask[p] = 1), queue.push(p);
  while (queue.length) {
    for (const nb of neighbours(queue.pop()!, h, w)) {
      if (!mask[nb] && map[nb]! >= grow) {
        mask[nb] = 1;
        queue.push(nb);
      }
    }
  }
  return mask;
}

/** Diagonal Gaussian over the channels of the pixels with label `k`; the variance has a floor so a flat background stays finite. */
function fitGaussian(image: ArrayLike<number>, c: number, hw: number, labels: Int8Array, k: number): { mean: number[]; variance: number[] } {
  const mean = new Array<number>(c).fill(0);
  const variance = new Array<number>(c).fill(0);
  let count = 0;
  for (let p = 0; p < hw; p++) if (labels[p] === k) count++;
  for (let ch = 0; ch < c; ch++) {
    let s = 0;
    let s2 = 0;
    for (let p = 0; p < hw; p++)
      if (labels[p] === k) {
        const v = image[ch * hw + p]!;
        s += v;
        s2 += v * v;
      }
    mean[ch] = s / Math.max(1, count);
    variance[ch] = Math.max(1e-3, s2 / Math.max(1, count) - mean[ch]! ** 2);
  }
  return { mean, variance };
}

function grabCut(map: ArrayLike<number>, image: ArrayLike<number>, c: number, h: number, w: number, o: SegmentationOptions): Uint8Array {
  const hw = h * w;
  const fgT = quantile(map, o.foregroundPercentile ?? 0.95);
  const bgT = quantile(map, o.backgroundPercentile ?? 0.3);
  const smooth = o.smoothness ?? 1;
  // 1 foreground, 0 background; seeds are fixed, the rest starts as background
  const labels = Int8Array.from(map, (v) => (v >= fgT ? 1 : 0));
  const fixed = Uint8Array.from(map, (v) => (v >= fgT || v < bgT ? 1 : 0));
  const cost = (g: { mean: number[]; variance: number[] }, p: number) => {
    let e = 0;
    for (let ch = 0; ch < c; ch++) e += 0.5 * ((image[ch * hw + p]! - g.mean[ch]!) ** 2 / g.variance[ch]! + Math.log(2 * Math.PI * g.variance[ch]!));
    return e;
  };
  for (let it = 0; it < (o.iterations ?? 5); it++) {
    const models = [fitGaussian(image, c, hw, labels, 0), fitGaussian(image, c, hw, labels, 1)];
    for (let p = 0; p < hw; p++) {
      if (fixed[p]) continue;
      const nbs = neighbours(p, h, w);
      const energy = (k: number) => cost(models[k]!, p) + smooth * nbs.filter((nb) => labels[nb] !== k).length;
      labels[p] = energy(1) < energy(0) ? 1 : 0;
    }
  }
  return Uint8Array.from(labels);
}

/**
 * Mask (0/1, [H * W]) from one saliency map [H, W]. 'grabcut' needs the image [C, H, W] (row-major
 * planes) whose colours it models.
 */
export function saliencyToMask(map: ArrayLike<number>, h: number, w: number, opts: SegmentationOptions = {}, image?: ArrayLike<number>): Uint8Array {
  if (map.length !== h * w) throw new Error(`glassbox.xai: a saliency map of ${map.length} values is not ${h}x${w}`);
  const method = opts.method ?? 'grabcut';
  switch (method) {
    case 'threshold':
      return thresholdMask(map, opts.percentile ?? 0.9);
    case 'region-growing':
      return regionGrowing(map, h, w, opts.percentile ?? 0.9, opts.seedPercentile ?? 0.98);
    case 'grabcut': {
      if (!image || image.length % (h * w) !== 0) throw new Error(`glassbox.xai: 'grabcut' segmentation needs the image [C, ${h}, ${w}] as well`);
      return grabCut(map, image, image.length / (h * w), h, w, opts);
    }
    default:
      throw new Error(`glassbox.xai: unknown segmentation method '${method as string}'; use 'threshold', 'region-growing' or 'grabcut'`);
  }
}

/** One mask per sample from saliency maps [N, 1, H, W] (and, for 'grabcut', the images [N, C, H, W]). */
export async function segmentSaliency(maps: Tensor, opts: SegmentationOptions = {}, images?: Tensor): Promise<Uint8Array[]> {
  if (maps.rank !== 4 || maps.shape[1] !== 1) throw new Error(`glassbox.xai: saliency maps must be [N, 1, H, W], got ${shapeStr(maps.shape)}`);
  const [n, , h, w] = maps.shape as [number, number, number, number];
  const m = await maps.toArray();
  const img = images ? await images.toArray() : undefined;
  const per = img ? img.length / n : 0;
  return Array.from({ length: n }, (_, i) => saliencyToMask(m.subarray(i * h * w, (i + 1) * h * w), h, w, opts, img?.subarray(i * per, (i + 1) * per)));
}

/** Intersection over union of two 0/1 masks of equal size (1 when both are empty). */
export function maskIoU(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`glassbox.xai: masks of ${a.length} and ${b.length} pixels`);
  let inter = 0;
  let union = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! > 0;
    const y = b[i]! > 0;
    if (x && y) inter++;
    if (x || y) union++;
  }
  return union === 0 ? 1 : inter / union;
}
