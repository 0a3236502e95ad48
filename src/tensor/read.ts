/**
 * Reading a value you are done with: `await gb.read(t)` copies t to the CPU and disposes it, so a
 * loop that logs a loss needs neither a dispose() nor a scope (`tidyAsync` still frees the rest):
 *
 *   const lossValue = await gb.readItem(gb.crossEntropy(model.forward(x), y));
 *   const [preds, probs] = await gb.read([logits.argmax({ dim: 1 }), logits.softmax(1)]);
 *
 * The tensors are disposed even when the read fails. Read only what nothing else still uses: a
 * tensor that a later backward() needs, or that you pass on, must be read with toArray() instead.
 */
import { Tensor, type NumericArray } from './tensor.ts';
import { describeValue } from './check-options.ts';

declare module './tensor.ts' {
  interface Tensor {
    /** toArray(), then dispose(): the elements of a tensor you are done with. */
    toArrayAndDispose(): Promise<NumericArray>;
    /** item(), then dispose(): the value of a one-element tensor you are done with. */
    itemAndDispose(): Promise<number>;
  }
}

function checkTensors(fn: string, ts: readonly unknown[]): asserts ts is Tensor[] {
  ts.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new Error(`glassbox.${fn}: expects a tensor or an array of tensors, got ${ts.length === 1 ? '' : `at index ${i} `}${describeValue(t)}`);
  });
}

async function readThenDispose<R>(ts: Tensor[], readOne: (t: Tensor) => Promise<R>): Promise<R[]> {
  try {
    return await Promise.all(ts.map(readOne));
  } finally {
    for (const t of ts) t.dispose();
  }
}

/** The elements of `t` (or of each tensor of an array), copied to the CPU; the tensors are disposed. */
export function read(t: Tensor): Promise<NumericArray>;
export function read(ts: readonly Tensor[]): Promise<NumericArray[]>;
export async function read(t: Tensor | readonly Tensor[]): Promise<NumericArray | NumericArray[]> {
  const ts = Array.isArray(t) ? [...t] : [t];
  checkTensors('read', ts);
  const values = await readThenDispose(ts, (x) => x.toArray());
  return Array.isArray(t) ? values : values[0]!;
}

/** The value of a one-element tensor (or of each tensor of an array); the tensors are disposed. */
export function readItem(t: Tensor): Promise<number>;
export function readItem(ts: readonly Tensor[]): Promise<number[]>;
export async function readItem(t: Tensor | readonly Tensor[]): Promise<number | number[]> {
  const ts = Array.isArray(t) ? [...t] : [t];
  checkTensors('readItem', ts);
  const values = await readThenDispose(ts, (x) => x.item());
  return Array.isArray(t) ? values : values[0]!;
}

Tensor.prototype.toArrayAndDispose = function (this: Tensor) {
  return read(this);
};
Tensor.prototype.itemAndDispose = function (this: Tensor) {
  return readItem(this);
};
