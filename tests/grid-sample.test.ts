/**
 * gridSample and affineGrid beyond the PyTorch fixtures (tests/fixtures/ops/grid.json, made by
 * scripts/gen_fixtures_grid.py) and the finite-difference checks (tests/gradcheck.test.ts): the
 * identity transform is exact, many points on one pixel sum their gradients, points far outside
 * or NaN, and the errors for bad shapes.
 */
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { expectClose } from './helpers.ts';

const IDENTITY = [1, 0, 0, 0, 1, 0];

/** Values 0.5, 1.5, ... with a sign pattern: every pixel differs from its neighbours. */
function image(shape: [number, number, number, number]): gb.Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return gb.tensor(Float32Array.from({ length: n }, (_, i) => (i % 3 === 1 ? -1 : 1) * (i + 0.5)), shape, { requiresGrad: true });
}

describe('gridSample: the identity affine transform returns the input exactly', () => {
  const shapes: Array<[number, number, number, number]> = [
    [2, 3, 28, 28],
    [1, 1, 7, 13],
    [1, 2, 32, 32],
    [1, 1, 1, 5],
    [1, 1, 128, 96],
  ];
  for (const shape of shapes)
    for (const alignCorners of [false, true])
      for (const paddingMode of ['zeros', 'border'] as const)
        for (const mode of ['bilinear', 'nearest'] as const)
          it(`[${shape}] ${mode} ${paddingMode} alignCorners ${alignCorners}`, async () => {
            const x = image(shape);
            const theta = gb.tensor(Array.from({ length: shape[0] }, () => IDENTITY).flat(), [shape[0], 2, 3]);
            const y = gb.gridSample(x, gb.affineGrid(theta, shape, { alignCorners }), { mode, paddingMode, alignCorners });
            expect(y.shape).toEqual(shape);
            expect(Array.from(await y.toArray())).toEqual(Array.from(await x.toArray()));
            // and the input's gradient is the output's, exactly
            const g = image(shape);
            const [gx] = gb.grad([y], [x], { gradOutputs: [g] });
            expect(Array.from(await gx!.toArray())).toEqual(Array.from(await g.toArray()));
          });
});

describe('gridSample: gradients', () => {
  it("many points on one pixel add up their gradients there (the input gradient's atomic adds)", async () => {
    const x = gb.zeros([1, 2, 3, 4], { requiresGrad: true });
    // 64 x 64 points on pixel (row 1, column 2): with alignCorners, x = 1/3 is column 2 of 0..3 and y = 0 row 1 of 0..2
    const point = [1 / 3, 0];
    const grid = gb.tensor(Array.from({ length: 64 * 64 }, () => point).flat(), [1, 64, 64, 2]);
    const g = gb.tensor(Float32Array.from({ length: 2 * 64 * 64 }, (_, i) => ((i * 37) % 101) / 101 - 0.3), [1, 2, 64, 64]);
    const [gx] = gb.grad([gb.gridSample(x, grid, { alignCorners: true })], [x], { gradOutputs: [g] });
    const got = await gx!.toArray();
    const gv = await g.toArray();
    for (let c = 0; c < 2; c++) {
      const expected = new Float64Array(12);
      for (let i = 0; i < 64 * 64; i++) expected[1 * 4 + 2] += gv[c * 4096 + i]!;
      expectClose(got.slice(c * 12, c * 12 + 12), expected, { atol: 1e-3, rtol: 1e-5, what: `channel ${c}` });
    }
  });

  it("nearest sampling's grid gradient is zero, and a grid that needs no gradient gets none", async () => {
    const x = image([1, 1, 3, 3]);
    const grid = gb.tensor([0.1, 0.2, -0.7, 0.4], [1, 1, 2, 2], { requiresGrad: true });
    const [, gg] = gb.grad([gb.sum(gb.gridSample(x, grid, { mode: 'nearest' }))], [x, grid]);
    expect(Array.from(await gg!.toArray())).toEqual([0, 0, 0, 0]);
    const fixed = gb.tensor([0.1, 0.2], [1, 1, 1, 2]);
    const y = gb.gridSample(x, fixed);
    gb.sum(y).backward();
    expect(fixed.grad ?? null).toBeNull();
    expect(x.grad ?? null).not.toBeNull();
  });
});

describe('gridSample: points outside the image and NaN', () => {
  it('far, infinite and NaN points: zeros padding reads 0, border the nearest edge pixel, NaN samples NaN', async () => {
    const x = gb.tensor([1, 2, 3, 4, 5, 6], [1, 1, 2, 3]);
    const far = [1e30, 0, -1e30, 0, Infinity, -Infinity, 0, 1e9, NaN, 0];
    const grid = gb.tensor(far, [1, 1, 5, 2]);
    const zeros = Array.from(await gb.gridSample(x, grid, { alignCorners: true }).toArray());
    expect(zeros.slice(0, 4)).toEqual([0, 0, 0, 0]);
    expect(zeros[4]).toBeNaN();
    const border = Array.from(await gb.gridSample(x, grid, { alignCorners: true, paddingMode: 'border' }).toArray());
    // (x, y) = (far right, middle row 0.5): columns 2 of rows 0 and 1 mixed; far left likewise; +inf x with -inf y: top right; far below: bottom middle
    expect(border.slice(0, 4)).toEqual([4.5, 2.5, 3, 5]);
    expect(border[4]).toBeNaN();
  });
});

describe('gridSample and affineGrid: bad input names the op, the shapes and the fix', () => {
  const x = gb.zeros([2, 3, 4, 4]);
  const grid = gb.zeros([2, 5, 5, 2]);
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['3-D input', () => gb.gridSample(gb.zeros([3, 4, 4]), grid), /glassbox.gridSample: input must be 4-D \[N, C, H, W\], got shape \[3, 4, 4\]/],
    ['3-D grid', () => gb.gridSample(x, gb.zeros([2, 5, 2])), /glassbox.gridSample: grid must be 4-D \[N, HO, WO, 2\].*got shape \[2, 5, 2\]/],
    ['grid without x, y', () => gb.gridSample(x, gb.zeros([2, 5, 5, 3])), /glassbox.gridSample: grid must be \[N, HO, WO, 2\].*got shape \[2, 5, 5, 3\]; build it with affineGrid/],
    ['batch mismatch', () => gb.gridSample(x, gb.zeros([1, 5, 5, 2])), /glassbox.gridSample: grid batch 1 \(shape \[1, 5, 5, 2\]\) must equal input batch 2 \(shape \[2, 3, 4, 4\]\); expand the grid/],
    ['int32 input', () => gb.gridSample(gb.zeros([2, 3, 4, 4], { dtype: 'int32' }), grid), /glassbox.gridSample: input must be float32, got int32; cast with .float\(\)/],
    ['unknown mode', () => gb.gridSample(x, grid, { mode: 'bicubic' as 'nearest' }), /glassbox.gridSample: option mode must be 'bilinear' or 'nearest', got "bicubic"/],
    ['theta [2, 3]', () => gb.affineGrid(gb.zeros([2, 3]), [1, 3, 4, 4]), /glassbox.affineGrid: theta must be \[N, 2, 3\].*got shape \[2, 3\]; for one matrix use theta.reshape\(\[1, 2, 3\]\)/],
    ['theta [1, 3, 3]', () => gb.affineGrid(gb.zeros([1, 3, 3]), [1, 3, 4, 4]), /glassbox.affineGrid: theta must be \[N, 2, 3\].*got shape \[1, 3, 3\]/],
    ['size 5-D', () => gb.affineGrid(gb.zeros([1, 2, 3]), [1, 3, 2, 4, 4]), /glassbox.affineGrid: size must be the output's \[N, C, H, W\].*only 4-D.*got \[1,3,2,4,4\]/],
    ['size batch mismatch', () => gb.affineGrid(gb.zeros([2, 2, 3]), [3, 1, 4, 4]), /glassbox.affineGrid: size's batch 3 \(size \[3,1,4,4\]\) must equal theta's 2 \(shape \[2, 2, 3\]\); give one matrix per image/],
  ];
  for (const [what, call, message] of cases) it(what, () => expect(call).toThrow(message));
});
