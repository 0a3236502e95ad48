/**
 * Backward rules per layer: `withModuleRule(layer, rule, fn)` makes the gradient that leaves
 * `layer`'s output towards its input whatever `rule` says, for forwards run inside `fn`. That is
 * the shape LRP rules take (epsilon for dense layers, gamma for convolutions...): attached to a
 * layer instance, whatever ops the layer is made of, rather than to an op name for the whole net.
 *
 * How: a forward hook gives the layer's output a second node, op 'module', whose inputs are the
 * layer's tensor inputs; the backward walk then meets that node first and runs the rule, whose
 * `ctx.defaultBackward` is the plain gradient through the layer's own graph. Gradients go to the
 * layer's inputs only: its parameters get none from a rule's node (rules are for attribution).
 */
import { grad } from '../autograd/backward.ts';
import { isGradEnabled, record, type BackwardRule, type BackwardRuleContext } from '../autograd/node.ts';
import { Tensor, viewOf } from '../tensor/tensor.ts';
import { Module } from './module.ts';

export interface ModuleRuleContext extends BackwardRuleContext {
  /** The layer the rule is attached to (its weights: ctx.module.weight ...). */
  module: Module;
}

/** Returns one gradient per tensor input of the layer's forward (ctx.inputs), or null for one. */
export type ModuleRule = (ctx: ModuleRuleContext) => Array<Tensor | null>;

/**
 * Runs `fn` with `rule` as the backward of every forward of `module` inside it (nodes recorded
 * inside `fn` keep the rule for a backward run later). Nested modules may each have a rule.
 */
export function withModuleRule<T>(module: Module, rule: ModuleRule, fn: () => T): T {
  if (!(module instanceof Module))
    throw new Error(`glassbox.nn.withModuleRule: the first argument must be a layer (an nn.Module instance such as model.fc1), got ${describe(module)}`);
  if (typeof rule !== 'function') throw new Error(`glassbox.nn.withModuleRule: the rule must be a function (ctx) => gradients, got ${describe(rule)}`);
  if (typeof fn !== 'function') throw new Error(`glassbox.nn.withModuleRule: the third argument must be the function to run under the rule, got ${describe(fn)}`);
  const ruleName = `${rule.name || 'module rule'} on ${module.constructor.name}`;
  const asOpRule: BackwardRule = Object.defineProperty((ctx: BackwardRuleContext) => rule({ ...ctx, module }), 'name', { value: ruleName });
  const remove = module.registerForwardHook((_m, args, output) => {
    const inputs = args.filter((a): a is Tensor => a instanceof Tensor);
    if (!isGradEnabled() || !inputs.some((t) => t.requiresGrad)) return undefined;
    // a second tensor over the output's storage, whose node skips the layer's graph for the rule
    const ruled = viewOf(output, output.shape, output.strides, output.offset);
    const plain = (g: Tensor) => layerGradient(output, inputs, g);
    record('module', inputs, ruled, plain, {}, { module });
    ruled.node!.rule = asOpRule;
    return ruled;
  });
  try {
    const result = fn();
    if (result instanceof Promise) throw new Error('glassbox.nn.withModuleRule: the function must be synchronous (run the forward inside it, await outside)');
    return result;
  } finally {
    remove();
  }
}

/** The plain gradient of `output` towards the layer's inputs, through the layer's own graph. */
function layerGradient(output: Tensor, inputs: readonly Tensor[], g: Tensor): Array<Tensor | null> {
  const wanted = inputs.filter((t) => t.requiresGrad);
  if (!output.requiresGrad) return inputs.map(() => null);
  const grads = grad([output], wanted, { gradOutputs: [g], retainGraph: true, createGraph: isGradEnabled(), allowUnused: true });
  return inputs.map((t) => (t.requiresGrad ? (grads[wanted.indexOf(t)] ?? null) : null));
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'object') return `an object of type ${v.constructor?.name ?? 'Object'}`;
  return `${typeof v} ${String(v).slice(0, 40)}`;
}
