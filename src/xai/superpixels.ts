/**
 * Superpixels: the interpretable features of LIME and KernelSHAP on images. SLIC (Achanta et
 * al. 2012, "SLIC superpixels compared to state-of-the-art superpixel methods") and a plain
 * grid. Plain TypeScript on the CPU: images here are at most a few thousand pixels.
 *
 * SLIC is k-means on the 5-vector (colour, x, y) with two changes that make it fast and
 * compact: centres start on a regular grid of step S = sqrt(HW / k) (nudged to the lowest
 * gradient in their 3x3 neighbourhood, so none sits on an edge), and each centre only looks
 * at pixels within 2S x 2S of itself. The distance (paper eq. 3) is
 *   D = sqrt(d_c^2 + (d_s / S)^2 m^2),
 * d_c the colour distance, d_s the spatial one, m the compactness. Colour is CIELAB for 3
 * channels and the intensity scaled to 0..100 (the range of L*) otherwise, after the image is
 * rescaled to [0, 1] by its own min and max, so the input's normalisation does not matter and
 * m has the meaning it has in the paper and in scikit-image (default 10). k-means does not
 * keep clusters connected, so afterwards every connected piece becomes a segment of its own
 * and pieces under a quarter of the average size merge into the neighbour they share the
 * longest border with (the paper's post-processing step).
 */

export interface Segmentation {
  /** Segment index of every pixel, row-major [H * W], in 0..count-1. */
  labels: Int32Array;
  count: number;
  height: number;
  width: number;
}

export type SuperpixelAlgorithm =
  | { method: 'slic'; nSegments: number; compactness?: number; iterations?: number }
  | { method: 'grid'; rows: number; cols: number };

/** One image's pixels, CHW, any value range. */
export interface ImagePixels {
  data: ArrayLike<number>;
  channels: number;
  height: number;
  width: number;
}

export function segmentImage(image: ImagePixels, opts: SuperpixelAlgorithm): Segmentation {
  if (opts.method === 'grid') return gridSegments(image.height, image.width, opts.rows, opts.cols);
  return slic(image, opts.nSegments, opts.compactness, opts.iterations);
}

/** rows x cols rectangles of (nearly) equal size. */
export function gridSegments(height: number, width: number, rows: number, cols: number): Segmentation {
  if (!(Number.isInteger(rows) && Number.isInteger(cols) && rows >= 1 && cols >= 1 && rows <= height && cols <= width))
    throw new Error(`glassbox.xai: a grid segmentation needs 1 <= rows <= ${height} and 1 <= cols <= ${width}, got ${rows} x ${cols}`);
  const labels = new Int32Array(height * width);
  for (let y = 0; y < height; y++) {
    const r = Math.floor((y * rows) / height);
    for (let x = 0; x < width; x++) labels[y * width + x] = r * cols + Math.floor((x * cols) / width);
  }
  return { labels, count: rows * cols, height, width };
}

export function slic(image: ImagePixels, nSegments: number, compactness = 10, iterations = 10): Segmentation {
  const { height: h, width: w } = image;
  if (!(Number.isInteger(nSegments) && nSegments >= 1 && nSegments <= h * w))
    throw new Error(`glassbox.xai: SLIC needs 1 <= nSegments <= ${h * w} (the pixel count), got ${nSegments}`);
  if (!(compactness > 0)) throw new Error(`glassbox.xai: SLIC compactness must be > 0, got ${compactness}`);
  const colour = colourFeatures(image);
  const nc = colour.length / (h * w);
  const step = Math.sqrt((h * w) / nSegments);
  const centres = gridCentres(colour, nc, h, w, step);
  const k = centres.length / (nc + 2);
  const labels = new Int32Array(h * w);
  const best = new Float64Array(h * w);
  const spatialWeight = (compactness / step) ** 2;
  const reach = Math.ceil(2 * step);
  for (let it = 0; it < iterations; it++) {
    best.fill(Infinity);
    // assignment: each centre claims the pixels of its 2S x 2S window that are closer to it
    for (let c = 0; c < k; c++) {
      const base = c * (nc + 2);
      const cy = centres[base + nc]!;
      const cx = centres[base + nc + 1]!;
      const y0 = Math.max(0, Math.floor(cy - reach));
      const y1 = Math.min(h - 1, Math.ceil(cy + reach));
      const x0 = Math.max(0, Math.floor(cx - reach));
      const x1 = Math.min(w - 1, Math.ceil(cx + reach));
      for (let y = y0; y <= y1; y++) {
        for (let x = x0; x <= x1; x++) {
          const p = y * w + x;
          let dc = 0;
          for (let ch = 0; ch < nc; ch++) dc += (colour[p * nc + ch]! - centres[base + ch]!) ** 2;
          const d = dc + ((y - cy) ** 2 + (x - cx) ** 2) * spatialWeight;
          if (d < best[p]!) {
            best[p] = d;
            labels[p] = c;
          }
        }
      }
    }
    // update: each centre moves to the mean (colour, y, x) of its pixels
    const sums = new Float64Array(centres.length);
    const counts = new Float64Array(k);
    for (let p = 0; p < h * w; p++) {
      const c = labels[p]!;
      const base = c * (nc + 2);
      for (let ch = 0; ch < nc; ch++) sums[base + ch]! += colour[p * nc + ch]!;
      sums[base + nc]! += Math.floor(p / w);
      sums[base + nc + 1]! += p % w;
      counts[c]!++;
    }
    for (let c = 0; c < k; c++) {
      if (counts[c] === 0) continue; // an empty cluster keeps its centre
      for (let j = 0; j < nc + 2; j++) centres[c * (nc + 2) + j] = sums[c * (nc + 2) + j]! / counts[c]!;
    }
  }
  return enforceConnectivity(labels, h, w, Math.max(1, Math.floor((h * w) / k / 4)));
}

/** Per-pixel colour features, pixel-major [H * W * nc]: CIELAB for RGB, else intensity in 0..100. */
function colourFeatures(image: ImagePixels): Float64Array {
  const { data, channels, height, width } = image;
  const n = height * width;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < channels * n; i++) {
    lo = Math.min(lo, data[i]!);
    hi = Math.max(hi, data[i]!);
  }
  const scale = hi > lo ? 1 / (hi - lo) : 0;
  const unit = (ch: number, p: number) => (data[ch * n + p]! - lo) * scale;
  if (channels === 3) {
    const out = new Float64Array(n * 3);
    for (let p = 0; p < n; p++) out.set(srgbToLab(unit(0, p), unit(1, p), unit(2, p)), p * 3);
    return out;
  }
  const out = new Float64Array(n * channels);
  for (let p = 0; p < n; p++) for (let ch = 0; ch < channels; ch++) out[p * channels + ch] = 100 * unit(ch, p);
  return out;
}

/** sRGB in [0, 1] -> CIELAB (D65 white). */
function srgbToLab(r: number, g: number, b: number): [number, number, number] {
  const lin = (c: number) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4);
  const [rl, gl, bl] = [lin(r), lin(g), lin(b)];
  const x = (0.4124564 * rl + 0.3575761 * gl + 0.1804375 * bl) / 0.95047;
  const y = 0.2126729 * rl + 0.7151522 * gl + 0.072175 * bl;
  const z = (0.0193339 * rl + 0.119192 * gl + 0.9503041 * bl) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  const [fx, fy, fz] = [f(x), f(y), f(z)];
  return [116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)];
}

/**
 * Initial centres [k * (nc + 2)] = (colour..., y, x) on a grid of step ~S covering the image,
 * each moved to the lowest-gradient pixel of its 3x3 neighbourhood.
 */
function gridCentres(colour: Float64Array, nc: number, h: number, w: number, step: number): Float64Array {
  const rows = Math.max(1, Math.min(h, Math.round(h / step)));
  const cols = Math.max(1, Math.min(w, Math.round(w / step)));
  const at = (y: number, x: number, ch: number) => colour[(Math.min(h - 1, Math.max(0, y)) * w + Math.min(w - 1, Math.max(0, x))) * nc + ch]!;
  const gradient = (y: number, x: number) => {
    let g = 0;
    for (let ch = 0; ch < nc; ch++) g += (at(y, x + 1, ch) - at(y, x - 1, ch)) ** 2 + (at(y + 1, x, ch) - at(y - 1, x, ch)) ** 2;
    return g;
  };
  const centres = new Float64Array(rows * cols * (nc + 2));
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let by = Math.floor(((r + 0.5) * h) / rows);
      let bx = Math.floor(((c + 0.5) * w) / cols);
      let bg = gradient(by, bx);
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const y = by + dy;
          const x = bx + dx;
          if (y < 0 || y >= h || x < 0 || x >= w || (dy === 0 && dx === 0)) continue;
          const g = gradient(y, x);
          if (g < bg) [by, bx, bg] = [y, x, g];
        }
      }
      const base = (r * cols + c) * (nc + 2);
      for (let ch = 0; ch < nc; ch++) centres[base + ch] = at(by, bx, ch);
      centres[base + nc] = by;
      centres[base + nc + 1] = bx;
    }
  }
  return centres;
}

/**
 * Relabels so that every segment is one 4-connected region: each connected piece of a label
 * becomes a segment; pieces smaller than minSize merge into the neighbouring piece they share
 * the longest border with, until none is left (a union of adjacent connected pieces stays
 * connected). Labels come out as 0..count-1 in raster order of first appearance.
 */
function enforceConnectivity(labels: Int32Array, h: number, w: number, minSize: number): Segmentation {
  const comp = connectedComponents(labels, h, w);
  let pieces = comp.count;
  const size = new Int32Array(pieces);
  for (const c of comp.labels) size[c]!++;
  const owner = Int32Array.from({ length: pieces }, (_, i) => i);
  const find = (c: number): number => (owner[c] === c ? c : (owner[c] = find(owner[c]!)));
  for (let merged = true; merged && pieces > 1; ) {
    merged = false;
    const border = new Map<number, Map<number, number>>(); // small piece -> neighbour -> shared edge count
    const touch = (a: number, b: number) => {
      if (a === b || size[a]! >= minSize) return;
      const m = border.get(a) ?? new Map<number, number>();
      m.set(b, (m.get(b) ?? 0) + 1);
      border.set(a, m);
    };
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const a = find(comp.labels[y * w + x]!);
        if (x + 1 < w) {
          const b = find(comp.labels[y * w + x + 1]!);
          touch(a, b);
          touch(b, a);
        }
        if (y + 1 < h) {
          const b = find(comp.labels[(y + 1) * w + x]!);
          touch(a, b);
          touch(b, a);
        }
      }
    }
    for (const [small, neighbours] of border) {
      if (find(small) !== small) continue;
      let target = -1;
      let longest = 0;
      for (const [nb, edges] of neighbours) if (edges > longest) [target, longest] = [nb, edges];
      const t = find(target);
      if (t === small) continue;
      owner[small] = t;
      size[t]! += size[small]!;
      pieces--;
      merged = true;
    }
  }
  const roots = new Int32Array(comp.labels.length);
  for (let p = 0; p < roots.length; p++) roots[p] = find(comp.labels[p]!);
  return relabelInOrder(roots, h, w);
}

/** 4-connected components of equal labels, by breadth-first flood fill. */
function connectedComponents(labels: Int32Array, h: number, w: number): { labels: Int32Array; count: number } {
  const out = new Int32Array(h * w).fill(-1);
  const queue = new Int32Array(h * w);
  let count = 0;
  for (let start = 0; start < h * w; start++) {
    if (out[start]! >= 0) continue;
    out[start] = count;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    while (head < tail) {
      const p = queue[head++]!;
      const y = Math.floor(p / w);
      const x = p % w;
      const visit = (q: number) => {
        if (out[q]! < 0 && labels[q] === labels[p]) {
          out[q] = count;
          queue[tail++] = q;
        }
      };
      if (x > 0) visit(p - 1);
      if (x + 1 < w) visit(p + 1);
      if (y > 0) visit(p - w);
      if (y + 1 < h) visit(p + w);
    }
    count++;
  }
  return { labels: out, count };
}

function relabelInOrder(labels: Int32Array, h: number, w: number): Segmentation {
  const map = new Map<number, number>();
  const out = new Int32Array(labels.length);
  labels.forEach((l, p) => {
    if (!map.has(l)) map.set(l, map.size);
    out[p] = map.get(l)!;
  });
  return { labels: out, count: map.size, height: h, width: w };
}
