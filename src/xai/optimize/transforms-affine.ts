/**
 * Random scale and rotation (Lucid's random_scale and random_rotate), as one affine resampling
 * of the whole batch by affineGrid + gridSample (bilinear, border padding so that no black
 * corners appear), differentiable to the images.
 */
import { tensor } from '../../tensor/ops/creation.ts';
import { affineGrid, gridSample } from '../../tensor/ops/grid-sample.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import type { Transform } from './transforms.ts';

/**
 * Output point (x, y) in normalised coordinates reads the source at theta (x, y, 1): zoom by
 * `scale` and rotation by `degrees` (clockwise on screen, y pointing down) about the centre, in pixel
 * units so that non-square images are not sheared.
 */
export function affineTheta(scale: number, degrees: number, height: number, width: number): number[] {
  const a = (degrees * Math.PI) / 180;
  const [c, s] = [Math.cos(a), Math.sin(a)];
  // pixel offsets from the centre are (x W/2, y H/2); the source is R(-a) p / scale
  return [c / scale, (s * height) / width / scale, 0, (-s * width) / height / scale, c / scale, 0];
}

function resample(x: Tensor, scale: number, degrees: number): Tensor {
  if (scale === 1 && degrees === 0) return x;
  const [n, , h, w] = x.shape as [number, number, number, number];
  const theta = affineTheta(scale, degrees, h, w);
  const grid = affineGrid(tensor(Array.from({ length: n }, () => theta).flat(), [n, 2, 3]), [...x.shape]);
  return gridSample(x, grid, { mode: 'bilinear', paddingMode: 'border' });
}

function checkList(name: string, values: readonly number[], ok: (v: number) => boolean): void {
  if (!Array.isArray(values) || values.length === 0 || !values.every(ok)) throw new Error(`glassbox.xai.optimize: ${name} needs a non-empty list of ${name === 'randomScale' ? 'positive scales' : 'angles in degrees'}, got ${JSON.stringify(values)}`);
}

/** A zoom by a factor drawn from `scales` each step (Lucid: 1 + (i - 5) / 50 for i = 0..10). */
export function randomScale(scales: readonly number[]): Transform {
  checkList('randomScale', scales, (s) => s > 0 && Number.isFinite(s));
  return { name: `scale(${scales.join(', ')})`, apply: (x, random) => resample(x, random.pick(scales), 0) };
}

/** A rotation by an angle (degrees) drawn from `degrees` each step (Lucid: -10..10, with 0 five times more). */
export function randomRotate(degrees: readonly number[]): Transform {
  checkList('randomRotate', degrees, Number.isFinite);
  return { name: `rotate(${degrees.join(', ')})`, apply: (x, random) => resample(x, 1, random.pick(degrees)) };
}

/** Lucid's standard_transforms' scales and angles. */
export const LUCID_SCALES: readonly number[] = Object.freeze(Array.from({ length: 11 }, (_, i) => 1 + (i - 5) / 50));
export const LUCID_ANGLES: readonly number[] = Object.freeze([...Array.from({ length: 21 }, (_, i) => i - 10), 0, 0, 0, 0, 0]);
