/**
 * Image operations the corruptions (corruptions.ts) are built from, all on [N, C, H, W] pixel
 * tensors in [0, 1] and all running on the GPU: border-padded filtering (Gaussian, disk, Sobel)
 * as conv2d, warps as affineGrid + gridSample, PIL's BOX resampling as two matmuls, and the
 * scipy/OpenCV/skimage edge rules named where each differs. Per-image random scalars (angles,
 * signs, line end points) come from a small seeded generator on the CPU; per-pixel noise comes
 * from the engine's seeded rand/randn on the GPU.
 */
import * as gb from '../../index.ts';
import type { Tensor } from '../../tensor/tensor.ts';

/** Mulberry32: a tiny seeded generator for per-image scalars (one draw per image, not per pixel). */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = (seed ^ 0x9e3779b9) >>> 0;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }
  /** Integer in [low, high) as numpy's randint. */
  int(low: number, high: number): number {
    return low + Math.floor(this.next() * (high - low));
  }
  sign(): 1 | -1 {
    return this.next() < 0.5 ? -1 : 1;
  }
}

type EdgeMode = 'replicate' | 'reflect101' | 'zeros';

/** Index of source row/column for a padded position (OpenCV's BORDER_REPLICATE / BORDER_REFLECT_101). */
function edgeIndex(i: number, n: number, mode: EdgeMode): number {
  if (mode === 'replicate' || n === 1) return Math.min(n - 1, Math.max(0, i));
  const period = 2 * (n - 1);
  const m = ((i % period) + period) % period;
  return m < n ? m : period - m;
}

/** Pads H by py and W by px on each side, repeating (replicate) or mirroring (reflect101) the edge. */
export function padEdges(x: Tensor, py: number, px: number, mode: EdgeMode): Tensor {
  if (mode === 'zeros') return gb.pad(x, [px, px, py, py]);
  const [h, w] = [x.shape[2]!, x.shape[3]!];
  const rows = gb.tensor(Int32Array.from({ length: h + 2 * py }, (_, i) => edgeIndex(i - py, h, mode)), [h + 2 * py], { dtype: 'int32' });
  const cols = gb.tensor(Int32Array.from({ length: w + 2 * px }, (_, i) => edgeIndex(i - px, w, mode)), [w + 2 * px], { dtype: 'int32' });
  return gb.indexSelect(gb.indexSelect(x, 2, rows), 3, cols);
}

/** Correlates every channel of x with one 2-D kernel [kh, kw] (odd sizes), output the size of x. */
export function filter2d(x: Tensor, kernel: Float32Array | number[], kh: number, kw: number, mode: EdgeMode): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const flat = gb.reshape(x, [n * c, 1, h, w]);
  const padded = padEdges(flat, (kh - 1) / 2, (kw - 1) / 2, mode);
  const out = gb.conv2d(padded, gb.tensor(Float32Array.from(kernel), [1, 1, kh, kw]));
  return gb.reshape(out, [n, c, h, w]);
}

/** scipy.ndimage's sampled Gaussian (truncate * sigma each side), normalised to sum 1. */
export function gaussianTaps(sigma: number, truncate = 4): number[] {
  const r = Math.max(1, Math.round(truncate * sigma));
  const taps = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const total = taps.reduce((a, b) => a + b, 0);
  return taps.map((t) => t / total);
}

/**
 * The [n, n] matrix of a 1-D correlation with `taps` (odd length) along an axis of length n,
 * the edge rule folded in: applying it is one small matmul, far cheaper here than a long conv.
 */
export function correlationMatrix(n: number, taps: readonly number[], mode: EdgeMode): Float32Array {
  const r = (taps.length - 1) / 2;
  const m = new Float32Array(n * n);
  for (let o = 0; o < n; o++)
    for (let k = 0; k < taps.length; k++) {
      const i = o + k - r;
      if (mode === 'zeros' && (i < 0 || i >= n)) continue;
      m[o * n + edgeIndex(i, n, mode)] += taps[k]!;
    }
  return m;
}

/** y = R x C^T per channel of [N, C, H, W]: rows [oh, H] and columns [ow, W] as 2-D matmuls. */
export function applySeparable(x: Tensor, rows: Tensor, cols: Tensor): Tensor {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [oh, ow] = [rows.shape[0]!, cols.shape[0]!];
  const byCols = gb.reshape(gb.matmul(gb.reshape(x, [n * c * h, w]), gb.transpose(cols, 0, 1)), [n, c, h, ow]);
  const turned = gb.reshape(gb.contiguous(gb.transpose(byCols, 2, 3)), [n * c * ow, h]);
  const byRows = gb.reshape(gb.matmul(turned, gb.transpose(rows, 0, 1)), [n, c, ow, oh]);
  return gb.contiguous(gb.transpose(byRows, 2, 3));
}

/** skimage.filters.gaussian (separable, edges repeated as its default mode 'nearest'); sigma 0 is the identity. */
export function gaussianBlur(x: Tensor, sigma: number, opts: { truncate?: number; mode?: EdgeMode } = {}): Tensor {
  if (sigma <= 0) return gb.add(x, 0);
  const taps = gaussianTaps(sigma, opts.truncate);
  const mode = opts.mode ?? 'replicate';
  const [h, w] = [x.shape[2]!, x.shape[3]!];
  return applySeparable(x, gb.tensor(correlationMatrix(h, taps, mode), [h, h]), gb.tensor(correlationMatrix(w, taps, mode), [w, w]));
}

/**
 * The corruptions' defocus kernel: a disk of `radius` on a 17 x 17 grid (radius <= 8), normalised,
 * then smoothed by OpenCV's 3 x 3 Gaussian of sigma aliasBlur (BORDER_REFLECT_101).
 */
export function diskKernel(radius: number, aliasBlur: number): { taps: Float32Array; size: number } {
  const r = radius <= 8 ? 8 : Math.ceil(radius);
  const size = 2 * r + 1;
  const disk = new Float64Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) disk[y * size + x] = (x - r) ** 2 + (y - r) ** 2 <= radius * radius ? 1 : 0;
  const total = disk.reduce((a, b) => a + b, 0);
  // OpenCV's 3-tap Gaussian for a given sigma: exp(-d^2 / 2 sigma^2) for d = -1, 0, 1, normalised
  const g = [-1, 0, 1].map((d) => Math.exp(-(d * d) / (2 * aliasBlur * aliasBlur)));
  const gs = g[0]! + g[1]! + g[2]!;
  const taps = new Float32Array(size * size);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      let v = 0;
      for (let dy = -1; dy <= 1; dy++)
        for (let dx = -1; dx <= 1; dx++) v += (g[dy + 1]! / gs) * (g[dx + 1]! / gs) * disk[edgeIndex(y + dy, size, 'reflect101') * size + edgeIndex(x + dx, size, 'reflect101')]!;
      taps[y * size + x] = v / total;
    }
  return { taps, size };
}

export interface PixelAffine {
  /** Row-major 2 x 2 linear part acting on (x, y) pixel coordinates (pixel centres at integers). */
  a: [number, number, number, number];
  /** Translation in pixels. */
  b: [number, number];
}

/**
 * Warps each image by its own map: output pixel p reads the input at a p + b (skimage's
 * warp(inverse_map=...) convention), bilinear or nearest, outside points reading zero or the edge.
 * Pixel coordinates are converted to gridSample's normalised ones (alignCorners false).
 */
export function warpAffine(x: Tensor, maps: readonly PixelAffine[], opts: { mode?: 'bilinear' | 'nearest'; padding?: 'zeros' | 'border' } = {}): Tensor {
  const [n, , h, w] = x.shape as [number, number, number, number];
  if (maps.length !== n) throw new Error(`glassbox.warpAffine: ${maps.length} maps for ${n} images; give one per image`);
  // x_pixel = s * u + o with s = W / 2, o = (W - 1) / 2 (per axis); theta = S^-1 A S, t = S^-1 (A o + b - o)
  const [sx, sy, ox, oy] = [w / 2, h / 2, (w - 1) / 2, (h - 1) / 2];
  const theta = new Float32Array(n * 6);
  maps.forEach(({ a, b }, i) => {
    theta.set([a[0], (a[1] * sy) / sx, (a[0] * ox + a[1] * oy + b[0] - ox) / sx, (a[2] * sx) / sy, a[3], (a[2] * ox + a[3] * oy + b[1] - oy) / sy], i * 6);
  });
  const grid = gb.affineGrid(gb.tensor(theta, [n, 2, 3]), x.shape);
  return gb.gridSample(x, grid, { mode: opts.mode ?? 'bilinear', paddingMode: opts.padding ?? 'zeros' });
}

/** A map about the image centre ((W - 1) / 2, (H - 1) / 2): p -> a (p - centre) + centre. */
export function aboutCentre(a: PixelAffine['a'], h: number, w: number): PixelAffine {
  const [cx, cy] = [(w - 1) / 2, (h - 1) / 2];
  return { a, b: [cx - (a[0] * cx + a[1] * cy), cy - (a[2] * cx + a[3] * cy)] };
}

/** Samples each image at p + (dx, dy)[p] (displacement fields [N, 1, H, W] in pixels), bilinear, edge-padded. */
export function displace(x: Tensor, dx: Tensor, dy: Tensor): Tensor {
  const [n, , h, w] = x.shape as [number, number, number, number];
  const identity = gb.affineGrid(gb.tensor(Float32Array.from({ length: n * 6 }, (_, i) => [1, 0, 0, 0, 1, 0][i % 6]!), [n, 2, 3]), x.shape);
  const shift = gb.stack([gb.mul(gb.reshape(dx, [n, h, w]), 2 / w), gb.mul(gb.reshape(dy, [n, h, w]), 2 / h)], 3);
  return gb.gridSample(x, gb.add(identity, shift), { paddingMode: 'border' });
}

/**
 * ImageMagick's -motion-blur: a one-sided Gaussian (weights exp(-i^2 / 2 sigma^2), i = 0 .. 2 radius)
 * along each image's angle (degrees), taps at whole-pixel offsets, edges repeated.
 */
export function motionBlur(x: Tensor, radius: number, sigma: number, anglesDeg: readonly number[]): Tensor {
  const n = x.shape[0]!;
  const width = 2 * Math.ceil(radius) + 1;
  const weights = Array.from({ length: width }, (_, i) => Math.exp(-(i * i) / (2 * sigma * sigma)));
  const total = weights.reduce((a, b) => a + b, 0);
  let out: Tensor | undefined;
  for (let i = 0; i < width; i++) {
    const maps = Array.from({ length: n }, (_, k): PixelAffine => {
      const t = (anglesDeg[k]! * Math.PI) / 180;
      return { a: [1, 0, 0, 1], b: [Math.round(i * Math.cos(t)), Math.round(i * Math.sin(t))] };
    });
    const tap = gb.mul(warpAffine(x, maps, { mode: 'nearest', padding: 'border' }), weights[i]! / total);
    out = out ? gb.add(out, tap) : tap;
  }
  return out!;
}

/** Zoom about the centre by `factor` (> 1 enlarges), bilinear: scipy's clipped_zoom without its crop rounding. */
export function zoom(x: Tensor, factor: number): Tensor {
  const [n, , h, w] = x.shape as [number, number, number, number];
  return warpAffine(x, Array.from({ length: n }, () => aboutCentre([1 / factor, 0, 0, 1 / factor], h, w)), { padding: 'border' });
}

/** [out, in] matrix of PIL's BOX resampling (each output pixel the plain mean of the input pixels whose centres its box covers). */
export function boxResampleMatrix(inSize: number, outSize: number): Tensor {
  const scale = inSize / outSize;
  const support = Math.max(scale, 1) / 2;
  const m = new Float32Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) {
    const centre = (o + 0.5) * scale;
    const lo = Math.max(0, Math.trunc(centre - support + 0.5));
    const hi = Math.min(inSize, Math.trunc(centre + support + 0.5));
    for (let i = lo; i < hi; i++) m[o * inSize + i] = 1 / (hi - lo);
  }
  return gb.tensor(m, [outSize, inSize]);
}

/** Resizes H x W to oh x ow with PIL's BOX filter (rows then columns: two matmuls). */
export function boxResize(x: Tensor, oh: number, ow: number): Tensor {
  return applySeparable(x, boxResampleMatrix(x.shape[2]!, oh), boxResampleMatrix(x.shape[3]!, ow));
}

/** Rounds to the 256 levels of an 8-bit image (the references pass through uint8 between steps). */
export const toUint8Levels = (x: Tensor): Tensor => gb.div(gb.round(gb.mul(gb.clamp(x, { min: 0, max: 1 }), 255)), 255);

/**
 * The diamond-square plasma fractal of the references (mapsize a power of two, decay of the random
 * amplitude per level `wibbleDecay`), in [0, 1]. Sequential by nature, so drawn on the CPU.
 */
export function plasmaFractal(rng: Rng, mapsize: number, wibbleDecay: number): Float32Array {
  const m = new Float64Array(mapsize * mapsize);
  const mask = mapsize - 1; // a power of two: wrap-around by bit mask
  const at = (r: number, c: number) => ((r & mask) << Math.log2(mapsize)) | (c & mask);
  let step = mapsize;
  let wibble = 100;
  while (step >= 2) {
    const half = step / 2;
    // squares: centre = mean of the four corners + noise of amplitude wibble^2
    for (let r = 0; r < mapsize; r += step)
      for (let c = 0; c < mapsize; c += step)
        m[at(r + half, c + half)] = (m[at(r, c)]! + m[at(r + step, c)]! + m[at(r, c + step)]! + m[at(r + step, c + step)]!) / 4 + wibble * (2 * rng.next() - 1) * wibble;
    // diamonds: edge midpoints from their two corners and the two square centres beside them
    for (let r = 0; r < mapsize; r += step)
      for (let c = 0; c < mapsize; c += step) {
        m[at(r, c + half)] = (m[at(r + half, c + half)]! + m[at(r - half, c + half)]! + m[at(r, c)]! + m[at(r, c + step)]!) / 4 + wibble * (2 * rng.next() - 1) * wibble;
        m[at(r + half, c)] = (m[at(r + half, c + half)]! + m[at(r + half, c - half)]! + m[at(r, c)]! + m[at(r + step, c)]!) / 4 + wibble * (2 * rng.next() - 1) * wibble;
      }
    step = half;
    wibble /= wibbleDecay;
  }
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < m.length; i++) {
    if (m[i]! < lo) lo = m[i]!;
    if (m[i]! > hi) hi = m[i]!;
  }
  const out = new Float32Array(m.length);
  for (let i = 0; i < m.length; i++) out[i] = (m[i]! - lo) / (hi - lo || 1);
  return out;
}

/** Plasma fractals cropped to h x w, one per image, as [N, 1, H, W]. */
export function plasmaLayer(rng: Rng, n: number, h: number, w: number, mapsize: number, wibbleDecay: number): Tensor {
  const size = Math.max(mapsize, 2 ** Math.ceil(Math.log2(Math.max(h, w))));
  const out = new Float32Array(n * h * w);
  for (let k = 0; k < n; k++) {
    const map = plasmaFractal(rng, size, wibbleDecay);
    for (let r = 0; r < h; r++) out.set(map.subarray(r * size, r * size + w), (k * h + r) * w);
  }
  return gb.tensor(out, [n, 1, h, w]);
}
