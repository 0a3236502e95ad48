/**
 * `saveImage(path, x)`: an image tensor ([C, H, W], [1, C, H, W] or [H, W]; 1 or 3 channels) to a
 * PNG file, un-normalised first where `normalization` is given, values outside [0, 1] clipped (or
 * {range: 'auto'} to stretch min..max). Node only.
 */
import { chwToImage, type InputImageOptions } from '../viz/image.ts';
import { writePng } from '../viz/files.ts';
import { shapeStr } from '../tensor/shape.ts';
import { Tensor } from '../tensor/tensor.ts';
import type { Normalization } from './normalization.ts';

export interface SaveImageOptions {
  /** The normalisation x went through (normalization.mnist ...): x * std + mean is written. */
  normalization?: Normalization;
  /** Values mapped to 0..255: [lo, hi] (default [0, 1]) or 'auto' (min-max of the data). */
  range?: InputImageOptions['range'];
}

export async function saveImage(path: string, x: Tensor, opts: SaveImageOptions = {}): Promise<void> {
  if (typeof path !== 'string') throw new Error(`glassbox.saveImage: the first argument must be a file path, got ${typeof path}`);
  if (!(x instanceof Tensor)) throw new Error(`glassbox.saveImage: the second argument must be an image tensor, got ${typeof x}`);
  const unknown = Object.keys(opts).filter((k) => k !== 'normalization' && k !== 'range');
  if (unknown.length) throw new Error(`glassbox.saveImage: unknown option ${unknown.map((k) => JSON.stringify(k)).join(', ')}; the options are normalization, range`);
  const chw = x.rank === 2 ? [1, ...x.shape] : x.rank === 4 && x.shape[0] === 1 ? x.shape.slice(1) : x.shape;
  const [C, H, W] = chw as [number, number, number];
  if (chw.length !== 3 || (C !== 1 && C !== 3))
    throw new Error(`glassbox.saveImage: expects one image [C, H, W], [1, C, H, W] or [H, W] with 1 or 3 channels, got ${shapeStr(x.shape)}; pick one image with x.select(0, i)`);
  const values = await x.toArray();
  const img = chwToImage(values, C, H, W, { mean: opts.normalization?.mean, std: opts.normalization?.std, range: opts.range });
  writePng(path, img);
}
