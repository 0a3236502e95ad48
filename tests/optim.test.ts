/**
 * Optimisers, learning-rate schedules and gradient clipping against PyTorch, step by step
 * (tests/fixtures/optim.json, made by scripts/gen_fixtures_optim.py in float32). Parameters after
 * every step: atol 1e-6 / rtol 1e-5. Learning rates: within 1e-12.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import type { Tensor } from '../src/index.ts';
import { runtime } from '../src/kernels/runtime.ts';
import { expectClose } from './helpers.ts';

const { optim } = gb;
type Options = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Flat { shape: number[]; data: number[] }
interface OptimCase {
  id: string;
  optimizer: 'SGD' | 'Adam' | 'AdamW';
  options: Options;
  scheduler?: SchedulerName;
  schedulerOptions?: Options;
  lrs: number[];
  finalLr?: number;
  params: number[][][]; // [step][param] -> values after that step
}
type SchedulerName = 'StepLR' | 'CosineAnnealingLR' | 'OneCycleLR' | 'LinearWarmup';
interface ScheduleCase { id: string; scheduler: SchedulerName; schedulerOptions: Options; baseLr: number; lrs: number[] }
interface ClipCase {
  id: string;
  kind: 'norm' | 'value';
  grads: Flat[];
  maxNorm?: number;
  normType?: number | 'inf';
  totalNorm?: number;
  clipValue?: number;
  clipped: number[][];
}
interface Fixture { torch: string; initial: Flat[]; grads: number[][][]; cases: OptimCase[]; schedules: ScheduleCase[]; clip: ClipCase[] }

const fixture = JSON.parse(readFileSync(new URL('./fixtures/optim.json', import.meta.url), 'utf8')) as Fixture;
const TOL = { atol: 1e-6, rtol: 1e-5 };
const LR_TOL = 1e-12;

function makeOptimizer(name: OptimCase['optimizer'], params: Tensor[], opts: Options): gb.optim.Optimizer {
  if (name === 'SGD') return new optim.SGD(params, opts as gb.optim.SGDOptions);
  if (name === 'Adam') return new optim.Adam(params, opts);
  return new optim.AdamW(params, opts);
}

function makeScheduler(name: SchedulerName, opt: gb.optim.Optimizer, opts: Options): gb.optim.LRScheduler {
  switch (name) {
    case 'StepLR': return new optim.StepLR(opt, opts as gb.optim.StepLROptions);
    case 'CosineAnnealingLR': return new optim.CosineAnnealingLR(opt, opts as gb.optim.CosineAnnealingLROptions);
    case 'OneCycleLR': return new optim.OneCycleLR(opt, opts as gb.optim.OneCycleLROptions);
    case 'LinearWarmup': return new optim.LinearWarmup(opt, opts);
  }
}

function expectLr(actual: number, expected: number, what: string): void {
  if (!(Math.abs(actual - expected) <= LR_TOL)) expect.fail(`${what}: lr is ${actual}, expected ${expected}`);
}

const freshParams = () => fixture.initial.map((x) => gb.tensor(x.data, x.shape, { requiresGrad: true }));

describe(`optimisers against PyTorch ${fixture.torch}`, () => {
  for (const c of fixture.cases) {
    it(c.id, async () => {
      const params = freshParams();
      const opt = makeOptimizer(c.optimizer, params, c.options);
      const sched = c.scheduler ? makeScheduler(c.scheduler, opt, c.schedulerOptions ?? {}) : null;
      for (let k = 0; k < c.params.length; k++) {
        expectLr(opt.lr, c.lrs[k]!, `${c.id} step ${k}`);
        opt.zeroGrad();
        params.forEach((p, i) => (p.grad = gb.tensor(fixture.grads[k]![i]!, p.shape)));
        opt.step();
        sched?.step();
        const values = await Promise.all(params.map((p) => p.toArray()));
        values.forEach((v, i) => expectClose(v, c.params[k]![i]!, { ...TOL, what: `${c.id} step ${k} param ${i}` }));
      }
      if (c.finalLr !== undefined) expectLr(sched!.lastLr(), c.finalLr, `${c.id} final`);
      opt.zeroGrad();
      params.forEach((p) => p.dispose());
    });
  }
});

describe('learning-rate schedules against PyTorch', () => {
  for (const c of fixture.schedules) {
    it(c.id, () => {
      const p = gb.zeros([1], { requiresGrad: true });
      const opt = new optim.SGD([p], { lr: c.baseLr });
      const sched = makeScheduler(c.scheduler, opt, c.schedulerOptions);
      const lrs = [sched.lastLr()];
      for (let k = 1; k < c.lrs.length; k++) {
        opt.step(); // no gradient: changes nothing, but keeps the usual order
        sched.step();
        lrs.push(sched.lastLr());
      }
      lrs.forEach((lr, k) => expectLr(lr, c.lrs[k]!, `${c.id} step ${k}`));
      expect(opt.lr).toBe(lrs[lrs.length - 1]);
      p.dispose();
    });
  }
});

describe('gradient clipping against PyTorch', () => {
  for (const c of fixture.clip) {
    it(c.id, async () => {
      const params = freshParams();
      params.forEach((p, i) => (p.grad = gb.tensor(c.grads[i]!.data, c.grads[i]!.shape)));
      if (c.kind === 'norm') {
        const normType = c.normType === 'inf' ? Infinity : c.normType!;
        const total = optim.clipGradNorm(params, c.maxNorm!, { normType });
        expect(total.shape).toEqual([]);
        expectClose([await total.item()], [c.totalNorm!], { ...TOL, what: `${c.id} total norm` });
        total.dispose();
      } else {
        optim.clipGradValue(params, c.clipValue!);
      }
      const grads = await Promise.all(params.map((p) => p.grad!.toArray()));
      grads.forEach((g, i) => expectClose(g, c.clipped[i]!, { ...TOL, what: `${c.id} grad ${i}` }));
      params.forEach((p) => {
        p.grad!.dispose();
        p.dispose();
      });
    });
  }

  it('skips parameters without a gradient, and returns 0 when none has one', async () => {
    const [a, b] = freshParams();
    expect(await optim.clipGradNorm([a!, b!], 1).item()).toBe(0);
    b!.grad = gb.tensor([3, 0, 0, 4, 0], [5]);
    const total = optim.clipGradNorm([a!, b!], 1);
    expectClose([await total.item()], [5], { ...TOL, what: 'norm' });
    expectClose(await b!.grad.toArray(), [0.6, 0, 0, 0.8, 0], { ...TOL, what: 'clipped' });
    expect(a!.grad).toBeNull();
  });
});

describe('in-place updates', () => {
  it('a parameter that is a strided view steps like a contiguous one, and loaded state is copied, not aliased', async () => {
    const values = [0.5, -1, 2, 0.25, 3, -0.5];
    const grads = [0.1, 0.2, -0.3, 0.4, -0.5, 0.6];
    const contiguous = gb.tensor(values, [2, 3], { requiresGrad: true });
    // the same values seen through a transpose: a leaf whose storage is [3, 2]
    const strided = gb.tensor([0.5, 0.25, -1, 3, 2, -0.5], [3, 2]).transpose(0, 1).detach().requiresGrad_();
    expect(strided.isContiguous).toBe(false);
    const loaded = gb.tensor([1, 1, 1, 1, 1, 1], [2, 3]);
    const runs: Array<[Tensor, InstanceType<typeof optim.SGD>]> = [contiguous, strided].map((p) => [p, new optim.SGD([p], { lr: 0.1, momentum: 0.9 })]);
    runs[0]![1].loadStateDict({ step: 1, lr: 0.1, tensors: new Map([['0.buf', loaded]]) });
    runs[1]![1].loadStateDict({ step: 1, lr: 0.1, tensors: new Map([['0.buf', loaded]]) });
    for (let step = 0; step < 2; step++) {
      for (const [p, opt] of runs) {
        p.grad = gb.tensor(grads, [2, 3]);
        opt.step();
      }
    }
    expectClose(await strided.contiguous().toArray(), await contiguous.toArray(), { ...TOL, what: 'strided parameter' });
    // buf = 0.9 * 1 + g, then 0.9 * buf + g; p -= 0.1 * buf each step
    const expected = values.map((v, i) => v - 0.1 * (0.9 + grads[i]!) - 0.1 * (0.81 + 1.9 * grads[i]!));
    expectClose(await contiguous.toArray(), expected, { ...TOL, what: 'SGD with loaded momentum' });
    expect(Array.from(await loaded.toArray())).toEqual([1, 1, 1, 1, 1, 1]);
  });
});

describe('one kernel steps several parameters', () => {
  // sizes with and without a multiple of 4 (two kernel widths), more than fit one kernel's
  // storage bindings, and one strided parameter
  const sizes = [12, 6, 150, 8, 40, 7, 16, 4, 10, 20, 5, 24];
  const makeParams = () =>
    sizes.map((n, i) => {
      const values = Array.from({ length: n }, (_, k) => Math.sin(i * 7 + k));
      if (i !== 4) return gb.tensor(values, [n], { requiresGrad: true });
      // [5, 8] stored transposed: a leaf that is a strided view
      const t = gb.tensor(values, [8, 5]).transpose(0, 1).detach().requiresGrad_();
      expect(t.isContiguous).toBe(false);
      return t;
    });
  const gradsFor = (step: number) => sizes.map((n, i) => Array.from({ length: n }, (_, k) => Math.cos(i + k * 0.3 + step)));
  const makers = {
    'SGD with momentum and weight decay': (ps: Tensor[]) => new optim.SGD(ps, { lr: 0.05, momentum: 0.9, weightDecay: 0.01 }),
    'Nesterov SGD': (ps: Tensor[]) => new optim.SGD(ps, { lr: 0.05, momentum: 0.8, nesterov: true }),
    Adam: (ps: Tensor[]) => new optim.Adam(ps, { lr: 0.01, weightDecay: 0.001 }),
    AdamW: (ps: Tensor[]) => new optim.AdamW(ps, { lr: 0.01 }),
  };
  for (const [label, make] of Object.entries(makers)) {
    it(`${label}: in as few kernels as the bindings allow, equal to one optimiser per parameter`, async () => {
      const together = makeParams();
      const alone = makeParams();
      const groupOpt = make(together);
      const singleOpts = alone.map((p) => make([p]));
      const bindings = runtime().device.limits.maxStorageBuffersPerShaderStage;
      const perParam = label.includes('Adam') ? 4 : 3;
      const perKernel = Math.floor(bindings / perParam);
      const wide = sizes.filter((n) => n % 4 === 0).length;
      const kernels = Math.ceil(wide / perKernel) + Math.ceil((sizes.length - wide) / perKernel);
      for (let step = 0; step < 3; step++) {
        const grads = gradsFor(step);
        together.forEach((p, i) => (p.grad = gb.tensor(grads[i]!, p.shape)));
        alone.forEach((p, i) => (p.grad = gb.tensor(grads[i]!, p.shape)));
        await gb.sync();
        const before = gb.memory().dispatches;
        groupOpt.step();
        const dispatched = gb.memory().dispatches - before;
        // the first step also fills the new state with zeros and copies the strided parameter (which then takes the copy over)
        if (step > 0) expect(dispatched, `step ${step}: kernels`).toBe(kernels);
        singleOpts.forEach((o) => o.step());
      }
      for (let i = 0; i < sizes.length; i++)
        expectClose(await together[i]!.contiguous().toArray(), await alone[i]!.contiguous().toArray(), { atol: 0, rtol: 0, what: `${label} parameter ${i}` });
    });
  }

  it('refuses a parameter listed twice (one kernel cannot write it twice)', () => {
    const w = gb.zeros([3], { requiresGrad: true });
    expect(() => new optim.SGD([w, gb.zeros([2], { requiresGrad: true }), w], { lr: 0.1 })).toThrow(/parameter 2 is parameter 0 again/);
  });
});

describe('optimiser and schedule errors', () => {
  const p = () => gb.zeros([2], { requiresGrad: true });
  it('rejects a negative learning rate', () => {
    expect(() => new optim.SGD([p()], { lr: -0.1 })).toThrow(/learning rate must be >= 0/);
    expect(() => new optim.Adam([p()], { lr: -1e-3 })).toThrow(/learning rate must be >= 0/);
    // NaN is not a number an option may take: the run-time option check (issue 23) names it first
    expect(() => new optim.AdamW([p()], { lr: Number.NaN })).toThrow(/glassbox.optim.AdamW: option lr must be a finite number, got NaN/);
  });
  it('rejects Nesterov without momentum or with dampening', () => {
    expect(() => new optim.SGD([p()], { lr: 0.1, nesterov: true })).toThrow(/Nesterov/);
    expect(() => new optim.SGD([p()], { lr: 0.1, nesterov: true, momentum: 0.9, dampening: 0.1 })).toThrow(/Nesterov/);
  });
  it('rejects parameters that do not require grad', () => {
    expect(() => new optim.SGD([gb.zeros([2])], { lr: 0.1 })).toThrow(/does not require grad/);
  });
  it('OneCycleLR refuses to step past totalSteps', () => {
    const opt = new optim.SGD([p()], { lr: 0.1 });
    const sched = new optim.OneCycleLR(opt, { maxLr: 1, totalSteps: 3 });
    for (let k = 0; k < 3; k++) sched.step();
    expect(() => sched.step()).toThrow(/totalSteps is 3/);
  });
  it('rejects bad schedule and clipping options', () => {
    const opt = new optim.SGD([p()], { lr: 0.1 });
    expect(() => new optim.StepLR(opt, { stepSize: 0 })).toThrow(/stepSize/);
    expect(() => new optim.CosineAnnealingLR(opt, { tMax: 0 })).toThrow(/tMax/);
    expect(() => new optim.OneCycleLR(opt, { maxLr: 1, totalSteps: 10, pctStart: 1.5 })).toThrow(/pctStart/);
    expect(() => new optim.LinearWarmup(opt, { startFactor: 0 })).toThrow(/startFactor/);
    expect(() => optim.clipGradNorm([p()], 1, { normType: 0 })).toThrow(/normType/);
    expect(() => optim.clipGradValue([p()], -1)).toThrow(/clipValue/);
  });
});
