/**
 * Errors that name the layer: an op deep inside a model fails with the op's words ("kernel height 5
 * is larger than the padded input height 4"), which does not say which of the model's layers ran it
 * or why the input got that small. `forwardNamingLayer` runs a forward; when it throws, it runs the
 * forward again with a hook on every module to find the innermost layer that was running, and
 * rethrows the same error with the layer's path (the one nn.summary prints), its class, and the
 * shape that reached it. The normal path costs nothing: the hooks exist only on the failing rerun.
 */
import { noGrad } from '../autograd/node.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { Module } from './module.ts';

function shapeOf(inputs: unknown[]): string {
  const t = inputs[0] as Tensor | undefined;
  return t && Array.isArray((t as { shape?: unknown }).shape) ? `[${t.shape.join(', ')}]` : 'a non-tensor input';
}

/** The innermost module running when `forward` throws (path, class, input shape), or null if it does not throw again. */
export function locateFailingLayer(model: Module, forward: () => unknown): { path: string; kind: string; input: string } | null {
  const running: Array<{ path: string; kind: string; input: string }> = [];
  const removers = model.namedModules().flatMap(([path, m]) => [
    m.registerForwardPreHook((_m, inputs) => void running.push({ path: path || '(the model)', kind: m.constructor.name, input: shapeOf(inputs) })),
    m.registerForwardHook(() => void running.pop()),
  ]);
  const training = model.namedModules().map(([, m]) => [m, m.training] as const);
  try {
    // shapes fail the same way in eval mode, which leaves batch-norm statistics alone
    model.eval();
    noGrad(() => forward());
    return null;
  } catch {
    return running[running.length - 1] ?? null;
  } finally {
    removers.forEach((remove) => remove());
    training.forEach(([m, t]) => (m.training = t));
  }
}

/** `forward()` (a forward of `model`); an error it throws is rethrown naming the layer that failed. */
export function forwardNamingLayer<T>(model: Module, forward: () => T): T {
  try {
    return forward();
  } catch (e) {
    if (!(e instanceof Error) || named.has(e)) throw e;
    named.add(e);
    const where = locateFailingLayer(model, forward);
    if (where && where.path !== '(the model)') e.message = `layer ${where.path} (${where.kind}, input ${where.input}): ${e.message}`;
    throw e;
  }
}

/** Errors already named (a forward inside another forwardNamingLayer is not named twice). */
const named = new WeakSet<Error>();
