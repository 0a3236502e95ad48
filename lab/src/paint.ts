/**
 * Pictures on canvases: a grey image, a map over the digit, a row of channel tiles. Colours come
 * from glassbox's colormaps (gb.viz.applyColormap): signed maps on a diverging scale centred at 0
 * (coolwarm), non-negative ones from 0 (inferno).
 */
import * as gb from '../../src/index.ts';

/** Draws `rgba` (w x h) on `canvas`, scaled up with hard pixel edges. */
export function paintRgba(canvas: HTMLCanvasElement, rgba: Uint8ClampedArray<ArrayBuffer>, w: number, h: number): void {
  const tmp = document.createElement('canvas');
  tmp.width = w;
  tmp.height = h;
  tmp.getContext('2d')!.putImageData(new ImageData(rgba, w, h), 0, 0);
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(tmp, 0, 0, canvas.width, canvas.height);
}

const maxAbs = (v: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < v.length; i++) m = Math.max(m, Math.abs(v[i]!));
  return m;
};

/** Colours of `values`: signed on coolwarm symmetric about 0, else inferno from 0 to the maximum. */
export function mapColours(values: ArrayLike<number>, signed: boolean): Uint8Array {
  const m = maxAbs(values) || 1;
  return signed ? gb.viz.applyColormap(values, { cmap: 'coolwarm', vmin: -m, vmax: m }) : gb.viz.applyColormap(values, { cmap: 'inferno', vmin: 0, vmax: m });
}

/** A grey image [h*w] in [0, 1]. */
export function paintGrey(canvas: HTMLCanvasElement, values: ArrayLike<number>, w: number, h: number): void {
  const rgba = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < w * h; i++) rgba.set([values[i]! * 255, values[i]! * 255, values[i]! * 255, 255], i * 4);
  paintRgba(canvas, rgba, w, h);
}

/**
 * A map over the digit: each pixel blends the grey digit with the map's colour, the more the
 * larger |value| (so the map shows where it is large, and the digit shows through elsewhere).
 * The map may be coarser than the digit (CAM-style maps are upsampled by the method already).
 */
export function paintOverlay(canvas: HTMLCanvasElement, digit: ArrayLike<number>, map: ArrayLike<number>, side: number, signed: boolean): void {
  const colours = mapColours(map, signed);
  const m = maxAbs(map) || 1;
  const rgba = new Uint8ClampedArray(side * side * 4);
  for (let i = 0; i < side * side; i++) {
    const a = Math.min(1, (1.2 * Math.abs(map[i]!)) / m);
    const g = digit[i]! * 160;
    for (let c = 0; c < 3; c++) rgba[i * 4 + c] = (1 - a) * g + a * colours[i * 4 + c]!;
    rgba[i * 4 + 3] = 255;
  }
  paintRgba(canvas, rgba, side, side);
}

/** A small canvas of a map (w x h), for layer tiles and thumbnails. */
export function mapCanvas(values: ArrayLike<number>, w: number, h: number, signed: boolean, scale: number, title?: string): HTMLCanvasElement {
  const c = document.createElement('canvas');
  c.width = w * scale;
  c.height = h * scale;
  if (title) c.title = title;
  paintRgba(c, Uint8ClampedArray.from(mapColours(values, signed)), w, h);
  return c;
}
