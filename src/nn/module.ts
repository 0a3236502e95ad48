/**
 * Module: the PyTorch-style container of parameters, buffers and submodules.
 *
 * Subclasses define `forward(...)` and assign parameters and submodules to fields
 * (`this.fc = new Linear(4, 2)`); they are discovered by walking the fields, so names
 * follow the field names ("features.3.weight") as in PyTorch's state dicts.
 */
import { keep, Tensor } from '../tensor/tensor.ts';
import { noGrad } from '../autograd/node.ts';
import { shapeStr } from '../tensor/shape.ts';

/** Marks a tensor as a trainable parameter: requires grad and survives tidy(). */
export function Parameter(t: Tensor): Tensor {
  if (t.dtype !== 'float32') throw new Error(`glassbox.nn.Parameter: parameters must be float32, got ${t.dtype}`);
  t.requiresGrad = true;
  parameterTensors.add(t);
  return keep(t);
}
const parameterTensors = new WeakSet<Tensor>();

/**
 * A parameter's pruning mask (1 keeps an entry, 0 prunes it): the engine keeps masked entries exactly
 * 0.0. Setting a mask zeroes them now; the parameter's gradient is masked as backward delivers it (a
 * grad hook), and every optimiser's step writes 0.0 at masked entries of the parameter and of its
 * state (momentum, Adam's moments): src/train/optim.ts reads `parameterMask`. L-BFGS needs nothing more:
 * its steps are combinations of masked gradients and of earlier (masked) steps. `null` removes it.
 */
export function setParameterMask(p: Tensor, mask: Tensor | null): void {
  if (!parameterTensors.has(p)) throw new Error('glassbox.nn.setParameterMask: the tensor is not a parameter (made by nn.Parameter)');
  const old = parameterMasks.get(p);
  if (mask === null) {
    if (old) old.dispose();
    parameterMasks.delete(p);
    return;
  }
  if (mask.dtype !== 'float32' || mask.shape.length !== p.shape.length || mask.shape.some((d, i) => d !== p.shape[i]))
    throw new Error(`glassbox.nn.setParameterMask: the mask must be float32 of the parameter's shape ${shapeStr(p.shape)}, got ${mask.dtype} ${shapeStr(mask.shape)}`);
  const own = keep(mask.contiguous().mul(1));
  if (old) old.dispose();
  parameterMasks.set(p, own);
  if (!maskHooked.has(p)) {
    maskHooked.add(p);
    p.gradHooks.push((g) => {
      const m = parameterMasks.get(p);
      return m ? g.where(m, 0) : undefined;
    });
  }
  // where, not mul: +0.0 at masked entries (never -0.0 or NaN from 0 * -x or 0 * Inf)
  noGrad(() => p.assign(p.where(own, 0)));
}

/** The mask `setParameterMask` gave `p`, or undefined. */
export function parameterMask(p: Tensor): Tensor | undefined {
  return parameterMasks.get(p);
}
const parameterMasks = new WeakMap<Tensor, Tensor>();
const maskHooked = new WeakSet<Tensor>();

export type ForwardHook = (module: Module, inputs: unknown[], output: Tensor) => Tensor | void;
export type ForwardPreHook = (module: Module, inputs: unknown[]) => unknown[] | void;

export abstract class Module {
  training = true;
  private readonly buffers = new Map<string, Tensor>();
  private readonly forwardHooks: ForwardHook[] = [];
  private readonly forwardPreHooks: ForwardPreHook[] = [];
  private hooked = false;

  abstract forward(...inputs: unknown[]): Tensor;

  /** Non-trainable state saved with the model (e.g. batch norm's running statistics). */
  registerBuffer(name: string, t: Tensor): Tensor {
    this.buffers.set(name, keep(t));
    return t;
  }

  /** Replaces a buffer's tensor (e.g. after updating running statistics). */
  protected setBuffer(name: string, t: Tensor): void {
    const old = this.buffers.get(name);
    if (!old) throw new Error(`glassbox.nn: no buffer '${name}'`);
    old.assign(t);
  }

  buffer(name: string): Tensor {
    const t = this.buffers.get(name);
    if (!t) throw new Error(`glassbox.nn: module ${this.constructor.name} has no buffer '${name}'`);
    return t;
  }

  /** Direct submodules, by field name (arrays of modules are named field.0, field.1...). */
  namedChildren(): Array<[string, Module]> {
    const out: Array<[string, Module]> = [];
    for (const [key, value] of Object.entries(this)) {
      if (value instanceof Module) out.push([key, value]);
      else if (Array.isArray(value)) value.forEach((v, i) => v instanceof Module && out.push([`${key}.${i}`, v]));
    }
    return out;
  }

  /** Every submodule, depth first, with its dotted path ('' for this one). */
  namedModules(prefix = ''): Array<[string, Module]> {
    const out: Array<[string, Module]> = [[prefix, this]];
    for (const [name, child] of this.namedChildren()) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /** Looks a submodule up by path ('features.3'). */
  getSubmodule(path: string): Module {
    if (path === '') return this;
    const found = this.namedModules().find(([name]) => name === path);
    if (!found) {
      const names = this.namedModules().map(([n]) => n).filter(Boolean);
      throw new Error(`glassbox.nn: no submodule '${path}'. Available: ${names.join(', ')}`);
    }
    return found[1];
  }

  namedParameters(prefix = ''): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [];
    for (const [key, value] of Object.entries(this)) if (value instanceof Tensor && parameterTensors.has(value)) out.push([prefix + key, value]);
    for (const [name, child] of this.namedChildren()) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, p]) => p);
  }

  namedBuffers(prefix = ''): Array<[string, Tensor]> {
    const out: Array<[string, Tensor]> = [...this.buffers].map(([k, t]) => [prefix + k, t]);
    for (const [name, child] of this.namedChildren()) out.push(...child.namedBuffers(`${prefix}${name}.`));
    return out;
  }

  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }

  /** Parameters and buffers by dotted name, like PyTorch's state_dict(). */
  stateDict(): Map<string, Tensor> {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /** Copies tensors into this model's parameters and buffers; shapes must match. */
  loadStateDict(state: Map<string, Tensor> | Record<string, Tensor>, opts: { strict?: boolean } = {}): { missing: string[]; unexpected: string[] } {
    const given = state instanceof Map ? state : new Map(Object.entries(state));
    const own = this.stateDict();
    const missing = [...own.keys()].filter((k) => !given.has(k));
    const unexpected = [...given.keys()].filter((k) => !own.has(k));
    if ((opts.strict ?? true) && (missing.length || unexpected.length))
      throw new Error(`glassbox.nn.loadStateDict: missing keys [${missing.join(', ')}], unexpected keys [${unexpected.join(', ')}]`);
    noGrad(() => {
      for (const [name, target] of own) {
        const src = given.get(name);
        if (!src) continue;
        if (src.shape.length !== target.shape.length || src.shape.some((d, i) => d !== target.shape[i]))
          throw new Error(`glassbox.nn.loadStateDict: '${name}' has shape ${shapeStr(src.shape)} but the model expects ${shapeStr(target.shape)}`);
        target.assign(src.contiguous().mul(1));
      }
    });
    return { missing, unexpected };
  }

  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /**
   * `hook(module, inputs, output)` runs after every forward; returning a tensor replaces the
   * output. Returns a function that removes the hook.
   */
  registerForwardHook(hook: ForwardHook): () => void {
    this.installHookedForward();
    this.forwardHooks.push(hook);
    return () => this.forwardHooks.splice(this.forwardHooks.indexOf(hook) >>> 0, 1);
  }

  /** `hook(module, inputs)` runs before forward; returning an array replaces the inputs. */
  registerForwardPreHook(hook: ForwardPreHook): () => void {
    this.installHookedForward();
    this.forwardPreHooks.push(hook);
    return () => this.forwardPreHooks.splice(this.forwardPreHooks.indexOf(hook) >>> 0, 1);
  }

  // Hooks wrap this instance's forward once, so subclasses keep writing a plain forward().
  private installHookedForward(): void {
    if (this.hooked) return;
    this.hooked = true;
    const original = this.forward.bind(this);
    Object.defineProperty(this, 'forward', {
      enumerable: false,
      value: (...inputs: unknown[]) => {
        let args = inputs;
        for (const pre of this.forwardPreHooks) args = pre(this, args) ?? args;
        let out = original(...args);
        for (const hook of this.forwardHooks) out = hook(this, args, out) ?? out;
        return out;
      },
    });
  }

  /** One line per module: name, type and parameter count. */
  toString(): string {
    return this.namedModules()
      .map(([name, m]) => `${name || '(root)'}: ${m.constructor.name} (${m.namedParameters().filter(([n]) => !n.includes('.')).reduce((s, [, p]) => s + p.size, 0)} params)`)
      .join('\n');
  }
}
