/**
 * Differentiable resampling of NCHW images at arbitrary points (torch.nn.functional.grid_sample
 * and affine_grid, 4-D): the random scales and rotations of feature visualisation's
 * transformation robustness, spatial transformers.
 *
 * gridSample runs its own kernels (src/kernels/wgsl/grid-sample.ts), with gradients to the input
 * and to the grid; affineGrid is composed (a fixed base grid times theta^T, one matmul), so its
 * gradient to theta comes from the matmul. Second-order gradients through gridSample are not
 * recorded (its backward kernels are not differentiated again).
 */
import { needsGrad, noGrad, record } from '../../autograd/node.ts';
import { dispatch } from '../../kernels/runtime.ts';
import { gridSampleBackwardLaunch, gridSampleForwardLaunch, type GridSampleGeometry, type GridSampleMode } from '../../kernels/wgsl/grid-sample.ts';
import { checkOptions } from '../check-options.ts';
import { shapeStr } from '../shape.ts';
import { emptyTensor, type Tensor } from '../tensor.ts';
import { tensor, zeros } from './creation.ts';
import { matmul } from './matmul.ts';
import { contiguous, reshape, transpose } from './views.ts';
import { check4d } from './window.ts';

export interface GridSampleOptions {
  /** 'bilinear' (default) or 'nearest' (round half to even, as PyTorch). */
  mode?: 'bilinear' | 'nearest';
  /** What a point outside the image reads: 0 ('zeros', default) or the nearest border pixel ('border'). */
  paddingMode?: 'zeros' | 'border';
  /** -1 and 1 are the centres of the corner pixels (true) or the image's outer edges (false, default). */
  alignCorners?: boolean;
}

export interface AffineGridOptions {
  /** As gridSample's: use the same value in both. */
  alignCorners?: boolean;
}

/**
 * Samples `input` [N, C, H, W] at the points of `grid` [N, HO, WO, 2] (x then y, normalised to
 * [-1, 1] across the width and height; points outside read per paddingMode) into [N, C, HO, WO].
 * A NaN point samples NaN.
 */
export function gridSample(input: Tensor, grid: Tensor, opts: GridSampleOptions = {}): Tensor {
  checkOptions('gridSample', opts, { mode: ['=bilinear', '=nearest'], paddingMode: ['=zeros', '=border'], alignCorners: 'boolean' });
  const m: GridSampleMode = { mode: opts.mode ?? 'bilinear', paddingMode: opts.paddingMode ?? 'zeros', alignCorners: opts.alignCorners ?? false };
  check4d('gridSample', 'input', input);
  check4d('gridSample', 'grid', grid, '[N, HO, WO, 2] (x, y points in [-1, 1])');
  const [N, C, H, W] = input.shape as [number, number, number, number];
  const [GN, HO, WO, two] = grid.shape as [number, number, number, number];
  if (two !== 2) throw new Error(`glassbox.gridSample: grid must be [N, HO, WO, 2] (an x, y point per output pixel), got shape ${shapeStr(grid.shape)}; build it with affineGrid(theta, size) or stack x and y on a last dim of 2`);
  if (GN !== N)
    throw new Error(`glassbox.gridSample: grid batch ${GN} (shape ${shapeStr(grid.shape)}) must equal input batch ${N} (shape ${shapeStr(input.shape)}); expand the grid to the batch or give one grid per image`);
  if (H < 1 || W < 1 || C < 1) throw new Error(`glassbox.gridSample: input must have C, H and W of at least 1, got shape ${shapeStr(input.shape)}`);
  const geometry: GridSampleGeometry = { N, C, H, W, HO, WO };
  const out = emptyTensor([N, C, HO, WO]);
  if (out.size === 0) return out;
  // the kernels read plain layouts; the copies (where a view is not) are not part of the graph
  const [x, g] = noGrad(() => [contiguous(input), contiguous(grid)]);
  dispatch({ ...gridSampleForwardLaunch(geometry, m), buffers: [x.storage.buffer, g.storage.buffer, out.storage.buffer] });
  return record('gridSample', [input, grid], out, (gradOut) => gridSampleBackward(gradOut, x, g, geometry, m, needsGrad(input), needsGrad(grid)), {}, { ...m });
}

/** The gradients of gridSample with respect to its input and its grid (null where not wanted; nearest's grid gradient is zero). */
function gridSampleBackward(gradOut: Tensor, x: Tensor, g: Tensor, geometry: GridSampleGeometry, m: GridSampleMode, wantInput: boolean, wantGrid: boolean): [Tensor | null, Tensor | null] {
  const kernelGrid = wantGrid && m.mode === 'bilinear';
  const gradInput = wantInput ? zeros(x.shape) : null;
  const gradGrid = kernelGrid ? emptyTensor(g.shape) : wantGrid ? zeros(g.shape) : null;
  if (wantInput || kernelGrid) {
    const go = contiguous(gradOut);
    const buffers = [go.storage.buffer, g.storage.buffer];
    if (kernelGrid) buffers.push(x.storage.buffer);
    if (gradInput) buffers.push(gradInput.storage.buffer);
    if (kernelGrid) buffers.push(gradGrid!.storage.buffer);
    dispatch({ ...gridSampleBackwardLaunch(geometry, m, { input: wantInput, grid: kernelGrid }), buffers });
  }
  return [gradInput, gradGrid];
}

/**
 * PyTorch's normalised pixel positions along one axis of `steps` pixels: linspace(-1, 1) with
 * alignCorners, else the same pulled in by (steps - 1) / steps (pixel centres); 0 for one pixel.
 * torch.linspace's float32 arithmetic (the first half counted from the start, the rest from the end).
 */
function positions(steps: number, alignCorners: boolean): Float32Array {
  const out = new Float32Array(steps);
  if (steps <= 1) return out;
  const step = Math.fround(2 / (steps - 1));
  const half = Math.floor(steps / 2);
  for (let i = 0; i < steps; i++) out[i] = i < half ? Math.fround(-1 + Math.fround(step * i)) : Math.fround(1 - Math.fround(step * (steps - i - 1)));
  if (!alignCorners) {
    const shrink = Math.fround((steps - 1) / steps);
    for (let i = 0; i < steps; i++) out[i] = Math.fround(out[i]! * shrink);
  }
  return out;
}

/**
 * The sampling grid [N, H, W, 2] of the affine maps `theta` [N, 2, 3] (output pixel's normalised
 * (x, y, 1) -> source point) for an output of `size` [N, C, H, W], as torch.nn.functional.affine_grid.
 * The identity [[1, 0, 0], [0, 1, 0]] with the same alignCorners in gridSample returns the input.
 */
export function affineGrid(theta: Tensor, size: readonly number[], opts: AffineGridOptions = {}): Tensor {
  checkOptions('affineGrid', opts, { alignCorners: 'boolean' });
  const alignCorners = opts.alignCorners ?? false;
  if (theta.rank !== 3 || theta.shape[1] !== 2 || theta.shape[2] !== 3)
    throw new Error(`glassbox.affineGrid: theta must be [N, 2, 3] (one 2x3 affine matrix per image), got shape ${shapeStr(theta.shape)}; for one matrix use theta.reshape([1, 2, 3])`);
  if (theta.dtype !== 'float32') throw new Error(`glassbox.affineGrid: theta must be float32, got ${theta.dtype}; cast with .float()`);
  if (!Array.isArray(size) || size.length !== 4 || size.some((d) => !Number.isInteger(d) || d < 1))
    throw new Error(`glassbox.affineGrid: size must be the output's [N, C, H, W] as 4 positive integers (only 4-D is supported), got ${JSON.stringify(size)}`);
  const [N, , H, W] = size as [number, number, number, number];
  if (N !== theta.shape[0])
    throw new Error(`glassbox.affineGrid: size's batch ${N} (size ${JSON.stringify(size)}) must equal theta's ${theta.shape[0]} (shape ${shapeStr(theta.shape)}); give one matrix per image`);
  const xs = positions(W, alignCorners);
  const ys = positions(H, alignCorners);
  const base = new Float32Array(H * W * 3);
  for (let h = 0; h < H; h++)
    for (let w = 0; w < W; w++) base.set([xs[w]!, ys[h]!, 1], (h * W + w) * 3);
  // [H * W, 3] @ [N, 3, 2] -> [N, H * W, 2]
  return reshape(matmul(tensor(base, [H * W, 3]), transpose(theta, 1, 2)), [N, H, W, 2]);
}
