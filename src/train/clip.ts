/**
 * Gradient clipping, as torch.nn.utils.clip_grad_norm_ and clip_grad_value_. Both rewrite each
 * parameter's `.grad` in place on the GPU and never read back to the CPU: the clip factor
 * min(1, maxNorm / (norm + 1e-6)) is computed inside the scaling kernel from the norm tensor.
 */
import { noGrad } from '../autograd/node.ts';
import { elementwiseKernel } from '../tensor/ops/elementwise.ts';
import { amax, sum } from '../tensor/ops/reduce.ts';
import { zeros } from '../tensor/ops/creation.ts';
import type { Tensor } from '../tensor/tensor.ts';

export interface ClipGradNormOptions {
  /** p of the p-norm: any p > 0, or Infinity for the largest |g| (default 2). */
  normType?: number;
}

/** Replaces `g`'s contents with a kernel's output computed from it. */
function rewrite(g: Tensor, name: string, expr: string, extra: Tensor[], params: number[]): void {
  const next = elementwiseKernel(name, expr, [g, ...extra], params);
  g.assign(next);
  next.dispose();
}

/**
 * Scales all gradients together so that their joint p-norm (the norm of all of them as one
 * vector) is at most `maxNorm`. Returns that norm, before clipping, as a rank-0 tensor.
 * Parameters without a gradient are skipped; with none at all the norm is 0.
 */
export function clipGradNorm(params: readonly Tensor[], maxNorm: number, opts: ClipGradNormOptions = {}): Tensor {
  const p = opts.normType ?? 2;
  if (!(p > 0)) throw new Error(`glassbox.optim.clipGradNorm: normType must be > 0 (or Infinity), got ${p}`);
  if (!(maxNorm >= 0)) throw new Error(`glassbox.optim.clipGradNorm: maxNorm must be >= 0, got ${maxNorm}`);
  const grads = params.map((x) => x.grad).filter((g): g is Tensor => g !== null);
  return noGrad(() => {
    if (grads.length === 0) return zeros([]);
    // Per gradient: max |g| (p = inf) or sum |g|^p; then combine them and take the p-th root.
    const power = p === 1 ? 'abs({0})' : p === 2 ? '({0} * {0})' : 'pow(abs({0}), {p0})';
    const parts = grads.map((g) => {
      const a = elementwiseKernel('clip_abs_pow', p === Infinity ? 'abs({0})' : power, [g], p === Infinity || p <= 2 ? [] : [p]);
      const r = p === Infinity ? amax(a) : sum(a);
      a.dispose();
      return r;
    });
    let total = parts[0]!;
    for (const part of parts.slice(1)) {
      const next = elementwiseKernel('clip_combine', p === Infinity ? 'max({0}, {1})' : '{0} + {1}', [total, part]);
      total.dispose();
      part.dispose();
      total = next;
    }
    if (p !== Infinity && p !== 1) {
      const root = elementwiseKernel('clip_root', p === 2 ? 'sqrt({0})' : 'pow({0}, {p0})', [total], p === 2 ? [] : [1 / p]);
      total.dispose();
      total = root;
    }
    for (const g of grads) rewrite(g, 'clip_grad_norm', '{0} * min({p0} / ({1} + 1e-6), 1.0)', [total], [maxNorm]);
    return total;
  });
}

/** Clamps every gradient element to [-clipValue, clipValue], in place. */
export function clipGradValue(params: readonly Tensor[], clipValue: number): void {
  if (!(clipValue >= 0)) throw new Error(`glassbox.optim.clipGradValue: clipValue must be >= 0, got ${clipValue}`);
  noGrad(() => {
    for (const x of params) if (x.grad) rewrite(x.grad, 'clip_grad_value', 'clamp({0}, -{p0}, {p0})', [], [clipValue]);
  });
}
