/**
 * NaN propagates as in PyTorch 1.13, and NaN weights stop a run. Each expectation is PyTorch's
 * documented behaviour (torch was not installed where these were written, so they follow its
 * docs and its CPU kernels' rules rather than a fixture): relu, clamp, tanh, maximum / minimum
 * return NaN for NaN; max / min / amax / amin over a range holding NaN are NaN, and torch.max(x,
 * dim) / argmax give the first NaN's index; max_pool2d's window holding NaN is NaN with the last
 * NaN's index (its kernel takes `val > maxval || isnan(val)`); relu's backward (threshold_backward)
 * zeroes the gradient only where x <= 0, so it passes the gradient at NaN.
 */
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTrained } from '../src/cli/explain-setup.ts';
import { modelEntry } from '../src/nn/models/zoo.ts';
import { saveModel } from '../src/nn/safetensors-file.ts';
import { DataLoader } from '../src/train/data-loader.ts';
import { fit, TrainingDivergedError } from '../src/train/trainer.ts';
import type { ImageDataset } from '../datasets/index.ts';

const N = NaN;
const read = async (t: gb.Tensor) => Array.from(await t.toArray());

describe('elementwise ops propagate NaN', () => {
  it('relu, and its gradient passes at NaN', async () => {
    const x = gb.tensor([N, -1, 2, 0], { requiresGrad: true });
    const y = gb.relu(x);
    expect(await read(y)).toEqual([N, 0, 2, 0]);
    const [g] = gb.grad([gb.sum(gb.mul(y, gb.tensor([1, 2, 3, 4])))], [x]);
    // PyTorch: threshold_backward gives grad where not (x <= 0): NaN passes, x = 0 does not
    expect(await read(g!)).toEqual([1, 0, 3, 0]);
  });

  it('clamp, tanh, maximum and minimum (vec4 and strided kernels)', async () => {
    const x = gb.tensor([N, -3, 0.5, 3, 1, N, -1, 2]);
    expect(await read(gb.clamp(x, { min: -1, max: 1 }))).toEqual([N, -1, 0.5, 1, 1, N, -1, 1]);
    expect(await read(gb.clamp(x, { min: 0 }))).toEqual([N, 0, 0.5, 3, 1, N, 0, 2]);
    expect((await read(gb.tanh(x))).map(Number.isNaN)).toEqual([true, false, false, false, false, true, false, false]);
    expect(await read(gb.maximum(x, 0))).toEqual([N, 0, 0.5, 3, 1, N, 0, 2]);
    expect(await read(gb.minimum(0, x))).toEqual([N, -3, 0, 0, 0, N, -1, 0]);
    // NaN in the second operand, through a broadcast (strided) read
    const row = gb.tensor([[1, N]]);
    expect(await read(gb.maximum(gb.tensor([[5], [-5]]), row))).toEqual([5, N, 1, N]);
    // activations whose formulas already carry NaN keep doing so
    for (const f of [gb.leakyRelu, gb.elu, gb.softplus, gb.sigmoid, gb.gelu, gb.silu] as Array<(t: gb.Tensor) => gb.Tensor>)
      expect(Number.isNaN((await read(f(gb.tensor([N])))) [0]), f.name).toBe(true);
  });
});

describe('reductions propagate NaN', () => {
  it('max and min along a dim give NaN and the first NaN index (short rows and long rows)', async () => {
    const short = gb.tensor([[-1, N, 2, N], [0, 3, -2, 1]]);
    const mx = gb.max(short, { dim: 1 });
    expect(await read(mx.values)).toEqual([N, 3]);
    expect(await read(mx.indices)).toEqual([1, 1]);
    const mn = gb.min(short, { dim: 1 });
    expect(await read(mn.values)).toEqual([N, -2]);
    expect(await read(mn.indices)).toEqual([1, 2]);
    // 1000 columns run the workgroup variant: lanes stride through the row and combine in shared memory
    const long = new Float32Array(2000).map((_, i) => Math.sin(i));
    long[700] = N;
    long[300] = N;
    long[1000 + 999] = N;
    const t = gb.tensor(long, [2, 1000]);
    const lm = gb.max(t, { dim: 1 });
    expect(await read(lm.values)).toEqual([N, N]);
    expect(await read(lm.indices)).toEqual([300, 999]);
    expect(await read(gb.argmax(t, { dim: 1 }))).toEqual([300, 999]);
    expect(await read(gb.argmin(t))).toEqual([300]);
  });

  it('amax, amin, max over everything and softmax of a row holding NaN', async () => {
    const x = gb.tensor([[1, 2, 3], [4, N, 6]]);
    expect(await read(gb.amax(x))).toEqual([N]);
    expect(await read(gb.amin(x, { dim: 1 }))).toEqual([1, N]);
    expect(await read(gb.max(x))).toEqual([N]);
    // a long row that splits into chunks (a two-pass reduction)
    const big = gb.tensor(new Float32Array(100_000).map((_, i) => (i === 77_777 ? N : i)));
    expect(await read(gb.amax(big))).toEqual([N]);
    expect((await read(gb.softmax(x, 1))).slice(3).every(Number.isNaN)).toBe(true);
  });
});

describe('pooling propagates NaN', () => {
  // one plane 2x4: windows [N, -1 / 0, 3] and [2, N / -2, N] with 2x2 kernels
  const plane = () => gb.tensor([N, -1, 2, N, 0, 3, -2, N], [1, 1, 2, 4], { requiresGrad: true });

  it('maxPool2d: NaN with the last NaN index', async () => {
    const { values, indices } = gb.maxPool2dWithIndices(plane(), { kernelSize: 2 });
    expect(await read(values)).toEqual([N, N]);
    expect(await read(indices)).toEqual([0, 7]);
  });

  it('reluMaxPool2d equals maxPool2d(relu(x)), NaN included, and sends the gradient to the NaN', async () => {
    const x = plane();
    const fused = gb.reluMaxPool2d(x, { kernelSize: 2 });
    expect(await read(fused)).toEqual([N, N]);
    expect(await read(gb.maxPool2d(gb.relu(x), { kernelSize: 2 }))).toEqual([N, N]);
    const [g] = gb.grad([gb.sum(gb.mul(fused, gb.tensor([1, 2], [1, 1, 1, 2])))], [x]);
    expect(await read(g!)).toEqual([1, 0, 0, 0, 0, 0, 0, 2]);
    // a window of mixed signs without NaN still floors at zero
    expect(await read(gb.reluMaxPool2d(gb.tensor([-1, -2, -3, -4], [1, 1, 2, 2]), { kernelSize: 2 }))).toEqual([0]);
  });
});

describe('NaN weights', () => {
  const lenet = () => modelEntry('lenet5').build({ channels: 1, height: 28, width: 28, classes: 10 });

  it('reach the logits through conv, relu and max pooling (they evaluated at chance before)', async () => {
    gb.manualSeed(1);
    const model = lenet();
    const w = model.getSubmodule('features.0') as gb.nn.Conv2d;
    w.weight.assign(gb.full(w.weight.shape, N));
    model.eval();
    const logits = await read(model.forward(gb.randn([2, 1, 28, 28])));
    expect(logits.every(Number.isNaN)).toBe(true);
  });

  it('assertFiniteParameters names each non-finite tensor and its counts, and passes a finite model', async () => {
    gb.manualSeed(2);
    const model = lenet();
    await gb.nn.assertFiniteParameters(model, 'in a fresh model');
    const conv = model.getSubmodule('features.0') as gb.nn.Conv2d;
    conv.weight.assign(gb.full(conv.weight.shape, N));
    const last = model.parameters().at(-1)!;
    const values = await last.toArray();
    values[3] = Infinity;
    values[5] = N;
    last.assign(gb.tensor(values, last.shape));
    const lastName = model.namedParameters().at(-1)![0];
    const error = await gb.nn.assertFiniteParameters(model, 'in test.safetensors').catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain('non-finite weights in test.safetensors');
    expect((error as Error).message).toContain('features.0.weight has 150 non-finite values (NaN)');
    expect((error as Error).message).toContain(`${lastName} has 2 non-finite values (NaN and Inf)`);
  });

  it('are refused where eval, explain, evaluate and sanity load a model', async () => {
    gb.manualSeed(3);
    const model = lenet();
    const conv = model.getSubmodule('features.0') as gb.nn.Conv2d;
    conv.weight.assign(gb.full(conv.weight.shape, N));
    const dir = mkdtempSync(join(tmpdir(), 'glassbox-nan-'));
    try {
      const file = join(dir, 'model.safetensors');
      await saveModel(file, model);
      await expect(loadTrained(file, 'lenet5', 'mnist')).rejects.toThrow(`non-finite weights in ${file}: features.0.weight has 150 non-finite values (NaN)`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stop training at the end of the epoch, naming the parameter, even when the loss stays finite', async () => {
    // a parameter the loss never sees: its NaN reaches no loss, so only the weight check catches it
    class WithUnused extends gb.nn.Module {
      fc = new gb.nn.Linear(4, 2);
      unused = gb.nn.Parameter(gb.full([3], N));
      forward(x: gb.Tensor) {
        return this.fc.forward(gb.reshape(x, [x.shape[0]!, 4]));
      }
    }
    const data: ImageDataset = { name: 't', split: 'train', images: Uint8Array.from({ length: 16 }, (_, i) => 16 * i), labels: Uint8Array.of(0, 1, 0, 1), n: 4, channels: 1, height: 2, width: 2, classes: ['a', 'b'] };
    const model = new WithUnused();
    const run = fit(model, { epochs: 2, optimizer: new gb.optim.SGD([model.fc.weight, model.fc.bias!], { lr: 0.1 }), loss: (l, y) => gb.crossEntropy(l, y), train: new DataLoader(data, { batchSize: 2 }) });
    const error = await run.catch((e: Error) => e);
    expect(error).toBeInstanceOf(TrainingDivergedError);
    expect((error as Error).message).toMatch(/non-finite weights after epoch 1 .*: unused has 3 non-finite values \(NaN\)/);
  });
});
