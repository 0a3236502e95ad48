/**
 * D1, ReLU symmetries (src/xai/weightspace/symmetry.ts): a random permutation of every hidden
 * layer's units plus a random positive rescaling leaves the outputs of the trained LeNet-5, an MLP
 * and a batch-norm conv net unchanged to float tolerance; the canonical form maps equivalent nets
 * to the same parameters and two differently trained nets to different ones; nets the unit graph
 * cannot model, and bad permutations, are refused by name.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { unitGraph } from '../src/xai/weightspace/graph.ts';
import { maxStateDifference, readState, writeState, type WeightState } from '../src/xai/weightspace/state.ts';
import { canonicalForm, permuteUnits, ReluSymmetry } from '../src/xai/weightspace/symmetry.ts';
import { mnist } from '../src/data/datasets.ts';
import { trainedModel } from './trained-models.ts';

const { nn } = gb;

/** Largest absolute logit difference over 64 MNIST test images, and the logits' largest magnitude. */
async function logitChange(model: gb.nn.Module, a: WeightState, b: WeightState, x: gb.Tensor): Promise<{ change: number; scale: number }> {
  const run = async (s: WeightState) => {
    writeState(model, s);
    return Float32Array.from(await gb.noGrad(() => model.forward(x)).toArrayAndDispose());
  };
  const ya = await run(a);
  const yb = await run(b);
  let change = 0;
  let scale = 0;
  for (let i = 0; i < ya.length; i++) {
    change = Math.max(change, Math.abs(ya[i]! - yb[i]!));
    scale = Math.max(scale, Math.abs(ya[i]!));
  }
  return { change, scale };
}

describe('ReLU symmetries on the trained LeNet-5', () => {
  let model: gb.nn.Module;
  let other: gb.nn.Module;
  let x: gb.Tensor;
  beforeAll(async () => {
    model = (await trainedModel('lenet-mnist')).model;
    other = (await trainedModel('lenet-mnist-random-labels')).model;
    const data = await mnist({ split: 'test', limit: 64, normalize: true });
    x = gb.keep(data.images);
  }, 120_000);

  it('finds its four hidden unit groups, with the flatten block of 5x5 positions', () => {
    const g = unitGraph(model, [1, 28, 28]);
    expect(g.groups.map((u) => [u.layer, u.size, u.consumer.layer, u.consumer.block])).toEqual([
      ['features.0', 6, 'features.3', 25],
      ['features.3', 16, 'classifier.1', 25],
      ['classifier.1', 120, 'classifier.3', 1],
      ['classifier.3', 84, 'classifier.5', 1],
    ]);
  });

  it('a random permutation plus rescaling (scales e^N(0,1)) leaves the logits unchanged', async () => {
    const sym = await ReluSymmetry.create(model, [1, 28, 28]);
    const state = await sym.state();
    const moved = sym.transform(state, sym.random(3, 1));
    // the weights really moved
    expect(maxStateDifference(state, moved).difference).toBeGreaterThan(0.1);
    const { change, scale } = await logitChange(model, state, moved, x);
    expect(change / scale).toBeLessThan(2e-5);
    writeState(model, state);
  });

  it('canonical forms of two equivalent nets are equal; of two differently trained nets, different', async () => {
    const sym = await ReluSymmetry.create(model, [1, 28, 28]);
    const state = await sym.state();
    const moved = sym.transform(state, sym.random(11, 1));
    const ca = sym.canonicalForm(state).state;
    const cb = sym.canonicalForm(moved).state;
    expect(maxStateDifference(ca, cb).difference).toBeLessThan(1e-4);
    // the canonical form computes the same function as the net
    const { change, scale } = await logitChange(model, state, ca, x);
    expect(change / scale).toBeLessThan(2e-5);
    const co = canonicalForm(await readState(other), sym.graph).state;
    expect(maxStateDifference(ca, co).difference).toBeGreaterThan(0.1);
    writeState(model, state);
  });

  it('refuses a permutation that is not one, naming the layer', async () => {
    const g = unitGraph(model, [1, 28, 28]);
    const state = await readState(model);
    expect(() => permuteUnits(state, g, new Map([['features.0', Int32Array.from([0, 1, 2, 3, 4, 4])]]))).toThrow(/permutation of 'features.0' is not a permutation of 0..5/);
    expect(() => permuteUnits(state, g, new Map([['classifier.5', Int32Array.from([0])]]))).toThrow(/'classifier.5' has no hidden units/);
  });
});

describe('ReLU symmetries with batch norm, an MLP, and nets they do not fit', () => {
  it('a conv net with batch norm (random weights and running statistics): outputs unchanged, canonical forms equal', async () => {
    gb.manualSeed(5);
    // CifarNet's pattern (conv without bias, batch norm, ReLU, max pooling, global average pooling) at a small size
    const model = new nn.Sequential(
      new nn.Conv2d(3, 4, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(4), new nn.ReLU(), new nn.MaxPool2d(2),
      new nn.Conv2d(4, 6, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(6), new nn.ReLU(),
      new nn.AdaptiveAvgPool2d(1), new nn.Flatten(), new nn.Linear(6, 5),
    );
    // running statistics far from (0, 1), so carrying them along is tested
    for (const [name, t] of model.namedBuffers())
      if (name.endsWith('runningMean')) t.assign(gb.randn(t.shape).mul(0.5));
      else if (name.endsWith('runningVar')) t.assign(gb.rand(t.shape).add(0.5));
    for (const [name, t] of model.namedParameters()) if (/^(1|5)\.(weight|bias)$/.test(name)) t.assign(gb.randn(t.shape));
    const sym = await ReluSymmetry.create(model, [3, 8, 8]);
    expect(sym.graph.groups[0]!.batchNorm).toBe('1');
    expect(sym.graph.groups[0]!.scaled).toEqual(['1.weight', '1.bias']);
    expect(await sym.functionChange(4, 1)).toBeLessThan(2e-5);
    const state = await sym.state();
    const a = sym.canonicalForm(state).state;
    const b = sym.canonicalForm(sym.transform(state, sym.random(9, 1))).state;
    expect(maxStateDifference(a, b).difference).toBeLessThan(1e-4);
  });

  it('an MLP', async () => {
    gb.manualSeed(6);
    const model = gb.models.create('mlp', { channels: 1, height: 8, width: 8, classes: 5 });
    const sym = await ReluSymmetry.create(model, [1, 8, 8]);
    expect(sym.graph.groups.map((g) => g.size)).toEqual([256, 128]);
    expect(await sym.functionChange(2, 1)).toBeLessThan(2e-5);
  });

  it('refuses a residual net (the check sees the outputs change) and a linear classifier (no hidden units)', async () => {
    const resnet = new gb.models.ResNet({ widths: [2, 2, 2, 2], classes: 10, inChannels: 3 });
    await expect(ReluSymmetry.create(resnet, [3, 8, 8])).rejects.toThrow(/(changed the outputs|does not directly follow|do not form a chain|runs twice)/);
    const linear = gb.models.create('softmax-regression', { channels: 1, height: 8, width: 8, classes: 5 });
    expect(() => unitGraph(linear, [1, 8, 8])).toThrow(/no hidden units/);
  });
});
