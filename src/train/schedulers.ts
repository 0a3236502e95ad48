/**
 * Learning-rate schedules with torch.optim.lr_scheduler's semantics: constructing one sets the
 * step-0 learning rate, then `sched.step()` after each `opt.step()` advances it and writes
 * `opt.lr`. Each schedule is the same recurrence PyTorch's `get_lr()` uses (StepLR and
 * CosineAnnealingLR update the current lr rather than recomputing it from the base), so the
 * learning rates match PyTorch's to the last bit, and a schedule composes with a manual `opt.lr = ...`
 * the same way.
 */
import type { Optimizer } from './optim.ts';
import { checkOptions } from '../tensor/check-options.ts';

export abstract class LRScheduler {
  /** The learning rate the optimiser had when the schedule was made. */
  readonly baseLr: number;
  /** Number of `step()` calls so far (PyTorch's `last_epoch`). */
  protected epoch = 0;

  constructor(readonly optimizer: Optimizer) {
    this.baseLr = optimizer.lr;
  }

  /** Advances the schedule by one step and sets the optimiser's learning rate. */
  step(): void {
    this.epoch++;
    this.optimizer.lr = this.computeLr(this.epoch, this.optimizer.lr);
  }

  /** The learning rate the last step set (PyTorch's `get_last_lr()[0]`). */
  lastLr(): number {
    return this.optimizer.lr;
  }

  /** The learning rate for step `epoch`, given the current one. */
  protected abstract computeLr(epoch: number, lr: number): number;

  /** Sets the step-0 learning rate; subclasses call it at the end of their constructors. */
  protected start(): void {
    this.optimizer.lr = this.computeLr(0, this.optimizer.lr);
  }
}

function checkPositive(name: string, what: string, v: number): void {
  if (!(v > 0)) throw new Error(`glassbox.optim.${name}: ${what} must be > 0, got ${v}`);
}

export interface StepLROptions {
  stepSize: number;
  gamma?: number;
}

/** Multiplies the learning rate by `gamma` every `stepSize` steps. */
export class StepLR extends LRScheduler {
  readonly stepSize: number;
  readonly gamma: number;
  constructor(optimizer: Optimizer, opts: StepLROptions) {
    super(optimizer);
    checkOptions('optim.StepLR', opts, { stepSize: 'integer', gamma: 'number' }, ['stepSize']);
    this.stepSize = opts.stepSize;
    this.gamma = opts.gamma ?? 0.1;
    if (!Number.isInteger(this.stepSize) || this.stepSize < 1) throw new Error(`glassbox.optim.StepLR: stepSize must be a positive integer, got ${this.stepSize}`);
    this.start();
  }

  protected computeLr(epoch: number, lr: number): number {
    return epoch === 0 || epoch % this.stepSize !== 0 ? lr : lr * this.gamma;
  }
}

export interface CosineAnnealingLROptions {
  tMax: number;
  etaMin?: number;
}

/**
 * Cosine from the base lr down to `etaMin` over `tMax` steps, then back up over the next `tMax`
 * (PyTorch's schedule is periodic: it does not hold at etaMin).
 */
export class CosineAnnealingLR extends LRScheduler {
  readonly tMax: number;
  readonly etaMin: number;
  constructor(optimizer: Optimizer, opts: CosineAnnealingLROptions) {
    super(optimizer);
    checkOptions('optim.CosineAnnealingLR', opts, { tMax: 'number', etaMin: 'number' }, ['tMax']);
    this.tMax = opts.tMax;
    this.etaMin = opts.etaMin ?? 0;
    checkPositive('CosineAnnealingLR', 'tMax', this.tMax);
    this.start();
  }

  protected computeLr(t: number, lr: number): number {
    const { tMax, etaMin, baseLr } = this;
    if (t === 0) return lr;
    // At the bottom of a period the ratio below divides by zero; PyTorch adds the first rise instead.
    if ((((t - 1 - tMax) % (2 * tMax)) + 2 * tMax) % (2 * tMax) === 0) return lr + ((baseLr - etaMin) * (1 - Math.cos(Math.PI / tMax))) / 2;
    return ((1 + Math.cos((Math.PI * t) / tMax)) / (1 + Math.cos((Math.PI * (t - 1)) / tMax))) * (lr - etaMin) + etaMin;
  }
}

export interface OneCycleLROptions {
  maxLr: number;
  totalSteps: number;
  /** Fraction of the steps spent rising (default 0.3). */
  pctStart?: number;
  annealStrategy?: 'cos' | 'linear';
  /** The starting lr is maxLr / divFactor (default 25). */
  divFactor?: number;
  /** The final lr is the starting lr / finalDivFactor (default 1e4). */
  finalDivFactor?: number;
  /** Rise, fall back to the starting lr, then anneal to the final lr (default false: rise, then anneal). */
  threePhase?: boolean;
}

interface Phase {
  endStep: number;
  startLr: number;
  endLr: number;
}

/**
 * The 1cycle policy (Smith & Topin). It overrides the optimiser's lr, as PyTorch's does. Only the
 * learning rate is scheduled: PyTorch by default also cycles momentum (SGD momentum or Adam's
 * beta1, cycle_momentum=True); glassbox does not, so it matches PyTorch with cycle_momentum=False.
 * Stepping more than `totalSteps` times throws, as in PyTorch.
 */
export class OneCycleLR extends LRScheduler {
  readonly totalSteps: number;
  private readonly phases: Phase[];
  private readonly anneal: (start: number, end: number, pct: number) => number;
  constructor(optimizer: Optimizer, opts: OneCycleLROptions) {
    super(optimizer);
    const schema = { maxLr: 'number', totalSteps: 'integer', pctStart: 'number', annealStrategy: ['=cos', '=linear'], divFactor: 'number', finalDivFactor: 'number', threePhase: 'boolean' } as const;
    checkOptions('optim.OneCycleLR', opts, schema, ['maxLr', 'totalSteps']);
    const { maxLr, totalSteps, pctStart = 0.3, annealStrategy = 'cos', divFactor = 25, finalDivFactor = 1e4, threePhase = false } = opts;
    if (!Number.isInteger(totalSteps) || totalSteps < 1) throw new Error(`glassbox.optim.OneCycleLR: totalSteps must be a positive integer, got ${totalSteps}`);
    if (!(pctStart >= 0 && pctStart <= 1)) throw new Error(`glassbox.optim.OneCycleLR: pctStart must be in [0, 1], got ${pctStart}`);
    if (annealStrategy !== 'cos' && annealStrategy !== 'linear') throw new Error(`glassbox.optim.OneCycleLR: annealStrategy must be 'cos' or 'linear', got ${String(annealStrategy)}`);
    checkPositive('OneCycleLR', 'maxLr', maxLr);
    this.totalSteps = totalSteps;
    const initialLr = maxLr / divFactor;
    const minLr = initialLr / finalDivFactor;
    const rise = pctStart * totalSteps;
    this.phases = threePhase
      ? [
          { endStep: rise - 1, startLr: initialLr, endLr: maxLr },
          { endStep: 2 * rise - 2, startLr: maxLr, endLr: initialLr },
          { endStep: totalSteps - 1, startLr: initialLr, endLr: minLr },
        ]
      : [
          { endStep: rise - 1, startLr: initialLr, endLr: maxLr },
          { endStep: totalSteps - 1, startLr: maxLr, endLr: minLr },
        ];
    this.anneal =
      annealStrategy === 'cos'
        ? (start, end, pct) => end + ((start - end) / 2) * (Math.cos(Math.PI * pct) + 1)
        : (start, end, pct) => (end - start) * pct + start;
    this.start();
  }

  protected computeLr(step: number): number {
    if (step > this.totalSteps) throw new Error(`glassbox.optim.OneCycleLR: stepped ${step} times, but totalSteps is ${this.totalSteps}`);
    let startStep = 0;
    for (let i = 0; i < this.phases.length; i++) {
      const { endStep, startLr, endLr } = this.phases[i]!;
      if (step <= endStep || i === this.phases.length - 1) return this.anneal(startLr, endLr, (step - startStep) / (endStep - startStep));
      startStep = endStep;
    }
    throw new Error('unreachable');
  }
}

export interface LinearWarmupOptions {
  /** Multiplier of the base lr at step 0 (default 1/3). */
  startFactor?: number;
  /** Multiplier reached after `totalIters` steps and kept from then on (default 1). */
  endFactor?: number;
  /** Steps to go from startFactor to endFactor (default 5). */
  totalIters?: number;
}

/** Scales the lr linearly from startFactor to endFactor over totalIters steps: torch.optim.lr_scheduler.LinearLR. */
export class LinearWarmup extends LRScheduler {
  readonly startFactor: number;
  readonly endFactor: number;
  readonly totalIters: number;
  constructor(optimizer: Optimizer, opts: LinearWarmupOptions = {}) {
    super(optimizer);
    checkOptions('optim.LinearWarmup', opts, { startFactor: 'number', endFactor: 'number', totalIters: 'integer' });
    this.startFactor = opts.startFactor ?? 1 / 3;
    this.endFactor = opts.endFactor ?? 1;
    this.totalIters = opts.totalIters ?? 5;
    if (!(this.startFactor > 0 && this.startFactor <= 1)) throw new Error(`glassbox.optim.LinearWarmup: startFactor must be in (0, 1], got ${this.startFactor}`);
    if (!(this.endFactor >= 0 && this.endFactor <= 1)) throw new Error(`glassbox.optim.LinearWarmup: endFactor must be in [0, 1], got ${this.endFactor}`);
    if (!Number.isInteger(this.totalIters) || this.totalIters < 0) throw new Error(`glassbox.optim.LinearWarmup: totalIters must be a non-negative integer, got ${this.totalIters}`);
    this.start();
  }

  protected computeLr(t: number, lr: number): number {
    const { startFactor: s, endFactor: e, totalIters: n } = this;
    if (t === 0) return lr * s;
    if (t > n) return lr;
    return lr * (1 + (e - s) / (n * s + (t - 1) * (e - s)));
  }
}
