/**
 * RGBA images on the CPU: the one picture type of src/viz, and what every other file draws
 * into. Model inputs ([C,H,W] floats) become images here; images are resized for display,
 * blended with heatmaps, and marked with boxes and mask contours.
 */

/** 8-bit RGBA pixels, row-major, `data.length === width * height * 4`. */
export interface RGBAImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** An RGB or RGBA colour, components 0..255. */
export type Color = readonly [number, number, number] | readonly [number, number, number, number];

export const WHITE: Color = [255, 255, 255];
export const BLACK: Color = [0, 0, 0];

export type ResizeMode = 'nearest' | 'bilinear';

export function createImage(width: number, height: number, fill: Color = WHITE): RGBAImage {
  if (!(width > 0 && height > 0 && Number.isInteger(width) && Number.isInteger(height)))
    throw new Error(`createImage: bad size ${width}x${height}`);
  const data = new Uint8Array(width * height * 4);
  const [r, g, b, a = 255] = fill;
  for (let i = 0; i < data.length; i += 4) {
    data[i] = r;
    data[i + 1] = g;
    data[i + 2] = b;
    data[i + 3] = a;
  }
  return { width, height, data };
}

/** Wraps RGBA bytes (checked against the size) as an image, without copying. */
export function asImage(rgba: Uint8Array | Uint8ClampedArray, width: number, height: number): RGBAImage {
  if (rgba.length !== width * height * 4) throw new Error(`asImage: ${rgba.length} bytes is not ${width}x${height} RGBA`);
  const data = rgba instanceof Uint8Array ? rgba : new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.length);
  return { width, height, data };
}

export interface InputImageOptions {
  /** Per-channel (or one) mean and std used to normalise the input: x * std + mean is shown. */
  mean?: number | readonly number[];
  std?: number | readonly number[];
  /** Value range mapped to 0..255 after un-normalising: [lo, hi] (default [0, 1]) or 'auto' (min-max of the data). */
  range?: readonly [number, number] | 'auto';
}

/**
 * A model input or any [C,H,W] float array (C = 1 grey, C = 3 RGB) as an image.
 * Values outside the range are clipped.
 */
export function chwToImage(values: ArrayLike<number>, channels: number, height: number, width: number, opts: InputImageOptions = {}): RGBAImage {
  const hw = height * width;
  if (values.length !== channels * hw) throw new Error(`chwToImage: ${values.length} values is not [${channels},${height},${width}]`);
  if (channels !== 1 && channels !== 3) throw new Error(`chwToImage: need 1 or 3 channels, got ${channels}`);
  const pick = (v: number | readonly number[] | undefined, c: number, dflt: number): number =>
    v === undefined ? dflt : typeof v === 'number' ? v : (v[c] ?? v[0] ?? dflt);
  const un = new Float32Array(values.length);
  for (let c = 0; c < channels; c++) {
    const m = pick(opts.mean, c, 0);
    const s = pick(opts.std, c, 1);
    for (let i = 0; i < hw; i++) un[c * hw + i] = values[c * hw + i]! * s + m;
  }
  let lo = 0;
  let hi = 1;
  if (opts.range === 'auto') {
    lo = Infinity;
    hi = -Infinity;
    for (const v of un) if (Number.isFinite(v)) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
    if (!(hi > lo)) (lo = lo === Infinity ? 0 : lo - 0.5), (hi = lo + 1);
  } else if (opts.range) [lo, hi] = opts.range;
  const scale = 255 / (hi - lo);
  const img = createImage(width, height);
  for (let i = 0; i < hw; i++) {
    for (let k = 0; k < 3; k++) {
      const v = un[(channels === 1 ? 0 : k) * hw + i]!;
      img.data[i * 4 + k] = Math.round(Math.min(255, Math.max(0, (v - lo) * scale)));
    }
  }
  return img;
}

/** Resamples float values [h,w] to [newH,newW]; bilinear uses half-pixel centres (PyTorch's align_corners=false). */
export function resizeValues(values: ArrayLike<number>, width: number, height: number, newWidth: number, newHeight: number, mode: ResizeMode = 'bilinear'): Float32Array {
  return resample(values, width, height, 1, newWidth, newHeight, mode, false) as Float32Array;
}

/** Resizes an image for display (e.g. 28x28 -> 112x112 with 'nearest' to keep pixels crisp). */
export function resizeImage(img: RGBAImage, newWidth: number, newHeight: number, mode: ResizeMode = 'nearest'): RGBAImage {
  const data = resample(img.data, img.width, img.height, 4, newWidth, newHeight, mode, true) as Uint8Array;
  return { width: newWidth, height: newHeight, data };
}

/** Integer upscaling by pixel replication. */
export function upscale(img: RGBAImage, factor: number): RGBAImage {
  return factor === 1 ? img : resizeImage(img, img.width * factor, img.height * factor, 'nearest');
}

function resample(src: ArrayLike<number>, w: number, h: number, ch: number, nw: number, nh: number, mode: ResizeMode, bytes: boolean): Float32Array | Uint8Array {
  if (src.length !== w * h * ch) throw new Error(`resize: ${src.length} values is not ${w}x${h}x${ch}`);
  const out = bytes ? new Uint8Array(nw * nh * ch) : new Float32Array(nw * nh * ch);
  const sx = w / nw;
  const sy = h / nh;
  for (let y = 0; y < nh; y++) {
    for (let x = 0; x < nw; x++) {
      const o = (y * nw + x) * ch;
      if (mode === 'nearest') {
        const i = (Math.min(h - 1, Math.floor((y + 0.5) * sy)) * w + Math.min(w - 1, Math.floor((x + 0.5) * sx))) * ch;
        for (let c = 0; c < ch; c++) out[o + c] = src[i + c]!;
        continue;
      }
      const fy = Math.min(h - 1, Math.max(0, (y + 0.5) * sy - 0.5));
      const fx = Math.min(w - 1, Math.max(0, (x + 0.5) * sx - 0.5));
      const y0 = Math.floor(fy);
      const x0 = Math.floor(fx);
      const y1 = Math.min(h - 1, y0 + 1);
      const x1 = Math.min(w - 1, x0 + 1);
      const ty = fy - y0;
      const tx = fx - x0;
      for (let c = 0; c < ch; c++) {
        const a = src[(y0 * w + x0) * ch + c]! * (1 - tx) + src[(y0 * w + x1) * ch + c]! * tx;
        const b = src[(y1 * w + x0) * ch + c]! * (1 - tx) + src[(y1 * w + x1) * ch + c]! * tx;
        const v = a * (1 - ty) + b * ty;
        out[o + c] = bytes ? Math.round(v) : v;
      }
    }
  }
  return out;
}

/**
 * Blends a heatmap over an image: out = base * (1 - a) + heat * a with a = alpha * heat's own
 * alpha, so a heatmap made transparent where it is small leaves the image visible there.
 * A heatmap of another size is resized (bilinear) to the image first.
 */
export function overlay(base: RGBAImage, heat: RGBAImage, alpha = 0.5): RGBAImage {
  const h = heat.width === base.width && heat.height === base.height ? heat : resizeImage(heat, base.width, base.height, 'bilinear');
  const out = new Uint8Array(base.data.length);
  for (let i = 0; i < out.length; i += 4) {
    const a = alpha * (h.data[i + 3]! / 255);
    for (let k = 0; k < 3; k++) out[i + k] = Math.round(base.data[i + k]! * (1 - a) + h.data[i + k]! * a);
    out[i + 3] = base.data[i + 3]!;
  }
  return { width: base.width, height: base.height, data: out };
}

/** A copy of an image. */
export function cloneImage(img: RGBAImage): RGBAImage {
  return { width: img.width, height: img.height, data: img.data.slice() };
}

/** Blends one pixel (coverage 0..1 times the colour's alpha); ignores pixels outside the image. */
export function blendPixel(img: RGBAImage, x: number, y: number, color: Color, coverage = 1): void {
  if (x < 0 || y < 0 || x >= img.width || y >= img.height) return;
  const a = coverage * ((color[3] ?? 255) / 255);
  if (a <= 0) return;
  const i = (y * img.width + x) * 4;
  const d = img.data;
  for (let k = 0; k < 3; k++) d[i + k] = Math.round(d[i + k]! * (1 - a) + color[k]! * a);
  d[i + 3] = Math.round(d[i + 3]! * (1 - a) + 255 * a);
}

export function fillRect(img: RGBAImage, x: number, y: number, w: number, h: number, color: Color): void {
  const x0 = Math.max(0, Math.round(x));
  const y0 = Math.max(0, Math.round(y));
  const x1 = Math.min(img.width, Math.round(x + w));
  const y1 = Math.min(img.height, Math.round(y + h));
  for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) blendPixel(img, xx, yy, color);
}

/** An axis-aligned rectangle outline, `thickness` pixels wide, drawn inside the box. */
export function drawBox(img: RGBAImage, box: { x: number; y: number; width: number; height: number }, color: Color, thickness = 1): void {
  const { x, y, width: w, height: h } = box;
  const t = Math.min(thickness, w / 2, h / 2);
  fillRect(img, x, y, w, t, color);
  fillRect(img, x, y + h - t, w, t, color);
  fillRect(img, x, y + t, t, h - 2 * t, color);
  fillRect(img, x + w - t, y + t, t, h - 2 * t, color);
}

/**
 * Outlines a mask: image pixels inside the mask (value > threshold) with a 4-neighbour
 * outside it are painted. The mask may have another size than the image (e.g. a 28x28 digit
 * mask over a 112x112 display); it is sampled nearest-neighbour, so the contour is crisp.
 */
export function drawMaskContour(img: RGBAImage, mask: ArrayLike<number>, maskWidth: number, maskHeight: number, color: Color, threshold = 0.5): void {
  if (mask.length !== maskWidth * maskHeight) throw new Error(`drawMaskContour: ${mask.length} values is not ${maskWidth}x${maskHeight}`);
  const { width: W, height: H } = img;
  const inside = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    const my = Math.min(maskHeight - 1, Math.floor(((y + 0.5) * maskHeight) / H));
    for (let x = 0; x < W; x++) {
      const mx = Math.min(maskWidth - 1, Math.floor(((x + 0.5) * maskWidth) / W));
      inside[y * W + x] = mask[my * maskWidth + mx]! > threshold ? 1 : 0;
    }
  }
  const at = (x: number, y: number): number => (x < 0 || y < 0 || x >= W || y >= H ? 0 : inside[y * W + x]!);
  for (let y = 0; y < H; y++)
    for (let x = 0; x < W; x++)
      if (at(x, y) && !(at(x - 1, y) && at(x + 1, y) && at(x, y - 1) && at(x, y + 1))) blendPixel(img, x, y, color);
}

/**
 * An anti-aliased line segment of the given width (coverage from the distance of each pixel
 * centre to the segment), with round caps.
 */
export function drawLine(img: RGBAImage, x0: number, y0: number, x1: number, y1: number, color: Color, width = 1): void {
  const r = width / 2;
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  const minX = Math.max(0, Math.floor(Math.min(x0, x1) - r - 1));
  const maxX = Math.min(img.width - 1, Math.ceil(Math.max(x0, x1) + r + 1));
  const minY = Math.max(0, Math.floor(Math.min(y0, y1) - r - 1));
  const maxY = Math.min(img.height - 1, Math.ceil(Math.max(y0, y1) + r + 1));
  for (let y = minY; y <= maxY; y++) {
    for (let x = minX; x <= maxX; x++) {
      const px = x + 0.5 - x0;
      const py = y + 0.5 - y0;
      const t = len2 > 0 ? Math.min(1, Math.max(0, (px * dx + py * dy) / len2)) : 0;
      const d = Math.hypot(px - t * dx, py - t * dy);
      const cov = Math.min(1, Math.max(0, r + 0.5 - d));
      if (cov > 0) blendPixel(img, x, y, color, cov);
    }
  }
}

/** An anti-aliased filled disc centred at (cx, cy) (pixel coordinates, pixel centres at +0.5). */
export function fillCircle(img: RGBAImage, cx: number, cy: number, radius: number, color: Color): void {
  for (let y = Math.floor(cy - radius - 1); y <= Math.ceil(cy + radius + 1); y++)
    for (let x = Math.floor(cx - radius - 1); x <= Math.ceil(cx + radius + 1); x++) {
      const cov = Math.min(1, Math.max(0, radius + 0.5 - Math.hypot(x + 0.5 - cx, y + 0.5 - cy)));
      if (cov > 0) blendPixel(img, x, y, color, cov);
    }
}

/** Copies `src` into `dst` with its top-left corner at (x, y), clipped to `dst`. */
export function blit(dst: RGBAImage, src: RGBAImage, x: number, y: number): void {
  for (let sy = 0; sy < src.height; sy++) {
    const dy = y + sy;
    if (dy < 0 || dy >= dst.height) continue;
    const x0 = Math.max(0, -x);
    const x1 = Math.min(src.width, dst.width - x);
    if (x1 <= x0) continue;
    dst.data.set(src.data.subarray((sy * src.width + x0) * 4, (sy * src.width + x1) * 4), (dy * dst.width + x + x0) * 4);
  }
}
