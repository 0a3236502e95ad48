/**
 * Network dissection (Bau, Zhou et al. 2017): each unit's activation map, upsampled (bilinear) to
 * the image, is thresholded at the unit's top-quantile value over the whole data set, and the
 * region above it is scored against each concept's pixel masks by IoU, summed over the data set:
 *
 *   IoU(u, c) = sum_i |M_u(i) ∩ L_c(i)| / sum_i |M_u(i) ∪ L_c(i)|,   M_u(i) = {up(A_u(i)) > T_u}.
 *
 * T_u is the K-th largest value of the unit's map (at the layer's own resolution, as NetDissect
 * computes it) over all N images and h x w positions, K = ceil(q N h w): q = 0.005 in NetDissect,
 * 0.01 in Bau et al.'s later dissect code. A unit is interpretable for its best concept when that
 * IoU exceeds a threshold (0.04 in NetDissect).
 *
 * One pass over the data set does it all, exactly (`DissectionTally`, beside ImageMaxTally in the
 * same unitPass). A min-heap of each unit's K largest values gives T_u at the end; meanwhile its
 * smallest entry T_run only grows towards T_u. A bilinear pixel is a convex mix of the 2 x 2 cells
 * around it, so it can exceed T_u only next to a cell above T_u; the pass therefore keeps, of each
 * image, only the cells above T_run and their 8 neighbours (nothing from images whose maximum is
 * not above T_run), and drops what falls below T_run as it rises. At the end it upsamples just
 * those cells with the final T_u. Images it dropped have empty regions: they add only their
 * concept pixels to the union.
 */
import { Conv2d } from '../../nn/conv-layers.ts';
import { ReLU } from '../../nn/layers.ts';
import type { Module } from '../../nn/module.ts';
import type { Normalization } from '../../data/normalization.ts';
import { slice } from '../../tensor/ops/views.ts';
import type { NumericArray, Tensor } from '../../tensor/tensor.ts';
import type { ConceptSet } from './concepts.ts';
import { unitDetectors, PRECISION_KS, RECALLS, type UnitDetector } from './detectors.ts';
import { ImageMaxTally, unitPass, type UnitTally } from './statistics.ts';

/** NetDissect's settings, and the later dissect code's quantile. */
export const NETDISSECT_QUANTILE = 0.005;
export const DISSECT_QUANTILE = 0.01;
export const NETDISSECT_IOU = 0.04;

/** A min-heap of fixed capacity over float values: after all pushes, its top is the capacity-th largest value. */
class TopValues {
  private readonly heap: Float32Array;
  size = 0;
  constructor(readonly capacity: number) {
    this.heap = new Float32Array(capacity);
  }
  /** The smallest kept value once full (the running K-th largest), else -Infinity. */
  get floor(): number {
    return this.size === this.capacity ? this.heap[0]! : -Infinity;
  }
  push(v: number): void {
    const h = this.heap;
    if (this.size < this.capacity) {
      let i = this.size++;
      while (i > 0) {
        const parent = (i - 1) >> 1;
        if (h[parent]! <= v) break;
        h[i] = h[parent]!;
        i = parent;
      }
      h[i] = v;
      return;
    }
    if (!(v > h[0]!)) return;
    let i = 0;
    const n = this.size;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && h[r]! < h[l]! ? r : l;
      if (h[c]! >= v) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = Math.fround(v);
  }
}

/** Bilinear upsampling along one axis as PyTorch does it (align_corners false): output o mixes cells i0 and i1 with weights 1 - t and t. */
export function bilinearAxis(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; t: Float64Array; influenced: number[][] } {
  const scale = Math.fround(inSize / outSize);
  const i0 = new Int32Array(outSize), i1 = new Int32Array(outSize), t = new Float64Array(outSize);
  const influenced: number[][] = Array.from({ length: inSize }, () => []);
  for (let o = 0; o < outSize; o++) {
    const src = Math.max(scale * (o + 0.5) - 0.5, 0);
    i0[o] = Math.min(Math.floor(src), inSize - 1);
    i1[o] = Math.min(i0[o]! + 1, inSize - 1);
    t[o] = src - i0[o]!;
    influenced[i0[o]!]!.push(o);
    if (i1[o] !== i0[o]) influenced[i1[o]!]!.push(o);
  }
  return { i0, i1, t, influenced };
}

interface Candidate {
  image: number;
  max: number;
  cells: Int32Array;
  values: Float32Array;
}

export interface UnitIou {
  /** T_u, the unit's top-quantile value. */
  threshold: number;
  /** sum_i |M_u(i)|: pixels above the threshold after upsampling, over the data set. */
  regionPixels: number;
  /** IoU with each concept, in the concept set's order. */
  iou: number[];
}

/** The one-pass dissection tally of a layer (see the file comment); `result()` after the pass. */
export class DissectionTally implements UnitTally {
  readonly quantile: number;
  private heaps: TopValues[] = [];
  private candidates: Candidate[][] = [];
  private shape: number[] = [];
  private seen = 0;

  constructor(
    private readonly concepts: ConceptSet,
    opts: { quantile?: number } = {},
  ) {
    this.quantile = opts.quantile ?? NETDISSECT_QUANTILE;
    if (!(this.quantile > 0 && this.quantile < 1)) throw new Error(`glassbox.xai.units: the dissection quantile must be in (0, 1), e.g. 0.005 (NetDissect) or 0.01, got ${this.quantile}`);
  }

  reduce(activation: Tensor): Tensor[] {
    return [activation];
  }

  absorb([values]: NumericArray[], firstImage: number, shape: readonly number[]): void {
    const [b, C, h, w] = shape as [number, number, number, number];
    const hw = h * w;
    if (this.heaps.length === 0) {
      const k = Math.ceil(this.quantile * this.concepts.images * hw);
      this.heaps = Array.from({ length: C }, () => new TopValues(k));
      this.candidates = Array.from({ length: C }, () => []);
      this.shape = [C, h, w];
    }
    if (firstImage !== this.seen) throw new Error(`glassbox.xai.units: DissectionTally needs the batches in order; got image ${firstImage} after ${this.seen}`);
    this.seen += b;
    if (this.seen > this.concepts.images) throw new Error(`glassbox.xai.units: the pass has ${this.seen} images but the concept set only ${this.concepts.images}`);
    const near = new Uint8Array(hw);
    for (let i = 0; i < b; i++)
      for (let u = 0; u < C; u++) {
        const base = (i * C + u) * hw;
        const heap = this.heaps[u]!;
        let max = -Infinity;
        for (let p = 0; p < hw; p++) {
          const v = values![base + p]!;
          if (Number.isNaN(v)) throw new Error(`glassbox.xai.units: the activation of channel ${u} on image ${firstImage + i} is NaN`);
          if (v > max) max = v;
          heap.push(v);
        }
        const floor = heap.floor;
        if (!(max > floor)) continue;
        // keep the cells above the running floor and their neighbours
        const kept: number[] = [];
        for (let p = 0; p < hw; p++) {
          if (!(values![base + p]! > floor)) continue;
          const y = Math.floor(p / w), x = p % w;
          for (let yy = Math.max(0, y - 1); yy <= Math.min(h - 1, y + 1); yy++)
            for (let xx = Math.max(0, x - 1); xx <= Math.min(w - 1, x + 1); xx++) {
              const q = yy * w + xx;
              if (!near[q]) {
                near[q] = 1;
                kept.push(q);
              }
            }
        }
        const cells = Int32Array.from(kept);
        cells.forEach((q) => (near[q] = 0));
        this.candidates[u]!.push({ image: firstImage + i, max, cells, values: Float32Array.from(cells, (q) => values![base + q]!) });
      }
    // what the risen floors rule out
    this.candidates = this.candidates.map((list, u) => {
      const floor = this.heaps[u]!.floor;
      return list.filter((c) => c.max > floor);
    });
  }

  /** Thresholds and IoUs per unit; the pass must have covered every image of the concept set. */
  result(): UnitIou[] {
    const { images: N, height: H, width: W } = this.concepts;
    if (this.seen !== N) throw new Error(`glassbox.xai.units: the pass covered ${this.seen} images but the concept set has ${N}`);
    const [C, h, w] = this.shape as [number, number, number];
    const K = this.concepts.names.length;
    const conceptPixels = new Float64Array(K);
    for (let i = 0; i < N; i++) for (const { concept, mask } of this.concepts.masks(i)) for (let p = 0; p < mask.length; p++) conceptPixels[concept] += mask[p]!;
    const ay = bilinearAxis(h, H), ax = bilinearAxis(w, W);
    const map = new Float32Array(h * w);
    const visited = new Uint8Array(H * W);
    const out: UnitIou[] = [];
    for (let u = 0; u < C; u++) {
      const T = this.heaps[u]!.floor;
      const inter = new Float64Array(K);
      let regionPixels = 0;
      for (const cand of this.candidates[u]!) {
        if (!(cand.max > T)) continue;
        cand.cells.forEach((q, j) => (map[q] = cand.values[j]!));
        const touched: number[] = [];
        const region: number[] = [];
        cand.cells.forEach((q, j) => {
          if (!(cand.values[j]! > T)) return;
          for (const oy of ay.influenced[Math.floor(q / w)]!)
            for (const ox of ax.influenced[q % w]!) {
              const p = oy * W + ox;
              if (visited[p]) continue;
              visited[p] = 1;
              touched.push(p);
              const ty = ay.t[oy]!, tx = ax.t[ox]!;
              const r0 = ay.i0[oy]! * w, r1 = ay.i1[oy]! * w, c0 = ax.i0[ox]!, c1 = ax.i1[ox]!;
              const v = (1 - ty) * ((1 - tx) * map[r0 + c0]! + tx * map[r0 + c1]!) + ty * ((1 - tx) * map[r1 + c0]! + tx * map[r1 + c1]!);
              if (v > T) region.push(p);
            }
        });
        regionPixels += region.length;
        for (const { concept, mask } of this.concepts.masks(cand.image)) {
          let s = 0;
          for (const p of region) s += mask[p]!;
          inter[concept] += s;
        }
        touched.forEach((p) => (visited[p] = 0));
        cand.cells.forEach((q) => (map[q] = 0));
      }
      out.push({ threshold: T, regionPixels, iou: Array.from(inter, (x, k) => (x === 0 ? 0 : x / (regionPixels + conceptPixels[k]! - x))) });
    }
    return out;
  }
}

/** Interpretable units at an IoU threshold: a unit counts for its best concept when that IoU exceeds it. */
export function interpretableUnits(units: readonly UnitIou[], iouThreshold: number): { units: number[]; concepts: number[] } {
  const picked = units.map((u, i) => ({ i, k: bestConcept(u) })).filter(({ i, k }) => units[i]!.iou[k]! > iouThreshold);
  return { units: picked.map((p) => p.i), concepts: [...new Set(picked.map((p) => p.k))].sort((a, b) => a - b) };
}

/** The concept of a unit's highest IoU (the first on ties). */
export function bestConcept(u: UnitIou): number {
  return u.iou.reduce((best, v, k) => (v > u.iou[best]! ? k : best), 0);
}

/** The IoU thresholds of the curves: 0 to 0.30 in steps of 0.01. */
export const IOU_CURVE = Array.from({ length: 31 }, (_, i) => i / 100);

/** How many units are interpretable at each threshold of `thresholds`. */
export function interpretableCurve(units: readonly UnitIou[], thresholds: readonly number[] = IOU_CURVE): number[] {
  return thresholds.map((t) => interpretableUnits(units, t).units.length);
}

export interface DissectOptions {
  /** The layers dissected, as nn.summary paths (default: the ReLU after each Conv2d, see convUnitLayers). */
  layers?: string[];
  quantile?: number;
  iouThreshold?: number;
  ks?: readonly number[];
  recalls?: readonly number[];
  batchSize?: number;
  normalization?: Normalization;
  onProgress?: (layer: string, done: number, total: number) => void;
  /** Images per tensor the source makes at a time (default 4096: 50 MB of 56x56 images, under a device's 128 MiB binding limit). */
  chunk?: number;
}

/** A data set handed over in chunks: `chunk(start, end)` makes the tensor [end - start, C, H, W] of those images (disposed after use). */
export interface ImageSource {
  count: number;
  height: number;
  width: number;
  chunk(start: number, end: number): Tensor;
}

function tensorSource(images: Tensor): ImageSource {
  if (images.rank !== 4) throw new Error(`glassbox.xai.units: images must be [N, C, H, W], got [${images.shape.join(', ')}]`);
  const [count, , height, width] = images.shape as [number, number, number, number];
  return { count, height, width, chunk: (start, end) => (start === 0 && end === count ? images : slice(images, 0, { start, end })) };
}

export interface LayerDissection {
  layer: string;
  /** The layer's map [C, h, w]. */
  shape: [number, number, number];
  seconds: number;
  /** Per unit: the detector scores (E3) and the dissection IoUs (E4). */
  detectors: UnitDetector[];
  iou: UnitIou[];
  /** [N * C] per-image maxima and their positions (for the top images). */
  scores: Float32Array;
  positions: Int32Array;
  interpretable: { units: number[]; concepts: number[] };
  curve: number[];
}

/** The layers whose units are dissected by default: each Conv2d's following ReLU (NetDissect reads rectified maps), else the conv itself. */
export function convUnitLayers(model: Module): string[] {
  const modules = model.namedModules().filter(([name]) => name !== '');
  const out: string[] = [];
  modules.forEach(([name, m], i) => {
    if (!(m instanceof Conv2d)) return;
    const next = modules[i + 1];
    out.push(next && next[1] instanceof ReLU ? next[0] : name);
  });
  return out;
}

/**
 * Dissection and detector scores of every unit of the given layers over a data set with concept
 * masks: one unitPass per layer, feeding the per-image maxima (precision@K, alignment) and the
 * dissection tally (quantiles, IoU) together.
 *
 *   const d = new UnitDissection(model, { layers: ['features.7'], normalization });
 *   const [conv3] = await d.dissect(images, digitConcepts(data));
 */
export class UnitDissection {
  constructor(
    readonly model: Module,
    readonly opts: DissectOptions & { layers: string[] },
  ) {
    if (opts.layers.length === 0) throw new Error('glassbox.xai.units: UnitDissection needs at least one layer');
  }

  /** `images` [N, C, H, W] in [0, 1] pixels, or an ImageSource for a data set too large for one tensor. */
  async dissect(images: Tensor | ImageSource, concepts: ConceptSet): Promise<LayerDissection[]> {
    const source = 'count' in images ? images : tensorSource(images);
    const [H, W] = [source.height, source.width];
    const n = source.count;
    if (n !== concepts.images || H !== concepts.height || W !== concepts.width)
      throw new Error(`glassbox.xai.units: the ${n} images of ${H}x${W} and the concept masks (${concepts.images} of ${concepts.height}x${concepts.width}) do not match`);
    const chunk = this.opts.chunk ?? 4096;
    const out: LayerDissection[] = [];
    for (const layer of this.opts.layers) {
      const started = performance.now();
      const maxima = new ImageMaxTally();
      const dissection = new DissectionTally(concepts, { quantile: this.opts.quantile });
      for (let start = 0; start < n; start += chunk) {
        const end = Math.min(n, start + chunk);
        const part = source.chunk(start, end);
        try {
          await unitPass(this.model, part, { layer, firstImage: start, batchSize: this.opts.batchSize, normalization: this.opts.normalization, onProgress: (d) => this.opts.onProgress?.(layer, start + d, n) }, [maxima, dissection]);
        } finally {
          if (part !== images) part.dispose();
        }
      }
      const { channels, height, width } = maxima.shape;
      const scores = maxima.values();
      const positions = maxima.positions();
      const detectors = unitDetectors({ scores, positions, channels, map: [height, width], image: [H, W], present: concepts.present, concepts: concepts.names.length, boxContains: concepts.boxContains }, this.opts.ks ?? PRECISION_KS, this.opts.recalls ?? RECALLS);
      const iou = dissection.result();
      out.push({
        layer,
        shape: [channels, height, width],
        seconds: (performance.now() - started) / 1000,
        detectors,
        iou,
        scores,
        positions,
        interpretable: interpretableUnits(iou, this.opts.iouThreshold ?? NETDISSECT_IOU),
        curve: interpretableCurve(iou),
      });
    }
    return out;
  }
}
