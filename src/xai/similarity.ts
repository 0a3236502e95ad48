/**
 * How alike two attribution maps are, the measures of the sanity checks (Adebayo et al. 2018,
 * "Sanity Checks for Saliency Maps", sec. 3): Spearman rank correlation of the maps with and
 * without absolute values, the structural similarity index (SSIM) and the similarity of their
 * histograms of oriented gradients (HOG). Maps are plain per-pixel arrays [H*W] (reduce a
 * [N, C, H, W] map with `mapScores` from metrics.ts first); everything here is CPU code on
 * arrays a few thousand long.
 */

/** Ranks 0..n-1 of `values`, ties sharing their average rank (as scipy's rankdata - 1). */
export function ranks(values: ArrayLike<number>): Float64Array {
  const order = Array.from({ length: values.length }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const out = new Float64Array(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start + 1;
    while (end < order.length && values[order[end]!] === values[order[start]!]) end++;
    const average = (start + end - 1) / 2;
    for (let k = start; k < end; k++) out[order[k]!] = average;
    start = end;
  }
  return out;
}

/** Pearson correlation; 0 when either side is constant (no linear relation can be measured). */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`glassbox.xai.similarity: maps of different sizes (${a.length} and ${b.length})`);
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) (ma += a[i]!), (mb += b[i]!);
  ma /= n;
  mb /= n;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    cov += da * db;
    va += da * da;
    vb += db * db;
  }
  return va > 0 && vb > 0 ? cov / Math.sqrt(va * vb) : 0;
}

/**
 * Spearman rank correlation of two maps. With `absolute`, of |a| and |b|: Adebayo et al. report
 * both, since a method whose sign flips under randomisation may still rank importance alike.
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>, opts: { absolute?: boolean } = {}): number {
  const prep = (m: ArrayLike<number>) => (opts.absolute ? Float64Array.from(m, Math.abs) : m);
  return pearson(ranks(prep(a)), ranks(prep(b)));
}

/** |map| scaled to [0, 1] by its maximum (all zeros stays all zeros): the common range for SSIM and HOG. */
export function unitRange(map: ArrayLike<number>): Float64Array {
  let max = 0;
  for (let i = 0; i < map.length; i++) max = Math.max(max, Math.abs(map[i]!));
  return Float64Array.from(map, (v) => (max > 0 ? Math.abs(v) / max : 0));
}

/** Gaussian-weighted local mean of a [h, w] image: a separable blur whose weights renormalise at the borders. */
function gaussianMean(img: Float64Array, h: number, w: number, sigma: number, radius: number): Float64Array {
  const k = Array.from({ length: 2 * radius + 1 }, (_, i) => Math.exp(-((i - radius) ** 2) / (2 * sigma * sigma)));
  const pass = (src: Float64Array, horizontal: boolean) => {
    const out = new Float64Array(h * w);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        let s = 0;
        let norm = 0;
        for (let d = -radius; d <= radius; d++) {
          const [yy, xx] = horizontal ? [y, x + d] : [y + d, x];
          if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
          s += k[d + radius]! * src[yy * w + xx]!;
          norm += k[d + radius]!;
        }
        out[y * w + x] = s / norm;
      }
    return out;
  };
  return pass(pass(img, true), false);
}

export interface SsimOptions {
  /** Width of the Gaussian window (default 1.5 pixels, with an 11x11 support: Wang et al. 2004, sec. III-C). */
  sigma?: number;
  /** Dynamic range L of the values (default 1: maps given in [0, 1], e.g. by `unitRange`). */
  dataRange?: number;
}

/**
 * Mean structural similarity of two [h, w] images (Wang, Bovik, Sheikh, Simoncelli 2004, eq. 13
 * with a Gaussian window; K1 = 0.01, K2 = 0.03). 1 for identical images.
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, h: number, w: number, opts: SsimOptions = {}): number {
  if (a.length !== h * w || b.length !== h * w) throw new Error(`glassbox.xai.ssim: maps of ${a.length} and ${b.length} values are not ${h}x${w}`);
  const sigma = opts.sigma ?? 1.5;
  const radius = Math.max(1, Math.round(3.5 * sigma) - 1); // 5 for sigma 1.5: the paper's 11x11 window
  const L = opts.dataRange ?? 1;
  const c1 = (0.01 * L) ** 2;
  const c2 = (0.03 * L) ** 2;
  const x = Float64Array.from(a);
  const y = Float64Array.from(b);
  const blur = (img: Float64Array) => gaussianMean(img, h, w, sigma, radius);
  const product = (p: Float64Array, q: Float64Array) => p.map((v, i) => v * q[i]!);
  const [mx, my] = [blur(x), blur(y)];
  const [exx, eyy, exy] = [blur(product(x, x)), blur(product(y, y)), blur(product(x, y))];
  let total = 0;
  for (let i = 0; i < h * w; i++) {
    const vx = exx[i]! - mx[i]! ** 2;
    const vy = eyy[i]! - my[i]! ** 2;
    const cxy = exy[i]! - mx[i]! * my[i]!;
    total += ((2 * mx[i]! * my[i]! + c1) * (2 * cxy + c2)) / ((mx[i]! ** 2 + my[i]! ** 2 + c1) * (vx + vy + c2));
  }
  return total / (h * w);
}

export interface HogOptions {
  /** Cell side in pixels (default 4: 7x7 cells on MNIST's 28x28). */
  cell?: number;
  /** Orientation bins over 0..180 degrees (default 9, Dalal & Triggs 2005). */
  bins?: number;
}

/**
 * Histograms of oriented gradients (Dalal & Triggs 2005): central-difference gradients, each
 * pixel voting its magnitude into the unsigned-orientation bin of its cell (linearly split between
 * the two nearest bins), then each 2x2 block of cells L2-normalised. Returns the concatenated
 * block vectors.
 */
export function hog(img: ArrayLike<number>, h: number, w: number, opts: HogOptions = {}): Float64Array {
  const cell = opts.cell ?? 4;
  const bins = opts.bins ?? 9;
  const [cy, cx] = [Math.floor(h / cell), Math.floor(w / cell)];
  if (cy < 2 || cx < 2) throw new Error(`glassbox.xai.hog: a ${h}x${w} image has fewer than 2x2 cells of ${cell} pixels; use a smaller cell`);
  const at = (y: number, x: number) => img[Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))]!;
  const hist = new Float64Array(cy * cx * bins);
  for (let y = 0; y < cy * cell; y++)
    for (let x = 0; x < cx * cell; x++) {
      const gx = at(y, x + 1) - at(y, x - 1);
      const gy = at(y + 1, x) - at(y - 1, x);
      const magnitude = Math.hypot(gx, gy);
      if (magnitude === 0) continue;
      const angle = ((Math.atan2(gy, gx) * 180) / Math.PI + 180) % 180; // unsigned orientation
      const pos = angle / (180 / bins) - 0.5;
      const lo = Math.floor(pos);
      const frac = pos - lo;
      const base = (Math.floor(y / cell) * cx + Math.floor(x / cell)) * bins;
      hist[base + ((lo + bins) % bins)]! += magnitude * (1 - frac);
      hist[base + ((lo + 1) % bins)]! += magnitude * frac;
    }
  const blockSize = 4 * bins;
  const out = new Float64Array((cy - 1) * (cx - 1) * blockSize);
  for (let by = 0; by < cy - 1; by++)
    for (let bx = 0; bx < cx - 1; bx++) {
      const offset = (by * (cx - 1) + bx) * blockSize;
      let norm = 1e-12;
      [0, 1].forEach((dy) => [0, 1].forEach((dx, j) => {
        for (let b = 0; b < bins; b++) {
          const v = hist[((by + dy) * cx + bx + dx) * bins + b]!;
          out[offset + (dy * 2 + j) * bins + b] = v;
          norm += v * v;
        }
      }));
      for (let k = 0; k < blockSize; k++) out[offset + k]! /= Math.sqrt(norm);
    }
  return out;
}

/** Pearson correlation of the HOG features of two [h, w] maps (Adebayo et al.'s "HOGs similarity"). */
export function hogSimilarity(a: ArrayLike<number>, b: ArrayLike<number>, h: number, w: number, opts: HogOptions = {}): number {
  return pearson(hog(a, h, w, opts), hog(b, h, w, opts));
}

export interface MapSimilarity {
  spearman: number;
  spearmanAbs: number;
  ssim: number;
  hog: number;
}

/** Every similarity measure of the sanity checks between two [h, w] maps; SSIM and HOG compare the maps' |.| scaled to [0, 1]. */
export function mapSimilarity(a: ArrayLike<number>, b: ArrayLike<number>, h: number, w: number): MapSimilarity {
  const [ua, ub] = [unitRange(a), unitRange(b)];
  return { spearman: spearman(a, b), spearmanAbs: spearman(a, b, { absolute: true }), ssim: ssim(ua, ub, h, w), hog: hogSimilarity(ua, ub, h, w) };
}
