/**
 * Direct convolution for CPU adapters whose subgroups are 8 lanes wide (lavapipe on AVX2): a
 * stride-1 convolution computed from the image itself, without a column matrix, for conv2d's
 * forward and its input gradient, and (second generator, below) its weight gradient (conv.ts
 * says where each runs).
 *
 * Why: lavapipe scalarises every lane's load, so a kernel costs about its number of loads. The
 * matmul over a conv's columns (implicit-columns.ts) loads each column entry once per block of
 * output channels, and a conv with few output channels (LeNet-5's first layer: 6) gets only a few
 * multiply-adds per load. Here a lane owns a strip of XS adjacent outputs of one row for a block of
 * OB output channels, and one row of its input, XS + (KW - 1) * DW pixels, feeds all KW taps of all
 * XS outputs: OB * XS * KW multiply-adds per pixel row loaded. The weights of a (channel, tap row)
 * are loaded once per subgroup, a few by each lane, and handed round with subgroupBroadcast.
 * The input gradient of a stride-1 conv is itself such a correlation, of the output gradient
 * with the kernel flipped and its channel axes swapped, so both use this one generator.
 * Measured on lavapipe (bench/notes/training-step-lavapipe.md, LeNet-5 at batch 64): conv1 forward
 * 1.11-1.16 -> 0.71-0.74 ms, conv2 forward 1.21-1.24 -> 0.85-0.99 ms, conv2 input gradient 2.9-3.8 ms
 * (product + col2im) -> 1.09-1.20 ms.
 */
import { UniformWriter } from './common.ts';
import { MAX_WORKGROUPS_PER_DIM, shuffleBlock } from './matmul.ts';

/**
 * out[n, o, oy, ox] = bias[o] + sum over c < CI, ky < KH, kx < KW of
 *   weight(o, c, ky, kx) * x[n, c, oy - PH + ky * DH, ox - PW + kx * DW]   (0 outside x)
 * with x [N, CI, H, W] and out [N, CO, OH, OW], both contiguous. weight(o, c, ky, kx) is
 *   'forward':       w[o, c, ky, kx] of w [CO, CI, KH, KW] (conv2d);
 *   'inputGradient': w[c, o, KH-1-ky, KW-1-kx] of w [CI, CO, KH, KW] (conv2d's input gradient,
 *                    x being the output gradient and out the input's gradient).
 */
export interface DirectConvSpec {
  CI: number;
  H: number;
  W: number;
  CO: number;
  OH: number;
  OW: number;
  KH: number;
  KW: number;
  PH: number;
  PW: number;
  DH: number;
  DW: number;
  weights: 'forward' | 'inputGradient';
  bias: boolean;
}

/** Most accumulators per lane (OB * XS), and most unrolled multiply-adds per channel of the loop (KH * KW * OB * XS), to keep the JIT's work and the spills bounded. */
const MAX_ACCUMULATORS = 160;
const MAX_UNROLLED = 4096;
/** Output rows per workgroup (its lanes share them, so row tests are the same for all lanes). */
const ROWS = 4;
const LANES = 8;

/** A row is cut into strips of at most `widest` outputs (about equal), one per lane. */
function strips(OW: number, widest = 16): { SX: number; XS: number } {
  const SX = Math.ceil(OW / widest);
  return { SX, XS: Math.ceil(OW / SX) };
}

/** Output channels per lane: as many as the accumulators allow, in blocks of about equal size. */
function channelBlock(s: DirectConvSpec, XS: number): number {
  const most = Math.max(1, Math.floor(Math.min(MAX_ACCUMULATORS / XS, MAX_UNROLLED / (XS * s.KH * s.KW))));
  return Math.ceil(s.CO / Math.ceil(s.CO / most));
}

/** Whether the generator takes this geometry (a block of at least one channel within the unrolling budget) and batch (its lanes within one dispatch). */
export function directConvFits(s: Pick<DirectConvSpec, 'OW' | 'KH' | 'KW'>, batch: number): boolean {
  const { SX, XS } = strips(s.OW);
  return XS * s.KH * s.KW <= MAX_UNROLLED && Math.ceil((batch * SX) / LANES) <= MAX_WORKGROUPS_PER_DIM;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const sources = new Map<string, string>();

function memo(key: string, generate: () => string): string {
  let source = sources.get(key);
  if (!source) sources.set(key, (source = generate()));
  return source;
}

/** Per lane, before the loops: where entry t of its strip's row of input pixels sits (clamped into the row; in{t} says whether it is inside). */
const stripSetup = (segment: number) =>
  range(segment)
    .map((t) => `  let cx${t} = i32(x0) - PW + ${t}; let in${t} = cx${t} >= 0 && cx${t} < i32(W); let ix${t} = u32(clamp(cx${t}, 0, i32(W) - 1));`)
    .join('\n');

/** The strip's row of input pixels s0 .. of row `iy` (inside the image) of channel c of image n, 0 in the padding. */
const rowLoads = (segment: number, indent: string) =>
  `${indent}let row = ((n * CI + c) * H + u32(iy)) * W;\n${range(segment).map((t) => `${indent}let s${t} = select(0.0, x[row + ix${t}], in${t});`).join('\n')}`;

/** One tap row's work: the strip's row of input pixels (where it is inside the image: the same for all lanes, which share oy), then `body`. */
const tapRow = (ky: number, DH: number, segment: number, body: string) => `      {
        let iy = i32(oy) - PH + ${ky * DH};
        if (iy >= 0 && iy < i32(H)) {
${rowLoads(segment, '          ')}
${body}
        }
      }`;

/** The geometry as WGSL constants. */
const geometry = (s: DirectConvSpec | DirectConvWeightGradSpec) => `const CI = ${s.CI}u; const H = ${s.H}u; const W = ${s.W}u; const CO = ${s.CO}u; const OH = ${s.OH}u; const OW = ${s.OW}u;
const KH = ${s.KH}u; const KW = ${s.KW}u; const PH = ${s.PH}i; const PW = ${s.PW}i;`;

/** Geometry, blocking, uniforms and bindings: x, `second` (read), `out` (written), the uniforms, and an optional fifth array. */
const declarations = (
  s: DirectConvSpec | DirectConvWeightGradSpec,
  SX: number,
  XS: number,
  OB: number,
  second: string,
  out: string,
  fifth?: { name: string; access: 'read' | 'read_write' },
  params = 'lanes: u32',
) => `${geometry(s)}
const SX = ${SX}u; const XS = ${XS}u; const OB = ${OB}u;
struct Params { ${params} }
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> ${second}: array<f32>;
@group(0) @binding(2) var<storage, read_write> ${out}: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;${fifth ? `\n@group(0) @binding(4) var<storage, ${fifth.access}> ${fifth.name}: array<f32>;` : ''}`;

/** The lane's image n and first output column x0 (lanes past the end take the last strip). */
const LANE = `  let lane = wid.x * ${LANES}u + lid;
  let l = min(lane, p.lanes - 1u);
  let n = l / SX;
  let x0 = (l % SX) * XS;`;

export function directConvLaunch(s: DirectConvSpec, batch: number) {
  const { SX, XS } = strips(s.OW);
  const OB = channelBlock(s, XS);
  const source = memo(JSON.stringify(s), () => directConvSource(s, SX, XS, OB));
  const lanes = batch * SX;
  return {
    name: `direct_conv_${s.weights === 'forward' ? 'forward' : 'input_gradient'}_${OB}x${XS}`,
    source,
    uniforms: new UniformWriter().u32(lanes).finish(),
    workgroups: [Math.ceil(lanes / LANES), Math.ceil(s.OH / ROWS), Math.ceil(s.CO / OB)] as [number, number, number],
  };
}

function directConvSource(s: DirectConvSpec, SX: number, XS: number, OB: number): string {
  const segment = XS + (s.KW - 1) * s.DW; // input pixels of one row that a strip's taps read
  const pairs = OB * s.KW; // weights per (input channel, tap row): (ob, kx)
  const owned = Math.ceil(pairs / LANES);
  const weightIndex =
    s.weights === 'forward'
      ? (o: string, ky: number, kx: string) => `((${o} * CI + c) * KH + ${ky}u) * KW + ${kx}`
      : (o: string, ky: number, kx: string) => `((c * CO + ${o}) * KH + ${s.KH - 1 - ky}u) * KW + KW - 1u - ${kx}`;
  const acc = (ob: number, j: number) => `a${ob}_${j}`;
  const taps = (ky: number) =>
    [
      ...range(owned).map((m) => `          let own${m} = w[${weightIndex(`wo${m}`, ky, `wkx${m}`)}];`),
      ...range(s.KW).flatMap((kx) =>
        range(OB).map((ob) => {
          const q = ob * s.KW + kx;
          return `          { let v = subgroupBroadcast(own${Math.floor(q / LANES)}, ${q % LANES}u); ${range(XS).map((j) => `${acc(ob, j)} = fma(v, s${j + kx * s.DW}, ${acc(ob, j)});`).join(' ')} }`;
        }),
      ),
    ].join('\n');
  return `enable subgroups;
// direct_conv (${s.weights}): out[n, o, oy, ox] = ${s.bias ? 'bias[o] + ' : ''}sum over c, ky, kx of weight(o, c, ky, kx) * x[n, c, oy - PH + ky * DH, ox - PW + kx * DW]
// (0 outside x); weight(o, c, ky, kx) = ${s.weights === 'forward' ? 'w[o, c, ky, kx], w [CO, CI, KH, KW]' : 'w[c, o, KH-1-ky, KW-1-kx], w [CI, CO, KH, KW] (a conv input gradient)'}.
// Lane l (of p.lanes = N * SX) is image n = l / SX and strip sx = l % SX: outputs ox = sx * XS .. + XS - 1.
// Workgroup (x, y, z) is 8 lanes (one subgroup), rows oy = y * ${ROWS} .. + ${ROWS - 1} and channels o = z * OB .. + OB - 1.
// For each row, input channel c and tap row ky, the lane loads the XS + (KW - 1) * DW input pixels its
// strip's taps read (s0 ..), and lane sid loads the weights of pairs (ob, kx) = q / KW, q % KW for
// q = sid, sid + 8, ... (own0 ..), which subgroupBroadcast hands to every lane.
${declarations(s, SX, XS, OB, 'w', 'out', s.bias ? { name: 'bias', access: 'read' } : undefined)}

@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sid: u32) {
${LANE}
  let o0 = wid.z * OB;
${stripSetup(segment)}
${range(owned).map((m) => `  let q${m} = min(sid + ${m * LANES}u, ${pairs - 1}u); let wo${m} = min(o0 + q${m} / KW, CO - 1u); let wkx${m} = q${m} % KW;`).join('\n')}
${s.bias ? range(OB).map((ob) => `  let b${ob} = bias[min(o0 + ${ob}u, CO - 1u)];`).join('\n') : ''}
  for (var r = 0u; r < ${ROWS}u; r++) {
    let oy = wid.y * ${ROWS}u + r;
    if (oy >= OH) { break; }
${range(OB).map((ob) => `    var ${range(XS).map((j) => `${acc(ob, j)} = ${s.bias ? `b${ob}` : '0.0'}`).join('; var ')};`).join('\n')}
    for (var c = 0u; c < CI; c++) {
${range(s.KH).map((ky) => tapRow(ky, s.DH, segment, taps(ky))).join('\n')}
    }
    if (lane < p.lanes) {
${range(OB)
  .flatMap((ob) => range(XS).map((j) => `      if (o0 + ${ob}u < CO && x0 + ${j}u < OW) { out[((n * CO + o0 + ${ob}u) * OH + oy) * OW + x0 + ${j}u] = ${acc(ob, j)}; }`))
  .join('\n')}
    }
  }
}
`;
}

/**
 * conv2d's weight gradient, for the conv `s` describes (forward view): from x [N, CI, H, W] and the
 * output gradient g [N, CO, OH, OW], partial sums partial[o, c, ky, kx, w] of
 * g[n, o, oy, ox] * x[n, c, oy - PH + ky * DH, ox - PW + kx * DW] (and, with s.bias, partialBias[o, w]
 * of g) whose sum over w (the innermost axis) is dW [CO, CI, KH, KW] (and the bias gradient).
 */
export type DirectConvWeightGradSpec = Omit<DirectConvSpec, 'weights'>;

/** Accumulators per lane for the weight gradient's taps (OB * KH * KW), and its strips (narrower: the lane keeps OB x XS values of g). */
const WEIGHT_GRAD_ACCUMULATORS = 160;
const WEIGHT_GRAD_STRIP = 8;

/** Output channels per lane for the weight gradient (0: not even one channel's taps fit). */
function weightGradBlock(s: Pick<DirectConvSpec, 'CO' | 'KH' | 'KW'>): number {
  const most = Math.floor(WEIGHT_GRAD_ACCUMULATORS / (s.KH * s.KW));
  return most < 1 ? 0 : Math.ceil(s.CO / Math.ceil(s.CO / most));
}

/**
 * The direct weight gradient's two layouts, by what a lane owns:
 *   'strips':   a strip of outputs of one image (all rows) for one input channel; its lanes are
 *               images and strips, summed at the end by subgroupAdd (weightGradSource). Suits few
 *               input channels (LeNet-5's first layer: 1).
 *   'channels': an input channel; the workgroup's 8 lanes are 8 input channels that walk the same
 *               images, rows and strips together, so each value of g is loaded by one lane and
 *               handed to all by subgroupBroadcast (weightGradChannelsSource). Suits 4 or more.
 */
export type WeightGradLayout = 'strips' | 'channels';

/** Strip widths: 'strips' keeps OB x XS values of g per lane, so narrower strips; 'channels' shares them. */
const stripsFor = (layout: WeightGradLayout, OW: number) => strips(OW, layout === 'strips' ? WEIGHT_GRAD_STRIP : 16);

/**
 * Which computes a conv's weight gradient on lavapipe, by loads per multiply-add (what a lavapipe
 * kernel's time follows): 'strips' loads OB x XS values of g and KH rows of XS + (KW - 1) * DW pixels
 * per lane for OB * KH * KW * XS multiply-adds; 'channels' the same rows of pixels but only
 * OB * XS / 8 values of g, with min(CI, 8) of its 8 lanes busy (at least 4: the CIFAR net's first
 * layer, 3 channels, ran 7.3 ms this way against 5.4 as a matmul); the matmul over the implicit columns
 * (conv.ts) loads TN column entries, each costing about two loads with its address arithmetic, and
 * TM / 8 of A per step for TM * TN. A direct layout runs where it does 20% better than the matmul.
 * Measured on lavapipe (a weight gradient with its forward): LeNet-5's conv1 (6 channels, 5x5;
 * strips 10.8 against 2.7) 1.22 -> 0.62 ms; 16 channels of 5x5 over 6 (strips 10 against 7.1)
 * 4.4-5.8 -> 3.7 ms; 16 of 3x3 over 16 with strips (7.3 against 7.1) 7.8-8.0 against 9.4-10.0 ms,
 * and the CIFAR net's 3x3 layers 54 against 95 ms with strips; with 'channels', LeNet-5's conv2
 * 1.59 -> 0.89 ms, the MNIST CNN's conv2 54-59 -> 37 ms, the CIFAR net's other five 212 -> 99 ms.
 */
export function directWeightGradLayout(s: DirectConvWeightGradSpec, batch: number): WeightGradLayout | undefined {
  const OB = weightGradBlock(s);
  if (OB < 1 || s.CI * Math.ceil(s.CO / OB) > MAX_WORKGROUPS_PER_DIM) return undefined;
  const row = (XS: number) => s.KH * (XS + (s.KW - 1) * s.DW);
  const products = (XS: number) => OB * s.KH * s.KW * XS;
  const strip = stripsFor('strips', s.OW);
  const lanesFit = Math.ceil((batch * strip.SX) / LANES) <= MAX_WORKGROUPS_PER_DIM;
  const perStrip = lanesFit ? products(strip.XS) / (OB * strip.XS + row(strip.XS)) : 0;
  const wide = stripsFor('channels', s.OW).XS;
  const perChannel = s.CI >= LANES / 2 ? (products(wide) / (row(wide) + Math.ceil((OB * wide) / LANES))) * (Math.min(s.CI, LANES) / LANES) : 0;
  const { TM, TN } = shuffleBlock(s.CO, s.CI * s.KH * s.KW + 1);
  const matmul = (TM * TN) / (2 * TN + TM / LANES);
  if (Math.max(perStrip, perChannel) < 1.2 * matmul) return undefined;
  return perStrip >= perChannel ? 'strips' : 'channels';
}

export function directConvWeightGradLaunch(s: DirectConvWeightGradSpec, batch: number, layout: WeightGradLayout) {
  const { SX, XS } = stripsFor(layout, s.OW);
  const OB = weightGradBlock(s);
  const blocks = Math.ceil(s.CO / OB);
  if (layout === 'channels') {
    // enough workgroups for the cores: the batch is split into chunks where the channel blocks are few
    const channelBlocks = Math.ceil(s.CI / LANES);
    const chunks = Math.max(1, Math.min(batch, Math.ceil(64 / (blocks * channelBlocks))));
    const perChunk = Math.ceil(batch / chunks);
    return {
      name: `direct_conv_weight_gradient_channels_${OB}x${XS}`,
      source: memo(`weightGradChannels|${JSON.stringify(s)}`, () => weightGradChannelsSource(s, SX, XS, OB)),
      uniforms: new UniformWriter().u32(batch).u32(perChunk).finish(),
      workgroups: [Math.ceil(batch / perChunk), blocks, channelBlocks] as [number, number, number],
      partials: Math.ceil(batch / perChunk),
    };
  }
  const lanes = batch * SX;
  return {
    name: `direct_conv_weight_gradient_${OB}x${XS}`,
    source: memo(`weightGrad|${JSON.stringify(s)}`, () => weightGradSource(s, SX, XS, OB, blocks)),
    uniforms: new UniformWriter().u32(lanes).finish(),
    workgroups: [Math.ceil(lanes / LANES), 1, s.CI * blocks] as [number, number, number],
    partials: Math.ceil(lanes / LANES),
  };
}

/**
 * The 'strips' layout: lane l = (image n, strip sx) sums over all rows oy of its strip for one input
 * channel and OB output channels; workgroup w's 8 lanes add theirs up with subgroupAdd into partial
 * column w. Each row of g the lane loads (OB x XS values) meets every tap: one row of
 * XS + (KW - 1) * DW pixels per tap row feeds OB * KW * XS multiply-adds.
 */
function weightGradSource(s: DirectConvWeightGradSpec, SX: number, XS: number, OB: number, blocks: number): string {
  const segment = XS + (s.KW - 1) * s.DW;
  const acc = (ob: number, ky: number, kx: number) => `a${ob}_${ky}_${kx}`;
  const taps = range(s.KH).flatMap((ky) => range(s.KW).map((kx) => [ky, kx] as const));
  const products = (ky: number) =>
    range(s.KW)
      .flatMap((kx) => range(OB).map((ob) => `          ${acc(ob, ky, kx)} += ${range(XS).map((j) => `g${ob}_${j} * s${j + kx * s.DW}`).join(' + ')};`))
      .join('\n');
  return `enable subgroups;
// direct_conv_weight_gradient: partial[o, c, ky, kx, w] = sum over the outputs (oy, ox) of workgroup w's lanes of
// g[n, o, oy, ox] * x[n, c, oy - PH + ky * DH, ox - PW + kx * DW]${s.bias ? '; partialBias[o, w] = sum of g[n, o, oy, ox]' : ''}.
// Lane l (of p.lanes = N * SX) is image n = l / SX and strip sx = l % SX: outputs ox = sx * XS .. + XS - 1 of
// every row. Workgroup (x, 0, z) is 8 lanes, input channel c = z / ${blocks} and output channels
// o = (z % ${blocks}) * OB .. + OB - 1. Per row, the lane loads its strip of g for its OB channels
// (g{ob}_{j}), then per tap row the XS + (KW - 1) * DW input pixels the strip's taps read (s0 ..). At the
// end subgroupAdd sums the workgroup's lanes (one subgroup) and lane 0 stores.
${declarations(s, SX, XS, OB, 'g', 'partial', s.bias ? { name: 'partialBias', access: 'read_write' } : undefined)}

@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sid: u32) {
${LANE}
  let live = lane < p.lanes; // lanes past the end read the last strip and add nothing
  let c = wid.z / ${blocks}u;
  let o0 = (wid.z % ${blocks}u) * OB;
${stripSetup(segment)}
${range(OB)
  .flatMap((ob) => range(XS).map((j) => `  let go${ob}_${j} = select(0u, ((n * CO + min(o0 + ${ob}u, CO - 1u)) * OH) * OW + x0 + ${j}u, x0 + ${j}u < OW);`))
  .join('\n')}
${taps.map(([ky, kx]) => `  ${range(OB).map((ob) => `var ${acc(ob, ky, kx)} = 0.0;`).join(' ')}`).join('\n')}
${s.bias ? `  ${range(OB).map((ob) => `var bs${ob} = 0.0;`).join(' ')}` : ''}
  for (var oy = 0u; oy < OH; oy++) {
${range(OB)
  .map((ob) => `    ${range(XS).map((j) => `let g${ob}_${j} = select(0.0, g[go${ob}_${j} + oy * OW], live && x0 + ${j}u < OW);`).join(' ')}`)
  .join('\n')}
${s.bias ? range(OB).map((ob) => `    bs${ob} += ${range(XS).map((j) => `g${ob}_${j}`).join(' + ')};`).join('\n') : ''}
${range(s.KH).map((ky) => tapRow(ky, s.DH, segment, products(ky))).join('\n')}
  }
${taps
  .flatMap(([ky, kx]) => range(OB).map((ob) => `  { let v = subgroupAdd(${acc(ob, ky, kx)}); if (sid == 0u && o0 + ${ob}u < CO) { partial[(((o0 + ${ob}u) * CI + c) * ${s.KH * s.KW}u + ${ky * s.KW + kx}u) * nwg.x + wid.x] = v; } }`))
  .join('\n')}
${s.bias ? range(OB).map((ob) => `  { let v = subgroupAdd(bs${ob}); if (sid == 0u && c == 0u && o0 + ${ob}u < CO) { partialBias[(o0 + ${ob}u) * nwg.x + wid.x] = v; } }`).join('\n') : ''}
}
`;
}

/** The 'channels' layout (directWeightGradLayout): partial column w is one chunk of images. */
function weightGradChannelsSource(s: DirectConvWeightGradSpec, SX: number, XS: number, OB: number): string {
  const segment = XS + (s.KW - 1) * s.DW;
  const pairs = OB * XS; // values of g per strip: (ob, j) = q / XS, q % XS
  const owned = Math.ceil(pairs / LANES);
  const acc = (ob: number, ky: number, kx: number) => `a${ob}_${ky}_${kx}`;
  const taps = range(s.KH).flatMap((ky) => range(s.KW).map((kx) => [ky, kx] as const));
  const products = (ky: number) =>
    range(OB)
      .flatMap((ob) => range(XS).map((j) => `          ${range(s.KW).map((kx) => `${acc(ob, ky, kx)} = fma(g${ob}_${j}, s${j + kx * s.DW}, ${acc(ob, ky, kx)});`).join(' ')}`))
      .join('\n');
  return `enable subgroups;
// direct_conv_weight_gradient (channels): partial[o, c, ky, kx, w] = sum over the images of chunk w and all their
// outputs (oy, ox) of g[n, o, oy, ox] * x[n, c, oy - PH + ky * DH, ox - PW + kx * DW]${s.bias ? '; partialBias[o, w] = sum of g[n, o, oy, ox]' : ''}.
// Workgroup (w, y, z) is 8 lanes, output channels o = y * OB .. + OB - 1, images n = w * p.perChunk .. (of p.batch);
// lane lid is input channel c = z * 8 + lid. The lanes walk the same rows and strips of XS outputs together:
// per strip, lane sid loads the strip's values of g for pairs (ob, j) = q / XS, q % XS, q = sid, sid + 8, ...
// (own0 ..), subgroupBroadcast hands every value to every lane (g{ob}_{j}), and per tap row each lane loads
// the XS + (KW - 1) * DW pixels of its channel that the strip's taps read (s0 ..).
${declarations(s, SX, XS, OB, 'g', 'partial', s.bias ? { name: 'partialBias', access: 'read_write' } : undefined, 'batch: u32, perChunk: u32')}

@compute @workgroup_size(${LANES})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32, @builtin(subgroup_invocation_id) sid: u32) {
  let live = wid.z * ${LANES}u + lid < CI; // lanes past the last channel read the last one and store nothing
  let c = min(wid.z * ${LANES}u + lid, CI - 1u);
  let o0 = wid.y * OB;
${range(owned).map((m) => `  let q${m} = min(sid + ${m * LANES}u, ${pairs - 1}u); let go${m} = min(o0 + q${m} / XS, CO - 1u); let gj${m} = q${m} % XS;`).join('\n')}
${taps.map(([ky, kx]) => `  ${range(OB).map((ob) => `var ${acc(ob, ky, kx)} = 0.0;`).join(' ')}`).join('\n')}
${s.bias ? `  ${range(OB).map((ob) => `var bs${ob} = 0.0;`).join(' ')}` : ''}
  let nEnd = min((wid.x + 1u) * p.perChunk, p.batch);
  for (var n = wid.x * p.perChunk; n < nEnd; n++) {
    for (var oy = 0u; oy < OH; oy++) {
      for (var sx = 0u; sx < SX; sx++) {
        let x0 = sx * XS;
${range(owned).map((m) => `        let own${m} = select(0.0, g[((n * CO + go${m}) * OH + oy) * OW + min(x0 + gj${m}, OW - 1u)], x0 + gj${m} < OW);`).join('\n')}
${range(OB)
  .map((ob) => `        ${range(XS).map((j) => { const q = ob * XS + j; return `let g${ob}_${j} = subgroupBroadcast(own${Math.floor(q / LANES)}, ${q % LANES}u);`; }).join(' ')}`)
  .join('\n')}
${s.bias ? range(OB).map((ob) => `        bs${ob} += ${range(XS).map((j) => `g${ob}_${j}`).join(' + ')};`).join('\n') : ''}
${stripSetup(segment).replace(/^ {2}/gm, '        ')}
${range(s.KH).map((ky) => tapRow(ky, s.DH, segment, products(ky))).join('\n')}
      }
    }
  }
  if (live) {
${taps.flatMap(([ky, kx]) => range(OB).map((ob) => `    if (o0 + ${ob}u < CO) { partial[(((o0 + ${ob}u) * CI + c) * ${s.KH * s.KW}u + ${ky * s.KW + kx}u) * nwg.x + wid.x] = ${acc(ob, ky, kx)}; }`)).join('\n')}
  }
${s.bias ? `  if (wid.z == 0u && lid == 0u) {\n${range(OB).map((ob) => `    if (o0 + ${ob}u < CO) { partialBias[(o0 + ${ob}u) * nwg.x + wid.x] = bs${ob}; }`).join('\n')}\n  }` : ''}
}
`;
}
