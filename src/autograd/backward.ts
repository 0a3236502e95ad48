/**
 * Reverse-mode differentiation over the tape: one topological sort of the graph
 * (iterative, so shared subgraphs are visited once and deep graphs cannot overflow
 * the stack), then one walk in reverse order that calls each node's backward.
 */
import { add } from '../tensor/ops/elementwise.ts';
import { onesLike } from '../tensor/ops/creation.ts';
import { sameShape, shapeStr } from '../tensor/shape.ts';
import { keep, tidy, Tensor } from '../tensor/tensor.ts';
import { zeros } from '../tensor/ops/creation.ts';
import { checkOptions, describeValue } from '../tensor/check-options.ts';
import { activeRuleFor, setGradEnabled, withGradientsNeeded, type BackwardRule, type Node } from './node.ts';
import { checkFinite } from './anomaly.ts';

interface Options {
  createGraph: boolean;
  retainGraph: boolean;
  /** grad(): the tensors whose gradients are returned; backward() writes leaves' .grad instead. */
  inputs?: readonly Tensor[];
}

/**
 * Tensors in an order where every tensor comes after the inputs of its node; only those that lead
 * to a wanted tensor (so the order is also the set of tensors whose gradients are needed).
 */
function topologicalOrder(outputs: readonly Tensor[], wanted: (t: Tensor) => boolean): Tensor[] {
  const order: Tensor[] = [];
  const state = new Map<Tensor, 'open' | 'done'>();
  const leadsToWanted = new Set<Tensor>();
  for (const root of outputs) {
    const stack: Array<{ t: Tensor; next: number }> = [{ t: root, next: 0 }];
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const inputs = top.t.node?.inputs ?? [];
      if (top.next === 0) {
        if (state.has(top.t)) {
          stack.pop();
          continue;
        }
        state.set(top.t, 'open');
      }
      if (top.next < inputs.length) {
        const child = inputs[top.next++]!;
        if (child.requiresGrad && !state.has(child)) stack.push({ t: child, next: 0 });
        continue;
      }
      stack.pop();
      state.set(top.t, 'done');
      if (wanted(top.t) || inputs.some((i) => leadsToWanted.has(i))) {
        leadsToWanted.add(top.t);
        order.push(top.t);
      }
    }
  }
  return order;
}

function runNode(node: Node, g: Tensor): Array<Tensor | null> {
  if (!node.backward)
    throw new Error(
      `glassbox.backward: trying to backward through the graph of '${node.op}' a second time; its saved tensors were freed after the first backward. ` +
        'Pass {retainGraph: true} to the first backward() or grad() if you need to go through it again.',
    );
  node.inputs.forEach((inp, i) => {
    if (!inp.isDisposed && inp.storage.version !== node.versions[i])
      throw new Error(
        `glassbox.backward: input ${i} of '${node.op}' (shape ${shapeStr(inp.shape)}) was modified in place after the forward pass used it ` +
          '(e.g. by an optimiser step); run the forward pass again before calling backward.',
      );
  });
  const rule = activeRuleFor(node.op) ?? node.rule;
  if (!rule) return node.backward(g);
  const grads = rule({ op: node.op, inputs: node.inputs, output: node.output, gradOutput: g, defaultBackward: node.backward, saved: node.saved, options: node.options });
  checkRuleResult(rule, node, grads);
  return grads;
}

/** A rule must return one gradient (or null) per input: say which rule and which op broke that. */
function checkRuleResult(rule: BackwardRule, node: Node, grads: unknown): asserts grads is Array<Tensor | null> {
  const name = rule.name ? `backward rule '${rule.name}'` : 'an anonymous backward rule';
  const expected = `${node.inputs.length} (one per input of '${node.op}': ${node.inputs.map((t) => shapeStr(t.shape)).join(', ')}; null for an input without gradient)`;
  if (!Array.isArray(grads)) throw new Error(`glassbox.backward: ${name} for op '${node.op}' returned ${grads === null ? 'null' : typeof grads}, not an array of gradients; it must return ${expected}`);
  if (grads.length !== node.inputs.length) throw new Error(`glassbox.backward: ${name} for op '${node.op}' returned ${grads.length} gradients; it must return ${expected}`);
  grads.forEach((gi, i) => {
    if (gi !== null && gi !== undefined && !(gi instanceof Tensor))
      throw new Error(`glassbox.backward: ${name} for op '${node.op}' returned ${typeof gi} as the gradient of input ${i}; each must be a tensor of the input's shape or null`);
  });
}

/**
 * Core of backward() and grad(): returns the gradient of each wanted tensor (by identity), and the
 * wanted tensors the graph connects to the outputs (`reached`), with or without a gradient.
 */
export function runBackward(outputs: readonly Tensor[], gradOutputs: readonly Tensor[], opts: Options): Map<Tensor, Tensor> & { reached?: Set<Tensor> } {
  const inputSet = opts.inputs ? new Set(opts.inputs) : undefined;
  const wanted = inputSet ? (t: Tensor) => inputSet.has(t) : (t: Tensor) => t.isLeaf || t.retainsGrad;
  const order = topologicalOrder(outputs, wanted);
  const grads = new Map<Tensor, Tensor>();
  const results = new Map<Tensor, Tensor>();
  const accumulate = (t: Tensor, g: Tensor) => {
    const prev = grads.get(t);
    grads.set(t, prev ? add(prev, g) : g);
  };

  const run = () => {
    outputs.forEach((o, i) => accumulate(o, gradOutputs[i]!));
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k]!;
      let g = grads.get(t);
      if (!g) continue;
      for (const hook of t.gradHooks) g = hook(g) ?? g;
      if (inputSet?.has(t)) results.set(t, g);
      else if (!inputSet && (t.isLeaf || t.retainsGrad)) results.set(t, g);
      const node = t.node;
      if (!node || (t.isLeaf && !inputSet)) continue;
      const gIn = g;
      const inputGrads = opts.createGraph ? runNode(node, gIn) : tidy(() => runNode(node, gIn));
      node.inputs.forEach((inp, i) => {
        const gi = inputGrads[i];
        if (!gi || !inp.requiresGrad) return;
        if (!sameShape(gi.shape, inp.shape))
          throw new Error(`glassbox.backward: '${node.op}' produced a gradient of shape ${shapeStr(gi.shape)} for input ${i} of shape ${shapeStr(inp.shape)} (a bug in its backward or backward rule)`);
        checkFinite(gi, `backward of '${node.op}'`);
        accumulate(inp, gi);
      });
      if (!opts.retainGraph) {
        node.backward = null;
        node.saved = {};
      }
    }
  };
  withGradientsNeeded(new Set(order), () => setGradEnabled(opts.createGraph, run));
  return Object.assign(results, { reached: new Set(order.filter(wanted)) });
}

function defaultGradOutput(op: string, t: Tensor): Tensor {
  if (t.size !== 1)
    throw new Error(
      `glassbox.${op}: output of shape ${shapeStr(t.shape)} is not a scalar, so the gradient to start from is ambiguous; ` +
        'pass one of the same shape (e.g. y.backward(onesLike(y))) or reduce first (y.sum().backward()).',
    );
  return onesLike(t);
}

/** y.backward(): accumulates d(y)/d(leaf) into every leaf's .grad (and retained non-leaves'). */
export function backward(output: Tensor, gradOutput?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
  checkOptions('backward', opts, { retainGraph: 'boolean', createGraph: 'boolean' });
  if (gradOutput !== undefined && !(gradOutput instanceof Tensor))
    throw new Error(`glassbox.backward: gradOutput must be a tensor of the output's shape, got ${describeValue(gradOutput)}${gradOutput && typeof gradOutput === 'object' ? ' (options go third: backward(y, undefined, {retainGraph: true}))' : ''}`);
  if (!output.requiresGrad)
    throw new Error(`glassbox.backward: tensor of shape ${shapeStr(output.shape)} does not require grad (no input had requiresGrad: true, or it was computed under noGrad)`);
  const createGraph = opts.createGraph ?? false;
  const g = gradOutput ?? defaultGradOutput('backward', output);
  const results = runBackward([output], [g], { createGraph, retainGraph: opts.retainGraph ?? createGraph });
  setGradEnabled(createGraph, () => {
    for (const [t, gt] of results) {
      const prev = t.grad;
      t.grad = keep(prev ? add(prev, gt) : gt);
      if (prev && !createGraph) prev.dispose();
    }
  });
}

export interface GradOptions {
  gradOutputs?: Tensor | readonly (Tensor | undefined)[];
  createGraph?: boolean;
  retainGraph?: boolean;
  /**
   * Return null (instead of throwing) for inputs no recorded op connects to the outputs. Inputs that
   * are connected but whose every path has a zero derivative (the second derivative of a ReLU net,
   * sign, floor) get a tensor of zeros with or without this option, as PyTorch returns.
   */
  allowUnused?: boolean;
}

/** d(outputs)/d(inputs), like torch.autograd.grad; .grad fields are left alone. */
export function grad(outputs: Tensor | readonly Tensor[], inputs: Tensor | readonly Tensor[], opts: GradOptions = {}): Tensor[] {
  checkOptions('grad', opts, { gradOutputs: 'tensors', createGraph: 'boolean', retainGraph: 'boolean', allowUnused: 'boolean' });
  const outs = Array.isArray(outputs) ? (outputs as Tensor[]) : [outputs as Tensor];
  const ins = Array.isArray(inputs) ? (inputs as Tensor[]) : [inputs as Tensor];
  const given = opts.gradOutputs === undefined ? [] : Array.isArray(opts.gradOutputs) ? opts.gradOutputs : [opts.gradOutputs as Tensor];
  outs.forEach((o, i) => {
    if (!o.requiresGrad) throw new Error(`glassbox.grad: output ${i} (shape ${shapeStr(o.shape)}) does not require grad`);
  });
  ins.forEach((t, i) => {
    if (!t.requiresGrad) throw new Error(`glassbox.grad: input ${i} (shape ${shapeStr(t.shape)}) does not require grad; create it with {requiresGrad: true}`);
  });
  const createGraph = opts.createGraph ?? false;
  const gradOutputs = outs.map((o, i) => {
    const g = given[i];
    if (g && !sameShape(g.shape, o.shape)) throw new Error(`glassbox.grad: gradOutputs[${i}] has shape ${shapeStr(g.shape)} but output ${i} has shape ${shapeStr(o.shape)}`);
    return g ?? defaultGradOutput('grad', o);
  });
  const results = runBackward(outs, gradOutputs, { createGraph, retainGraph: opts.retainGraph ?? createGraph, inputs: ins });
  return ins.map((t, i) => {
    const g = results.get(t);
    if (g) return g;
    // Connected, but every path's derivative is zero (a ReLU's mask, sign, floor, or a rule that
    // returned null): the gradient is zero, as PyTorch gives (its zero-derivative ops still connect).
    if (results.reached?.has(t)) return zeros(t.shape);
    if (!opts.allowUnused)
      throw new Error(
        `glassbox.grad: input ${i} (shape ${shapeStr(t.shape)}) is not connected to the outputs: no recorded op on the way from it to them ` +
          '(it was not used, or only under noGrad, through a detached copy or through integer ops); pass {allowUnused: true} to get null for it',
      );
    return null as unknown as Tensor;
  });
}
