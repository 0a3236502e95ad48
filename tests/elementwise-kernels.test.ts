/**
 * The index arithmetic and layouts the elementwise kernels choose between, each checked against
 * plain JavaScript: fast_div (quotients from an f32 reciprocal, common.ts) on every kind of
 * divisor and on the values around each multiple; the vec4 variant with operands read contiguous,
 * as strided rows of four, and broadcast along the last dimension; the scalar variant with
 * fast_div (fewer than 2^24 elements) and with integer division (more).
 */
import { afterEach, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { dispatch } from '../src/kernels/runtime.ts';
import { FAST_DIV, FAST_DIV_LIMIT, grid1d, UniformWriter, FLAT_INDEX_ARGS, flatIndex } from '../src/kernels/wgsl/common.ts';

const made: gb.Tensor[] = [];
const track = <T extends gb.Tensor>(t: T): T => (made.push(t), t);
afterEach(() => made.splice(0).forEach((t) => t.dispose()));

function seeded(n: number, salt: number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i * 12.9898 + salt * 78.233) * 3));
}

describe('fast_div', () => {
  it('equals integer division for x < 2^24 and every divisor shape', async () => {
    const pairs: Array<[number, number]> = [];
    // every small divisor, around its first multiples
    for (let d = 1; d <= 300; d++) for (let k = 1; k <= 64; k++) for (const x of [k * d - 1, k * d, k * d + 1]) pairs.push([x, d]);
    // large divisors, around multiples spread up to 2^24, at random points and at the limit
    for (const d of [999, 3136, 4095, 4097, 65535, 65537, 999_983, 4_194_304, 8_388_607, 16_777_215]) {
      const near = [d - 1, d, d + 1, FAST_DIV_LIMIT - 1, FAST_DIV_LIMIT - 2];
      for (let k = 1; k * d < FAST_DIV_LIMIT; k = Math.ceil(k * 1.7 + 1)) near.push(k * d - 1, k * d, k * d + 1);
      for (let s = 0; s < 40; s++) near.push(Math.floor(((Math.sin(s * 91.7 + d) + 1) / 2) * (FAST_DIV_LIMIT - 1)));
      for (const x of near) if (x < FAST_DIV_LIMIT) pairs.push([x, d]);
    }
    // the set must hold cases where the f32 estimate is one too low and one too high
    const estimate = (x: number, d: number) => Math.trunc(Math.fround(Math.fround(x) * Math.fround(1 / d)));
    expect(pairs.some(([x, d]) => estimate(x, d) < Math.floor(x / d))).toBe(true);
    expect(pairs.some(([x, d]) => estimate(x, d) > Math.floor(x / d))).toBe(true);
    const n = pairs.length;
    const input = track(gb.tensor(Uint32Array.from(pairs.flat()), [n * 2], { dtype: 'uint32' }));
    const inverses = track(gb.tensor(Float32Array.from(pairs.map(([, d]) => 1 / d)), [n]));
    const out = track(gb.zeros([n], { dtype: 'uint32' }));
    const source = `${FAST_DIV}
struct Params { n: u32 }
@group(0) @binding(0) var<storage, read> pairs: array<u32>;
@group(0) @binding(1) var<storage, read> inverses: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<u32>;
@group(0) @binding(3) var<uniform> p: Params;
@compute @workgroup_size(64)
fn main(${FLAT_INDEX_ARGS}) {
  let i = ${flatIndex()};
  if (i >= p.n) { return; }
  out[i] = fast_div(pairs[2u * i], pairs[2u * i + 1u], inverses[i]);
}`;
    dispatch({
      name: 'fast_div_test',
      source,
      buffers: [input.storage.buffer, inverses.storage.buffer, out.storage.buffer],
      uniforms: new UniformWriter().u32(n).finish(),
      workgroups: grid1d(n),
    });
    const got = await out.toArray();
    const wrong = pairs.filter(([x, d], i) => got[i] !== Math.floor(x / d));
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(n).toBeGreaterThan(1000);
  });
});

describe('elementwise layouts', () => {
  // one f32 operation on f32 inputs is the exact result rounded once, so results must match exactly
  async function check(result: gb.Tensor, expected: (i: number) => number, n: number) {
    const got = await track(result).toArray();
    expect(got.length).toBe(n);
    const wrong: string[] = [];
    for (let i = 0; i < n && wrong.length < 5; i++) if (got[i] !== Math.fround(expected(i))) wrong.push(`${i}: ${got[i]} vs ${Math.fround(expected(i))}`);
    expect(wrong).toEqual([]);
  }

  it('vec4: a bias broadcast along the last dims, and int operands', async () => {
    const xd = seeded(64 * 6 * 28 * 28, 1);
    const bd = seeded(6, 2);
    const x = track(gb.tensor(xd, [64, 6, 28, 28]));
    const b = track(gb.tensor(bd, [1, 6, 1, 1]));
    await check(gb.add(x, b), (i) => xd[i]! + bd[Math.floor(i / 784) % 6]!, xd.length);
    const xi = track(gb.tensor(Int32Array.from({ length: 48 }, (_, i) => i), [4, 12], { dtype: 'int32' }));
    const ri = track(gb.tensor(Int32Array.from([100, 200, 300, 400]), [4, 1], { dtype: 'int32' }));
    await check(gb.add(xi, ri), (i) => i + 100 * (Math.floor(i / 12) + 1), 48);
  });

  it('vec4: strided rows of four (a column slice) next to a broadcast row', async () => {
    const xd = seeded(5 * 16, 3);
    const yd = seeded(8, 4);
    const x = track(gb.tensor(xd, [5, 16]));
    const cols = track(gb.slice(x, 1, { start: 4, end: 12 })); // offset 4, strides [16, 1]
    const y = track(gb.tensor(yd, [8]));
    await check(gb.mul(cols, y), (i) => xd[Math.floor(i / 8) * 16 + 4 + (i % 8)]! * yd[i % 8]!, 40);
  });

  it('scalar: a transposed operand and an odd last dim', async () => {
    const xd = seeded(37 * 53, 5);
    const x = track(gb.tensor(xd, [37, 53]));
    const t = track(gb.transpose(x, 0, 1)); // [53, 37]
    const yd = seeded(37, 6);
    const y = track(gb.tensor(yd, [37]));
    await check(gb.sub(t, y), (i) => xd[(i % 37) * 53 + Math.floor(i / 37)]! - yd[i % 37]!, 53 * 37);
  });

  it('scalar with integer division past 2^24 elements', async () => {
    const rows = 4099;
    const colsN = 4097; // 16,793,603 elements > 2^24: the kernel divides with integers
    const bd = seeded(rows, 7);
    const col = track(gb.tensor(bd, [rows, 1]));
    const rowVec = track(gb.arange(colsN));
    const n = rows * colsN;
    expect(n).toBeGreaterThan(FAST_DIV_LIMIT);
    await check(gb.add(col, rowVec), (i) => bd[Math.floor(i / colsN)]! + (i % colsN), n);
  });
});
