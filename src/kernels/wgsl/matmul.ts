// Matmul kernel generator: C[b] = op(A[b]) x op(B[b]) for a batch of row-major f32 matrices.
//
// Two families, both generated from the shared pieces below (index expressions, uniforms, folding
// of the (batch, row-tile) grid), never copy-pasted:
//   - 'cpu-simd' (lavapipe / SwiftShader-like): register blocking, no workgroup memory; where the device
//     has subgroups of exactly 8 lanes (lavapipe on AVX2), A is shared between lanes by subgroupShuffle.
//   - 'gpu': the classic 64x64 workgroup-memory tiled kernel (tfjs-style, 4x4 outputs per thread).
// Either can end with a bias epilogue (a value per row or per column added before the store), which
// saves conv2d and Linear a separate broadcast add. Two cpu-simd layouts cut the stores that bind
// small-K products on lavapipe: a batch that shares A is read as more columns (a conv's weights times
// each image), and rows whose length is a multiple of 4 are stored a vec4 at a time. A cpu-simd kernel
// can also read B as a convolution's column matrix straight from the image (implicit-columns.ts).
//
// What lavapipe (Mesa 25.0, LLVM JIT, 8-wide AVX2 lanes) does with a compute shader, measured in
// bench/notes/matmul-lavapipe.md: every storage-buffer load is scalarised per lane with a bounds check
// and a branch (about 15-25 x86 instructions per lane and component, even when the address is the
// same for all lanes), fma becomes mul + add, and every loop-carried variable is re-blended with the
// loop mask each iteration. A matmul there is bound by the number of loads per multiply-add, so the
// cpu-simd kernel keeps a TM x TN block of accumulators per invocation (TM + TN loads feed TM * TN
// multiply-adds) and keeps the body free of workgroup memory, barriers and per-iteration edge tests.

import { implicitColumnReader, type ImplicitColumns } from './implicit-columns.ts';

export interface MatmulProblem {
  batch: number; // number of independent matrix products
  M: number;
  N: number;
  K: number;
  transA: boolean; // A stored as [K, M] (row-major) instead of [M, K]
  transB: boolean; // B stored as [N, K] instead of [K, N]
  batchStrideA: number; // elements between consecutive A matrices; 0 = broadcast one A over the batch
  batchStrideB: number; // likewise for B
  /**
   * Epilogue: add a bias vector (binding 4) to every row's entries ('row': bias[m], a conv's
   * per-channel bias) or to every column's ('col': bias[n], Linear's), saving the add kernel.
   */
  bias?: 'row' | 'col';
  /**
   * Also write each row's sum of A over k (binding 4, or 5 after a bias) as rowSums[batch][m]: for a
   * Linear layer's weight gradient g^T x, whose A = g^T sums to the bias gradient in the same pass.
   */
  rowSums?: boolean;
  /**
   * cpu-simd only: B is a convolution's column matrix, read from the image bound as B
   * (implicit-columns.ts) instead of from an unfolded copy: 'positions' (B = cols, A shared by the
   * batch: a conv's forward) or 'taps' (B = cols^T, the weight gradient). B's batch stride is the
   * image's size; transB is false.
   */
  implicitB?: ImplicitColumns;
}

export interface KernelLaunch {
  name: string; // variant name, e.g. 'matmul_lavapipe_8x8' (reported by benchmarks)
  source: string; // complete WGSL module
  entryPoint: string;
  workgroups: [number, number, number];
  uniforms: ArrayBuffer; // contents of the uniform buffer at binding 3
}

export type MatmulTarget = 'cpu-simd' | 'gpu'; // lavapipe/swiftshader-like vs real GPU

/** WebGPU's default (and guaranteed) limit on workgroups per dispatch dimension. */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/** Register-blocked variant for CPU-backed adapters: 8 lanes, each TM rows x TN columns. */
export interface CpuSimdVariant {
  kind: 'cpu-simd';
  lanes: number; // workgroup size = lanes along N (lavapipe runs 8 invocations per AVX2 instruction)
  TM: number; // rows per invocation
  TN: number; // columns per invocation, spaced `lanes` apart
  /**
   * The workgroup is one subgroup of `lanes` invocations: each lane loads A for a different k and
   * `subgroupShuffle` hands the values round, instead of every lane loading the same A values.
   */
  shuffleA: boolean;
}

/** Workgroup-memory tiled variant for GPUs. */
export interface GpuTiledVariant {
  kind: 'gpu';
  threads: number; // threads per side of the square workgroup
  TM: number; // outputs per thread along M (spaced `threads` apart)
  TN: number; // outputs per thread along N (spaced `threads` apart)
  KT: number; // depth of one K step staged in workgroup memory
}

export type MatmulVariant = CpuSimdVariant | GpuTiledVariant;

// Fastest of the register-blocked shapes measured on lavapipe (bench/notes/matmul-lavapipe.md).
// Without subgroups: 8x8 beat 4x4 and 4x8 per CPU-second; 16x8, 8x16 and 16x16 were no faster and
// take far longer to JIT. With A shared by subgroupShuffle, an A load no longer costs every lane, so
// more rows per invocation pay: 16x8 ran ~1.9x faster than 8x8 (24x8 about the same as 16x8, 32x8
// and 16x16 slower).
const CPU_SIMD: CpuSimdVariant = { kind: 'cpu-simd', lanes: 8, TM: 8, TN: 8, shuffleA: false };
const CPU_SIMD_SHUFFLE: CpuSimdVariant = { kind: 'cpu-simd', lanes: 8, TM: 16, TN: 8, shuffleA: true };
const SHUFFLE_ROWS = [2, 4, 6, 8, 12, 16];
const GPU_TILED: GpuTiledVariant = { kind: 'gpu', threads: 16, TM: 4, TN: 4, KT: 16 };

/**
 * The variant for an adapter: `subgroupSize` is the device's subgroup size when the 'subgroups'
 * feature is enabled and the size is fixed (lavapipe: 8 on AVX2), else undefined.
 */
export function planMatmul(p: MatmulProblem, target: MatmulTarget, subgroupSize?: number): KernelLaunch {
  if (target === 'gpu') return planMatmulVariant(p, GPU_TILED);
  if (subgroupSize !== CPU_SIMD_SHUFFLE.lanes) return planMatmulVariant(p, CPU_SIMD);
  // Small matrices (a conv's few output channels, its 25 taps) would leave most of a 16 x 64 tile
  // idle: a block has just enough rows for M, from a few sizes so that few kernels get compiled
  // (LeNet-5's conv1, M 6: 8 -> 6 rows ran its forward 8% and its weight gradient 15% faster), and
  // a short side of columns halves the block.
  return planMatmulVariant(p, { ...CPU_SIMD_SHUFFLE, ...shuffleBlock(p.M, p.N) });
}

/** The block of the subgroup-shuffle kernel for an M x N product: TM rows, TN columns per lane. */
export function shuffleBlock(M: number, N: number): { TM: number; TN: number } {
  return { TM: SHUFFLE_ROWS.find((rows) => rows >= M) ?? CPU_SIMD_SHUFFLE.TM, TN: N <= 32 ? 4 : CPU_SIMD_SHUFFLE.TN };
}

/** planMatmul with an explicit variant (benchmarks compare variants with it). */
export function planMatmulVariant(p: MatmulProblem, v: MatmulVariant): KernelLaunch {
  validate(p);
  if (v.kind === 'gpu' && ((v.threads * v.TM * v.KT) % (v.threads * v.threads) || (v.threads * v.TN * v.KT) % (v.threads * v.threads))) {
    throw new Error('matmul: tile sizes must split evenly over the workgroup');
  }
  const tileM = v.kind === 'gpu' ? v.threads * v.TM : v.TM;
  const tileN = v.kind === 'gpu' ? v.threads * v.TN : v.lanes * v.TN;
  if (p.implicitB && (v.kind !== 'cpu-simd' || p.transB || (p.implicitB.mode === 'positions' && p.batchStrideA !== 0)))
    throw new Error('matmul: implicit columns need a cpu-simd variant and B as [K, N] (and for positions one A shared by the batch)');
  // the 'positions' reader finds each column's image through the batch-as-columns layout
  const batchColumns = v.kind === 'cpu-simd' && !p.rowSums && (p.implicitB?.mode === 'positions' || (!p.implicitB && foldsBatchIntoColumns(p, tileN)));
  const vec4Stores = v.kind === 'cpu-simd' && storesVec4(p, v);
  const tilesX = Math.ceil(((batchColumns ? p.batch : 1) * p.N) / tileN);
  const tilesY = Math.ceil(p.M / tileM);
  if (tilesX > MAX_WORKGROUPS_PER_DIM) {
    throw new Error(`matmul: N=${p.N} needs ${tilesX} workgroups along x (max ${MAX_WORKGROUPS_PER_DIM})`);
  }
  // (batch, row-tile) pairs are folded into one linear index spread over y and z.
  const folded = (batchColumns ? 1 : p.batch) * tilesY;
  const gridY = Math.min(folded, MAX_WORKGROUPS_PER_DIM);
  const gridZ = Math.ceil(folded / gridY);
  if (gridZ > MAX_WORKGROUPS_PER_DIM) throw new Error('matmul: batch x rows too large for one dispatch');
  return {
    name:
      variantName(v) +
      (p.implicitB ? `_implicit_${p.implicitB.mode}` : batchColumns ? '_batch_columns' : '') +
      (vec4Stores ? '_vec4_stores' : '') +
      (p.rowSums ? '_row_sums' : ''),
    source: matmulSource(v, { transA: p.transA, transB: p.transB, bias: p.bias, batchColumns, vec4Stores, rowSums: !!p.rowSums, implicitB: p.implicitB }),
    entryPoint: 'main',
    workgroups: [tilesX, gridY, gridZ],
    uniforms: packUniforms(p, tilesY, folded),
  };
}

/**
 * Where one A serves the whole batch (a convolution's weights against each image's columns) and B
 * is [K, N], the register-blocked kernel reads the batch as more columns: one [M, batch * N] product
 * whose column b * N + n is column n of item b. A tile then never straddles the end of a short
 * row (LeNet-5's 10x10 positions filled 100 of a 128-column pair of tiles) except at the very end.
 * The store and the B read of a column find its item once, before the loop over k.
 */
function foldsBatchIntoColumns(p: MatmulProblem, tileN: number): boolean {
  return p.batch > 1 && p.batchStrideA === 0 && !p.transB && p.N % tileN !== 0 && Math.ceil((p.batch * p.N) / tileN) <= MAX_WORKGROUPS_PER_DIM;
}

/**
 * Where every row of C starts on a multiple of 4 (N % 4 == 0), the register-blocked kernel gives each
 * lane runs of 4 adjacent columns and stores each run as one vec4: lavapipe scalarises every lane's
 * store with its own bounds check, so this is a quarter of the stores. Small-K products, such as a
 * conv's input gradient (K = its output channels), are bound by their stores.
 */
function storesVec4(p: MatmulProblem, v: CpuSimdVariant): boolean {
  return p.N % 4 === 0 && v.TN % 4 === 0;
}

// Generated sources by variant and layout: the same matmuls run every training step, and returning
// the same string object saves regenerating it and lets the pipeline cache hash it once.
const sources = new Map<string, string>();

/** How one kernel reads and writes its operands (the variant says how it blocks the work). */
interface SourceLayout {
  transA: boolean;
  transB: boolean;
  bias: MatmulProblem['bias'];
  /** cpu-simd only: the batch read as more columns (foldsBatchIntoColumns). */
  batchColumns: boolean;
  /** cpu-simd only: each lane's columns in runs of 4, stored as vec4 (storesVec4). */
  vec4Stores: boolean;
  /** Also write the row sums of A (MatmulProblem.rowSums). */
  rowSums: boolean;
  /** cpu-simd only: B read as a convolution's columns (MatmulProblem.implicitB). */
  implicitB?: ImplicitColumns;
}

function matmulSource(v: MatmulVariant, s: SourceLayout): string {
  const key = `${JSON.stringify(v)}|${JSON.stringify(s)}`;
  let source = sources.get(key);
  if (!source) sources.set(key, (source = v.kind === 'gpu' ? gpuTiledSource(v, s) : cpuSimdSource(v, s)));
  return source;
}

function variantName(v: MatmulVariant): string {
  return v.kind === 'gpu'
    ? `matmul_tiled_${v.threads * v.TM}x${v.threads * v.TN}_k${v.KT}`
    : `matmul_lavapipe_${v.TM}x${v.TN}${v.shuffleA ? '_shuffle' : ''}`;
}

function validate(p: MatmulProblem): void {
  for (const k of ['batch', 'M', 'N', 'K'] as const) {
    if (!Number.isInteger(p[k]) || p[k] < 1) throw new Error(`matmul: ${k} must be a positive integer, got ${p[k]}`);
  }
  for (const k of ['batchStrideA', 'batchStrideB'] as const) {
    if (!Number.isInteger(p[k]) || p[k] < 0) throw new Error(`matmul: ${k} must be a non-negative integer`);
  }
  const biggest = Math.max(
    p.batch * p.M * p.N,
    (p.batch - 1) * p.batchStrideA + p.M * p.K,
    (p.batch - 1) * p.batchStrideB + p.K * p.N,
  );
  if (biggest >= 2 ** 32) throw new Error('matmul: element indices exceed u32');
}

// ---------------------------------------------------------------------------------------------
// Shared WGSL pieces

const UNIFORM_WORDS = 8;

function packUniforms(p: MatmulProblem, tilesY: number, folded: number): ArrayBuffer {
  const u = new Uint32Array(UNIFORM_WORDS);
  u.set([p.M, p.N, p.K, p.batch, p.batchStrideA, p.batchStrideB, tilesY, folded]);
  return u.buffer;
}

function header(bias: MatmulProblem['bias'], vec4Stores: boolean, rowSums: boolean): string {
  return `struct Params {
  M: u32, N: u32, K: u32, batch: u32,
  batchStrideA: u32, batchStrideB: u32,
  tilesY: u32,   // row tiles per matrix
  folded: u32,   // batch * tilesY: the (batch, row-tile) pairs spread over workgroups y and z (tilesY where the batch is columns)
}
@group(0) @binding(0) var<storage, read> A: array<f32>;
@group(0) @binding(1) var<storage, read> B: array<f32>;
@group(0) @binding(2) var<storage, read_write> C: array<${vec4Stores ? 'vec4<f32>' : 'f32'}>;
@group(0) @binding(3) var<uniform> u: Params;${bias ? '\n@group(0) @binding(4) var<storage, read> bias: array<f32>;' : ''}${
    rowSums ? `\n@group(0) @binding(${bias ? 5 : 4}) var<storage, read_write> rowSums: array<f32>;` : ''
  }`;
}

/**
 * With rowSums: the running sums rs{i} of the A values x{i} (declared before the loops over k, added
 * to in them), stored by the one invocation that owns the first columns of each row.
 */
const rowSumDeclarations = (TM: number) => `  var ${range(TM).map((i) => `rs${i} = 0.0`).join('; var ')};`;
function rowSumStores(TM: number, m: (i: number) => string, owner: string): string {
  return `  if (${owner}) {
${range(TM).map((i) => `    if (${m(i)} < u.M) { rowSums[batch * u.M + ${m(i)}] = rs${i}; }`).join('\n')}
  }`;
}

/**
 * Where column j of a block goes: `inRange` tests it, `at(row)` is the element offset in C of that
 * row's entry, `n` its column within its matrix (for a column bias).
 */
interface BlockColumn {
  inRange: string;
  at: (row: string) => string;
  n: string;
}

/** Columns n(j) of the matrix at baseC. */
const plainColumn = (n: string): BlockColumn => ({ inRange: `${n} < u.N`, at: (row) => `baseC + (${row}) * u.N + ${n}`, n });

/**
 * The stores of a TM x TN block of accumulators acc{i}_{j} at rows m(i) and columns col(j), each
 * guarded by the edge test; with a bias epilogue its TM (row) or TN (column) values are loaded
 * once, at clamped indices, before the stores.
 */
function storeBlock(TM: number, TN: number, m: (i: number) => string, col: (j: number) => BlockColumn, bias: MatmulProblem['bias'], vec4 = false): string {
  const biasLoads =
    bias === 'row'
      ? range(TM).map((i) => `  let bias${i} = bias[min(${m(i)}, u.M - 1u)];`)
      : bias === 'col'
        ? range(TN).map((j) => `  let bias${j} = bias[min(${col(j).n}, u.N - 1u)];`)
        : [];
  const value = (i: number, j: number) => `acc${i}_${j}${bias === 'row' ? ` + bias${i}` : bias === 'col' ? ` + bias${j}` : ''}`;
  const stores = vec4
    ? // columns 4q .. 4q + 3 are adjacent and start on a multiple of 4: in range together, one vec4
      range(TM).flatMap((i) =>
        range(TN / 4).map((q) => `  if (${m(i)} < u.M && ${col(4 * q).inRange}) { C[(${col(4 * q).at(m(i))}) / 4u] = vec4(${range(4).map((r) => value(i, 4 * q + r)).join(', ')}); }`),
      )
    : range(TM).flatMap((i) => range(TN).map((j) => `  if (${m(i)} < u.M && ${col(j).inRange}) { C[${col(j).at(m(i))}] = ${value(i, j)}; }`));
  return [...biasLoads, ...stores].join('\n');
}

/** Unfolds (batch, row-tile) from workgroup y/z; returns early (workgroup-uniformly) past the end. */
const UNFOLD = `let t = wid.y + wid.z * nwg.y;
  if (t >= u.folded) { return; }
  let batch = t / u.tilesY;
  let tileRow = t % u.tilesY;
  let baseA = batch * u.batchStrideA;
  let baseB = batch * u.batchStrideB;
  let baseC = batch * u.M * u.N;`;

/** Element offsets of A(m, k) and B(k, n) inside one matrix, and how they move when k grows by 1. */
function layout(transA: boolean, transB: boolean) {
  return {
    a: (m: string, k: string) => (transA ? `(${k}) * u.M + ${m}` : `(${m}) * u.K + ${k}`),
    b: (k: string, n: string) => (transB ? `(${n}) * u.K + ${k}` : `(${k}) * u.N + ${n}`),
    aAtK0: (m: string) => (transA ? m : `(${m}) * u.K`),
    bAtK0: (n: string) => (transB ? `(${n}) * u.K` : n),
    aStepK: transA ? 'u.M' : '1u',
    bStepK: transB ? '1u' : 'u.N',
    describe: `A is ${transA ? '[K, M] (transA)' : '[M, K]'}, B is ${transB ? '[N, K] (transB)' : '[K, N]'}`,
  };
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

// ---------------------------------------------------------------------------------------------
// cpu-simd: register-blocked, one SIMD vector of invocations per workgroup

function cpuSimdSource(v: CpuSimdVariant, { transA, transB, bias, batchColumns, vec4Stores, rowSums, implicitB }: SourceLayout): string {
  const { lanes, TM, TN } = v;
  // column j of a lane's block, counted from its first (n0): `lanes` apart, or in runs of 4 adjacent ones 4 * lanes apart
  const dn = (j: number) => (vec4Stores ? Math.floor(j / 4) * 4 * lanes + (j % 4) : j * lanes);
  const L = layout(transA, transB);
  const rows = range(TM);
  const cols = range(TN);
  const acc = (i: number, j: number) => `acc${i}_${j}`;
  // batchColumns: column c of the [M, batch * N] product is column col{j} = c % N of item{j} = c / N
  const column = (j: number): BlockColumn =>
    batchColumns
      ? { inRange: `n0 + ${dn(j)}u < u.batch * u.N`, at: (row) => `(item${j} * u.M + ${row}) * u.N + col${j}`, n: `col${j}` }
      : plainColumn(`n0 + ${dn(j)}u`);
  // B(k, column j): loaded through a running index, or computed from the image (implicit columns)
  const reader = implicitB ? implicitColumnReader(implicitB) : undefined;
  const bStart = (j: number) =>
    batchColumns
      ? `  let item${j} = min(n0 + ${dn(j)}u, u.batch * u.N - 1u) / u.N;
  let col${j} = min(n0 + ${dn(j)}u, u.batch * u.N - 1u) % u.N;
${reader ? reader.setup(j, `col${j}`) : `  var b${j} = item${j} * u.batchStrideB + col${j};`}`
      : reader
        ? reader.setup(j, `min(n0 + ${dn(j)}u, u.N - 1u)`)
        : `  var b${j} = baseB + ${L.bAtK0(`min(n0 + ${dn(j)}u, u.N - 1u)`)};`;
  const loadB = (j: number, k: string) => (reader ? `    ${reader.load(j, k)}` : `    let y${j} = B[b${j}]; b${j} += ${L.bStepK};`);
  return `${v.shuffleA ? 'enable subgroups;\n' : ''}// ${variantName(v)}: C = A x B, ${reader ? reader.describe : L.describe}, C is [M, N]; batch folded into workgroups y/z${
    batchColumns ? `,
// except that here A is one matrix for the whole batch and the batch is read as more columns: one
// [M, batch * N] product whose column c is column c % N of item c / N (of B and of C)` : ''
  }.
// Tiling: a workgroup is ${lanes} invocations (one AVX2 vector on lavapipe, lanes along N). It owns
// rows tileRow*${TM} .. +${TM - 1} and columns wid.x*${lanes * TN} .. +${lanes * TN - 1}; invocation lid owns
// columns ${
    vec4Stores
      ? `4*lid .. 4*lid+3, 4*lid+${4 * lanes} .. +3, ... (${TN} of them, in runs of 4 stored as one vec4)`
      : `lid, lid+${lanes}, ... (${TN} of them, ${lanes} apart)`
  } of those ${TM} rows: ${TM * TN} accumulators, so each
// step of k loads ${TM} values of A and ${TN} of B for ${TM * TN} multiply-adds. Rows and columns past the
// edge are clamped to the last valid one before the loop (loads stay inside the data, the body has
// no edge tests) and their results are never stored. No workgroup memory: lavapipe scalarises
// every lane's load anyway, so staging only adds loads and barriers.${
    v.shuffleA
      ? `
// A is shared through the subgroup (the workgroup is exactly one subgroup of ${lanes}): for each block of
// ${lanes} steps of k, lane sid loads A(row, k + sid) for its ${TM} rows, and step kk takes lane kk's values
// with subgroupShuffle. Each A value is loaded once instead of once per lane; the last K % ${lanes} steps
// run the plain loop.`
      : ''
  }
${header(bias, vec4Stores, rowSums)}
${reader ? reader.declarations : ''}

@compute @workgroup_size(${lanes})
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32${v.shuffleA ? ',\n        @builtin(subgroup_invocation_id) sid: u32' : ''}) {
  ${UNFOLD}
  let m0 = tileRow * ${TM}u;
  let n0 = wid.x * ${lanes * TN}u + ${vec4Stores ? '4u * lid' : 'lid'};
${rows.map((i) => `  var a${i} = baseA + ${L.aAtK0(`min(m0 + ${i}u, u.M - 1u)`)};`).join('\n')}
${cols.map(bStart).join('\n')}
${rows.map((i) => `  var ${cols.map((j) => `${acc(i, j)} = 0.0`).join('; var ')};`).join('\n')}
${rowSums ? rowSumDeclarations(TM) : ''}
${v.shuffleA ? shuffledSteps(v, L, rowSums, loadB) : ''}
  for (var k = ${v.shuffleA ? 'kShuffled' : '0u'}; k < u.K; k++) {
${rows.map((i) => `    let x${i} = A[a${i}]; a${i} += ${L.aStepK};`).join('\n')}
${cols.map((j) => loadB(j, 'k')).join('\n')}
${multiplyAdds(v, '    ', rowSums)}
  }
${rowSums ? rowSumStores(TM, (i) => `m0 + ${i}u`, 'wid.x == 0u && lid == 0u') : ''}
${storeBlock(TM, TN, (i) => `m0 + ${i}u`, column, bias, vec4Stores)}
}
`;
}

/** The TM x TN multiply-adds of one step of k into acc{i}_{j}, from x0.. (A) and y0.. (B) (and the row sums' additions). */
function multiplyAdds(v: { TM: number; TN: number }, indent = '    ', rowSums = false): string {
  return range(v.TM)
    .map((i) => indent + range(v.TN).map((j) => `acc${i}_${j} = fma(x${i}, y${j}, acc${i}_${j});`).join(' ') + (rowSums ? ` rs${i} += x${i};` : ''))
    .join('\n');
}

/** The shuffleA main loop: whole blocks of `lanes` steps of k; leaves `kShuffled`, where the plain loop goes on. */
function shuffledSteps(v: CpuSimdVariant, L: ReturnType<typeof layout>, rowSums: boolean, loadB: (j: number, k: string) => string): string {
  const { lanes, TM, TN } = v;
  return `  let kShuffled = u.K / ${lanes}u * ${lanes}u;
  let sidA = sid * ${L.aStepK};
  for (var k0 = 0u; k0 < kShuffled; k0 += ${lanes}u) {
${range(TM).map((i) => `    let own${i} = A[a${i} + sidA]; a${i} += ${lanes}u * ${L.aStepK};`).join('\n')}
    for (var kk = 0u; kk < ${lanes}u; kk++) {
${range(TM).map((i) => `    let x${i} = subgroupShuffle(own${i}, kk);`).join('\n')}
${range(TN).map((j) => loadB(j, 'k0 + kk')).join('\n')}
${multiplyAdds(v, '    ', rowSums)}
    }
  }`;
}

// ---------------------------------------------------------------------------------------------
// gpu: classic workgroup-memory tiling

function gpuTiledSource(v: GpuTiledVariant, { transA, transB, bias, rowSums }: SourceLayout): string {
  const { threads: T, TM, TN, KT } = v;
  const L = layout(transA, transB);
  const tileM = T * TM;
  const tileN = T * TN;
  const perThreadA = (tileM * KT) / (T * T);
  const perThreadB = (tileN * KT) / (T * T);
  // Which element of a staged tile the e-th load of thread `lin` fetches: consecutive threads walk
  // along the contiguous direction of the stored matrix, so global reads coalesce.
  const aTile = transA
    ? { row: `idx % ${tileM}u`, kk: `idx / ${tileM}u` }
    : { row: `idx / ${KT}u`, kk: `idx % ${KT}u` };
  const bTile = transB
    ? { col: `idx / ${KT}u`, kk: `idx % ${KT}u` }
    : { col: `idx % ${tileN}u`, kk: `idx / ${tileN}u` };
  const rows = range(TM);
  const cols = range(TN);
  return `// ${variantName(v)}: C = A x B, ${L.describe}, C is [M, N]; batch folded into workgroups y/z.
// Tiling: a ${T}x${T} workgroup computes a ${tileM}x${tileN} tile of C. For each step of ${KT} along K it
// stages A[${tileM} rows, ${KT}] and B[${KT}, ${tileN} cols] in workgroup memory (k-major, zero-filled past
// the edges, reads coalesced along each matrix's contiguous axis), then every thread accumulates
// ${TM}x${TN} outputs: rows ly + ${T}*i and columns lx + ${T}*j, so neighbouring threads read neighbouring
// words of the staged B tile (no bank conflicts) and the same word of the A tile (broadcast).
${header(bias, false, rowSums)}

var<workgroup> tileA: array<array<f32, ${tileM}>, ${KT}>;
var<workgroup> tileB: array<array<f32, ${tileN}>, ${KT}>;

@compute @workgroup_size(${T}, ${T})
fn main(@builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) local: vec3<u32>) {
  ${UNFOLD}
  let m0 = tileRow * ${tileM}u;
  let n0 = wid.x * ${tileN}u;
  let lx = local.x;
  let ly = local.y;
  let lin = ly * ${T}u + lx;
${rows.map((i) => `  var ${cols.map((j) => `acc${i}_${j} = 0.0`).join('; var ')};`).join('\n')}
${rowSums ? rowSumDeclarations(TM) : ''}
  for (var k0 = 0u; k0 < u.K; k0 += ${KT}u) {
    for (var e = 0u; e < ${perThreadA}u; e++) {
      let idx = lin + e * ${T * T}u;
      let row = ${aTile.row};
      let kk = ${aTile.kk};
      let m = m0 + row;
      let k = k0 + kk;
      var value = 0.0;
      if (m < u.M && k < u.K) { value = A[baseA + ${L.a('m', 'k')}]; }
      tileA[kk][row] = value;
    }
    for (var e = 0u; e < ${perThreadB}u; e++) {
      let idx = lin + e * ${T * T}u;
      let col = ${bTile.col};
      let kk = ${bTile.kk};
      let n = n0 + col;
      let k = k0 + kk;
      var value = 0.0;
      if (n < u.N && k < u.K) { value = B[baseB + ${L.b('k', 'n')}]; }
      tileB[kk][col] = value;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < ${KT}u; kk++) {
${rows.map((i) => `      let x${i} = tileA[kk][ly + ${i * T}u];`).join('\n')}
${cols.map((j) => `      let y${j} = tileB[kk][lx + ${j * T}u];`).join('\n')}
${multiplyAdds(v, '      ', rowSums)}
    }
    workgroupBarrier();
  }
${rowSums ? rowSumStores(TM, (i) => `m0 + ly + ${i * T}u`, 'wid.x == 0u && lx == 0u') : ''}
${storeBlock(TM, TN, (i) => `m0 + ly + ${i * T}u`, (j) => plainColumn(`n0 + lx + ${j * T}u`), bias)}
}
`;
}
