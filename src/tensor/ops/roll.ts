/**
 * roll(x, shifts, dims): torch.roll. Elements shifted past the end come back at the start. Built
 * from slice and cat, so it needs no kernel and its gradient (a roll the other way) comes from
 * theirs. Without dims, x is flattened, rolled, and reshaped back, as in PyTorch.
 */
import { normAxis, shapeStr } from '../shape.ts';
import { Tensor } from '../tensor.ts';
import { cat, reshape, slice } from './views.ts';

export function roll(x: Tensor, shifts: number | readonly number[], dims?: number | readonly number[]): Tensor {
  if (!(x instanceof Tensor)) throw new Error(`glassbox.roll: the first argument must be a tensor, got ${typeof x}`);
  const shiftList = typeof shifts === 'number' ? [shifts] : shifts;
  if (!Array.isArray(shiftList) || shiftList.some((s) => !Number.isInteger(s)))
    throw new Error(`glassbox.roll: shifts must be an integer or an array of integers, got ${JSON.stringify(shifts)}`);
  if (dims === undefined) {
    if (shiftList.length !== 1) throw new Error(`glassbox.roll: without dims, give one shift (the tensor is rolled flattened), got ${JSON.stringify(shifts)}`);
    return reshape(rollAlong(reshape(x, [-1]), shiftList[0]!, 0), x.shape);
  }
  const dimList = typeof dims === 'number' ? [dims] : dims;
  if (!Array.isArray(dimList) || dimList.some((d) => !Number.isInteger(d)))
    throw new Error(`glassbox.roll: dims must be an integer or an array of integers, got ${JSON.stringify(dims)}`);
  if (dimList.length !== shiftList.length)
    throw new Error(`glassbox.roll: ${shiftList.length} shifts for ${dimList.length} dims (${JSON.stringify(shifts)} and ${JSON.stringify(dims)}); give one shift per dim`);
  return dimList.reduce<Tensor>((t, d, i) => rollAlong(t, shiftList[i]!, normAxis('roll', d, x.rank)), x);
}

function rollAlong(x: Tensor, shift: number, dim: number): Tensor {
  const n = x.shape[dim]!;
  if (n === 0) return x;
  const k = ((shift % n) + n) % n;
  if (k === 0) return x;
  // the last k elements move to the front
  const tail = slice(x, dim, { start: n - k, end: n });
  const head = slice(x, dim, { start: 0, end: n - k });
  if (tail.shape[dim] !== k) throw new Error(`glassbox internal: roll of ${shapeStr(x.shape)} along ${dim} by ${shift}`);
  return cat([tail, head], dim);
}
