/**
 * Random transformations applied to the images at every step before the model sees them
 * (Olah et al.'s "transformation robustness"): a picture that still excites the unit after being
 * shifted, scaled and rotated a little has less of the high-frequency pattern that only works at
 * one exact alignment. Each transform maps a batch [N, C, H, W] to a batch (one random draw per
 * step for the whole batch, as Lucid); the render loop crops or resamples the result back to the
 * model's input size, so padding and the others work with fixed-size nets such as LeNet-5.
 * Random scale and rotation are in transforms-affine.ts.
 */
import { interpolate } from '../../tensor/ops/resample.ts';
import { roll } from '../../tensor/ops/roll.ts';
import { pad as padOp, slice } from '../../tensor/ops/views.ts';
import { shapeStr } from '../../tensor/shape.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import type { Random } from './random.ts';
import { LUCID_ANGLES, LUCID_SCALES, randomRotate, randomScale } from './transforms-affine.ts';

export interface Transform {
  readonly name: string;
  apply(images: Tensor, random: Random): Tensor;
}

function checkWhole(name: string, value: number, min = 0): void {
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`glassbox.xai.optimize: ${name} must be a whole number of pixels >= ${min}, got ${value}`);
}

/** Constant padding by `pixels` on every side with `value` (Lucid: 0.5 grey; a dark data set may prefer its mean). */
export function pad(pixels: number, value = 0.5): Transform {
  checkWhole('pad', pixels);
  return { name: `pad(${pixels})`, apply: (x) => (pixels === 0 ? x : padOp(x, [pixels, pixels, pixels, pixels], value)) };
}

/**
 * A random shift by up to `pixels` in each direction. Lucid's jitter crops at a random offset,
 * which shrinks the image; this rolls it instead (the size stays, what leaves one edge comes back
 * at the other), and after a pad the rolled-in border is the padding, so pad + jitter is a
 * translation as in Lucid.
 */
export function jitter(pixels: number): Transform {
  checkWhole('jitter', pixels);
  return {
    name: `jitter(${pixels})`,
    apply: (x, random) => {
      const [dy, dx] = [random.int(-pixels, pixels), random.int(-pixels, pixels)];
      return dy === 0 && dx === 0 ? x : roll(x, [dy, dx], [2, 3]);
    },
  };
}

/**
 * Back to [H, W]: a centred crop when the batch is at least that large in both axes (after
 * padding), else a bilinear resample (e.g. an image optimised at a larger size for a small net).
 */
export function fitToSize(x: Tensor, size: readonly [number, number]): Tensor {
  if (x.rank !== 4) throw new Error(`glassbox.xai.optimize: transforms must return images [N, C, H, W], got ${shapeStr(x.shape)}`);
  const [h, w] = [x.shape[2]!, x.shape[3]!];
  if (h === size[0] && w === size[1]) return x;
  if (h >= size[0] && w >= size[1]) {
    const top = Math.floor((h - size[0]) / 2);
    const left = Math.floor((w - size[1]) / 2);
    return slice(slice(x, 2, { start: top, end: top + size[0] }), 3, { start: left, end: left + size[1] });
  }
  return interpolate(x, { size: [size[0], size[1]], mode: 'bilinear' });
}

/**
 * Lucid's standard_transforms order (pad, jitter, scale, rotate, jitter), with pixel amounts shrunk
 * for 28 x 28 and 32 x 32 nets (Lucid's pad 12 / jitter 8 are for 224 x 224): pad 2, jitter 2,
 * Lucid's scales and angles, jitter 1. `pixelScale` multiplies the pixel amounts: for images
 * rendered at k times the input size (renderVis's renderSize), k keeps the same shifts in the
 * net's pixels.
 */
export function standardTransforms(pixelScale = 1): Transform[] {
  checkWhole('standardTransforms pixelScale', pixelScale, 1);
  return [pad(2 * pixelScale), jitter(2 * pixelScale), randomScale(LUCID_SCALES), randomRotate(LUCID_ANGLES), jitter(pixelScale)];
}
