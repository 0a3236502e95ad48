/**
 * Resizing NCHW images (torch.nn.functional.interpolate, nearest and bilinear). Both modes are
 * separable: each output row mixes input rows with fixed weights, so the resize is
 * R_H · x · R_W^T with small [out, in] matrices built on the CPU. That reuses the matmul kernel,
 * and its gradient (R_H^T · g · R_W) and all higher ones come for free and deterministic.
 * The price is O(H + W) work per output instead of O(1), negligible at the sizes resized here.
 */
import { shapeStr } from '../shape.ts';
import type { Tensor } from '../tensor.ts';
import { tensor } from './creation.ts';
import { matmul } from './matmul.ts';
import { transpose } from './views.ts';
import { check4d, type Pair } from './window.ts';
import { checkOptions } from '../check-options.ts';
import { INTERPOLATE_OPTIONS } from '../op-schemas.ts';

export interface InterpolateOptions {
  /** Output [H, W] (or one number for both); give this or scaleFactor. */
  size?: Pair;
  scaleFactor?: number | readonly [number, number];
  mode?: 'nearest' | 'bilinear';
  /** bilinear only: map corner pixel centres onto each other (default false). */
  alignCorners?: boolean;
}

/** PyTorch's source-coordinate scale: 1 / scaleFactor when one was given, else in / out. */
const scaleOf = (inSize: number, outSize: number, factor: number | undefined) => Math.fround(factor !== undefined ? 1 / factor : inSize / outSize);

function nearestMatrix(inSize: number, outSize: number, factor: number | undefined): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const scale = scaleOf(inSize, outSize, factor);
  for (let o = 0; o < outSize; o++) m[o * inSize + Math.min(Math.floor(Math.fround(o * scale)), inSize - 1)] = 1;
  return m;
}

function bilinearMatrix(inSize: number, outSize: number, factor: number | undefined, alignCorners: boolean): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const scale = alignCorners ? (outSize > 1 ? (inSize - 1) / (outSize - 1) : 0) : scaleOf(inSize, outSize, factor);
  for (let o = 0; o < outSize; o++) {
    const src = alignCorners ? o * scale : Math.max(scale * (o + 0.5) - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const t = src - i0;
    m[o * inSize + i0] += 1 - t;
    m[o * inSize + i1] += t;
  }
  return m;
}

export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  checkOptions('interpolate', opts, INTERPOLATE_OPTIONS);
  const op = 'interpolate';
  check4d(op, 'input', x);
  const mode = opts.mode ?? 'nearest';
  if (mode !== 'nearest' && mode !== 'bilinear') throw new Error(`glassbox.interpolate: mode must be 'nearest' or 'bilinear', got '${String(mode)}'`);
  if ((opts.size === undefined) === (opts.scaleFactor === undefined))
    throw new Error(`glassbox.interpolate: give exactly one of size and scaleFactor (input ${shapeStr(x.shape)})`);
  if (opts.alignCorners !== undefined && mode === 'nearest') throw new Error(`glassbox.interpolate: alignCorners only applies to mode 'bilinear'`);
  const [H, W] = [x.shape[2]!, x.shape[3]!];
  const factors = opts.scaleFactor === undefined ? undefined : typeof opts.scaleFactor === 'number' ? [opts.scaleFactor, opts.scaleFactor] : [...opts.scaleFactor];
  if (factors?.some((f) => !(f > 0))) throw new Error(`glassbox.interpolate: scaleFactor must be positive, got ${JSON.stringify(opts.scaleFactor)}`);
  const size = opts.size === undefined ? [Math.floor(H * factors![0]!), Math.floor(W * factors![1]!)] : typeof opts.size === 'number' ? [opts.size, opts.size] : [...opts.size];
  if (size.some((d) => !Number.isInteger(d) || d < 1))
    throw new Error(`glassbox.interpolate: output size must be positive integers, got ${JSON.stringify(size)} (input ${shapeStr(x.shape)}, size ${JSON.stringify(opts.size)}, scaleFactor ${JSON.stringify(opts.scaleFactor)})`);
  const matrix = (inSize: number, outSize: number, axis: 0 | 1) => {
    const data = mode === 'nearest' ? nearestMatrix(inSize, outSize, factors?.[axis]) : bilinearMatrix(inSize, outSize, factors?.[axis], !!opts.alignCorners);
    return tensor(data, [outSize, inSize]);
  };
  return matmul(matmul(matrix(H, size[0]!, 0), x), transpose(matrix(W, size[1]!, 1), 0, 1));
}

/** Same as interpolate (torch.nn.Upsample's functional form). */
export const upsample = interpolate;
