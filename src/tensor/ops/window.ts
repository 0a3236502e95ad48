/**
 * What convolution and pooling share: argument parsing (number or [h, w]), output-size
 * arithmetic with its errors, and the launchers of the sliding-window kernels
 * (src/kernels/wgsl/sliding-window.ts). The ops themselves are in conv.ts and pool.ts.
 */
import { dispatch } from '../../kernels/runtime.ts';
import { windowBackwardLaunch, windowForwardLaunch, type Window2d } from '../../kernels/wgsl/sliding-window.ts';
import { shapeStr } from '../shape.ts';
import { emptyTensor, type Tensor } from '../tensor.ts';
import { asPlainArray } from './elementwise.ts';

export type { Window2d };

/** A size for both spatial dims: one number, or [height, width]. */
export type Pair = number | readonly [number, number];

export function pair(op: string, name: string, v: Pair, min: number): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (p.some((d) => !Number.isInteger(d) || d < min))
    throw new Error(`glassbox.${op}: ${name} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  return p;
}

export function check4d(op: string, what: string, t: Tensor, layout = '[N, C, H, W]'): void {
  if (t.rank !== 4) throw new Error(`glassbox.${op}: ${what} must be 4-D ${layout}, got shape ${shapeStr(t.shape)}`);
  if (t.dtype !== 'float32') throw new Error(`glassbox.${op}: ${what} must be float32, got ${t.dtype}; cast with .float()`);
}

/**
 * Number of windows along one axis (PyTorch's formula): floor or ceil of
 * (size + padTotal - dilation * (k - 1) - 1) / stride, plus one; with ceil, a last window that
 * would start in the trailing padding is dropped.
 */
export function windowCount(op: string, axis: string, x: Tensor, size: number, k: number, stride: number, padBefore: number, padTotal: number, dilation: number, ceil = false): number {
  const extent = dilation * (k - 1) + 1;
  const span = size + padTotal - extent;
  if (span < 0)
    throw new Error(
      `glassbox.${op}: kernel ${axis} ${k} (dilated extent ${extent}) is larger than the padded input ${axis} ${size + padTotal} ` +
        `(input ${shapeStr(x.shape)}, padding ${padTotal} in total); use a smaller kernel or more padding`,
    );
  let n = (ceil ? Math.ceil(span / stride) : Math.floor(span / stride)) + 1;
  if (ceil && (n - 1) * stride >= size + padBefore) n--;
  return n;
}

/**
 * im2col: [N, C, H, W] -> [N, C * kh * kw, OH * OW], or with `onesRow` [N, C * kh * kw + 1, OH * OW]
 * whose last row per batch item is ones; records nothing.
 */
export function im2colKernel(x: Tensor, win: Window2d, onesRow = false): Tensor {
  const N = x.shape[0]!;
  const cols = emptyTensor([N, win.C * win.kh * win.kw + (onesRow ? 1 : 0), win.OH * win.OW]);
  if (cols.size === 0) return cols;
  const launch = windowForwardLaunch('im2col', { batch: N, win, xOffset: x.offset, xStrides: x.strides, onesRow });
  dispatch({ ...launch, buffers: [x.storage.buffer, cols.storage.buffer] });
  return cols;
}

/** col2im: [N, C * kh * kw, OH * OW] -> [N, C, H, W], summing overlapping taps; records nothing. */
export function col2imKernel(cols: Tensor, win: Window2d): Tensor {
  const N = cols.shape[0]!;
  const out = emptyTensor([N, win.C, win.H, win.W]);
  if (out.size === 0) return out;
  const src = asPlainArray(cols);
  dispatch({ ...windowBackwardLaunch('col2im', { batch: N, win }), buffers: [src.t.storage.buffer, out.storage.buffer] });
  if (src.temporary) src.t.dispose();
  return out;
}

/** Max (of x or of relu(x)) or average over each window: [N, C, H, W] -> [N, C, OH, OW] (+ argmax indices for the max pools); records nothing. */
export function poolKernel(mode: 'max' | 'reluMax' | 'avg', x: Tensor, win: Window2d, includePad = false): { values: Tensor; indices?: Tensor } {
  const N = x.shape[0]!;
  const shape = [N, win.C, win.OH, win.OW];
  const values = emptyTensor(shape);
  const indices = mode === 'avg' ? undefined : emptyTensor(shape, 'int32');
  if (values.size === 0) return { values, indices };
  const launch = windowForwardLaunch(mode, { batch: N, win, includePad, xOffset: x.offset, xStrides: x.strides });
  dispatch({ ...launch, buffers: [x.storage.buffer, values.storage.buffer, ...(indices ? [indices.storage.buffer] : [])] });
  return { values, indices };
}

/** The pooling gradient gathered per input pixel: [N, C, OH, OW] -> [N, C, H, W]; records nothing. */
export function poolBackwardKernel(mode: 'max' | 'avg', g: Tensor, win: Window2d, indices?: Tensor, includePad = false): Tensor {
  const N = g.shape[0]!;
  const out = emptyTensor([N, win.C, win.H, win.W]);
  if (out.size === 0) return out;
  const src = asPlainArray(g);
  const launch = windowBackwardLaunch(mode, { batch: N, win, includePad });
  dispatch({ ...launch, buffers: [src.t.storage.buffer, ...(indices ? [indices.storage.buffer] : []), out.storage.buffer] });
  if (src.temporary) src.t.dispose();
  return out;
}
