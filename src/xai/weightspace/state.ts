/**
 * A network's parameters and buffers as plain float32 arrays on the CPU, by state-dict name.
 * Weight-space methods (permutations, rescaling, matching, interpolation) touch every weight a
 * handful of times per call; on the CPU they are simple loops and exact, and the GPU only runs
 * the forward passes that score a point.
 */
import type { Module } from '../../nn/module.ts';
import { tensor } from '../../tensor/ops/creation.ts';
import { shapeStr } from '../../tensor/shape.ts';

export interface WeightState {
  /** Each tensor's shape, in state-dict order. */
  shapes: Map<string, number[]>;
  values: Map<string, Float32Array>;
}

/** A copy of `model`'s parameters and buffers (float32 ones; integer buffers are skipped). */
export async function readState(model: Module): Promise<WeightState> {
  const shapes = new Map<string, number[]>();
  const values = new Map<string, Float32Array>();
  for (const [name, t] of model.stateDict()) {
    if (t.dtype !== 'float32') continue;
    shapes.set(name, [...t.shape]);
    values.set(name, Float32Array.from(await t.toArray()));
  }
  return { shapes, values };
}

/** Loads a state into `model` (every name must exist there with the same shape). */
export function writeState(model: Module, state: WeightState): void {
  const tensors = new Map([...state.values].map(([name, v]) => [name, tensor(v, state.shapes.get(name)!)]));
  try {
    model.loadStateDict(tensors, { strict: false });
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

export function cloneState(state: WeightState): WeightState {
  return { shapes: new Map([...state.shapes].map(([k, s]) => [k, [...s]])), values: new Map([...state.values].map(([k, v]) => [k, v.slice()])) };
}

/**
 * Refuses two states that are not the same architecture, naming the first parameter that differs
 * (missing on one side, or another shape) and both shapes: `what` says which operation needs them.
 */
export function assertSameArchitecture(a: WeightState, b: WeightState, what: string, names: [string, string] = ['net A', 'net B']): void {
  for (const [name, shape] of a.shapes) {
    const other = b.shapes.get(name);
    if (!other) throw new Error(`glassbox.weightspace: ${what} needs two nets of one architecture, but '${name}' (${shapeStr(shape)} in ${names[0]}) is missing from ${names[1]}`);
    if (other.length !== shape.length || other.some((d, i) => d !== shape[i]))
      throw new Error(`glassbox.weightspace: ${what} needs two nets of one architecture, but '${name}' is ${shapeStr(shape)} in ${names[0]} and ${shapeStr(other)} in ${names[1]}`);
  }
  for (const [name, shape] of b.shapes)
    if (!a.shapes.has(name)) throw new Error(`glassbox.weightspace: ${what} needs two nets of one architecture, but '${name}' (${shapeStr(shape)} in ${names[1]}) is missing from ${names[0]}`);
}

/** The largest absolute difference between two states of one architecture, and where. */
export function maxStateDifference(a: WeightState, b: WeightState): { name: string; difference: number } {
  let worst = { name: '', difference: 0 };
  for (const [name, va] of a.values) {
    const vb = b.values.get(name)!;
    for (let i = 0; i < va.length; i++) {
      const d = Math.abs(va[i]! - vb[i]!);
      if (!(d <= worst.difference)) worst = { name, difference: d };
    }
  }
  return worst;
}
