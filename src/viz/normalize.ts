/**
 * From an attribution map (any method's output, the input's shape) to something to look at:
 * reduce [C,H,W] over channels, pick a display mode, normalise robustly, colour.
 *
 * Display modes (as in Captum's visualize_image_attr "sign"):
 * - 'absolute': |a|, sequential colormap; where the network looks, regardless of sign.
 * - 'positive': max(a, 0), sequential colormap; only evidence for the class.
 * - 'signed':   a on a diverging colormap symmetric around 0 (blue < 0 < red).
 *
 * Scaling: 'percentile' divides by the q-th percentile of the displayed magnitudes (default
 * q = 99) and clips, so a few extreme pixels do not wash the map out; 'mass' is Captum's own
 * rule (the value at which the sorted magnitudes reach q% of their total sum, Captum's default
 * being 98 = outlier_perc 2); 'minmax' maps the range [min, max] (signed: [-max|a|, max|a|]).
 */
import { applyColormap, type ColormapName } from './colormap.ts';
import { createImage, type RGBAImage } from './image.ts';

export type DisplayMode = 'absolute' | 'positive' | 'signed';
export type ChannelReduction = 'sum' | 'maxabs' | 'l2';
export type Scaling = 'percentile' | 'mass' | 'minmax';

/**
 * Reduces a [C,H,W] map to [H,W]: 'sum' keeps signs (for gradient x input, IG, ...);
 * 'maxabs' is max_c |a| (Simonyan et al.'s saliency); 'l2' is sqrt(sum_c a^2).
 */
export function reduceChannels(map: ArrayLike<number>, channels: number, height: number, width: number, how: ChannelReduction = 'sum'): Float32Array {
  const hw = height * width;
  if (map.length !== channels * hw) throw new Error(`reduceChannels: ${map.length} values is not [${channels},${height},${width}]`);
  const out = new Float32Array(hw);
  for (let i = 0; i < hw; i++) {
    let acc = 0;
    for (let c = 0; c < channels; c++) {
      const v = map[c * hw + i]!;
      if (how === 'sum') acc += v;
      else if (how === 'maxabs') acc = Math.max(acc, Math.abs(v));
      else acc += v * v;
    }
    out[i] = how === 'l2' ? Math.sqrt(acc) : acc;
  }
  return out;
}

/** The q-th percentile (q in [0,100]) with linear interpolation between ranks, like numpy's default. NaNs are ignored. */
export function percentile(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).filter((v) => !Number.isNaN(v)).sort();
  if (sorted.length === 0) return NaN;
  const pos = (Math.min(100, Math.max(0, q)) / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

/** Captum's _cumulative_sum_threshold: the smallest sorted value at which the running sum reaches q% of the total. */
export function massThreshold(values: ArrayLike<number>, q: number): number {
  const sorted = Float64Array.from(values).filter((v) => !Number.isNaN(v)).sort();
  if (sorted.length === 0) return NaN;
  let total = 0;
  for (const v of sorted) total += v;
  const target = (total * q) / 100;
  let run = 0;
  for (const v of sorted) {
    run += v;
    if (run >= target) return v;
  }
  return sorted[sorted.length - 1]!;
}

export interface NormalizeOptions {
  mode?: DisplayMode;
  scaling?: Scaling;
  /** q for 'percentile' (default 99) and 'mass' (default 98). */
  q?: number;
}

/**
 * Normalises a 2-D (or any flat) map for display: 'absolute' and 'positive' to [0,1], 'signed'
 * to [-1,1] (0 stays 0). A map that is all zero stays zero.
 */
export function normalizeAttribution(map: ArrayLike<number>, opts: NormalizeOptions = {}): Float32Array {
  const mode = opts.mode ?? 'absolute';
  const scaling = opts.scaling ?? 'percentile';
  const shown = new Float32Array(map.length);
  for (let i = 0; i < map.length; i++) {
    const v = map[i]!;
    shown[i] = mode === 'absolute' ? Math.abs(v) : mode === 'positive' ? Math.max(v, 0) : v;
  }
  const mags = mode === 'signed' ? shown.map(Math.abs) : shown;
  if (scaling === 'minmax' && mode !== 'signed') {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of shown) if (!Number.isNaN(v)) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
    const span = hi - lo;
    return shown.map((v) => (span > 0 ? (v - lo) / span : 0));
  }
  const scale =
    scaling === 'minmax' ? mags.reduce((m, v) => Math.max(m, v), 0)
    : scaling === 'mass' ? massThreshold(mags, opts.q ?? 98)
    : percentile(mags, opts.q ?? 99);
  const lo = mode === 'signed' ? -1 : 0;
  return shown.map((v) => (scale > 0 ? Math.min(1, Math.max(lo, v / scale)) : 0));
}

export interface AttributionImageOptions extends NormalizeOptions {
  /** Default: 'inferno' for 'absolute' / 'positive', 'coolwarm' for 'signed'. */
  cmap?: ColormapName;
  /** Alpha 0..255 of the heatmap pixels (default 255). */
  alpha?: number;
}

/** A [H,W] attribution map (reduce channels first) as a coloured RGBA image. */
export function attributionToImage(map: ArrayLike<number>, width: number, height: number, opts: AttributionImageOptions = {}): RGBAImage {
  if (map.length !== width * height) throw new Error(`attributionToImage: ${map.length} values is not ${width}x${height} (reduce channels first)`);
  const mode = opts.mode ?? 'absolute';
  const norm = normalizeAttribution(map, opts);
  const img = createImage(width, height);
  img.data.set(
    applyColormap(norm, {
      cmap: opts.cmap ?? (mode === 'signed' ? 'coolwarm' : 'inferno'),
      vmin: mode === 'signed' ? -1 : 0,
      vmax: 1,
      alpha: opts.alpha,
    }),
  );
  return img;
}

/** Any [H,W] values (an activation map, a mask) as a coloured image, between vmin and vmax (default: their range). */
export function heatmapToImage(values: ArrayLike<number>, width: number, height: number, opts: { cmap?: ColormapName; vmin?: number; vmax?: number; alpha?: number } = {}): RGBAImage {
  if (values.length !== width * height) throw new Error(`heatmapToImage: ${values.length} values is not ${width}x${height}`);
  const img = createImage(width, height);
  img.data.set(applyColormap(values, opts));
  return img;
}
