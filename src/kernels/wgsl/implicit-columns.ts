/**
 * Implicit im2col for the register-blocked matmul (matmul.ts, cpu-simd): a convolution's column
 * matrix is read straight from its image instead of being written out by an im2col kernel and
 * read back. On lavapipe every load and store is scalarised per lane, so the im2col pass (one load
 * and one store per column entry) cost as much as a tenth of a small CNN's training step.
 *
 * The column matrix of one image x [C, H, W] (sliding-window.ts, Window2d) has a row per tap
 * t = (c * KH + ki) * KW + kj and a column per window position p = oh * OW + ow:
 *   cols[t, p] = x[c, oh * SH - PH + ki * DH, ow * SW - PW + kj * DW], 0 in the padding,
 * plus, with a ones row, cols[C * KH * KW, p] = 1 (a bias gradient: conv.ts).
 * Two ways of reading it as the matmul's B, by which of t and p is the column (fixed per lane)
 * and which is k (the same for all lanes at each step, so its decomposition is scalar work):
 *   - 'positions': B = cols [K = taps, N = positions] (conv2d's forward, W · cols). The batch is read
 *     as more columns (matmul.ts: item{j}, col{j}), so the lane's column gives the image and (oh, ow);
 *   - 'taps': B = cols^T [K = positions, N = taps (+ ones)] (the weight gradient, g · cols^T), one
 *     image per batch item.
 * A tap in the padding reads a clamped address and selects 0, so no load leaves the image.
 */
import type { Window2d } from './sliding-window.ts';

export type ImplicitColumnsMode = 'positions' | 'taps';

export interface ImplicitColumns {
  mode: ImplicitColumnsMode;
  win: Window2d;
  /** 'taps' only: one more column, all ones (the bias gradient's). */
  onesRow: boolean;
}

/** Everything the matmul generator needs to read B as an image's columns. */
export interface ColumnReader {
  /** Module-scope WGSL: the geometry as constants and the value function. */
  declarations: string;
  /** Per-lane setup of column j, before the loops over k (may use item{j} / col{j} in 'positions' mode). */
  setup: (j: number, column: string) => string;
  /** A statement that defines y{j} = B(k, column j). */
  load: (j: number, k: string) => string;
  describe: string;
}

export function implicitColumnReader(spec: ImplicitColumns): ColumnReader {
  const w = spec.win;
  const u = (name: string, v: number) => `const IM_${name} = ${v}u;`;
  const i = (name: string, v: number) => `const IM_${name} = ${v}i;`;
  const constants = [
    [u('C', w.C), u('H', w.H), u('W', w.W), u('OW', w.OW), u('KH', w.kh), u('KW', w.kw)].join(' '),
    [u('SH', w.sh), u('SW', w.sw), i('PH', w.ph), i('PW', w.pw), u('DH', w.dh), u('DW', w.dw), u('TAPS', w.C * w.kh * w.kw)].join(' '),
  ].join('\n');
  // x at (c, ih, iw) of the image at xb, or 0 where (ih, iw) is in the padding
  const pixel = `fn im_pixel(xb: u32, c: u32, ih: i32, iw: i32) -> f32 {
  let inside = ih >= 0 && ih < i32(IM_H) && iw >= 0 && iw < i32(IM_W);
  let v = B[xb + (c * IM_H + u32(clamp(ih, 0, i32(IM_H) - 1))) * IM_W + u32(clamp(iw, 0, i32(IM_W) - 1))];
  return select(0.0, v, inside);
}`;
  if (spec.mode === 'positions') {
    return {
      declarations: `${constants}
${pixel}
// cols[tap k, position (h0, w0) + stride]: the tap's channel and offsets are the same for all lanes
fn im_at_tap(xb: u32, h0: i32, w0: i32, k: u32) -> f32 {
  let c = k / (IM_KH * IM_KW);
  let r = k % (IM_KH * IM_KW);
  return im_pixel(xb, c, h0 + i32((r / IM_KW) * IM_DH), w0 + i32((r % IM_KW) * IM_DW));
}`,
      setup: (j) => `  let xb${j} = item${j} * u.batchStrideB;
  let h0${j} = i32((col${j} / IM_OW) * IM_SH) - IM_PH;
  let w0${j} = i32((col${j} % IM_OW) * IM_SW) - IM_PW;`,
      load: (j, k) => `let y${j} = im_at_tap(xb${j}, h0${j}, w0${j}, ${k});`,
      describe: `B is the columns of image x [${w.C}, ${w.H}, ${w.W}] (${w.kh}x${w.kw} taps, stride ${w.sh}x${w.sw}, padding ${w.ph}x${w.pw}, dilation ${w.dh}x${w.dw}), read from x: B(tap k, position n)`,
    };
  }
  return {
    declarations: `${constants}
${pixel}
// cols^T[position k, tap (c, ki, kj)]: the position is the same for all lanes
fn im_at_position(xb: u32, c: u32, ki: u32, kj: u32, k: u32) -> f32 {
  return im_pixel(xb, c, i32((k / IM_OW) * IM_SH + ki * IM_DH) - IM_PH, i32((k % IM_OW) * IM_SW + kj * IM_DW) - IM_PW);
}`,
    setup: (j, column) => `  let tap${j} = ${column};
  let c${j} = min(tap${j}, IM_TAPS - 1u) / (IM_KH * IM_KW);
  let ki${j} = (min(tap${j}, IM_TAPS - 1u) / IM_KW) % IM_KH;
  let kj${j} = min(tap${j}, IM_TAPS - 1u) % IM_KW;
  let ones${j} = tap${j} >= IM_TAPS;`,
    load: (j, k) => `let y${j} = select(im_at_position(baseB, c${j}, ki${j}, kj${j}, ${k}), 1.0, ones${j});`,
    describe: `B is cols^T of image x [${w.C}, ${w.H}, ${w.W}] (${w.kh}x${w.kw} taps, stride ${w.sh}x${w.sw}, padding ${w.ph}x${w.pw}, dilation ${w.dh}x${w.dw}${spec.onesRow ? ', then a ones column' : ''}), read from x: B(position k, tap n)`,
  };
}
