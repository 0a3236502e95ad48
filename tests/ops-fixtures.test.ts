/**
 * Every op's forward output and input gradients against PyTorch (tests/fixtures/ops, made by
 * scripts/gen_fixtures.py). Tolerances are tinygrad's: forward atol 1e-6 / rtol 1e-3,
 * gradients atol 1e-4 / rtol 1e-3.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import type { Tensor } from '../src/index.ts';
import { expectClose } from './helpers.ts';

interface FixtureTensor { shape: number[]; dtype?: 'float32' | 'int32'; data: number[]; grad?: boolean }
interface Case {
  id: string;
  op: string;
  inputs: FixtureTensor[];
  attrs: Record<string, unknown>;
  output?: FixtureTensor;
  outputs?: FixtureTensor[];
  gradOutput?: FixtureTensor;
  grads?: (FixtureTensor | null)[];
  gradGradOutput?: (FixtureTensor | null)[];
  gradGrads?: (FixtureTensor | null)[];
}

type Attrs = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
type Result = Tensor | { values: Tensor; indices: Tensor };

const reduceOpts = (a: Attrs) => ({ dim: a.dim, keepdim: a.keepdim });
const unaryParams: Record<string, (x: Tensor, a: Attrs) => Tensor> = {
  leakyRelu: (x, a) => gb.leakyRelu(x, { negativeSlope: a.negativeSlope }),
  elu: (x, a) => gb.elu(x, { alpha: a.alpha }),
  softplus: (x, a) => gb.softplus(x, { beta: a.beta, threshold: a.threshold }),
  clamp: (x, a) => gb.clamp(x, { min: a.min, max: a.max }),
  powScalar: (x, a) => gb.powScalar(x, a.exponent),
};
const plainUnary = ['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'abs', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'square', 'reciprocal', 'sign', 'gelu', 'silu', 'log1p', 'expm1', 'floor', 'ceil', 'round', 'erf'] as const;
const binaryOps = ['add', 'sub', 'mul', 'div', 'pow', 'maximum', 'minimum', 'atan2', 'eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const;

const OPS: Record<string, (x: Tensor[], a: Attrs) => Result> = {
  ...Object.fromEntries(plainUnary.map((op) => [op, (x: Tensor[]) => (gb[op] as (t: Tensor) => Tensor)(x[0]!)])),
  ...Object.fromEntries(Object.entries(unaryParams).map(([op, f]) => [op, (x: Tensor[], a: Attrs) => f(x[0]!, a)])),
  ...Object.fromEntries(binaryOps.map((op) => [op, (x: Tensor[]) => gb[op](x[0]!, x[1]!)])),
  where: (x) => gb.where(x[0]!, x[1]!, x[2]!),
  sum: (x, a) => gb.sum(x[0]!, reduceOpts(a)),
  mean: (x, a) => gb.mean(x[0]!, reduceOpts(a)),
  prod: (x, a) => gb.prod(x[0]!, reduceOpts(a)),
  amax: (x, a) => gb.amax(x[0]!, reduceOpts(a)),
  amin: (x, a) => gb.amin(x[0]!, reduceOpts(a)),
  logsumexp: (x, a) => gb.logsumexp(x[0]!, { dim: a.dim, keepdim: a.keepdim }),
  var: (x, a) => gb.variance(x[0]!, { ...reduceOpts(a), correction: a.correction }),
  std: (x, a) => gb.std(x[0]!, { ...reduceOpts(a), correction: a.correction }),
  norm: (x, a) => gb.norm(x[0]!, { ...reduceOpts(a), p: a.p }),
  max: (x, a) => (a.dim === undefined ? gb.max(x[0]!) : gb.max(x[0]!, { dim: a.dim, keepdim: a.keepdim })),
  min: (x, a) => (a.dim === undefined ? gb.min(x[0]!) : gb.min(x[0]!, { dim: a.dim, keepdim: a.keepdim })),
  argmax: (x, a) => gb.argmax(x[0]!, { dim: a.dim, keepdim: a.keepdim }),
  argmin: (x, a) => gb.argmin(x[0]!, { dim: a.dim, keepdim: a.keepdim }),
  matmul: (x) => gb.matmul(x[0]!, x[1]!),
  linear: (x) => gb.linear(x[0]!, x[1]!, x[2]),
  softmax: (x, a) => gb.softmax(x[0]!, a.dim),
  logSoftmax: (x, a) => gb.logSoftmax(x[0]!, a.dim),
  crossEntropy: (x, a) => gb.crossEntropy(x[0]!, x[1]!, { reduction: a.reduction, labelSmoothing: a.labelSmoothing }),
  nllLoss: (x, a) => gb.nllLoss(x[0]!, x[1]!, { reduction: a.reduction }),
  mseLoss: (x, a) => gb.mseLoss(x[0]!, x[1]!, { reduction: a.reduction }),
  binaryCrossEntropyWithLogits: (x, a) => gb.binaryCrossEntropyWithLogits(x[0]!, x[1]!, { reduction: a.reduction }),
  reshape: (x, a) => gb.reshape(x[0]!, a.shape),
  permute: (x, a) => gb.permute(x[0]!, a.dims),
  transpose: (x, a) => gb.transpose(x[0]!, a.dim0, a.dim1),
  expand: (x, a) => gb.expand(x[0]!, a.shape),
  slice: (x, a) => gb.slice(x[0]!, a.dim, { start: a.start ?? undefined, end: a.end ?? undefined, step: a.step ?? undefined }),
  flip: (x, a) => gb.flip(x[0]!, a.dims),
  cat: (x, a) => gb.cat(x, a.dim),
  stack: (x, a) => gb.stack(x, a.dim),
  pad: (x, a) => gb.pad(x[0]!, a.pad, a.value),
  squeeze: (x, a) => gb.squeeze(x[0]!, a.dim),
  unsqueeze: (x, a) => gb.unsqueeze(x[0]!, a.dim),
  gather: (x, a) => gb.gather(x[0]!, a.dim, x[1]!),
  scatterAdd: (x, a) => gb.scatterAdd(x[0]!, a.dim, x[1]!, x[2]!),
  indexSelect: (x, a) => gb.indexSelect(x[0]!, a.dim, x[1]!),
  tril: (x, a) => gb.tril(x[0]!, a.diagonal),
  triu: (x, a) => gb.triu(x[0]!, a.diagonal),
  conv2d: (x, a) => gb.conv2d(x[0]!, x[1]!, x[2], a),
  convTranspose2d: (x, a) => gb.convTranspose2d(x[0]!, x[1]!, x[2], a),
  maxPool2d: (x, a) => gb.maxPool2d(x[0]!, a as gb.MaxPool2dOptions),
  reluMaxPool2d: (x, a) => gb.reluMaxPool2d(x[0]!, a as gb.MaxPool2dOptions),
  avgPool2d: (x, a) => gb.avgPool2d(x[0]!, a as gb.AvgPool2dOptions),
  adaptiveAvgPool2d: (x, a) => gb.adaptiveAvgPool2d(x[0]!, a.outputSize),
  interpolate: (x, a) => gb.interpolate(x[0]!, a),
  gridSample: (x, a) => gb.gridSample(x[0]!, x[1]!, a),
  affineGrid: (x, a) => gb.affineGrid(x[0]!, a.size, { alignCorners: a.alignCorners }),
  batchNorm: (x, a) => gb.batchNorm(x[0]!, x[1]!, x[2]!, x[3], x[4], a),
  unfold: (x, a) => gb.unfold(x[0]!, a as gb.UnfoldOptions),
  fold: (x, a) => gb.fold(x[0]!, a as gb.FoldOptions),
};

const FWD = { atol: 1e-6, rtol: 1e-3 };
const GRAD = { atol: 1e-4, rtol: 1e-3 };

const dir = new URL('./fixtures/ops/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.json'));

function load(t: FixtureTensor): Tensor {
  return gb.tensor(t.dtype === 'int32' ? Int32Array.from(t.data) : Float32Array.from(t.data), t.shape, { dtype: t.dtype ?? 'float32', requiresGrad: !!t.grad });
}

async function checkTensor(actual: Tensor, expected: FixtureTensor, tol: { atol: number; rtol: number }, what: string) {
  expect(actual.shape, `${what}: shape`).toEqual(expected.shape);
  if (expected.dtype === 'int32') expect(actual.dtype, `${what}: dtype`).toBe('int32');
  expectClose(await actual.toArray(), expected.data, { ...tol, what });
}

for (const file of files) {
  const fixture = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as { cases: Case[] };
  describe(`PyTorch fixtures: ${file}`, () => {
    for (const c of fixture.cases) {
      it(c.id, async () => {
        const run = OPS[c.op];
        expect(run, `no harness entry for op '${c.op}'`).toBeDefined();
        const inputs = c.inputs.map(load);
        const result = run!(inputs, c.attrs);
        const out = result instanceof gb.Tensor ? result : result.values;
        if (c.outputs) {
          const r = result as { values: Tensor; indices: Tensor };
          await checkTensor(r.values, c.outputs[0]!, FWD, `${c.id} values`);
          await checkTensor(r.indices, c.outputs[1]!, FWD, `${c.id} indices`);
        } else {
          await checkTensor(out, c.output!, FWD, `${c.id} output`);
        }
        if (!c.gradOutput || !c.grads) return;
        const wrt = inputs.filter((_, i) => c.inputs[i]!.grad);
        const g = gb.grad([out], wrt, { gradOutputs: [load(c.gradOutput)], createGraph: !!c.gradGrads, allowUnused: true });
        let k = 0;
        for (let i = 0; i < inputs.length; i++) {
          if (!c.inputs[i]!.grad) continue;
          const expected = c.grads[i]!;
          const got = g[k++];
          if (!got) {
            expect(expected.data.every((v) => v === 0), `${c.id}: grad ${i} missing but expected non-zero`).toBe(true);
            continue;
          }
          await checkTensor(got, expected, GRAD, `${c.id} grad ${i}`);
        }
        if (!c.gradGrads || !c.gradGradOutput) return;
        let total: Tensor | undefined;
        k = 0;
        for (let i = 0; i < inputs.length; i++) {
          if (!c.inputs[i]!.grad) continue;
          const gi = g[k++];
          const v = c.gradGradOutput[i];
          if (!gi || !v || !gi.requiresGrad) continue;
          const term = gb.sum(gb.mul(gi, load(v)));
          total = total ? gb.add(total, term) : term;
        }
        const gg = total ? gb.grad([total], wrt, { allowUnused: true }) : wrt.map(() => null);
        k = 0;
        for (let i = 0; i < inputs.length; i++) {
          if (!c.inputs[i]!.grad) continue;
          const expected = c.gradGrads[i]!;
          const got = gg[k++];
          if (!got) expect(expected.data.every((v) => Math.abs(v) < 1e-6), `${c.id}: second-order grad ${i} missing but expected non-zero`).toBe(true);
          else await checkTensor(got, expected, GRAD, `${c.id} grad-of-grad ${i}`);
        }
      });
    }
  });
}
