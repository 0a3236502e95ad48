/**
 * The student's API (issue 23), the public names: the zoo, loadModel(path), normalisation as data,
 * data sets as tensors, saveImage, a method for every elementwise function, roll, tensor bounds
 * for clamp. Everything is imported from the package's Node entry, as a user would.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as gb from '../src/node.ts';
import * as elementwise from '../src/tensor/ops/elementwise.ts';
import { parseArgs } from '../src/cli/args.ts';
import { train, TRAIN_OPTIONS } from '../src/cli/train.ts';
import { expectClose } from './helpers.ts';

const arr = async (t: gb.Tensor) => Array.from(await t.toArray());
process.env.GLASSBOX_DATA ??= '/work/shared/datasets';

describe('models and loadModel(path)', () => {
  it('the zoo is public: classes, create(name) and shortcuts', () => {
    expect(gb.models.lenet5()).toBeInstanceOf(gb.models.LeNet5);
    expect(gb.models.create('mnist-cnn')).toBeInstanceOf(gb.models.MnistCnn);
    expect(gb.models.names()).toContain('cifar-net');
    expect(() => gb.models.create('lenet')).toThrow(/unknown model 'lenet'. Known models: .*lenet5/);
  });

  it('loadModel(path) rebuilds a fixture model: architecture, weights, normalisation', async () => {
    const loaded = await gb.loadModel('tests/fixtures/models/lenet-mnist.safetensors');
    expect(loaded.model).toBeInstanceOf(gb.models.LeNet5);
    expect(loaded.architecture).toBe('lenet5');
    expect(loaded.normalization).toEqual(gb.normalization.mnist);
    expect(loaded.model.training).toBe(false);
    // the weights are the file's: the same as loading into a model built by hand
    const byHand = gb.models.lenet5();
    await gb.loadModel('tests/fixtures/models/lenet-mnist.safetensors', byHand);
    const [name, w] = loaded.model.namedParameters()[0]!;
    expect(await arr(w)).toEqual(await arr(byHand.stateDict().get(name)!));
  });

  it('a saved model records its architecture, input and normalisation, and comes back whole', async () => {
    gb.manualSeed(2);
    const model = gb.models.create('mlp', { classes: 10 });
    const path = join(mkdtempSync(join(tmpdir(), 'gb-api-')), 'mlp.safetensors');
    const norm = gb.normalization['fashion-mnist']!;
    await gb.saveModel(path, model, { metadata: gb.modelMetadata({ architecture: 'mlp', dataset: 'fashion-mnist', input: { channels: 1, height: 28, width: 28, classes: 10 }, normalization: norm }) });
    const back = await gb.loadModel(path);
    expect(back.normalization).toEqual({ mean: [...norm.mean], std: [...norm.std] });
    expect(back.metadata.normalization).toBe(JSON.stringify({ mean: norm.mean, std: norm.std }));
    const x = gb.rand([2, 1, 28, 28]);
    expect(await arr(back.model.forward(x))).toEqual(await arr(model.eval().forward(x)));
  });

  it('glassbox train records the normalisation and input in model.safetensors; loadModel(path) reads them', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-api-train-'));
    await train(parseArgs(['--model', 'mlp', '--dataset', 'mnist', '--limit', '128', '--val-limit', '100', '--epochs', '1', '--batch-size', '64', '--out', out], TRAIN_OPTIONS));
    const loaded = await gb.loadModel(join(out, 'model.safetensors'));
    expect(JSON.parse(loaded.metadata.normalization!)).toEqual({ mean: [0.1307], std: [0.3081] });
    expect(JSON.parse(loaded.metadata.input!)).toEqual({ channels: 1, height: 28, width: 28, classes: 10 });
    expect([loaded.architecture, loaded.dataset]).toEqual(['mlp', 'mnist']);
  });

  it("a file that does not name its architecture fails, saying what to do", async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'gb-api-')), 'bare.safetensors');
    await gb.saveModel(path, gb.models.lenet5());
    await expect(gb.loadModel(path)).rejects.toThrow(/does not name its architecture.*loadModel\(path, model\)/);
  });
});

describe('normalisation and data sets', () => {
  it('normalize / denormalize apply a data set normalisation per channel', async () => {
    const x = gb.tensor([0, 0.5, 1, 0.25, 0.5, 0.75], [2, 1, 1, 3]).reshape([1, 2, 1, 3]);
    const norm = { mean: [0.5, 0.25], std: [0.5, 0.25] };
    expectClose(await arr(gb.normalize(x, norm)), [-1, 0, 1, 0, 1, 2], { atol: 1e-6, rtol: 1e-6, what: 'normalised' });
    expectClose(await arr(gb.denormalize(gb.normalize(x, norm), norm)), await arr(x), { atol: 1e-6, rtol: 1e-6, what: 'round trip' });
    expect(() => gb.normalize(x, gb.normalization.cifar10!)).toThrow(/has 3 values but the images \[1, 2, 1, 3\] have 2 channels/);
    expect(gb.normalization.mnist).toEqual({ mean: [0.1307], std: [0.3081] });
    expect(Object.isFrozen(gb.normalization.mnist)).toBe(true);
  });

  it('datasets.mnist({split, limit}) gives float images in [0, 1] and int32 labels', async () => {
    const test = await gb.datasets.mnist({ split: 'test', limit: 8 });
    expect(test.images.shape).toEqual([8, 1, 28, 28]);
    expect(test.labels.dtype).toBe('int32');
    const raw = await gb.datasets.loadMnist({ split: 'test', limit: 8 });
    expect(await arr(test.labels)).toEqual(Array.from(raw.labels));
    const px = await test.images.toArray();
    expect(Math.max(...px)).toBeLessThanOrEqual(1);
    expect(px[300]).toBeCloseTo(raw.images[300]! / 255, 6);
    const normed = await gb.datasets.mnist({ split: 'test', limit: 8, normalize: true });
    expect((await normed.images.toArray())[300]).toBeCloseTo((raw.images[300]! / 255 - 0.1307) / 0.3081, 5);
    await expect(gb.datasets.mnist({ split: 'valid' as 'test' })).rejects.toThrow(/split must be 'train' or 'test'/);
    await expect(gb.datasets.mnist({ limt: 8 } as object)).rejects.toThrow(/unknown option "limt"/);
  });

  it('saveImage writes a tensor as a PNG', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'gb-api-')), 'x.png');
    await gb.saveImage(path, gb.tensor([0, 0.5, 1, 1], [1, 2, 2]));
    const img = gb.readPng(path);
    expect([img.width, img.height]).toEqual([2, 2]);
    expect([img.data[0], img.data[4], img.data[8]]).toEqual([0, 128, 255]);
  });
});

describe('tensor methods, roll, clamp with tensor bounds', () => {
  it('every elementwise function of one tensor has a method', () => {
    const internal = new Set(['elementwiseKernel', 'unary', 'reluBackward', 'cast', 'copyKernel', 'asPlainArray', 'copyInto', 'assertSameShape', 'where']);
    const missing = Object.entries(elementwise)
      .filter(([name, v]) => typeof v === 'function' && !internal.has(name))
      .map(([name]) => name)
      .filter((name) => typeof (gb.Tensor.prototype as unknown as Record<string, unknown>)[name] !== 'function');
    expect(missing).toEqual([]);
  });

  it('methods agree with the functions', async () => {
    const x = gb.tensor([-1.5, 0, 2.5]);
    expect(await arr(x.sign())).toEqual(await arr(gb.sign(x)));
    expect(await arr(x.leakyRelu({ negativeSlope: 0.1 }))).toEqual(await arr(gb.leakyRelu(x, { negativeSlope: 0.1 })));
    expect(await arr(x.where(gb.tensor([1, 0, 1]), 7))).toEqual([-1.5, 7, 2.5]);
  });

  it('roll follows torch.roll (flattened, one dim, several dims, negative shifts) and its gradient rolls back', async () => {
    const x = gb.arange(6).reshape([2, 3]);
    // torch.roll(torch.arange(6).reshape(2, 3), 1) -> [[5, 0, 1], [2, 3, 4]]
    expect(await x.roll(1).tolist()).toEqual([[5, 0, 1], [2, 3, 4]]);
    expect(await gb.roll(x, -1, 1).tolist()).toEqual([[1, 2, 0], [4, 5, 3]]);
    expect(await gb.roll(x, [1, 4], [0, 1]).tolist()).toEqual([[5, 3, 4], [2, 0, 1]]);
    const v = gb.tensor([1, 2, 3, 4], { requiresGrad: true });
    const [g] = gb.grad([gb.sum(gb.mul(gb.roll(v, 1), gb.tensor([10, 20, 30, 40])))], [v]);
    expect(await arr(g!)).toEqual([20, 30, 40, 10]);
    expect(() => gb.roll(x, [1, 2], 0)).toThrow(/2 shifts for 1 dims/);
  });

  it('clamp takes tensor bounds (PGD projection) and passes the gradient inside them', async () => {
    const x = gb.tensor([0.1, 0.5, 0.9], { requiresGrad: true });
    const lo = gb.tensor([0.2, 0.2, 0.2]);
    const hi = gb.tensor([0.8, 0.8, 0.8]);
    const y = gb.clamp(x, { min: lo, max: hi });
    expectClose(await arr(y), [0.2, 0.5, 0.8], { atol: 1e-7, rtol: 0, what: 'clamped' });
    expect(await arr(gb.grad([gb.sum(y)], [x])[0]!)).toEqual([0, 1, 0]);
    expectClose(await arr(x.clamp({ max: hi })), [0.1, 0.5, 0.8], { atol: 1e-7, rtol: 0, what: 'max only' });
  });
});
