/**
 * Every matmul kernel variant, not only the one this adapter picks, against a float64 product:
 * the register-blocked lavapipe kernels (plain, and with A shared by subgroupShuffle where the
 * device has fixed-size subgroups of 8) and the workgroup-memory tiled kernel for GPUs. Each runs
 * all four transA/transB layouts on odd sizes, K below, at and just past a multiple of 8 (the
 * shuffled loop handles whole blocks of 8 and leaves the rest to the plain loop), broadcast
 * batches (stride 0) and a batch large enough to spill the tile grid into workgroups y and z.
 * The inputs are surrounded by 1e30 (a read past the data would show) and C starts as NaN (a
 * missing write would show). The bias epilogue (a value per row or per column) is checked too.
 */
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { dispatch, runtime } from '../src/kernels/runtime.ts';
import { planMatmul, planMatmulVariant, type MatmulProblem, type MatmulVariant } from '../src/kernels/wgsl/matmul.ts';

const variants: Array<{ label: string; variant: MatmulVariant; needsSubgroups?: number }> = [
  { label: 'lavapipe 8x8', variant: { kind: 'cpu-simd', lanes: 8, TM: 8, TN: 8, shuffleA: false } },
  { label: 'lavapipe 16x8, A shuffled', variant: { kind: 'cpu-simd', lanes: 8, TM: 16, TN: 8, shuffleA: true }, needsSubgroups: 8 },
  { label: 'lavapipe 8x4, A shuffled', variant: { kind: 'cpu-simd', lanes: 8, TM: 8, TN: 4, shuffleA: true }, needsSubgroups: 8 },
  { label: 'lavapipe 6x8, A shuffled', variant: { kind: 'cpu-simd', lanes: 8, TM: 6, TN: 8, shuffleA: true }, needsSubgroups: 8 },
  { label: 'gpu tiled 64x64', variant: { kind: 'gpu', threads: 16, TM: 4, TN: 4, KT: 16 } },
];

type Case = [batch: number, M: number, N: number, K: number, strideA?: 'full' | 0, strideB?: 'full' | 0];
const cases: Case[] = [
  [1, 1, 1, 1],
  [1, 3, 5, 7],
  [1, 7, 3, 8],
  [1, 17, 9, 9],
  [1, 1, 1000, 3],
  [1, 127, 129, 131],
  [1, 33, 17, 64],
  [13, 11, 9, 16, 0, 'full'],
  [13, 11, 9, 23, 'full', 0],
  [2, 65, 67, 70],
  // N a multiple of 4: the lavapipe kernels store runs of 4 columns as one vec4
  [1, 5, 4, 3],
  [2, 19, 36, 9],
  [13, 11, 12, 16, 0, 'full'],
];

const PAD = 5;

function seeded(n: number, salt: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 12.9898 + salt * 78.233) * 0.5));
}

function padded(data: Float32Array): Float32Array {
  const out = new Float32Array(data.length + 2 * PAD).fill(1e30);
  out.set(data, PAD);
  return out;
}

async function run(variant: MatmulVariant, p: MatmulProblem, a: Float32Array, b: Float32Array, bias?: Float32Array): Promise<Float32Array> {
  // A, B and the bias are bound whole, so their data starts at element 0: the padding goes after the data only
  const A = gb.tensor(padded(a).subarray(PAD));
  const B = gb.tensor(padded(b).subarray(PAD));
  const Bias = bias ? [gb.tensor(padded(bias).subarray(PAD))] : [];
  const C = gb.full([p.batch * p.M * p.N], Number.NaN);
  const launch = planMatmulVariant(p, variant);
  dispatch({ ...launch, buffers: [A.storage.buffer, B.storage.buffer, C.storage.buffer, ...Bias.map((t) => t.storage.buffer)] });
  const out = await C.toArray();
  for (const t of [A, B, C, ...Bias]) t.dispose();
  return out as Float32Array;
}

function reference(p: MatmulProblem, a: Float32Array, b: Float32Array): { c: Float64Array; scale: Float64Array } {
  const c = new Float64Array(p.batch * p.M * p.N);
  const scale = new Float64Array(c.length);
  for (let t = 0; t < p.batch; t++)
    for (let m = 0; m < p.M; m++)
      for (let n = 0; n < p.N; n++) {
        let s = 0;
        let mag = 0;
        for (let k = 0; k < p.K; k++) {
          const x = a[t * p.batchStrideA + (p.transA ? k * p.M + m : m * p.K + k)]!;
          const y = b[t * p.batchStrideB + (p.transB ? n * p.K + k : k * p.N + n)]!;
          s += x * y;
          mag += Math.abs(x * y);
        }
        c[(t * p.M + m) * p.N + n] = s;
        scale[(t * p.M + m) * p.N + n] = mag;
      }
  return { c, scale };
}

describe('matmul kernel variants', () => {
  const subgroupSize = runtime().ctx.subgroupSize;
  for (const { label, variant, needsSubgroups } of variants) {
    const skip = needsSubgroups !== undefined && subgroupSize !== needsSubgroups;
    it.skipIf(skip)(`${label}: all layouts, odd sizes, broadcast batches`, async () => {
      for (const [batch, M, N, K, sa = 'full', sb = 'full'] of cases)
        for (const transA of [false, true])
          for (const transB of [false, true]) {
            const p: MatmulProblem = { batch, M, N, K, transA, transB, batchStrideA: sa === 0 ? 0 : M * K, batchStrideB: sb === 0 ? 0 : K * N };
            const a = seeded(sa === 0 ? M * K : batch * M * K, 1);
            const b = seeded(sb === 0 ? K * N : batch * K * N, 2);
            const got = await run(variant, p, a, b);
            const { c, scale } = reference(p, a, b);
            let worst = 0;
            for (let i = 0; i < c.length; i++) worst = Math.max(worst, Math.abs(got[i]! - c[i]!) / (scale[i]! + 1e-30));
            expect(worst, `${label} ${JSON.stringify(p)}`).toBeLessThan(1e-6);
          }
    });

    it.skipIf(skip)(`${label}: the bias epilogue adds bias[m] to rows or bias[n] to columns`, async () => {
      for (const [batch, M, N, K] of [[1, 3, 5, 7], [1, 17, 9, 9], [3, 33, 67, 16], [3, 9, 20, 5]] as const)
        for (const along of ['row', 'col'] as const)
          for (const transB of [true, false]) {
            const p: MatmulProblem = { batch, M, N, K, transA: false, transB, batchStrideA: 0, batchStrideB: K * N, bias: along };
            const a = seeded(M * K, 5);
            const b = seeded(batch * K * N, 6);
            const bias = seeded(along === 'row' ? M : N, 7);
            const got = await run(variant, p, a, b, bias);
            const { c, scale } = reference(p, a, b);
            let worst = 0;
            for (let i = 0; i < c.length; i++) {
              const m = Math.floor(i / N) % M;
              const expected = c[i]! + bias[along === 'row' ? m : i % N]!;
              worst = Math.max(worst, Math.abs(got[i]! - expected) / (scale[i]! + 1));
            }
            expect(worst, `${label} ${JSON.stringify(p)}`).toBeLessThan(1e-6);
          }
    });

    it.skipIf(skip)(`${label}: also writes the row sums of A (a Linear layer's bias gradient)`, async () => {
      for (const [batch, M, N, K] of [[1, 7, 5, 3], [1, 120, 400, 64], [3, 17, 9, 19], [2, 33, 70, 8]] as const)
        for (const transA of [true, false]) {
          const p: MatmulProblem = { batch, M, N, K, transA, transB: false, batchStrideA: M * K, batchStrideB: K * N, rowSums: true };
          const a = seeded(batch * M * K, 12);
          const b = seeded(batch * K * N, 13);
          const A = gb.tensor(a);
          const B = gb.tensor(b);
          const C = gb.full([batch * M * N], Number.NaN);
          const sums = gb.full([batch * M], Number.NaN);
          dispatch({ ...planMatmulVariant(p, variant), buffers: [A.storage.buffer, B.storage.buffer, C.storage.buffer, sums.storage.buffer] });
          const got = await sums.toArray();
          const product = await C.toArray();
          const { c, scale } = reference(p, a, b);
          for (let t = 0; t < batch; t++)
            for (let m = 0; m < M; m++) {
              let want = 0;
              for (let k = 0; k < K; k++) want += a[t * M * K + (transA ? k * M + m : m * K + k)]!;
              expect(Math.abs(got[t * M + m]! - want), `${label} ${JSON.stringify(p)} row ${m} of ${t}`).toBeLessThan(1e-5);
            }
          let worst = 0;
          for (let i = 0; i < c.length; i++) worst = Math.max(worst, Math.abs(product[i]! - c[i]!) / (scale[i]! + 1e-30));
          expect(worst, `${label} ${JSON.stringify(p)}: the product`).toBeLessThan(1e-6);
          for (const t of [A, B, C, sums]) t.dispose();
        }
    });

    // the folding of (batch, row tile) into workgroups y and z is shared by all variants; the
    // GPU-tiled one (256 invocations a workgroup) would take ~10 s here for no extra coverage
    if (variant.kind === 'cpu-simd') {
      it.skipIf(skip)(`${label}: a batch of 70001 spreads over more than 65535 workgroups`, async () => {
        const batch = 70_001;
        const p: MatmulProblem = { batch, M: 1, N: 2, K: 3, transA: false, transB: false, batchStrideA: 3, batchStrideB: 0 };
        const launch = planMatmulVariant(p, variant);
        expect(launch.workgroups[1] * launch.workgroups[2]).toBeGreaterThan(1);
        const a = seeded(batch * 3, 3);
        const b = seeded(6, 4);
        const got = await run(variant, p, a, b);
        const { c } = reference(p, a, b);
        let worst = 0;
        for (let i = 0; i < c.length; i++) worst = Math.max(worst, Math.abs(got[i]! - c[i]!));
        expect(worst).toBeLessThan(1e-6);
      });
    }
  }

  it('the adapter picks the shuffled kernel only where subgroups are 8 lanes wide, with smaller blocks for short sides', () => {
    const p: MatmulProblem = { batch: 1, M: 64, N: 64, K: 64, transA: false, transB: false, batchStrideA: 0, batchStrideB: 0 };
    expect(planMatmul(p, 'cpu-simd', 8).name).toBe('matmul_lavapipe_16x8_shuffle_vec4_stores');
    expect(planMatmul({ ...p, M: 6, N: 25 }, 'cpu-simd', 8).name).toBe('matmul_lavapipe_6x4_shuffle');
    expect(planMatmul({ ...p, M: 6, N: 784 }, 'cpu-simd', 8).name).toBe('matmul_lavapipe_6x8_shuffle_vec4_stores');
    expect(planMatmul({ ...p, M: 10, N: 784 }, 'cpu-simd', 8).name).toBe('matmul_lavapipe_12x8_shuffle_vec4_stores');
    expect(planMatmul({ ...p, M: 1, N: 784 }, 'cpu-simd', 8).name).toBe('matmul_lavapipe_2x8_shuffle_vec4_stores');
    expect(planMatmul({ ...p, M: 150, N: 25 }, 'cpu-simd', 8).name).toBe('matmul_lavapipe_16x4_shuffle');
    expect(planMatmul(p, 'cpu-simd', 4).name).toBe('matmul_lavapipe_8x8_vec4_stores');
    expect(planMatmul(p, 'cpu-simd', undefined).name).toBe('matmul_lavapipe_8x8_vec4_stores');
    expect(planMatmul(p, 'gpu', 32).name).toBe('matmul_tiled_64x64_k16');
  });

  it('lavapipe kernels read a batch that shares A as more columns (a conv: weights x each image), with the same result', async () => {
    // LeNet-5's second conv: W [16, 150] x cols [64, 150, 100]; a 64-column tile pair would cover 100 of 128 columns per image
    const p: MatmulProblem = { batch: 64, M: 16, N: 100, K: 150, transA: false, transB: false, batchStrideA: 0, batchStrideB: 150 * 100 };
    const variant: MatmulVariant = { kind: 'cpu-simd', lanes: 8, TM: 8, TN: 8, shuffleA: false };
    const launch = planMatmulVariant(p, variant);
    expect(launch.name).toBe('matmul_lavapipe_8x8_batch_columns_vec4_stores');
    expect(launch.workgroups).toEqual([100, 2, 1]); // 6400 columns / 64, 16 rows / 8
    // not where A differs per item, B is transposed, or the columns fill whole tiles
    expect(planMatmulVariant({ ...p, batchStrideA: 16 * 150 }, variant).name).toBe('matmul_lavapipe_8x8_vec4_stores');
    expect(planMatmulVariant({ ...p, transB: true }, variant).name).toBe('matmul_lavapipe_8x8_vec4_stores');
    expect(planMatmulVariant({ ...p, N: 128, batchStrideB: 150 * 128 }, variant).name).toBe('matmul_lavapipe_8x8_vec4_stores');
    expect(planMatmulVariant({ ...p, N: 99, batchStrideB: 150 * 99 }, variant).name).toBe('matmul_lavapipe_8x8_batch_columns');
    expect(planMatmulVariant(p, { kind: 'gpu', threads: 16, TM: 4, TN: 4, KT: 16 }).name).toBe('matmul_tiled_64x64_k16');
    const a = seeded(16 * 150, 8);
    const b = seeded(64 * 150 * 100, 9);
    const got = await run(variant, p, a, b);
    const { c, scale } = reference(p, a, b);
    let worst = 0;
    for (let i = 0; i < c.length; i++) worst = Math.max(worst, Math.abs(got[i]! - c[i]!) / (scale[i]! + 1e-30));
    expect(worst).toBeLessThan(1e-6);
  });
});
