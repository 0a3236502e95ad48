/** Shape arithmetic shared by every op: sizes, strides, broadcasting, axis normalisation. */

export type Shape = readonly number[];

/**
 * Checks a shape given from outside (creation ops, views): every size a non-negative integer and
 * the element count exact in a double. Negative, fractional or NaN sizes used to be multiplied
 * through (zeros([-2, -3]) had 6 elements) or reached WebGPU as a NaN byte count.
 */
export function checkShape(op: string, shape: Shape): void {
  if (!Array.isArray(shape)) throw new Error(`glassbox.${op}: the shape must be an array of sizes, got ${String(shape)}`);
  const bad = shape.findIndex((d) => !Number.isSafeInteger(d) || d < 0);
  if (bad >= 0)
    throw new Error(`glassbox.${op}: size ${shape[bad]} at dimension ${bad} of shape ${shapeStr(shape)} is not a non-negative integer; every size must be 0, 1, 2, ...`);
  if (!Number.isSafeInteger(numel(shape))) throw new Error(`glassbox.${op}: shape ${shapeStr(shape)} has ${numel(shape)} elements, too many to count exactly; use a smaller shape`);
}

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy broadcasting: align from the right; sizes must match or be 1. */
export function broadcastShapes(op: string, ...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const o = rank - s.length + i;
      const d = s[i]!;
      if (d === out[o] || d === 1) continue;
      if (out[o] === 1) out[o] = d;
      else
        throw new Error(
          `glassbox.${op}: shapes ${shapes.map(shapeStr).join(' and ')} cannot be broadcast together ` +
            `(dimension ${o} from the left is ${out[o]} vs ${d}; sizes must match or be 1). ` +
            `Reshape or unsqueeze one operand so the trailing dimensions line up.`,
        );
    }
  }
  return out;
}

/** Normalises a possibly negative axis; names the op in the error. */
export function normAxis(op: string, axis: number, rank: number): number {
  const r = Math.max(rank, 1);
  if (!Number.isInteger(axis) || axis < -r || axis >= r)
    throw new Error(`glassbox.${op}: dim ${axis} is out of range for a tensor of rank ${rank} (valid: ${-r}..${r - 1})`);
  return axis < 0 ? axis + r : axis;
}

/** Normalises `dim` (undefined = all axes) to a sorted list of distinct axes. */
export function normAxes(op: string, dim: number | readonly number[] | undefined, rank: number): number[] {
  if (dim === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof dim === 'number' ? [dim] : [...dim];
  const axes = [...new Set(list.map((d) => normAxis(op, d, rank)))];
  if (axes.length !== list.length) throw new Error(`glassbox.${op}: dim ${JSON.stringify(dim)} repeats an axis`);
  return axes.sort((a, b) => a - b);
}

/** Resolves one -1 in a target shape and checks the element count. */
export function resolveShape(op: string, from: Shape, to: readonly number[]): number[] {
  const n = numel(from);
  const unknown = to.filter((d) => d === -1).length;
  if (unknown > 1) throw new Error(`glassbox.${op}: only one dimension can be -1, got ${shapeStr(to)}`);
  const known = to.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const out = to.map((d) => (d === -1 ? (known === 0 ? 0 : n / known) : d));
  if (out.some((d) => !Number.isInteger(d) || d < 0) || numel(out) !== n)
    throw new Error(`glassbox.${op}: cannot reshape a tensor of shape ${shapeStr(from)} (${n} elements) into ${shapeStr(to)}`);
  return out;
}
