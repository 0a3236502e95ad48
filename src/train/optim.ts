/**
 * Optimisers with PyTorch's update rules (torch.optim.SGD, Adam, AdamW). A step updates each
 * parameter and its state in place (src/kernels/wgsl/in-place-update.ts), several parameters per
 * kernel where they share the rule and its scalars (as many as the device's storage bindings
 * allow); the parameter's version changes, so graphs that saved the old values refuse a stale backward.
 */
import { checkFinite } from '../autograd/anomaly.ts';
import { noGrad } from '../autograd/node.ts';
import { dispatch, runtime } from '../kernels/runtime.ts';
import { inPlaceUpdateLaunch } from '../kernels/wgsl/in-place-update.ts';
import { asPlainArray, copyKernel } from '../tensor/ops/elementwise.ts';
import { keep, type Tensor } from '../tensor/tensor.ts';
import { zerosLike } from '../tensor/ops/creation.ts';
import { checkOptions } from '../tensor/check-options.ts';
import { parameterMask } from '../nn/module.ts';

export abstract class Optimizer {
  /** Current learning rate; schedulers change it. */
  lr: number;
  protected stepCount = 0;
  protected readonly state = new Map<Tensor, Record<string, Tensor>>();
  /** The updates of the step being taken, dispatched together at its end (`updateInPlace`). */
  private pending: PendingUpdate[] = [];

  constructor(
    readonly params: Tensor[],
    lr: number,
  ) {
    if (!(lr >= 0)) throw new Error(`glassbox.optim: learning rate must be >= 0, got ${lr}`);
    params.forEach((p, i) => {
      if (!p.requiresGrad) throw new Error(`glassbox.optim: parameter ${i} does not require grad`);
      const j = params.indexOf(p);
      if (j !== i) throw new Error(`glassbox.optim: parameter ${i} is parameter ${j} again; pass each tensor once (a shared weight is one parameter)`);
    });
    this.lr = lr;
  }

  /** Everything needed to resume: the step count, the learning rate and the state tensors by '<param index>.<key>'. */
  stateDict(): { step: number; lr: number; tensors: Map<string, Tensor> } {
    const tensors = new Map<string, Tensor>();
    this.params.forEach((p, i) => {
      for (const [key, t] of Object.entries(this.state.get(p) ?? {})) tensors.set(`${i}.${key}`, t);
    });
    return { step: this.stepCount, lr: this.lr, tensors };
  }

  loadStateDict(d: { step: number; lr: number; tensors: Map<string, Tensor> }): void {
    this.stepCount = d.step;
    this.lr = d.lr;
    for (const [name, t] of d.tensors) {
      const [index, key] = name.split('.') as [string, string];
      const p = this.params[Number(index)];
      if (!p || !key) throw new Error(`glassbox.optim: state '${name}' does not match this optimiser's ${this.params.length} parameters`);
      if (t.size !== p.size) throw new Error(`glassbox.optim: state '${name}' has ${t.size} elements, parameter ${index} has ${p.size}`);
      // a copy: steps update the state in place, and the caller's tensors stay theirs
      this.setState(this.stateOf(p), key, copyKernel(t));
    }
  }

  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  step(): void {
    this.stepCount++;
    noGrad(() => {
      try {
        for (const p of this.params) if (p.grad) this.update(p, p.grad, this.stateOf(p));
        dispatchUpdates(this.pending);
      } finally {
        this.pending = [];
      }
    });
  }

  protected abstract update(p: Tensor, g: Tensor, state: Record<string, Tensor>): void;

  protected stateOf(p: Tensor): Record<string, Tensor> {
    let s = this.state.get(p);
    if (!s) this.state.set(p, (s = {}));
    return s;
  }

  /** Replaces a state tensor, releasing the old one. */
  protected setState(state: Record<string, Tensor>, key: string, value: Tensor): Tensor {
    state[key]?.dispose();
    state[key] = keep(value);
    return value;
  }

  /**
   * Updates `targets` (the parameter first, then its state tensors, all of its size) in place from
   * `inputs`: `body` assigns t{k}_next from t{k}, x{k} and the scalars s{k}. Dispatched at the end of
   * the step, in one kernel with the other parameters that have the same rule and scalars.
   */
  protected updateInPlace(name: string, targets: Tensor[], inputs: Tensor[], body: string, scalars: number[]): void {
    const mask = parameterMask(targets[0]!);
    if (mask) {
      // a pruned parameter (nn.setParameterMask): its masked entries and its state's are written 0.0,
      // whatever the gradient, weight decay or momentum hold; the mask is the last input. x - x is a
      // zero of the value's type (f32 or vec4), since WGSL compares no vector with a scalar.
      const m = `x${inputs.length}`;
      const zeroMasked = targets.map((_, k) => `t${k}_next = select(${m} - ${m}, t${k}_next, ${m} != ${m} - ${m});`).join('\n');
      this.pending.push({ name: `${name}_masked`, targets, inputs: [...inputs, mask], body: `${body}\n${zeroMasked}`, scalars });
      return;
    }
    this.pending.push({ name, targets, inputs, body, scalars });
  }
}

interface PendingUpdate {
  name: string;
  targets: Tensor[];
  inputs: Tensor[];
  body: string;
  scalars: number[];
}

/**
 * Groups the step's updates by rule, scalars and element width (one kernel reads whole vec4s only
 * where every length is a multiple of 4) and dispatches each group in as few kernels as the
 * device's storage bindings per kernel allow (lavapipe: 16, so 5 parameters a kernel for SGD with
 * momentum; the WebGPU default of 8: 2).
 */
function dispatchUpdates(updates: PendingUpdate[]): void {
  const groups = new Map<string, PendingUpdate[]>();
  for (const u of updates) {
    const key = `${u.name}|${u.body}|${u.scalars.join(',')}|${u.targets.length}|${u.inputs.length}|${u.targets[0]!.size % 4 === 0}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = []));
    group.push(u);
  }
  const bindings = runtime().device.limits.maxStorageBuffersPerShaderStage;
  for (const group of groups.values()) {
    const first = group[0]!;
    const perKernel = Math.max(1, Math.floor(bindings / (first.targets.length + first.inputs.length)));
    for (let i = 0; i < group.length; i += perKernel) dispatchUpdateKernel(group.slice(i, i + perKernel));
  }
}

function dispatchUpdateKernel(parts: PendingUpdate[]): void {
  const { name, body, scalars, targets, inputs } = parts[0]!;
  // a parameter that is a strided view is updated through a contiguous copy, then takes it over
  const plain = parts.map((u) => ({ targets: u.targets.map(asPlainArray), inputs: u.inputs.map(asPlainArray) }));
  const launch = inPlaceUpdateLaunch({ name, targets: targets.length, inputs: inputs.length, body, scalars, lengths: parts.map((u) => u.targets[0]!.size) });
  dispatch({ ...launch, buffers: plain.flatMap((p) => [...p.targets, ...p.inputs].map((a) => a.t.storage.buffer)) });
  parts.forEach((u, i) => {
    plain[i]!.targets.forEach((p, k) => {
      if (p.temporary) u.targets[k]!.assign(p.t);
      else p.t.storage.version++;
    });
    for (const p of [...plain[i]!.targets, ...plain[i]!.inputs]) if (p.temporary) p.t.dispose();
    checkFinite(u.targets[0]!, name);
  });
}

export interface SGDOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  readonly weightDecay: number;
  constructor(params: Tensor[], opts: SGDOptions) {
    super(params, checkOptions('optim.SGD', opts, { lr: 'number', momentum: 'number', dampening: 'number', nesterov: 'boolean', weightDecay: 'number' }, ['lr']).lr);
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) throw new Error('glassbox.optim.SGD: Nesterov momentum needs momentum > 0 and dampening 0');
  }

  protected update(p: Tensor, g: Tensor, state: Record<string, Tensor>): void {
    // t0 = p, x0 = g, d = g + wd * p
    if (this.momentum === 0) {
      this.updateInPlace('sgd_step', [p], [g], 't0_next = t0 - s1 * (x0 + s0 * t0);', [this.weightDecay, this.lr]);
      return;
    }
    // t1 = buf = momentum * buf + (1 - dampening) * d; the first step starts the buffer at d
    const first = !state.buf;
    const buf = state.buf ?? this.setState(state, 'buf', zerosLike(p));
    const direction = this.nesterov ? '(d + s1 * t1_next)' : 't1_next';
    const body = `let d = x0 + s0 * t0;
      t1_next = select(s1 * t1 + s2 * d, d, s4 != 0.0);
      t0_next = t0 - s3 * ${direction};`;
    this.updateInPlace(this.nesterov ? 'sgd_nesterov' : 'sgd_momentum', [p, buf], [g], body, [this.weightDecay, this.momentum, 1 - this.dampening, this.lr, first ? 1 : 0]);
  }
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

function checkAdamOptions(name: string, opts: AdamOptions): AdamOptions {
  checkOptions(`optim.${name}`, opts, { lr: 'number', betas: 'numbers', eps: 'number', weightDecay: 'number' });
  if (opts.betas !== undefined && (!Array.isArray(opts.betas) || opts.betas.length !== 2 || !opts.betas.every((b) => b >= 0 && b < 1)))
    throw new Error(`glassbox.optim.${name}: option betas must be a pair [beta1, beta2] of numbers in [0, 1), got ${JSON.stringify(opts.betas)}`);
  return opts;
}

export class Adam extends Optimizer {
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  constructor(
    params: Tensor[],
    opts: AdamOptions = {},
    private readonly decoupled = false,
  ) {
    super(params, checkAdamOptions(decoupled ? 'AdamW' : 'Adam', opts).lr ?? 1e-3);
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? (decoupled ? 1e-2 : 0);
  }

  protected update(p: Tensor, g: Tensor, state: Record<string, Tensor>): void {
    const [b1, b2] = this.betas;
    const t = this.stepCount;
    // Adam folds weight decay into the gradient; AdamW decays the weights directly.
    const wdGrad = this.decoupled ? 0 : this.weightDecay;
    const m = state.m ?? this.setState(state, 'm', zerosLike(p));
    const v = state.v ?? this.setState(state, 'v', zerosLike(p));
    // PyTorch's order: p - (lr / c1) * m / (sqrt(v) / sqrt(c2) + eps), the scalars in float64;
    // 1 - beta too: in float32, 1 - f32(0.999) is off by 1e-5 relative.
    const stepSize = this.lr / (1 - b1 ** t);
    const c2Sqrt = Math.sqrt(1 - b2 ** t);
    const decay = this.decoupled ? 1 - this.lr * this.weightDecay : 1;
    // t0 = p, t1 = m, t2 = v, x0 = g
    const body = `let d = x0 + s0 * t0;
      t1_next = s1 * t1 + s2 * d;
      t2_next = s3 * t2 + s4 * d * d;
      t0_next = t0 * s5 - s6 * (t1_next / (sqrt(t2_next) / s7 + s8));`;
    this.updateInPlace('adam', [p, m, v], [g], body, [wdGrad, b1, 1 - b1, b2, 1 - b2, decay, stepSize, c2Sqrt, this.eps]);
  }
}

/** Adam with decoupled weight decay (Loshchilov & Hutter), default weight decay 0.01 as in PyTorch. */
export class AdamW extends Adam {
  constructor(params: Tensor[], opts: AdamOptions = {}) {
    super(params, opts, true);
  }
}
