/**
 * A5, weight pictures: the first layer's weights drawn in input space.
 *  - A linear classifier on the pixels (softmax regression, a linear SVM): each class's weight row,
 *    reshaped to the image, is the "template" its score matches against (CS231n, "Linear
 *    classification": recognisable digit shapes on MNIST, a two-headed horse and a red car on CIFAR-10).
 *  - A conv net: the first convolution's filters [O, I, kh, kw] as a grid.
 * One-channel weights are drawn with the diverging coolwarm map, symmetric around zero (blue
 * negative, grey zero, red positive) on one scale for the whole layer, so tiles compare; the scale
 * ends at the 99.5th percentile of |w| (larger weights are clipped), since a few outlying weights
 * (a pixel that is almost always dark) would otherwise wash every template out; RGB weights
 * are drawn as colour images, each stretched from its own minimum to maximum (CS231n's figure).
 */
import type { Module } from '../../nn/module.ts';
import { Conv2d } from '../../nn/conv-layers.ts';
import { Linear } from '../../nn/layers.ts';
import { applyColormap } from '../../viz/colormap.ts';
import { makeGrid, type GridOptions } from '../../viz/grid.ts';
import { asImage, type RGBAImage } from '../../viz/image.ts';
import { percentile } from '../../viz/normalize.ts';

export interface WeightPicture {
  /** The module path of the layer drawn. */
  layer: string;
  kind: 'class-templates' | 'conv-filters';
  /** One tile per output unit (class or filter), in order. */
  tiles: RGBAImage[];
  /** The layer's weights [O, C, H, W] (templates reshaped to the image), row-major, and that shape. */
  weights: Float32Array;
  shape: [number, number, number, number];
  /** The largest |w|, and the ends of the diverging scale of one-channel pictures (the 99.5th percentile of |w|). */
  maxAbs: number;
  scale: number;
}

export interface WeightPicturesOptions {
  /** The image shape [C, H, W] the model reads; needed to reshape a linear layer's rows. */
  inputShape: readonly [number, number, number];
  /** The layer to draw (default: the first Conv2d, else the first Linear). */
  layer?: string;
}

/** Draws a model's first-layer weights: `new WeightPictures(model, {inputShape}).draw()`. */
export class WeightPictures {
  constructor(
    readonly model: Module,
    readonly opts: WeightPicturesOptions,
  ) {
    const s = opts.inputShape;
    if (s.length !== 3 || !s.every((v) => Number.isInteger(v) && v >= 1)) throw new Error(`glassbox.representations.WeightPictures: inputShape must be [C, H, W] of whole numbers, got [${s.join(', ')}]`);
  }

  /** The layer drawn: the requested one, else the first Conv2d, else the first Linear. */
  chosenLayer(): string {
    const modules = this.model.namedModules();
    if (this.opts.layer !== undefined) {
      const m = this.model.getSubmodule(this.opts.layer);
      if (!(m instanceof Conv2d || m instanceof Linear)) throw new Error(`glassbox.representations.WeightPictures: layer '${this.opts.layer}' is a ${m.constructor.name}; weights are drawn for a Conv2d or a Linear layer on the pixels`);
      return this.opts.layer;
    }
    const found = modules.find(([, m]) => m instanceof Conv2d) ?? modules.find(([, m]) => m instanceof Linear);
    if (!found) throw new Error('glassbox.representations.WeightPictures: the model has no Conv2d or Linear layer to draw');
    return found[0];
  }

  async draw(): Promise<WeightPicture> {
    const layer = this.chosenLayer();
    const m = this.model.getSubmodule(layer) as Conv2d | Linear;
    const raw = Float32Array.from(await m.weight.toArray());
    const [c, h, w] = this.opts.inputShape;
    let shape: [number, number, number, number];
    if (m instanceof Linear) {
      const [out, inFeatures] = m.weight.shape as [number, number];
      if (inFeatures !== c * h * w) throw new Error(`glassbox.representations.WeightPictures: layer '${layer}' reads ${inFeatures} features, not the ${c}x${h}x${w} = ${c * h * w} pixels; only a linear layer on the pixels is a template`);
      shape = [out, c, h, w];
    } else shape = [...m.weight.shape] as [number, number, number, number];
    const magnitudes = raw.map(Math.abs);
    const maxAbs = magnitudes.reduce((a, b) => Math.max(a, b), 0);
    const scale = percentile(magnitudes, SCALE_PERCENTILE);
    const [o, ci, kh, kw] = shape;
    const size = ci * kh * kw;
    const tiles = Array.from({ length: o }, (_, k) => weightTile(raw.subarray(k * size, (k + 1) * size), ci, kh, kw, scale));
    return { layer, kind: m instanceof Linear ? 'class-templates' : 'conv-filters', tiles, weights: raw, shape, maxAbs, scale };
  }
}

/** The percentile of |w| where the diverging scale ends. */
export const SCALE_PERCENTILE = 99.5;

/** One unit's weights [C, H, W] as a picture: coolwarm on [-scale, scale] for C = 1, min-max RGB for C = 3, else the channels' mean on coolwarm. */
export function weightTile(values: Float32Array, c: number, h: number, w: number, scale: number): RGBAImage {
  if (c === 3) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of values) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const span = hi - lo || 1;
    const rgba = new Uint8Array(h * w * 4);
    for (let p = 0; p < h * w; p++) {
      for (let k = 0; k < 3; k++) rgba[p * 4 + k] = Math.round((255 * (values[k * h * w + p]! - lo)) / span);
      rgba[p * 4 + 3] = 255;
    }
    return asImage(rgba, w, h);
  }
  const plane = new Float32Array(h * w);
  for (let k = 0; k < c; k++) for (let p = 0; p < h * w; p++) plane[p] += values[k * h * w + p]! / c;
  const bound = scale || 1;
  return asImage(applyColormap(plane, { cmap: 'coolwarm', vmin: -bound, vmax: bound }), w, h);
}

/** The tiles as one labelled grid, upscaled so that a 28x28 template is ~112 pixels and a 5x5 filter ~60. */
export function weightGrid(picture: WeightPicture, titles?: readonly string[], opts: GridOptions = {}): RGBAImage {
  const side = Math.max(picture.shape[2], picture.shape[3]);
  return makeGrid(picture.tiles, { tileScale: Math.max(1, Math.round((side < 10 ? 60 : 112) / side)), tileTitles: titles, cols: Math.min(10, picture.tiles.length), ...opts });
}
