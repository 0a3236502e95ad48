/**
 * Sliding-window kernels over NCHW planes (im2col / col2im, max and average pooling), from two
 * templates that share one geometry:
 *
 * - a forward template: one invocation per window, looping over the window's taps
 *   (im2col writes each tap to its own row of the column matrix; max and avg reduce them);
 *   where OH * OW is a multiple of 4, im2col instead covers four positions per invocation and
 *   stores each tap's four values as one vec4;
 * - a backward template that gathers instead of scattering: one invocation per input pixel,
 *   looping over the windows that cover it and summing their contributions (col2im, the
 *   max-pool gradient, the avg-pool gradient). No atomics, so results are deterministic.
 *   Where the windows tile the image exactly (2x2 pooling of an even image), each pixel has one
 *   window, so a scatter template writes each window's taps from one invocation instead.
 */
import { FLAT_INDEX_ARGS, flatIndex, grid1d, UniformWriter } from './common.ts';
import { NAN_HELPERS } from './math.ts';

/**
 * One sliding window seen from the convolution's side: an image of C x H x W per batch item,
 * a grid of OH x OW windows of kh x kw taps, with stride, dilation and the padding before the
 * first row / column (ph, pw; padding after only changes OH / OW, which the caller computes).
 */
export interface Window2d {
  C: number;
  H: number;
  W: number;
  OH: number;
  OW: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  ph: number;
  pw: number;
  dh: number;
  dw: number;
}

/** 'reluMax' is max pooling of relu(x) (see FORWARD_BODY). */
export type WindowForwardMode = 'im2col' | 'max' | 'reluMax' | 'avg';
export type WindowBackwardMode = 'col2im' | 'max' | 'avg';

export interface WindowLaunchSpec {
  /** Batch items (N); invocations cover N * C planes. */
  batch: number;
  win: Window2d;
  /** avg only: PyTorch's count_include_pad. */
  includePad?: boolean;
  /** forward only: how to read the (possibly strided) input [N, C, H, W]. */
  xOffset?: number;
  xStrides?: readonly number[];
  /**
   * im2col only: end each batch item's columns with a row of ones ([N, C * kh * kw + 1, OH * OW]),
   * so that the weight-gradient product g · cols^T also yields the bias gradient (its last column).
   */
  onesRow?: boolean;
}

// Only what changes between calls of the same layer stays in the uniforms: the number of
// invocations (batch size) and the input's view. The window's geometry is baked into the source
// as constants (below), so lavapipe's JIT divides by constants and unrolls the tap loops instead of
// running a scalar integer division per lane and tap; a model has a handful of geometries, and
// each source is generated once.
const PARAMS = `struct Params { n: u32, xOff: u32, xs0: u32, xs1: u32, xs2: u32, xs3: u32 }`;

function geometryConstants(w: Window2d, includePad: boolean, onesRow: boolean): string {
  const u = (name: string, v: number) => `const ${name} = ${v}u;`;
  const i = (name: string, v: number) => `const ${name} = ${v}i;`;
  return [
    [u('C', w.C), u('H', w.H), u('W', w.W), u('OH', w.OH), u('OW', w.OW), u('KH', w.kh), u('KW', w.kw)].join(' '),
    [u('SH', w.sh), u('SW', w.sw), i('PH', w.ph), i('PW', w.pw), u('DH', w.dh), u('DW', w.dw), `const INCLUDE_PAD = ${includePad};`].join(' '),
    // im2col: rows of the column matrix per batch item, and whether the last of them is ones
    `const ONES_ROW = ${onesRow}; const ROWS = ${w.C * w.kh * w.kw + (onesRow ? 1 : 0)}u;`,
  ].join('\n');
}

// PyTorch's avg-pool divisor: the window clipped to the padded input (count_include_pad) or to the input.
const AVG_DIVISOR = `
fn avg_divisor(oh: u32, ow: u32) -> f32 {
  let hs = i32(oh * SH) - PH;
  let ws = i32(ow * SW) - PW;
  let he = min(hs + i32(KH), i32(H) + PH);
  let we = min(ws + i32(KW), i32(W) + PW);
  if (INCLUDE_PAD) { return f32((he - hs) * (we - ws)); }
  return f32((min(he, i32(H)) - max(hs, 0)) * (min(we, i32(W)) - max(ws, 0)));
}`;

function uniforms(n: number, s: WindowLaunchSpec): ArrayBuffer {
  const w = s.win;
  const [xs0, xs1, xs2, xs3] = s.xStrides ?? [w.C * w.H * w.W, w.H * w.W, w.W, 1];
  return new UniformWriter().u32(n).u32(s.xOffset ?? 0).u32(xs0!).u32(xs1!).u32(xs2!).u32(xs3!).finish();
}

const sources = new Map<string, string>();

/** The kernel source for one mode and geometry, generated once. */
function memoSource(kind: string, w: Window2d, includePad: boolean, generate: (constants: string) => string, onesRow = false): string {
  const key = `${kind}|${[w.C, w.H, w.W, w.OH, w.OW, w.kh, w.kw, w.sh, w.sw, w.ph, w.pw, w.dh, w.dw].join(',')}|${includePad}|${onesRow}`;
  let source = sources.get(key);
  if (!source) sources.set(key, (source = generate(geometryConstants(w, includePad, onesRow))));
  return source;
}

/** Max pooling: a tap becomes the window's best (and its argmax) where `takes` holds. */
const maxPool = (takes: string) => ({
  bindings: `@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read_write> indices: array<i32>;`,
  init: 'var best = 0.0; var arg = -1;',
  tap: `if (inside) {
        let v = x[base + u32(ih) * p.xs2 + u32(iw) * p.xs3];
        if (${takes}) { best = v; arg = ih * i32(W) + iw; }
      }`,
  finish: 'out[i] = best; indices[i] = arg;',
});

const FORWARD_BODY: Record<WindowForwardMode, { bindings: string; init: string; tap: string; finish: string }> = {
  im2col: {
    bindings: '@group(0) @binding(1) var<storage, read_write> cols: array<f32>;',
    init: 'let L = OH * OW; let row0 = (plane / C) * ROWS + (plane % C) * KH * KW;',
    tap: `var v = 0.0;
      if (inside) { v = x[base + u32(ih) * p.xs2 + u32(iw) * p.xs3]; }
      cols[(row0 + ki * KW + kj) * L + oh * OW + ow] = v;`,
    finish: 'if (ONES_ROW && plane % C == 0u) { cols[((plane / C) * ROWS + ROWS - 1u) * L + oh * OW + ow] = 1.0; }',
  },
  // NaN as PyTorch's max_pool2d: a NaN tap is always taken (so the window's value is NaN, and its
  // argmax the last NaN), since v > best is false for a NaN v or best
  max: maxPool('arg < 0 || v > best || is_nan_(v)'),
  // relu and max commute: relu(x)'s max over a window is x's max floored at 0. Starting from 0, only
  // positive taps are taken; where there is none the argmax stays -1, which the gradient kernels
  // match to no pixel (relu's derivative is 0 there). relu(NaN) is NaN, so NaN taps are taken as
  // in max. See reluMaxPool2d in src/tensor/ops/pool.ts.
  reluMax: maxPool('v > best || is_nan_(v)'),
  avg: {
    bindings: '@group(0) @binding(1) var<storage, read_write> out: array<f32>;',
    init: 'var total = 0.0;',
    tap: 'if (inside) { total += x[base + u32(ih) * p.xs2 + u32(iw) * p.xs3]; }',
    finish: 'out[i] = total / avg_divisor(oh, ow);',
  },
};

/**
 * Forward: bindings x (read), then cols (im2col), out (+ indices for max and reluMax), then the
 * uniforms. im2col's output is [N, C * kh * kw, OH * OW] (PyTorch's unfold layout); the pools
 * write [N, C, OH, OW], max and reluMax also the argmax as a flat index ih * W + iw into its input plane
 * (reluMax: -1 where no tap is positive).
 */
export function windowForwardLaunch(mode: WindowForwardMode, s: WindowLaunchSpec) {
  const w = s.win;
  if (s.onesRow && mode !== 'im2col') throw new Error(`glassbox: the ones row is an im2col option, not ${mode}'s`);
  if (mode === 'im2col' && (w.OH * w.OW) % 4 === 0) return im2colVec4Launch(s);
  const n = s.batch * w.C * w.OH * w.OW;
  const body = FORWARD_BODY[mode];
  const source = memoSource(`forward_${mode}`, w, !!s.includePad, (constants) => `// ${mode}: sliding-window forward.
// Invocation i is window (b, c, oh, ow) with i = ((b * C + c) * OH + oh) * OW + ow. Its tap (ki, kj)
// reads x at (ih, iw) = (oh * SH - PH + ki * DH, ow * SW - PW + kj * DW) through x's strides;
// taps that fall in the padding are skipped (im2col writes 0 for them). im2col writes tap (c, ki, kj)
// to row (c * KH + ki) * KW + kj of batch item b's ROWS rows; with ONES_ROW, channel 0's invocation
// also writes 1 to the last row.
${PARAMS}
${constants}
@group(0) @binding(0) var<storage, read> x: array<f32>;
${body.bindings}
@group(0) @binding(${mode === 'max' || mode === 'reluMax' ? 3 : 2}) var<uniform> p: Params;
${mode === 'avg' ? AVG_DIVISOR : ''}
${mode === 'max' || mode === 'reluMax' ? NAN_HELPERS : ''}
@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {
  let i = ${flatIndex()};
  if (i >= p.n) { return; }
  let ow = i % OW;
  let oh = (i / OW) % OH;
  let plane = i / (OW * OH);
  let base = p.xOff + (plane / C) * p.xs0 + (plane % C) * p.xs1;
  let h0 = i32(oh * SH) - PH;
  let w0 = i32(ow * SW) - PW;
  ${body.init}
  for (var ki = 0u; ki < KH; ki++) {
    let ih = h0 + i32(ki * DH);
    let rowInside = ih >= 0 && ih < i32(H);
    for (var kj = 0u; kj < KW; kj++) {
      let iw = w0 + i32(kj * DW);
      let inside = rowInside && iw >= 0 && iw < i32(W);
      ${body.tap}
    }
  }
  ${body.finish}
}
`, !!s.onesRow);
  return { name: `window_${mode}`, source, uniforms: uniforms(n, s), workgroups: grid1d(n) };
}

/**
 * im2col, four window positions per invocation where OH * OW is a multiple of 4: each tap's four
 * values go out as one vec4 store (measured on lavapipe: about half the time of one position per
 * invocation for the mixture net's three convolutions, e.g. [64,10,28,28] 5x5: 42-46 -> 21-24 ms).
 */
function im2colVec4Launch(s: WindowLaunchSpec) {
  const w = s.win;
  const n = (s.batch * w.C * w.OH * w.OW) / 4;
  const source = memoSource('forward_im2col_vec4', w, false, (constants) => `// im2col (vec4): sliding-window forward, four window positions per invocation.
// Invocation i covers positions 4 * (i % (OH * OW / 4)) .. +3 (flat oh * OW + ow) of plane i / (OH * OW / 4)
// (plane = b * C + c); tap (ki, kj) of position (oh, ow) reads x at (oh * SH - PH + ki * DH, ow * SW - PW + kj * DW)
// through x's strides (0 in the padding) and goes to row b * ROWS + (c * KH + ki) * KW + kj of the column
// matrix; with ONES_ROW, channel 0's invocation also writes ones to row b * ROWS + ROWS - 1.
${PARAMS}
${constants}
const L4 = OH * OW / 4u;
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> cols: array<vec4<f32>>;
@group(0) @binding(2) var<uniform> p: Params;
fn tap(base: u32, pos: u32, ki: u32, kj: u32) -> f32 {
  let ih = i32((pos / OW) * SH) - PH + i32(ki * DH);
  let iw = i32((pos % OW) * SW) - PW + i32(kj * DW);
  if (ih < 0 || ih >= i32(H) || iw < 0 || iw >= i32(W)) { return 0.0; }
  return x[base + u32(ih) * p.xs2 + u32(iw) * p.xs3];
}
@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {
  let i = ${flatIndex()};
  if (i >= p.n) { return; }
  let q = i % L4;
  let plane = i / L4;
  let base = p.xOff + (plane / C) * p.xs0 + (plane % C) * p.xs1;
  let pos = 4u * q;
  let row0 = (plane / C) * ROWS + (plane % C) * KH * KW;
  for (var ki = 0u; ki < KH; ki++) {
    for (var kj = 0u; kj < KW; kj++) {
      let v = vec4(tap(base, pos, ki, kj), tap(base, pos + 1u, ki, kj), tap(base, pos + 2u, ki, kj), tap(base, pos + 3u, ki, kj));
      cols[(row0 + ki * KW + kj) * L4 + q] = v;
    }
  }
  if (ONES_ROW && plane % C == 0u) { cols[((plane / C) * ROWS + ROWS - 1u) * L4 + q] = vec4(1.0); }
}
`, !!s.onesRow);
  return { name: 'window_im2col', source, uniforms: uniforms(n, s), workgroups: grid1d(n) };
}

const BACKWARD_BODY: Record<WindowBackwardMode, { bindings: string; tap: string }> = {
  col2im: {
    bindings: '@group(0) @binding(0) var<storage, read> cols: array<f32>;',
    tap: 'acc += cols[((plane * KH + ki) * KW + kj) * OH * OW + oh * OW + ow];',
  },
  max: {
    bindings: `@group(0) @binding(0) var<storage, read> g: array<f32>;
@group(0) @binding(1) var<storage, read> indices: array<i32>;`,
    tap: `let o = (plane * OH + oh) * OW + ow;
      if (indices[o] == i32(h * W + w)) { acc += g[o]; }`,
  },
  avg: {
    bindings: '@group(0) @binding(0) var<storage, read> g: array<f32>;',
    tap: 'acc += g[(plane * OH + oh) * OW + ow] / avg_divisor(oh, ow);',
  },
};

const OVERLAPPING_GATHER = `  for (var ki = 0u; ki < KH; ki++) {
    let th = i32(h) + PH - i32(ki * DH);
    if (th < 0 || th % i32(SH) != 0) { continue; }
    let oh = u32(th) / SH;
    if (oh >= OH) { continue; }
    for (var kj = 0u; kj < KW; kj++) {
      let tw = i32(w) + PW - i32(kj * DW);
      if (tw < 0 || tw % i32(SW) != 0) { continue; }
      let ow = u32(tw) / SW;
      if (ow >= OW) { continue; }
      TAP
    }
  }`;

// Windows that tile the image exactly (kernel = stride, no padding or dilation, H = OH * SH and
// W = OW * SW) cover every pixel exactly once, so the backward can go the other way round: one
// invocation per window reads its gradient (and argmax) once and writes all of its taps. The gather
// form would read them once per pixel; on lavapipe, where each load is scalarised per lane, the
// scatter form measured 3-5x faster for 2x2 max pooling ([64, 6, 28, 28]: 1.99 -> 0.42 ms, [64, 32, 24, 24]: 7.6 -> 1.35 ms).
const tiling = (w: Window2d) => w.kh === w.sh && w.kw === w.sw && w.ph === 0 && w.pw === 0 && w.dh === 1 && w.dw === 1;
const exactTiling = (w: Window2d) => tiling(w) && w.H === w.OH * w.sh && w.W === w.OW * w.sw;

// Windows that tile the image but leave a remainder uncovered gather: each pixel's window and tap
// follow by division, with no loop over the taps.
const TILED_GATHER = `  let oh = h / SH;
  let ow = w / SW;
  if (oh < OH && ow < OW) {
    let ki = h % SH;
    let kj = w % SW;
    TAP
  }`;

const SCATTER_TAP: Record<WindowBackwardMode, { init: string; value: string }> = {
  col2im: { init: '', value: 'cols[((plane * KH + ki) * KW + kj) * OH * OW + o % (OH * OW)]' },
  max: { init: 'let v = g[o]; let arg = indices[o];', value: 'select(0.0, v, arg == i32(h * W + w))' },
  avg: { init: 'let v = g[o] / avg_divisor(oh, ow);', value: 'v' },
};

/** What both backward forms declare, up to the opening of main: geometry, inputs, out, uniforms. */
function backwardDeclarations(mode: WindowBackwardMode, constants: string): string {
  const outBinding = mode === 'max' ? 2 : 1;
  return `${PARAMS}
${constants}
${BACKWARD_BODY[mode].bindings}
@group(0) @binding(${outBinding}) var<storage, read_write> out: array<f32>;
@group(0) @binding(${outBinding + 1}) var<uniform> p: Params;
${mode === 'avg' ? AVG_DIVISOR : ''}
@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {`;
}

function scatterSource(mode: WindowBackwardMode, constants: string): string {
  const tap = SCATTER_TAP[mode];
  return `// ${mode}: sliding-window backward for windows that tile the image, scattered per window.
// Invocation o is window (b, c, oh, ow) with o = ((b * C + c) * OH + oh) * OW + ow; its tap (ki, kj)
// is pixel (h, w) = (oh * SH + ki, ow * SW + kj), which no other window covers.
${backwardDeclarations(mode, constants)}
  let o = ${flatIndex()};
  if (o >= p.n) { return; }
  let ow = o % OW;
  let oh = (o / OW) % OH;
  let plane = o / (OW * OH);
  ${tap.init}
  for (var ki = 0u; ki < KH; ki++) {
    let h = oh * SH + ki;
    for (var kj = 0u; kj < KW; kj++) {
      let w = ow * SW + kj;
      out[(plane * H + h) * W + w] = ${tap.value};
    }
  }
}
`;
}

/**
 * Backward: bindings cols (col2im) or g (+ indices for max), all contiguous, then out
 * [N, C, H, W], then the uniforms. Gathered per input pixel, or scattered per window where the
 * windows tile the image exactly.
 */
export function windowBackwardLaunch(mode: WindowBackwardMode, s: WindowLaunchSpec) {
  const w = s.win;
  if (exactTiling(w)) {
    const n = s.batch * w.C * w.OH * w.OW;
    const source = memoSource(`backward_${mode}_scatter`, w, !!s.includePad, (constants) => scatterSource(mode, constants));
    return { name: `window_${mode}_backward_scatter`, source, uniforms: uniforms(n, s), workgroups: grid1d(n) };
  }
  const n = s.batch * w.C * w.H * w.W;
  const tap = BACKWARD_BODY[mode].tap;
  const source = memoSource(`backward_${mode}`, w, !!s.includePad, (constants) => `// ${mode}: sliding-window backward, gathered per input pixel.
// Invocation i is input pixel (b, c, h, w) with i = ((b * C + c) * H + h) * W + w. Tap (ki, kj) of
// window (oh, ow) covers it when oh * SH - PH + ki * DH == h (and likewise for w), i.e. when
// th = h + PH - ki * DH is a non-negative multiple of SH with oh = th / SH < OH. The pixel sums
// what each such window sends back, so no two invocations write the same place.
${backwardDeclarations(mode, constants)}
  let i = ${flatIndex()};
  if (i >= p.n) { return; }
  let w = i % W;
  let h = (i / W) % H;
  let plane = i / (W * H);
  var acc = 0.0;
${tiling(w) ? TILED_GATHER.replace('TAP', tap) : OVERLAPPING_GATHER.replace('TAP', tap)}
  out[i] = acc;
}
`);
  return { name: `window_${mode}_backward`, source, uniforms: uniforms(n, s), workgroups: grid1d(n) };
}
