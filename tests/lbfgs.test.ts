/**
 * optim.LBFGS against torch.optim.LBFGS (tests/fixtures/lbfgs.json, made by
 * scripts/gen_fixtures_lbfgs.py in float32), iterate by iterate, with and without the strong-Wolfe
 * line search; Rosenbrock's function (against Adam); a quadratic in n iterations for n unknowns.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import type { Tensor } from '../src/index.ts';
import { cubicInterpolate } from '../src/train/lbfgs.ts';
import { expectClose } from './helpers.ts';

const { optim } = gb;

/** A closure in PyTorch's form: zero the gradients, compute the loss, backward, return it. */
function closureOf(opt: { zeroGrad(): void }, loss: () => Tensor): () => Tensor {
  return () =>
    gb.tidy(() => {
      opt.zeroGrad();
      const l = loss();
      l.backward();
      return l.detach();
    });
}

interface LbfgsCase { id: string; problem: 'quartic' | 'rosenbrock'; options: gb.optim.LBFGSOptions; steps: number; x: number[][]; nIter: number; funcEvals: number }
interface Fixture { torch: string; quartic: { A: number[]; c: number[]; x0: number[] }; rosenbrock: { x0: number[] }; cases: LbfgsCase[] }
const fixture = JSON.parse(readFileSync(new URL('./fixtures/lbfgs.json', import.meta.url), 'utf8')) as Fixture;

/** f(x) = 1/2 x.A x + 1/4 sum x^4 - c.x on 5 unknowns held as two parameters ([2] and [3, 1]). */
function quarticLoss(a: Tensor, b: Tensor): Tensor {
  const { A, c } = fixture.quartic;
  const x = gb.cat([a, b.view(-1)]).view(1, 5);
  const quad = x.matmul(gb.tensor(A, [5, 5])).mul(x).sum().mul(0.5);
  return quad.add(x.powScalar(4).sum().mul(0.25)).sub(x.mul(gb.tensor(c, [1, 5])).sum());
}

/** Rosenbrock's function (1 - x)^2 + 100 (y - x^2)^2; minimum 0 at (1, 1). */
const rosenbrock = (p: Tensor) => {
  const x = gb.slice(p, 0, { start: 0, end: 1 });
  const y = gb.slice(p, 0, { start: 1, end: 2 });
  return x.neg().add(1).square().add(y.sub(x.square()).square().mul(100)).sum();
};

/** The problem's parameters and loss, at its starting point. */
function problem(name: LbfgsCase['problem']): { params: Tensor[]; loss: () => Tensor } {
  if (name === 'rosenbrock') {
    const p = gb.tensor(fixture.rosenbrock.x0, [2], { requiresGrad: true });
    return { params: [p], loss: () => rosenbrock(p) };
  }
  const x0 = fixture.quartic.x0;
  const a = gb.tensor(x0.slice(0, 2), [2], { requiresGrad: true });
  const b = gb.tensor(x0.slice(2), [3, 1], { requiresGrad: true });
  return { params: [a, b], loss: () => quarticLoss(a, b) };
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);

async function valuesOf(...ts: Tensor[]): Promise<number[]> {
  const out: number[] = [];
  for (const t of ts) out.push(...(await t.toArray()));
  return out;
}

describe(`LBFGS against torch.optim.LBFGS (${fixture.torch}; tests/fixtures/lbfgs.json), step by step`, () => {
  for (const c of fixture.cases) {
    it(`${c.problem}, ${c.id} (${JSON.stringify(c.options)}): the same iterates, iterations and evaluations`, async () => {
      const { params, loss } = problem(c.problem);
      const opt = new optim.LBFGS(params, c.options);
      const closure = closureOf(opt, loss);
      for (let s = 0; s < c.steps; s++) {
        await opt.step(closure);
        expectClose(await valuesOf(...params), c.x[s]!, { atol: 1e-5, rtol: 1e-4, what: `x after step ${s + 1}` });
      }
      expect([opt.nIter, opt.funcEvals]).toEqual([c.nIter, c.funcEvals]);
    });
  }

  it("PyTorch's defaults", () => {
    const opt = new optim.LBFGS([gb.zeros([1], { requiresGrad: true })]);
    expect([opt.lr, opt.maxIter, opt.maxEval, opt.toleranceGrad, opt.toleranceChange, opt.historySize, opt.lineSearchFn]).toEqual([1, 20, 25, 1e-7, 1e-9, 100, null]);
    expect(opt.wolfe).toEqual({ c1: 1e-4, c2: 0.9, maxEvals: 25 });
  });
});

describe('LBFGS with the strong Wolfe line search', () => {
  it('minimises Rosenbrock to (1, 1) in far fewer evaluations than Adam', async () => {
    const p = gb.tensor([-1.2, 1], [2], { requiresGrad: true });
    const opt = new optim.LBFGS([p], { lineSearchFn: 'strong_wolfe', maxIter: 100, historySize: 10 });
    await opt.step(closureOf(opt, () => rosenbrock(p)));
    const found = await valuesOf(p);
    expectClose(found, [1, 1], { atol: 1e-3, rtol: 0, what: 'L-BFGS minimiser' });
    expect(opt.funcEvals).toBeLessThan(100);

    // Adam (a well-tuned lr for this problem) with 10x the evaluations is still far away
    const q = gb.tensor([-1.2, 1], [2], { requiresGrad: true });
    const adam = new optim.Adam([q], { lr: 0.02 });
    for (let i = 0; i < 10 * opt.funcEvals; i++)
      gb.tidy(() => {
        adam.zeroGrad();
        rosenbrock(q).backward();
        adam.step();
      });
    const adamAt = await valuesOf(q);
    const distance = (v: number[]) => Math.hypot(v[0]! - 1, v[1]! - 1);
    expect(distance(adamAt)).toBeGreaterThan(100 * distance(found));
  });

  it('solves an n-unknown quadratic in n iterations (with a near-exact line search, as conjugate gradients)', async () => {
    // f(x) = 1/2 x.H x - c.x with H = M M^T + I (eigenvalues spread over about two decades): x* = H^-1 c
    const n = 6;
    const M = Array.from({ length: n * n }, (_, i) => Math.sin(1.7 * i + 0.3) * (1 + (i % n)));
    const H = Array.from({ length: n * n }, (_, k) => {
      const [i, j] = [Math.floor(k / n), k % n];
      let s = i === j ? 1 : 0;
      for (let l = 0; l < n; l++) s += M[i * n + l]! * M[j * n + l]!;
      return s;
    });
    const c = Array.from({ length: n }, (_, i) => Math.cos(i + 0.5));
    const x = gb.zeros([n], { requiresGrad: true });
    const loss = () => {
      const row = x.view(1, n);
      return row.matmul(gb.tensor(H, [n, n])).mul(row).sum().mul(0.5).sub(row.mul(gb.tensor(c, [1, n])).sum());
    };
    const opt = new optim.LBFGS([x], { lineSearchFn: 'strong_wolfe', maxIter: n, wolfe: { c2: 1e-3 }, toleranceGrad: 0, toleranceChange: 0 });
    await opt.step(closureOf(opt, loss));
    expect(opt.nIter).toBeLessThanOrEqual(n);
    const got = await valuesOf(x);
    // residual of H x = c, relative to |c|
    const residual = c.map((ci, i) => dot(H.slice(i * n, (i + 1) * n), got) - ci);
    expect(Math.hypot(...residual) / Math.hypot(...c)).toBeLessThan(1e-4);
  });

  it('frees what it does not keep: memory is flat once the history is full', async () => {
    const { params, loss } = problem('rosenbrock');
    const opt = new optim.LBFGS(params, { lineSearchFn: 'strong_wolfe', maxIter: 1, historySize: 2 });
    const closure = closureOf(opt, loss);
    const inUse: number[] = [];
    for (let s = 0; s < 12; s++) {
      await opt.step(closure);
      inUse.push(gb.memory().bytesInUse);
    }
    expect(new Set(inUse.slice(4)).size, `bytes in use per step: ${inUse.join(', ')}`).toBe(1);
    opt.reset();
    opt.zeroGrad();
    expect(gb.memory().bytesInUse).toBeLessThan(inUse[11]!);
  });

  it('cubicInterpolate finds the minimum of a cubic from two points and slopes', () => {
    // f(t) = t^3 - 3t: minimum at t = 1; from t = 0 (f 0, f' -3) and t = 2 (f 2, f' 9)
    expect(cubicInterpolate(0, 0, -3, 2, 2, 9)).toBeCloseTo(1, 12);
    expect(cubicInterpolate(2, 2, 9, 0, 0, -3)).toBeCloseTo(1, 12);
    expect(cubicInterpolate(0, 0, -3, 2, 2, 9, [1.5, 3])).toBe(1.5); // clamped to the bounds
  });

  it('refuses bad options and a closure that does not return the loss, naming them', async () => {
    const p = gb.zeros([2], { requiresGrad: true });
    expect(() => new optim.LBFGS([p], { lineSearchFn: 'wolfe' as 'strong_wolfe' })).toThrow(/lineSearchFn must be 'strong_wolfe' or null, got "wolfe"/);
    expect(() => new optim.LBFGS([p], { historySize: 0 })).toThrow(/historySize must be an integer >= 1, got 0/);
    expect(() => new optim.LBFGS([p], { lr: -1 })).toThrow(/lr must be a positive number, got -1/);
    expect(() => new optim.LBFGS([p], { maxiter: 3 } as never)).toThrow(/unknown option 'maxiter'/);
    expect(() => new optim.LBFGS([gb.zeros([2])])).toThrow(/parameter 0 does not require grad/);
    const opt = new optim.LBFGS([p]);
    await expect(opt.step(() => gb.zeros([3]))).rejects.toThrow(/tensor of 3 elements; it must return the loss/);
    await expect(opt.step(() => Number.NaN)).rejects.toThrow(/loss is NaN/);
  });
});
