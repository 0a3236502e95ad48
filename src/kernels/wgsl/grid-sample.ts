/**
 * grid_sample over NCHW images (torch.nn.functional.grid_sample, 4-D): the forward and one
 * backward kernel, generated per mode (bilinear / nearest), padding (zeros / border), alignCorners
 * and, for the backward, which gradients are wanted.
 *
 * Indexing: every tensor is contiguous. Invocation i is one output location (n, s) with
 * s = ho * WO + wo, i = n * HO * WO + s; the grid holds its normalised point at grid[2i] (x,
 * across the width) and grid[2i + 1] (y, down the height). The invocation turns the point into
 * pixel coordinates once (PyTorch's unnormalisation: alignCorners maps -1 and 1 to the centres
 * of the corner pixels, otherwise to the outer edges of the image; border padding clips to the
 * image), finds its corner pixels and weights once, then loops over the C channels:
 * out[(n * C + c) * HO * WO + s] mixes input[(n * C + c) * H * W + y * W + x] over the corners.
 * A corner outside the image reads 0 (zeros padding; border padding never leaves the image).
 *
 * The backward runs on the same invocations. The grid's gradient is per output location (the
 * sum over channels of g times the derivative of the bilinear mix along x and y, times the
 * derivative of the unnormalisation), so it is written once, with no race. The input's
 * gradient is a scatter: each output location adds g * weight to its corner pixels, and for a
 * general grid (random rotations and scales) any number of locations may share a pixel, with no
 * cheap inverse to gather them per pixel instead (pooling's backward can, because its windows
 * are regular). Sorting the contributions by pixel first (a radix sort per call) would make the
 * sum deterministic at several times the cost; instead each add is an atomic float add built
 * from a compare-and-swap loop on the value's u32 bits (WGSL has no float atomics), as
 * gather.ts's scatter-add does. Only the order of the additions into one pixel varies between
 * runs, so results can differ in the last bits of float32, never more; PyTorch's CUDA kernel
 * makes the same choice (atomicAdd; flagged by torch.use_deterministic_algorithms).
 */
import { FAST_DIV, FAST_DIV_LIMIT, FLAT_INDEX_ARGS, flatIndex, grid1d, UniformWriter } from './common.ts';
import { NAN_HELPERS } from './math.ts';

export interface GridSampleGeometry {
  N: number;
  C: number;
  H: number;
  W: number;
  HO: number;
  WO: number;
}

export interface GridSampleMode {
  mode: 'bilinear' | 'nearest';
  paddingMode: 'zeros' | 'border';
  alignCorners: boolean;
}

const PARAMS = `struct Params { n: u32, C: u32, H: u32, W: u32, plane: u32, invPlane: f32, nanBits: u32 }`;

function uniforms(g: GridSampleGeometry): ArrayBuffer {
  const plane = g.HO * g.WO;
  return new UniformWriter().u32(g.N * plane).u32(g.C).u32(g.H).u32(g.W).u32(plane).f32(1 / plane).u32(0x7fc00000).finish();
}

/**
 * Points this close (times the axis's size) to a pixel centre are moved onto it. A float32 grid
 * cannot hold most pixel centres exactly (affineGrid's identity puts row k of 28 at
 * -1 + 2k / 27, rounded), so without this the identity transform would mix each pixel with a
 * neighbour at weight ~1e-7, as PyTorch's float32 kernel does; the rounding of the grid and of
 * the unnormalisation stays below size * 2^-22 (a few float32 ulps of -1..1, times size / 2), so
 * the snap only absorbs that rounding and changes a value by no more than it would. Random points
 * fall this close with a probability of ~size * 2e-6 per point.
 */
const SNAP = '9.5367431640625e-7'; // 2^-20

/**
 * WGSL shared by both kernels: `locate` turns grid point i into its corners (flat pixel indices
 * within a plane, each with a validity flag), the bilinear fractions tx, ty, and the derivative of
 * the pixel coordinates with respect to the grid values (0 where border padding clipped them,
 * the clipped ends included, as in PyTorch).
 */
function locateSource(m: GridSampleMode): string {
  const unnormalize = m.alignCorners ? '(g + 1.0) * 0.5 * (s - 1.0)' : '((g + 1.0) * s - 1.0) * 0.5';
  const slope = m.alignCorners ? '(s - 1.0) * 0.5' : 's * 0.5';
  const clip = m.paddingMode === 'border' ? `
  if (v <= 0.0) { v = 0.0; dv = 0.0; } else if (v >= s - 1.0) { v = s - 1.0; dv = 0.0; }` : '';
  // a corner's integer coordinate; beyond -2 or size every corner is outside anyway, and clamping
  // first keeps the f32 -> i32 conversion (and the +1 of the far corner) in range for huge points
  const cornerOf = (v: string, size: string) => `i32(clamp(${v}, -2.0, f32(${size})))`;
  const inside = (x: string, y: string) => `${x} >= 0 && ${x} < i32(p.W) && ${y} >= 0 && ${y} < i32(p.H)`;
  const body =
    m.mode === 'nearest'
      ? `  // round half to even, as PyTorch's nearbyint
  let x = ${cornerOf('round(cx.v)', 'p.W')}; let y = ${cornerOf('round(cy.v)', 'p.H')};
  loc.ok[0] = ${inside('x', 'y')} && !bad;
  loc.at[0] = select(0u, u32(y) * p.W + u32(x), loc.ok[0]);`
      : `  let x0f = floor(cx.v); let y0f = floor(cy.v);
  loc.tx = cx.v - x0f; loc.ty = cy.v - y0f;
  let x0 = ${cornerOf('x0f', 'p.W')}; let y0 = ${cornerOf('y0f', 'p.H')};
  // corners in the order nw, ne, sw, se
  for (var k = 0u; k < 4u; k++) {
    let x = x0 + i32(k & 1u); let y = y0 + i32(k >> 1u);
    loc.ok[k] = ${inside('x', 'y')} && !bad;
    loc.at[k] = select(0u, u32(y) * p.W + u32(x), loc.ok[k]);
  }`;
  return `${NAN_HELPERS}
struct Coord { v: f32, dv: f32 }
fn source_coord(g: f32, size: u32) -> Coord {
  let s = f32(size);
  var v = ${unnormalize};
  var dv = ${slope};
  // a point within size * 2^-20 pixels of a pixel centre samples that pixel alone (see SNAP)
  let r = round(v);
  if (abs(v - r) <= s * ${SNAP}) { v = r; }${clip}
  return Coord(v, dv);
}
struct Loc { at: array<u32, 4>, ok: array<bool, 4>, tx: f32, ty: f32, dx: f32, dy: f32, nan: bool }
fn locate(i: u32) -> Loc {
  var loc: Loc;
  let cx = source_coord(grid[2u * i], p.W);
  let cy = source_coord(grid[2u * i + 1u], p.H);
  loc.dx = cx.dv; loc.dy = cy.dv;
  // a NaN point samples NaN (and sends no gradient to the input)
  let bad = is_nan_(cx.v) || is_nan_(cy.v);
  loc.nan = bad;
${body}
  return loc;
}
// the bilinear weights of corners nw, ne, sw, se
fn weights(loc: Loc) -> vec4<f32> {
  let ux = 1.0 - loc.tx; let uy = 1.0 - loc.ty;
  return vec4<f32>(ux * uy, loc.tx * uy, ux * loc.ty, loc.tx * loc.ty);
}`;
}

/** The batch item of invocation i: integer division is slow on lavapipe (common.ts), so fast_div below 2^24. */
const batchOf = (g: GridSampleGeometry) => (g.N * g.HO * g.WO < FAST_DIV_LIMIT ? 'fast_div(i, p.plane, p.invPlane)' : 'i / p.plane');

const corners = (m: GridSampleMode) => (m.mode === 'nearest' ? 1 : 4);

/**
 * What both kernels share: the storage `bindings` in order (then the uniforms), the helpers, and the
 * start of main for one output location i: its batch n, its place s in the output plane, its corners
 * (locate) and their weights w. The caller continues the body and closes main.
 */
function kernelHead(g: GridSampleGeometry, m: GridSampleMode, bindings: readonly string[]): string {
  const decls = [...bindings, 'var<uniform> p: Params'].map((b, k) => `@group(0) @binding(${k}) ${b};`).join('\n');
  return `${PARAMS}
${decls}
${FAST_DIV}
${locateSource(m)}
@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {
  let i = ${flatIndex()};
  if (i >= p.n) { return; }
  let n = ${batchOf(g)};
  let s = i - n * p.plane;
  var loc = locate(i);
  let w = ${corners(m) === 4 ? 'weights(loc)' : 'vec4<f32>(1.0, 0.0, 0.0, 0.0)'};`;
}

/** One output location per invocation, looping over channels. */
export function gridSampleForwardLaunch(g: GridSampleGeometry, m: GridSampleMode) {
  const K = corners(m);
  const bindings = ['var<storage, read> input: array<f32>', 'var<storage, read> grid: array<f32>', 'var<storage, read_write> out: array<f32>'];
  const source = `// grid_sample forward: ${m.mode}, ${m.paddingMode} padding, alignCorners ${m.alignCorners}
${kernelHead(g, m, bindings)}
  for (var c = 0u; c < p.C; c++) {
    let base = (n * p.C + c) * p.H * p.W;
    var v = 0.0;
    for (var k = 0u; k < ${K}u; k++) {
      if (loc.ok[k]) { v += w[k] * input[base + loc.at[k]]; }
    }
    out[(n * p.C + c) * p.plane + s] = select(v, bitcast<f32>(p.nanBits), loc.nan);
  }
}
`;
  return { name: 'gridSample', source, uniforms: uniforms(g), workgroups: grid1d(g.N * g.HO * g.WO) };
}

export interface GridSampleBackwardWants {
  /** Scatter g into the input's gradient (bound zeroed). */
  input: boolean;
  /** Write the grid's gradient (bilinear only: nearest's is zero). */
  grid: boolean;
}

/**
 * Bindings, in order: gradOut, grid, then input (read, for the grid gradient) where the grid
 * gradient is wanted, the input gradient (atomic, zeroed) where it is wanted, the grid gradient
 * where it is wanted, and the uniforms.
 */
export function gridSampleBackwardLaunch(g: GridSampleGeometry, m: GridSampleMode, wants: GridSampleBackwardWants) {
  if (wants.grid && m.mode !== 'bilinear') throw new Error('glassbox internal: gridSample: only bilinear sampling has a grid gradient');
  const K = corners(m);
  const bindings = ['var<storage, read> gradOut: array<f32>', 'var<storage, read> grid: array<f32>'];
  if (wants.grid) bindings.push('var<storage, read> input: array<f32>');
  if (wants.input) bindings.push('var<storage, read_write> gradInput: array<atomic<u32>>');
  if (wants.grid) bindings.push('var<storage, read_write> gradGrid: array<f32>');
  const scatter = `
      if (loc.ok[k]) {
        // atomic float add: compare-and-swap on the bits (see the header for why not deterministic)
        let at = base + loc.at[k];
        let add = go * w[k];
        loop {
          let old = atomicLoad(&gradInput[at]);
          let r = atomicCompareExchangeWeak(&gradInput[at], old, bitcast<u32>(bitcast<f32>(old) + add));
          if (r.exchanged) { break; }
        }
      }`;
  // d out / d tx and d out / d ty of the bilinear mix, corners outside reading 0
  const gridTerms = `
    var v = vec4<f32>(0.0);
    for (var k = 0u; k < 4u; k++) { if (loc.ok[k]) { v[k] = input[base + loc.at[k]]; } }
    gx += go * ((v[1] - v[0]) * (1.0 - loc.ty) + (v[3] - v[2]) * loc.ty);
    gy += go * ((v[2] - v[0]) * (1.0 - loc.tx) + (v[3] - v[1]) * loc.tx);`;
  const source = `// grid_sample backward (${[wants.input ? 'input' : '', wants.grid ? 'grid' : ''].filter(Boolean).join(' and ')} gradient): ${m.mode}, ${m.paddingMode} padding, alignCorners ${m.alignCorners}
${kernelHead(g, m, bindings)}
  var gx = 0.0; var gy = 0.0;
  for (var c = 0u; c < p.C; c++) {
    let base = (n * p.C + c) * p.H * p.W;
    let go = gradOut[(n * p.C + c) * p.plane + s];${wants.input ? `\n    for (var k = 0u; k < ${K}u; k++) {${scatter}\n    }` : ''}${wants.grid ? gridTerms : ''}
  }${
    wants.grid
      ? `
  // a NaN point's gradient is NaN, through the derivative of its (NaN) fractions
  let nan = bitcast<f32>(p.nanBits);
  gradGrid[2u * i] = select(gx * loc.dx, nan, loc.nan);
  gradGrid[2u * i + 1u] = select(gy * loc.dy, nan, loc.nan);`
      : ''
  }
}
`;
  return { name: 'gridSampleBackward', source, uniforms: uniforms(g), workgroups: grid1d(g.N * g.HO * g.WO) };
}
