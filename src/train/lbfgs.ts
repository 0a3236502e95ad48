/**
 * L-BFGS on tensors, with torch.optim.LBFGS's algorithm, defaults and closure API:
 *
 *   const opt = new optim.LBFGS([x], { lineSearchFn: 'strong_wolfe' });
 *   await opt.step(() => tidy(() => { opt.zeroGrad(); const l = f(x); l.backward(); return l.detach(); }));
 *
 * All parameters are treated as one flat vector (their gradients concatenated, as PyTorch's
 * `_gather_flat_grad`). The search direction comes from the two-loop recursion over the last
 * `historySize` pairs (s = step taken, y = change of gradient), scaled by the initial Hessian
 * guess y.s / y.y; its dot products stay on the GPU as 0-d tensors (PyTorch keeps them as tensors
 * too), so the recursion costs no readback. What decides control flow is read back: the loss, the
 * gradient's largest |entry|, y.s, the directional derivative g.d (one readback per evaluation,
 * plus one per history update).
 *
 * Without a line search every iteration steps by `lr` (the first by min(1, 1/|g|_1) * lr), as PyTorch
 * does; `lineSearchFn: 'strong_wolfe'` runs PyTorch's bracketing and zoom with cubic interpolation
 * (Nocedal & Wright, algorithms 3.5 and 3.6; PyTorch ports it from Torch7's lswolfe.lua), with its
 * constants c1 = 1e-4, c2 = 0.9 and 25 evaluations at most, which `wolfe` may change.
 */
import { noGrad } from '../autograd/node.ts';
import { keep, tidy, Tensor } from '../tensor/tensor.ts';
import { zeros } from '../tensor/ops/creation.ts';
import { copyKernel } from '../tensor/ops/elementwise.ts';
import { amax, sum } from '../tensor/ops/reduce.ts';
import { cat, slice, stack } from '../tensor/ops/views.ts';

/** Zeroes the gradients, computes the loss, calls backward and returns the loss (a one-element tensor, which `step` reads and then disposes, or a number). */
export type LBFGSClosure = () => Tensor | number | Promise<Tensor | number>;

export interface LBFGSOptions {
  /** Step length without a line search, the line search's first trial otherwise (default 1). */
  lr?: number;
  /** Iterations per `step` (default 20). */
  maxIter?: number;
  /** Closure evaluations per `step` (default maxIter * 5 / 4, rounded down). */
  maxEval?: number;
  /** Stop when every |gradient entry| is at most this (default 1e-7). */
  toleranceGrad?: number;
  /** Stop when the loss or every parameter moves by less than this (default 1e-9). */
  toleranceChange?: number;
  /** Pairs (s, y) kept for the two-loop recursion (default 100). */
  historySize?: number;
  /** 'strong_wolfe', or null for fixed steps of `lr` (default null, as PyTorch). */
  lineSearchFn?: 'strong_wolfe' | null;
  /** The strong Wolfe constants: sufficient decrease c1, curvature c2, and the most evaluations per search (default 1e-4, 0.9, 25). */
  wolfe?: { c1?: number; c2?: number; maxEvals?: number };
}

const OPTION_KEYS = ['lr', 'maxIter', 'maxEval', 'toleranceGrad', 'toleranceChange', 'historySize', 'lineSearchFn', 'wolfe'];

/** One evaluation of the closure: the loss, the flat gradient, its largest |entry| and (in a line search) its slope along d. */
interface Evaluation {
  f: number;
  g: Tensor;
  gAbsMax: number;
  gtd: number;
}

export class LBFGS {
  lr: number;
  readonly maxIter: number;
  readonly maxEval: number;
  readonly toleranceGrad: number;
  readonly toleranceChange: number;
  readonly historySize: number;
  readonly lineSearchFn: 'strong_wolfe' | null;
  readonly wolfe: { c1: number; c2: number; maxEvals: number };
  /** Closure evaluations and iterations over all steps (PyTorch's state['func_evals'], state['n_iter']). */
  funcEvals = 0;
  nIter = 0;

  private readonly sizes: number[];
  // the state carried from step to step, as PyTorch's
  private d: Tensor | null = null;
  private t = 0;
  private oldDirs: Tensor[] = [];
  private oldSteps: Tensor[] = [];
  private ro: number[] = [];
  private hDiag = 1;
  private prevFlatGrad: Tensor | null = null;

  constructor(
    readonly params: Tensor[],
    opts: LBFGSOptions = {},
  ) {
    const unknown = Object.keys(opts).filter((k) => !OPTION_KEYS.includes(k));
    if (unknown.length) throw new Error(`glassbox.optim.LBFGS: unknown option ${unknown.map((k) => `'${k}'`).join(', ')}; it takes ${OPTION_KEYS.join(', ')}`);
    if (params.length === 0) throw new Error('glassbox.optim.LBFGS: needs at least one parameter');
    params.forEach((p, i) => {
      if (!p.requiresGrad) throw new Error(`glassbox.optim.LBFGS: parameter ${i} does not require grad`);
      if (p.dtype !== 'float32') throw new Error(`glassbox.optim.LBFGS: parameter ${i} is ${p.dtype}; L-BFGS optimises float32 tensors`);
      if (params.indexOf(p) !== i) throw new Error(`glassbox.optim.LBFGS: parameter ${i} is parameter ${params.indexOf(p)} again; pass each tensor once`);
    });
    this.lr = positive('lr', opts.lr ?? 1);
    this.maxIter = count('maxIter', opts.maxIter ?? 20);
    this.maxEval = count('maxEval', opts.maxEval ?? Math.floor((this.maxIter * 5) / 4));
    this.toleranceGrad = nonNegative('toleranceGrad', opts.toleranceGrad ?? 1e-7);
    this.toleranceChange = nonNegative('toleranceChange', opts.toleranceChange ?? 1e-9);
    this.historySize = count('historySize', opts.historySize ?? 100);
    const ls = opts.lineSearchFn ?? null;
    if (ls !== null && ls !== 'strong_wolfe') throw new Error(`glassbox.optim.LBFGS: lineSearchFn must be 'strong_wolfe' or null, got ${JSON.stringify(ls)}`);
    this.lineSearchFn = ls;
    const w = { c1: 1e-4, c2: 0.9, maxEvals: 25, ...opts.wolfe };
    if (!(w.c1 > 0 && w.c1 < w.c2 && w.c2 < 1)) throw new Error(`glassbox.optim.LBFGS: the Wolfe constants need 0 < c1 < c2 < 1, got c1 = ${w.c1}, c2 = ${w.c2}`);
    count('wolfe.maxEvals', w.maxEvals);
    this.wolfe = w;
    this.sizes = params.map((p) => p.size);
  }

  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /**
   * Runs up to `maxIter` iterations (PyTorch's `step(closure)`), leaving the parameters at the last
   * iterate; returns the loss of the first evaluation (at the parameters as they were).
   */
  async step(closure: LBFGSClosure): Promise<number> {
    const { lr, maxIter, maxEval, toleranceGrad, toleranceChange } = this;
    let current = await this.evaluate(closure, null);
    const origLoss = current.f;
    let currentEvals = 1;
    this.funcEvals++;
    if (current.gAbsMax <= toleranceGrad) {
      current.g.dispose();
      return origLoss;
    }

    let nIter = 0;
    try {
      while (nIter < maxIter) {
        nIter++;
        this.nIter++;
        const flatGrad = current.g;

        // the search direction
        if (this.nIter === 1) {
          this.setDirection(noGrad(() => tidy(() => flatGrad.neg())));
          this.disposeHistory();
          this.hDiag = 1;
        } else {
          await this.updateHistory(flatGrad);
          this.setDirection(this.twoLoop(flatGrad));
        }
        this.prevFlatGrad?.dispose();
        this.prevFlatGrad = keep(noGrad(() => copyKernel(flatGrad)));
        const prevLoss = current.f;

        // the step length: the first iteration scales the step to the gradient's size
        const d = this.d!;
        const [gtd, dAbsMax, gAbsSum] = await readScalars(() => [dot(flatGrad, d), amax(d.abs()), sum(flatGrad.abs())]);
        this.t = this.nIter === 1 ? Math.min(1, 1 / gAbsSum!) * lr : lr;
        if (gtd! > -toleranceChange) break; // not a descent direction (any more)

        let lsEvals = 0;
        if (this.lineSearchFn === 'strong_wolfe') {
          const x0 = noGrad(() => this.params.map((p) => keep(copyKernel(p))));
          try {
            const found = await this.strongWolfe(closure, x0, this.t, d, current, gtd!, dAbsMax!);
            this.t = found.t;
            lsEvals = found.evals;
            current.g.dispose();
            current = found.at;
          } finally {
            x0.forEach((x) => x.dispose());
          }
          this.addToParams(this.t, d);
        } else {
          this.addToParams(this.t, d);
          if (nIter !== maxIter) {
            const next = await this.evaluate(closure, null);
            current.g.dispose();
            current = next;
            lsEvals = 1;
          }
        }
        currentEvals += lsEvals;
        this.funcEvals += lsEvals;

        if (nIter === maxIter || currentEvals >= maxEval) break;
        if (current.gAbsMax <= toleranceGrad) break;
        if (Math.abs(this.t) * dAbsMax! <= toleranceChange) break;
        if (Math.abs(current.f - prevLoss) < toleranceChange) break;
      }
    } finally {
      current.g.dispose();
    }
    return origLoss;
  }

  /** Releases the history and the carried state (the optimiser may be used again; it starts afresh). */
  reset(): void {
    this.disposeHistory();
    this.d?.dispose();
    this.d = null;
    this.prevFlatGrad?.dispose();
    this.prevFlatGrad = null;
    this.nIter = 0;
    this.funcEvals = 0;
  }

  /** Stores the pair (s = t d, y = g - g_prev) if its curvature y.s is positive (> 1e-10, as PyTorch), dropping the oldest beyond historySize. */
  private async updateHistory(flatGrad: Tensor): Promise<void> {
    const { y, s } = noGrad(() => tidy(() => ({ y: keep(flatGrad.sub(this.prevFlatGrad!)), s: keep(this.d!.mul(this.t)) })));
    const [ys, yy] = await readScalars(() => [dot(y, s), dot(y, y)]);
    if (!(ys! > 1e-10)) {
      y.dispose();
      s.dispose();
      return;
    }
    if (this.oldDirs.length === this.historySize) {
      this.oldDirs.shift()!.dispose();
      this.oldSteps.shift()!.dispose();
      this.ro.shift();
    }
    this.oldDirs.push(y);
    this.oldSteps.push(s);
    this.ro.push(1 / ys!);
    this.hDiag = ys! / yy!;
  }

  /** The two-loop recursion: d = -H g with H the L-BFGS inverse-Hessian approximation (Nocedal & Wright, algorithm 7.4). */
  private twoLoop(flatGrad: Tensor): Tensor {
    return noGrad(() =>
      tidy(() => {
        const m = this.oldDirs.length;
        const al: Tensor[] = new Array(m);
        let q = flatGrad.neg();
        for (let i = m - 1; i >= 0; i--) {
          al[i] = dot(this.oldSteps[i]!, q).mul(this.ro[i]!);
          q = q.sub(this.oldDirs[i]!.mul(al[i]!));
        }
        let r = q.mul(this.hDiag);
        for (let i = 0; i < m; i++) {
          const be = dot(this.oldDirs[i]!, r).mul(this.ro[i]!);
          r = r.add(this.oldSteps[i]!.mul(al[i]!.sub(be)));
        }
        return r;
      }),
    );
  }

  /**
   * PyTorch's `_strong_wolfe`: brackets a step satisfying the strong Wolfe conditions along d from
   * x0 (loss f0, slope gtd0), then zooms in by cubic interpolation. The parameters are left at x0.
   */
  private async strongWolfe(closure: LBFGSClosure, x0: Tensor[], t: number, d: Tensor, start: Evaluation, gtd0: number, dNorm: number): Promise<{ t: number; at: Evaluation; evals: number }> {
    const { c1, c2, maxEvals } = this.wolfe;
    const f0 = start.f;
    // the sufficient-decrease bound, rounded to float32 like the loss it is compared with (PyTorch's
    // f + c1 t gtd is a float32 tensor for float32 parameters): a decrease below the loss's
    // resolution counts as no decrease, not as a failed step
    const armijo = (step: number) => Math.fround(f0 + c1 * step * gtd0);
    const held = new Set<Tensor>(); // gradients the bracket may return, disposed at the end unless returned
    const at = async (step: number): Promise<Evaluation> => {
      this.setParams(x0, step, d);
      const e = await this.evaluate(closure, d);
      held.add(e.g);
      return e;
    };
    const startCopy: Evaluation = { ...start, g: noGrad(() => keep(copyKernel(start.g))), gtd: gtd0 };
    held.add(startCopy.g);

    let next = await at(t);
    let evals = 1;
    let prev = startCopy;
    let tPrev = 0;
    let done = false;
    let lsIter = 0;
    let bracket: number[] = [];
    let bracketAt: Evaluation[] = [];
    while (lsIter < maxEvals) {
      if (next.f > armijo(t) || (lsIter > 1 && next.f >= prev.f)) {
        [bracket, bracketAt] = [[tPrev, t], [prev, next]];
        break;
      }
      if (Math.abs(next.gtd) <= -c2 * gtd0) {
        [bracket, bracketAt] = [[t], [next]];
        done = true;
        break;
      }
      if (next.gtd >= 0) {
        [bracket, bracketAt] = [[tPrev, t], [prev, next]];
        break;
      }
      // extrapolate: a cubic's minimum between 1.01 t and 10 t
      const minStep = t + 0.01 * (t - tPrev);
      const maxStep = t * 10;
      const tNext = cubicInterpolate(tPrev, prev.f, prev.gtd, t, next.f, next.gtd, [minStep, maxStep]);
      tPrev = t;
      prev = next;
      t = tNext;
      next = await at(t);
      evals++;
      lsIter++;
    }
    if (lsIter === maxEvals) [bracket, bracketAt] = [[0, t], [startCopy, next]];

    // zoom: shrink the bracket until a point satisfies the conditions
    let insufficientProgress = false;
    let [low, high] = bracketAt[0]!.f <= bracketAt[bracketAt.length - 1]!.f ? [0, 1] : [1, 0];
    while (!done && lsIter < maxEvals) {
      if (Math.abs(bracket[1]! - bracket[0]!) * dNorm < this.toleranceChange) break;
      t = cubicInterpolate(bracket[0]!, bracketAt[0]!.f, bracketAt[0]!.gtd, bracket[1]!, bracketAt[1]!.f, bracketAt[1]!.gtd);
      // a trial too close to an end of the bracket twice in a row (or outside it) moves 10% inside
      const hi = Math.max(...bracket);
      const lo = Math.min(...bracket);
      const eps = 0.1 * (hi - lo);
      if (Math.min(hi - t, t - lo) < eps) {
        if (insufficientProgress || t >= hi || t <= lo) {
          t = Math.abs(t - hi) < Math.abs(t - lo) ? hi - eps : lo + eps;
          insufficientProgress = false;
        } else insufficientProgress = true;
      } else insufficientProgress = false;

      const e = await at(t);
      evals++;
      lsIter++;
      if (e.f > armijo(t) || e.f >= bracketAt[low]!.f) {
        bracket[high] = t;
        bracketAt[high] = e;
        [low, high] = bracketAt[0]!.f <= bracketAt[1]!.f ? [0, 1] : [1, 0];
      } else {
        if (Math.abs(e.gtd) <= -c2 * gtd0) done = true;
        else if (e.gtd * (bracket[high]! - bracket[low]!) >= 0) {
          bracket[high] = bracket[low]!;
          bracketAt[high] = bracketAt[low]!;
        }
        bracket[low] = t;
        bracketAt[low] = e;
      }
    }
    this.setParams(x0, 0, d);
    const chosen = bracketAt[low]!;
    for (const g of held) if (g !== chosen.g) g.dispose();
    return { t: bracket[low]!, at: chosen, evals };
  }

  /** Calls the closure with gradients enabled and reads its loss, the flat gradient's largest |entry| and, given d, g.d, in one readback. */
  private async evaluate(closure: LBFGSClosure, d: Tensor | null): Promise<Evaluation> {
    const returned = await closure();
    const lossTensor = returned instanceof Tensor ? returned : null;
    if (lossTensor && lossTensor.size !== 1) throw new Error(`glassbox.optim.LBFGS: the closure returned a tensor of ${lossTensor.size} elements; it must return the loss (one element) or a number`);
    if (!lossTensor && typeof returned !== 'number') throw new Error(`glassbox.optim.LBFGS: the closure returned ${typeof returned}; it must return the loss, a one-element tensor or a number`);
    const g = keep(noGrad(() => tidy(() => cat(this.params.map((p, i) => (p.grad ? p.grad.reshape(-1) : zeros([this.sizes[i]!])))))));
    const [gAbsMax, gtd, loss] = await readScalars(() => [amax(g.abs()), d ? dot(g, d) : zeros([]), lossTensor ? lossTensor.reshape([]) : zeros([])]);
    lossTensor?.dispose();
    const f = lossTensor ? loss! : (returned as number);
    if (!Number.isFinite(f)) throw new Error(`glassbox.optim.LBFGS: the closure's loss is ${f}; L-BFGS needs a finite loss (lower lr, or check the objective)`);
    return { f, g, gAbsMax: gAbsMax!, gtd: gtd! };
  }

  /** params += step * d (PyTorch's `_add_grad`). */
  private addToParams(step: number, d: Tensor): void {
    this.forEachSlice(d, (p, part) => p.add(part.mul(step)));
  }

  /** params = x0 + step * d. */
  private setParams(x0: Tensor[], step: number, d: Tensor): void {
    this.forEachSlice(d, (_p, part, i) => (step === 0 ? copyKernel(x0[i]!) : x0[i]!.add(part.mul(step))));
  }

  private forEachSlice(d: Tensor, value: (p: Tensor, part: Tensor, i: number) => Tensor): void {
    noGrad(() =>
      tidy(() => {
        let offset = 0;
        this.params.forEach((p, i) => {
          const part = slice(d, 0, { start: offset, end: offset + p.size }).reshape(p.shape);
          p.assign(value(p, part, i).contiguous());
          offset += p.size;
        });
      }),
    );
  }

  private setDirection(d: Tensor): void {
    this.d?.dispose();
    this.d = keep(d);
  }

  private disposeHistory(): void {
    [...this.oldDirs, ...this.oldSteps].forEach((t) => t.dispose());
    this.oldDirs = [];
    this.oldSteps = [];
    this.ro = [];
  }
}

/**
 * The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1, g2, clamped to `bounds`
 * (default: between x1 and x2); the bounds' midpoint when the cubic has no minimum.
 */
export function cubicInterpolate(x1: number, f1: number, g1: number, x2: number, f2: number, g2: number, bounds?: [number, number]): number {
  const [lo, hi] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2Square = d1 * d1 - g1 * g2;
  if (d2Square >= 0) {
    const d2 = Math.sqrt(d2Square);
    const minPos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2)) : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return Math.min(Math.max(minPos, lo), hi);
  }
  return (lo + hi) / 2;
}

function dot(a: Tensor, b: Tensor): Tensor {
  return sum(a.mul(b));
}

/** Computes 0-d tensors and reads them back together. */
async function readScalars(make: () => Tensor[]): Promise<number[]> {
  const packed = noGrad(() => tidy(() => stack(make())));
  try {
    return Array.from(await packed.toArray());
  } finally {
    packed.dispose();
  }
}

function positive(name: string, v: number): number {
  if (!(Number.isFinite(v) && v > 0)) throw new Error(`glassbox.optim.LBFGS: ${name} must be a positive number, got ${v}`);
  return v;
}

function nonNegative(name: string, v: number): number {
  if (!(Number.isFinite(v) && v >= 0)) throw new Error(`glassbox.optim.LBFGS: ${name} must be a number >= 0, got ${v}`);
  return v;
}

function count(name: string, v: number): number {
  if (!(Number.isInteger(v) && v >= 1)) throw new Error(`glassbox.optim.LBFGS: ${name} must be an integer >= 1, got ${v}`);
  return v;
}
