/**
 * Optimisers with PyTorch's update rules (torch.optim.SGD, Adam, AdamW). Updates run under
 * noGrad and write parameters in place (`assign`), so graphs that saved the old values see
 * a version change and refuse a stale backward.
 */
import { noGrad } from '../autograd/node.ts';
import { elementwiseKernel } from '../tensor/ops/elementwise.ts';
import { keep, type Tensor } from '../tensor/tensor.ts';
import { zerosLike } from '../tensor/ops/creation.ts';

export abstract class Optimizer {
  /** Current learning rate; schedulers change it. */
  lr: number;
  protected stepCount = 0;
  protected readonly state = new Map<Tensor, Record<string, Tensor>>();

  constructor(
    readonly params: Tensor[],
    lr: number,
  ) {
    if (!(lr >= 0)) throw new Error(`glassbox.optim: learning rate must be >= 0, got ${lr}`);
    params.forEach((p, i) => {
      if (!p.requiresGrad) throw new Error(`glassbox.optim: parameter ${i} does not require grad`);
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
      this.setState(this.stateOf(p), key, t.contiguous());
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
      for (const p of this.params) if (p.grad) this.update(p, p.grad, this.stateOf(p));
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

  /** Fused update: one elementwise kernel writes the new value into a fresh tensor, then `target` takes it over. */
  protected write(target: Tensor, name: string, expr: string, inputs: Tensor[], params: number[]): void {
    const next = elementwiseKernel(name, expr, inputs, params);
    target.assign(next);
    next.dispose();
  }
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
    super(params, opts.lr);
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.nesterov = opts.nesterov ?? false;
    this.weightDecay = opts.weightDecay ?? 0;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0)) throw new Error('glassbox.optim.SGD: Nesterov momentum needs momentum > 0 and dampening 0');
  }

  protected update(p: Tensor, g: Tensor, state: Record<string, Tensor>): void {
    // d = g + wd * p
    const d = '({1} + {p0} * {0})';
    if (this.momentum === 0) {
      this.write(p, 'sgd_step', `{0} - {p1} * ${d}`, [p, g], [this.weightDecay, this.lr]);
      return;
    }
    // buf = momentum * buf + (1 - dampening) * d; the first step starts the buffer at d
    const prev = state.buf;
    const buf = prev
      ? elementwiseKernel('sgd_momentum', `{p1} * {2} + {p2} * ${d}`, [p, g, prev], [this.weightDecay, this.momentum, 1 - this.dampening])
      : elementwiseKernel('sgd_momentum_init', d, [p, g], [this.weightDecay]);
    this.setState(state, 'buf', buf);
    const direction = this.nesterov ? `(${d} + {p1} * {2})` : '{2}';
    this.write(p, 'sgd_momentum_step', `{0} - {p2} * ${direction}`, [p, g, buf], [this.weightDecay, this.momentum, this.lr]);
  }
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
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
    super(params, opts.lr ?? 1e-3);
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? (decoupled ? 1e-2 : 0);
  }

  protected update(p: Tensor, g: Tensor, state: Record<string, Tensor>): void {
    const [b1, b2] = this.betas;
    const t = this.stepCount;
    // Adam folds weight decay into the gradient; AdamW decays the weights directly.
    const wdGrad = this.decoupled ? 0 : this.weightDecay;
    const d = '({1} + {p0} * {0})';
    // 1 - beta is formed in float64 and passed in: in float32, 1 - f32(0.999) is off by 1e-5 relative.
    const m = elementwiseKernel('adam_m', `{p1} * {2} + {p2} * ${d}`, [p, g, state.m ?? zerosLike(p)], [wdGrad, b1, 1 - b1]);
    const v = elementwiseKernel('adam_v', `{p1} * {2} + {p2} * ${d} * ${d}`, [p, g, state.v ?? zerosLike(p)], [wdGrad, b2, 1 - b2]);
    this.setState(state, 'm', m);
    this.setState(state, 'v', v);
    // PyTorch's order: p - (lr / c1) * m / (sqrt(v) / sqrt(c2) + eps), the scalars in float64.
    const stepSize = this.lr / (1 - b1 ** t);
    const c2Sqrt = Math.sqrt(1 - b2 ** t);
    const decay = this.decoupled ? 1 - this.lr * this.weightDecay : 1;
    this.write(p, 'adam_step', '{0} * {p0} - {p1} * ({1} / (sqrt({2}) / {p2} + {p3}))', [p, m, v], [decay, stepSize, c2Sqrt, this.eps]);
  }
}

/** Adam with decoupled weight decay (Loshchilov & Hutter), default weight decay 0.01 as in PyTorch. */
export class AdamW extends Adam {
  constructor(params: Tensor[], opts: AdamOptions = {}) {
    super(params, opts, true);
  }
}
