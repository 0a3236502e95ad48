/**
 * Top-activating data set patches (Zeiler & Fergus 2014; Zhou et al. 2015): for each unit
 * (channel) of a layer, the K images that excite it most, each cropped to the receptive field of
 * the position where it peaks. The field comes from the layer geometry (receptive-field.ts), the
 * top K from one pass over the data (statistics.ts). A field that reaches past the image border
 * is clipped there and the rest of the tile is filled with a pad colour, so every tile of a layer
 * has the field's size and the border shows where the unit looked into the padding.
 */
import type { Module } from '../../nn/module.ts';
import { tensor } from '../../tensor/ops/creation.ts';
import { indexSelect } from '../../tensor/ops/indexing.ts';
import { noGrad } from '../../autograd/node.ts';
import { tidy, type NumericArray, type Tensor } from '../../tensor/tensor.ts';
import { blit, chwToImage, createImage, type Color, type InputImageOptions, type RGBAImage } from '../../viz/image.ts';
import { makeGrid } from '../../viz/grid.ts';
import { clipBox, inputBox, receptiveField, type Box, type LayerGeometry } from './receptive-field.ts';
import { topActivations, type TopActivation, type TopKOptions, type UnitPassOptions } from './statistics.ts';

export interface TopPatch extends TopActivation {
  /** The receptive field of (y, x) in input pixels (may reach past the image). */
  box: Box;
  /** The part of `box` inside the image. */
  clipped: Box;
}

export interface UnitPatches {
  channel: number;
  /** Strongest first. */
  patches: TopPatch[];
}

export interface TopPatchesResult {
  layer: string;
  geometry: LayerGeometry;
  /** Images searched. */
  images: number;
  k: number;
  units: UnitPatches[];
}

/** The top-K patches of every chosen channel of `layer` over `images` [N, C, H, W]. */
export async function topPatches(model: Module, images: Tensor, opts: UnitPassOptions & TopKOptions): Promise<TopPatchesResult> {
  const [, c, h, w] = images.shape as [number, number, number, number];
  const geometry = receptiveField(model, opts.layer, [1, c, h, w]);
  const found = await topActivations(model, images, opts);
  const units = found.channels.map((channel, i) => ({
    channel,
    patches: found.top[i]!.map((a) => {
      const box = inputBox(geometry, a.y, a.x);
      // every position of a layer sees at least one pixel of the image (its window overlaps it)
      return { ...a, box, clipped: clipBox(box, h, w)! };
    }),
  }));
  return { layer: opts.layer, geometry, images: found.images, k: found.k, units };
}

export const PAD_COLOR: Color = [70, 90, 140];

/**
 * One patch as a tile of the field's size: the clipped box of `image` ([C, H, W] values) drawn
 * where it lies in the field, the rest `padColor`.
 */
export function patchTile(image: ArrayLike<number>, shape: readonly [number, number, number], patch: Pick<TopPatch, 'box' | 'clipped'>, opts: InputImageOptions & { padColor?: Color } = {}): RGBAImage {
  const [c, , w] = shape;
  const { box, clipped } = patch;
  const ch = clipped.bottom - clipped.top + 1;
  const cw = clipped.right - clipped.left + 1;
  const crop = new Float32Array(c * ch * cw);
  const hw = shape[1] * w;
  for (let k = 0; k < c; k++)
    for (let y = 0; y < ch; y++)
      for (let x = 0; x < cw; x++) crop[(k * ch + y) * cw + x] = image[k * hw + (clipped.top + y) * w + clipped.left + x]!;
  const tile = createImage(box.right - box.left + 1, box.bottom - box.top + 1, opts.padColor ?? PAD_COLOR);
  blit(tile, chwToImage(crop, c, ch, cw, opts), clipped.left - box.left, clipped.top - box.top);
  return tile;
}

/**
 * The tiles of every unit (row-major as `result.units`), reading back only the images that
 * appear in some unit's top K. `display` says how image values map to colours (default [0, 1]).
 */
export async function patchTiles(images: Tensor, result: TopPatchesResult, display: InputImageOptions & { padColor?: Color } = {}): Promise<RGBAImage[][]> {
  const [, c, h, w] = images.shape as [number, number, number, number];
  const used = [...new Set(result.units.flatMap((u) => u.patches.map((p) => p.image)))].sort((a, b) => a - b);
  if (used.length === 0) return result.units.map(() => []);
  const picked = noGrad(() => tidy(() => indexSelect(images, 0, tensor(used, [used.length], { dtype: 'int32' }))));
  let values: NumericArray;
  try {
    values = await picked.toArray();
  } finally {
    picked.dispose();
  }
  const size = c * h * w;
  const row = new Map(used.map((img, i) => [img, i]));
  return result.units.map((u) =>
    u.patches.map((p) => {
      const at = row.get(p.image)! * size;
      return patchTile(values.subarray(at, at + size), [c, h, w], p, display);
    }),
  );
}

/** One unit's grid: its K patches, each captioned with its activation and image index. */
export function unitGrid(unit: UnitPatches, tiles: readonly RGBAImage[], opts: { layer: string; cols?: number; tileScale?: number }): RGBAImage {
  return makeGrid(tiles, {
    cols: opts.cols ?? Math.ceil(Math.sqrt(tiles.length)),
    tileScale: opts.tileScale ?? Math.max(1, Math.floor(64 / Math.max(...tiles.map((t) => t.width)))),
    tileTitles: unit.patches.map((p) => `${p.value.toPrecision(3)} #${p.image}`),
    title: `${opts.layer} channel ${unit.channel}`,
  });
}
