/** Conversions between the generator's pixels ([-1, 1]) and what the rest of glassbox expects. */
import { chwToImage, type RGBAImage } from '../viz/image.ts';
import { makeGrid, type GridOptions } from '../viz/grid.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { tensor } from '../tensor/ops/creation.ts';

/** DataLoader normalisation that maps [0, 1] pixels to the generator's [-1, 1]. */
export const GAN_PIXELS = { mean: [0.5], std: [0.5] } as const;

/** Generator output in [-1, 1] -> a classifier's input normalised with `mean` and `std` of [0, 1] pixels. */
export function toClassifierInput(images: Tensor, norm: { mean: readonly number[]; std: readonly number[] }): Tensor {
  // ((g + 1) / 2 - mean) / std
  return images.add(1).mul(0.5 / norm.std[0]!).sub(norm.mean[0]! / norm.std[0]!);
}

/** Each image of a [N, 1, H, W] array in [-1, 1] as a grey tile. */
export function tilesOf(values: Float32Array, n: number, h: number, w: number): RGBAImage[] {
  const hw = h * w;
  return Array.from({ length: n }, (_, i) => chwToImage(values.subarray(i * hw, (i + 1) * hw), 1, h, w, { range: [-1, 1] }));
}

/** A grid of generated images read back from `images` [N, 1, H, W]. */
export async function imageGrid(images: Tensor, opts: GridOptions = {}): Promise<RGBAImage> {
  const [n, , h, w] = images.shape as [number, number, number, number];
  return makeGrid(tilesOf((await images.toArray()) as Float32Array, n, h, w), { tileScale: 2, padding: 2, ...opts });
}

/** The first `limit` images of a data set as a tensor [N, C, H, W] in [-1, 1] (the generator's range). */
export function datasetImages(data: { images: Uint8Array; n: number; channels: number; height: number; width: number }, limit = data.n): Tensor {
  const n = Math.min(limit, data.n);
  const size = data.channels * data.height * data.width;
  const v = new Float32Array(n * size);
  for (let i = 0; i < v.length; i++) v[i] = data.images[i]! / 127.5 - 1;
  return tensor(v, [n, data.channels, data.height, data.width]);
}
