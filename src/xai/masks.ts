/**
 * What the mask-learning methods (meaningful and extremal perturbations, iGOS++) share: a blurred
 * copy of the image to delete into, blending through a mask, low-resolution masks upsampled to
 * the input, total variation, the smooth max-convolution mask of Fong, Patrick & Vedaldi 2019,
 * and the projected optimisation loop over a mask in [0, 1].
 *
 * Convention everywhere: a mask is [N, 1, h, w] with 1 = the pixel of x is kept, 0 = it is
 * replaced by the perturbation (blur or a baseline).
 */
import { noGrad } from '../autograd/node.ts';
import { grad } from '../autograd/backward.ts';
import { keep, tidy, Tensor } from '../tensor/tensor.ts';
import type { Target } from './attribution.ts';
import { tensor } from '../tensor/ops/creation.ts';
import { abs, add, clamp, div, mul, powScalar, sub } from '../tensor/ops/elementwise.ts';
import { amax, mean, sum } from '../tensor/ops/reduce.ts';
import { unfold } from '../tensor/ops/conv.ts';
import { interpolate } from '../tensor/ops/resample.ts';
import { cat, reshape, slice } from '../tensor/ops/views.ts';
import { Adam } from '../train/optim.ts';
import { shapeStr } from '../tensor/shape.ts';
import { sync } from '../kernels/runtime.ts';

/** x where mask = 1, the perturbation where mask = 0 (Fong & Vedaldi 2017, eq. 2): Phi = m x + (1 - m) p. */
export function blend(x: Tensor, perturbation: Tensor, mask: Tensor): Tensor {
  return add(perturbation, mul(mask, sub(x, perturbation)));
}

/** A mask [N, 1, h, w] resized (bilinear) to the image's [H, W]. */
export function upsampleMask(mask: Tensor, size: readonly [number, number]): Tensor {
  if (mask.shape[2] === size[0] && mask.shape[3] === size[1]) return mask;
  return interpolate(mask, { size, mode: 'bilinear' });
}

/** Per-sample total variation [N] of a mask (Fong & Vedaldi 2017, eq. 4): mean over pixels of |grad m|^beta. */
export function totalVariation(mask: Tensor, beta = 3): Tensor {
  const [, , h, w] = mask.shape as [number, number, number, number];
  const dy = sub(slice(mask, 2, { start: 1 }), slice(mask, 2, { end: h - 1 }));
  const dx = sub(slice(mask, 3, { start: 1 }), slice(mask, 3, { end: w - 1 }));
  const tv = add(sum(powScalar(abs(dy), beta), { dim: [1, 2, 3] }), sum(powScalar(abs(dx), beta), { dim: [1, 2, 3] }));
  return div(tv, h * w);
}

/** Per-sample mean of |1 - m| [N]: the fraction of the image deleted. */
export function deletedArea(mask: Tensor): Tensor {
  return mean(abs(sub(1, mask)), { dim: [1, 2, 3] });
}

/**
 * Circular shift of an image batch by (dy, dx) pixels: the jitter of Fong & Vedaldi 2017
 * (sec. 4), which stops the mask from exploiting single-pixel adversarial patterns.
 */
export function roll(x: Tensor, dy: number, dx: number): Tensor {
  const shift = (t: Tensor, dim: number, by: number) => {
    const size = t.shape[dim]!;
    const s = ((by % size) + size) % size;
    return s === 0 ? t : cat([slice(t, dim, { start: size - s }), slice(t, dim, { end: size - s })], dim);
  };
  return shift(shift(x, 2, dy), 3, dx);
}

/**
 * The smooth mask parametrisation of Fong, Patrick & Vedaldi 2019 (sec. 3.2, "smooth masks"):
 * a parameter grid p (one value per `step` x `step` cell) becomes the mask
 *   m(u) = max_v g_sigma(u - v) p(v),
 * a max-convolution with a Gaussian bump g_sigma(d) = exp(-|d|^2 / 2 sigma^2) centred on each
 * cell v. Every mask it makes is a union of smooth blobs, so the optimiser cannot draw
 * adversarial speckle. Simplifications (documented): the hard max (the paper's smooth max with
 * infinite coldness, as TorchRay's default), neighbours within `radius` cells only.
 * Computed as unfold (each cell's neighbourhood) -> nearest upsampling to pixels -> times the
 * precomputed bump weight of every (pixel, neighbour) pair -> max over neighbours.
 */
export class SmoothMask {
  /** Parameter grid size [rows, cols]. */
  readonly grid: [number, number];
  private readonly radius: number;
  private readonly weight: Tensor;

  constructor(
    readonly size: readonly [number, number],
    readonly step: number,
    readonly sigma: number,
  ) {
    if (!(step >= 1) || !Number.isInteger(step)) throw new Error(`glassbox.xai: mask step must be a positive integer, got ${step}`);
    const [H, W] = size;
    this.grid = [Math.ceil(H / step), Math.ceil(W / step)];
    this.radius = Math.max(1, Math.ceil((2 * sigma) / step));
    const r = this.radius;
    const side = 2 * r + 1;
    const [gh, gw] = this.grid;
    const [PH, PW] = [gh * step, gw * step];
    const w = new Float32Array(side * side * PH * PW);
    for (let dy = -r; dy <= r; dy++) {
      for (let dx = -r; dx <= r; dx++) {
        const k = (dy + r) * side + (dx + r);
        for (let y = 0; y < PH; y++) {
          for (let x = 0; x < PW; x++) {
            // centre of the neighbour cell (in pixels) of the cell holding pixel (y, x)
            const cy = (Math.floor(y / step) + dy + 0.5) * step - 0.5;
            const cx = (Math.floor(x / step) + dx + 0.5) * step - 0.5;
            w[(k * PH + y) * PW + x] = Math.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * sigma * sigma));
          }
        }
      }
    }
    this.weight = tensor(w, [1, side * side, PH, PW]);
  }

  dispose(): void {
    this.weight.dispose();
  }

  /** The mask [N, 1, H, W] of a parameter grid [N, 1, rows, cols] with values in [0, 1]. */
  generate(p: Tensor): Tensor {
    const [gh, gw] = this.grid;
    if (p.rank !== 4 || p.shape[1] !== 1 || p.shape[2] !== gh || p.shape[3] !== gw)
      throw new Error(`glassbox.xai: smooth mask parameters must be [N, 1, ${gh}, ${gw}], got ${shapeStr(p.shape)}`);
    const n = p.shape[0]!;
    const side = 2 * this.radius + 1;
    const neighbours = reshape(unfold(p, { kernelSize: side, padding: this.radius }), [n, side * side, gh, gw]);
    const perPixel = interpolate(neighbours, { size: [gh * this.step, gw * this.step], mode: 'nearest' });
    const m = amax(mul(perPixel, this.weight), { dim: 1, keepdim: true });
    return slice(slice(m, 2, { end: this.size[0] }), 3, { end: this.size[1] });
  }
}

/**
 * The batch repeated `copies` times (rows copy-major: the whole batch, then again...), to optimise
 * several masks per sample at once. Always a new tensor, which the caller disposes.
 */
export const repeatBatch = (x: Tensor, copies: number): Tensor => cat(Array.from({ length: copies }, () => x), 0);

export function repeatTarget(target: Target, copies: number): Target {
  if (typeof target === 'number' || typeof target === 'function') return target;
  if (target instanceof Tensor) return repeatBatch(target, copies);
  return Array.from({ length: copies }, () => target).flat();
}

/** The gradient of a loss (a sum of per-sample terms) with respect to the mask parameter. */
export const gradientOfLoss =
  (loss: (param: Tensor, t: number) => Tensor) =>
  (param: Tensor, t: number): Tensor =>
    grad(loss(param, t), param)[0]!;

const SYNC_EVERY = 20;

/**
 * Projected Adam on a mask parameter: each step follows `gradient` (of a loss, or iGOS++'s
 * integrated gradients), then clips the parameter back into [0, 1] as Fong & Vedaldi and TorchRay
 * do. Losses are sums of per-sample terms and Adam works elementwise, so a batch gives the same
 * masks as one image at a time. It waits for the device every SYNC_EVERY steps: thousands of
 * dispatches queued without ever yielding to the event loop crash Dawn (a segfault after ~40k
 * dispatches on lavapipe).
 */
export async function optimiseMask(init: Tensor, iterations: number, lr: number, gradient: (param: Tensor, t: number) => Tensor): Promise<Tensor> {
  const param = keep(init.detach().contiguous());
  init.dispose(); // the parameter took it over
  param.requiresGrad = true;
  const optimiser = new Adam([param], { lr });
  for (let t = 0; t < iterations; t++) {
    tidy(() => {
      param.grad = keep(gradient(param, t).detach());
      optimiser.step();
      param.grad.dispose();
      param.grad = null;
      noGrad(() => param.assign(clamp(param, { min: 0, max: 1 })));
    });
    if ((t + 1) % SYNC_EVERY === 0) await sync();
  }
  for (const state of optimiser.stateDict().tensors.values()) state.dispose();
  param.requiresGrad = false;
  return param;
}
