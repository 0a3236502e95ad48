/**
 * Pictures of weights for the weight-space commands: a matrix as a diverging heat map (the
 * stitching maps), and a layer's units as small tiles (first-layer filters, or a hidden layer's
 * incoming weights), each symmetric about zero so that sign and size read the same everywhere.
 */
import { applyColormap } from '../../viz/colormap.ts';
import { asImage, upscale, type RGBAImage } from '../../viz/image.ts';

const maxAbs = (v: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]!));
  return m || 1;
};

/** A rows x cols matrix as a coolwarm heat map (blue negative, red positive), each cell `cell` pixels. */
export function matrixImage(values: ArrayLike<number>, rows: number, cols: number, cell = Math.max(1, Math.floor(240 / Math.max(rows, cols)))): RGBAImage {
  const m = maxAbs(values);
  return upscale(asImage(applyColormap(values, { cmap: 'coolwarm', vmin: -m, vmax: m }), cols, rows), cell);
}

/**
 * The first `count` units of a weight tensor [units, ...] as tiles: a conv filter [in, kh, kw]
 * averaged over its input channels; a linear unit's row reshaped to `side` (an image's [H, W])
 * when it has H*W entries, else as one row. One colour scale for all tiles.
 */
export function unitTiles(weight: Float32Array, shape: readonly number[], count: number, side?: readonly [number, number]): RGBAImage[] {
  const units = shape[0]!;
  const per = weight.length / units;
  const [h, w] = shape.length === 4 ? [shape[2]!, shape[3]!] : side && side[0] * side[1] === per ? side : [1, per];
  const channels = per / (h * w);
  const tiles: Float32Array[] = [];
  for (let u = 0; u < Math.min(units, count); u++) {
    const t = new Float32Array(h * w);
    for (let c = 0; c < channels; c++) for (let k = 0; k < h * w; k++) t[k]! += weight[u * per + c * h * w + k]! / channels;
    tiles.push(t);
  }
  const m = Math.max(...tiles.map(maxAbs));
  const scale = Math.max(1, Math.floor(48 / Math.max(h, w)));
  return tiles.map((t) => upscale(asImage(applyColormap(t, { cmap: 'coolwarm', vmin: -m, vmax: m }), w, h), scale));
}
