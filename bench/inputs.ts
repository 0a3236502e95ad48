/**
 * Benchmark inputs shared by the scripts: deterministic random data (the same for every peer),
 * layout changes between glassbox's NCHW / OIHW and TensorFlow.js's NHWC / HWIO, and the check
 * that compares two peers' results.
 */

/** Deterministic uniform values in [-1, 1) (xorshift32), the same for every peer. */
export function randomData(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    out[i] = (s >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

/** Permutes the axes of a row-major 4-D array: out has shape perm.map(a => shape[a]), like tf.transpose / torch.permute. */
export function permute4(data: Float32Array, shape: readonly number[], perm: readonly [number, number, number, number]): Float32Array {
  if (shape.length !== 4 || data.length !== shape.reduce((a, b) => a * b, 1)) throw new Error(`permute4: data of ${data.length} elements is not shape [${shape.join(', ')}]`);
  const strides = [shape[1]! * shape[2]! * shape[3]!, shape[2]! * shape[3]!, shape[3]!, 1];
  const [d0, d1, d2, d3] = perm.map((a) => shape[a]!) as [number, number, number, number];
  const [s0, s1, s2, s3] = perm.map((a) => strides[a]!) as [number, number, number, number];
  const out = new Float32Array(data.length);
  let o = 0;
  for (let a = 0; a < d0; a++)
    for (let b = 0; b < d1; b++)
      for (let c = 0; c < d2; c++) for (let d = 0; d < d3; d++) out[o++] = data[a * s0 + b * s1 + c * s2 + d * s3]!;
  return out;
}

/** max |a - b| / max |b|, or undefined when either is missing or the lengths differ. */
export function relativeDifference(a: Float32Array | undefined, b: Float32Array | undefined): number | undefined {
  if (!a || !b || a.length !== b.length) return undefined;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / (scale || 1);
}
