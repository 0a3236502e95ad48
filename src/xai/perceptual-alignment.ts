/**
 * Perceptually aligned gradients (Tsipras et al. 2019, "Robustness may be at odds with accuracy"):
 * the input gradients of an adversarially trained model sit on the object and look like it, while
 * a normally trained model's are spread as noise over the image. On MNIST the object is the digit
 * itself, so where a map lies is scored against the digit's ink: the share of |map| on the ink
 * (grown by a pixel, the stroke's edge being where a gradient says "thicker" or "thinner") and
 * whether the map's maximum falls on it. On mixture-of-MNIST the data set's own digit masks do
 * this job (metrics.ts's pointing game and energy, in `glassbox evaluate`).
 */
import { dilate, energyInMask, pointingHit } from './metrics.ts';

export interface InkMaskOptions {
  /** A pixel is ink when its value is above this share of the brightest value (default 0.25). */
  threshold?: number;
  /** Pixels the ink mask is grown by (default 1). */
  dilation?: number;
  /** The brightest value: 255 for bytes (default), 1 for [0, 1] pixels. */
  maxValue?: number;
}

/**
 * Image i's ink as a 0/1 mask [H*W]: a pixel is ink where any channel is brighter than the
 * threshold, grown by `dilation` pixels. `pixels` holds N images [N, C, H, W] in a row.
 */
export function inkMask(pixels: ArrayLike<number>, i: number, c: number, h: number, w: number, opts: InkMaskOptions = {}): Uint8Array {
  const threshold = (opts.threshold ?? 0.25) * (opts.maxValue ?? 255);
  const hw = h * w;
  const mask = new Uint8Array(hw);
  for (let ch = 0; ch < c; ch++) {
    const base = (i * c + ch) * hw;
    for (let p = 0; p < hw; p++) if (pixels[base + p]! > threshold) mask[p] = 1;
  }
  return dilate(mask, h, w, opts.dilation ?? 1);
}

export interface MaskAlignment {
  /** Mean share of |map| that lies on the mask (1: all of it; the mask's area share: no preference). */
  energyOnMask: number;
  /** Share of images whose |map| maximum lies on the mask (the pointing game, no extra tolerance). */
  pointing: number;
  /** Mean share of the image the masks cover: the energy a map spread evenly would get. */
  maskArea: number;
}

/** How much of each map [H*W] (magnitude: a signed attribution's sign is not where it looks) lies on its image's mask. */
export function maskAlignment(maps: readonly ArrayLike<number>[], masks: readonly Uint8Array[], h: number, w: number): MaskAlignment {
  if (maps.length !== masks.length || maps.length === 0) throw new Error(`glassbox.maskAlignment: ${maps.length} maps for ${masks.length} masks; give one mask per map, at least one`);
  let energy = 0;
  let pointing = 0;
  let area = 0;
  maps.forEach((map, i) => {
    if (map.length !== h * w) throw new Error(`glassbox.maskAlignment: map ${i} has ${map.length} values, not ${h}x${w}`);
    const magnitude = Float64Array.from(map, Math.abs);
    energy += energyInMask(magnitude, masks[i]!);
    pointing += pointingHit(magnitude, masks[i]!, h, w, 0);
    area += masks[i]!.reduce((a, b) => a + b, 0) / (h * w);
  });
  return { energyOnMask: energy / maps.length, pointing: pointing / maps.length, maskArea: area / maps.length };
}
