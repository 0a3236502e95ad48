/**
 * Turns a batch of 8-bit images into normalised float32 input on the GPU, with the
 * augmentation shifts and flips applied in the same pass (so uploads stay 1 byte per pixel).
 *
 * Indexing: invocation i writes out[b, c, y, x] (NCHW, i in row-major order). Sample b reads
 * its source pixel at (y + dy_b - pad, sx + dx_b - pad), where sx = W-1-x when flip_b is set;
 * outside the image the pixel is 0, as with zero-padded random crops. Bytes are packed four
 * to a u32 word, so byte k of the batch is (bytes[k / 4] >> 8 * (k % 4)) & 255.
 */
import { FLAT_INDEX_ARGS, flatIndex, UniformWriter } from './common.ts';

export const DECODE_IMAGES = `// decode_images: uint8 NCHW -> (pixel / 255 - mean[c]) / std[c], with per-sample shift and flip
struct Params { n: u32, C: u32, H: u32, W: u32, pad: u32, m0: f32, m1: f32, m2: f32, s0: f32, s1: f32, s2: f32 }
@group(0) @binding(0) var<storage, read> bytes: array<u32>;
@group(0) @binding(1) var<storage, read> shifts: array<i32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;
@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {
  let i = ${flatIndex()};
  if (i >= p.n) { return; }
  let x = i % p.W;
  let y = (i / p.W) % p.H;
  let c = (i / (p.W * p.H)) % p.C;
  let b = i / (p.W * p.H * p.C);
  let sx = select(i32(x), i32(p.W) - 1 - i32(x), shifts[3u * b + 2u] != 0);
  let srcX = sx + shifts[3u * b] - i32(p.pad);
  let srcY = i32(y) + shifts[3u * b + 1u] - i32(p.pad);
  var v = 0.0;
  if (srcX >= 0 && srcY >= 0 && srcX < i32(p.W) && srcY < i32(p.H)) {
    let k = ((b * p.C + c) * p.H + u32(srcY)) * p.W + u32(srcX);
    v = f32((bytes[k / 4u] >> (8u * (k % 4u))) & 255u) / 255.0;
  }
  let mean = select(select(p.m2, p.m1, c == 1u), p.m0, c == 0u);
  let stdev = select(select(p.s2, p.s1, c == 1u), p.s0, c == 0u);
  out[i] = (v - mean) / stdev;
}
`;

export function decodeImagesUniforms(n: number, C: number, H: number, W: number, pad: number, mean: readonly number[], std: readonly number[]): ArrayBuffer {
  const w = new UniformWriter().u32(n).u32(C).u32(H).u32(W).u32(pad);
  for (let c = 0; c < 3; c++) w.f32(mean[c] ?? mean[0] ?? 0);
  for (let c = 0; c < 3; c++) w.f32(std[c] ?? std[0] ?? 1);
  return w.finish();
}

