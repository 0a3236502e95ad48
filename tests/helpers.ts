/** Shared test helpers: closeness with a tolerance that names the worst element; the kernels a piece of code dispatches. */
import { expect } from 'vitest';
import { runtime } from '../src/kernels/runtime.ts';

export function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, opts: { atol: number; rtol: number; what: string }): void {
  expect(actual.length, `${opts.what}: length`).toBe(expected.length);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e) && Number.isNaN(a)) continue;
    const excess = Math.abs(a - e) - (opts.atol + opts.rtol * Math.abs(e));
    if (!(excess <= 0) && (worst < 0 || excess > worstExcess || Number.isNaN(excess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) expect.fail(`${opts.what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (atol ${opts.atol}, rtol ${opts.rtol})`);
}

/** Names of the kernels `fn` dispatches, in order. */
export function kernelsOf(fn: () => void): string[] {
  const queue = runtime().queue;
  const original = queue.dispatch.bind(queue);
  const names: string[] = [];
  queue.dispatch = (kernel, buffers, uniforms, workgroups) => {
    names.push(kernel.name);
    original(kernel, buffers, uniforms, workgroups);
  };
  try {
    fn();
  } finally {
    queue.dispatch = original;
  }
  return names;
}
