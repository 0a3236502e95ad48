/**
 * The pruning methods (src/xai/pruning): SynFlow's and SNIP's scores on nets small enough to work
 * out by hand, SynFlow on a chain deep enough to overflow float32 against a float64 reference,
 * pruning at initialisation to an exact density, and one round of iterative magnitude pruning on
 * a small MLP trained on MNIST: the per-layer fractions, the magnitude criterion, and rewinding to
 * the initial values (and to iteration k) at the unmasked positions.
 */
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import type { Tensor } from '../src/index.ts';
import { loadDataset } from '../datasets/index.ts';
import { NORMALISATION } from '../src/train/data-loader.ts';
import { loadSafetensors, saveSafetensors } from '../src/nn/safetensors.ts';
import { PruningMask, prunableWeights } from '../src/xai/pruning/mask.ts';
import { snipScores, synflowScores } from '../src/xai/pruning/scores.ts';
import { PruneAtInit } from '../src/xai/pruning/at-init.ts';
import { IterativeMagnitudePruning } from '../src/xai/pruning/imp.ts';
import { MemoryStore } from '../src/xai/pruning/store.ts';
import { splitDataset, trainIterations, type TrainData, type TrainRecipe } from '../src/xai/pruning/train.ts';

const { nn } = gb;
const arr = async (t: Tensor) => Array.from(await t.toArray());

/** Every ratio got / expected is the same number (within rtol): the scores up to one positive factor. */
function expectProportional(got: number[], expected: number[], rtol = 1e-5): void {
  const k = got[0]! / expected[0]!;
  expect(k).toBeGreaterThan(0);
  got.forEach((g, i) => expect(Math.abs(g - k * expected[i]!)).toBeLessThanOrEqual(rtol * Math.abs(k * expected[i]!) + 1e-30));
}

describe('scores by hand', () => {
  it('SynFlow on a 2-layer linear chain: |w| * dR/d|w| with R = 1^T |W2| |W1| 1; biases and signs play no part', async () => {
    const net = new nn.Sequential(new nn.Linear(3, 2), new nn.ReLU(), new nn.Linear(2, 1));
    const [l1, , l2] = net.namedChildren().map(([, m]) => m) as [gb.nn.Linear, unknown, gb.nn.Linear];
    l1.weight.assign(gb.tensor([[0.1, -0.2, 0.3], [-0.4, 0.5, -0.6]]));
    l2.weight.assign(gb.tensor([[2, -1]]));
    l1.bias!.assign(gb.tensor([-5, 7]));
    const scores = await synflowScores(net, [3]);
    // R = 2 * (0.1 + 0.2 + 0.3) + 1 * (0.4 + 0.5 + 0.6); dR/d|W1_ij| = |W2_i|, dR/d|W2_i| = sum_j |W1_ij|
    const expected = [0.1 * 2, 0.2 * 2, 0.3 * 2, 0.4 * 1, 0.5 * 1, 0.6 * 1, 2 * 0.6, 1 * 1.5];
    expectProportional([...scores.get('0.weight')!, ...scores.get('2.weight')!], expected);
    // the model is left as it was: signed weights, its biases
    expect(await arr(l1.weight)).toEqual(await arr(gb.tensor([0.1, -0.2, 0.3, -0.4, 0.5, -0.6])));
    expect(await arr(l1.bias!)).toEqual([-5, 7]);
    expect(l1.weight.grad).toBeNull();
  });

  it('SynFlow on a 16-layer chain whose R overflows float32 (~1e40): the float64 scores, up to one factor', async () => {
    gb.manualSeed(4);
    const widths = [6, ...Array(15).fill(12), 3];
    const layers: gb.nn.Module[] = [];
    for (let i = 0; i + 1 < widths.length; i++) layers.push(new nn.Linear(widths[i]!, widths[i + 1]!, { bias: false }), new nn.ReLU());
    const net = new nn.Sequential(...layers.slice(0, -1));
    const ws = prunableWeights(net).map(([, w]) => w);
    for (const w of ws) w.assign(w.mul(200)); // |w| ~ 30: each layer multiplies the flow by ~350
    const W = await Promise.all(ws.map(async (w) => (await arr(w)).map(Math.abs)));
    // float64: forward flows f_l = |W_l| f_{l-1} from ones, backward b_l = |W_l|^T b_{l+1} from ones
    const f: number[][] = [Array(widths[0]).fill(1)];
    W.forEach((w, l) => f.push(Array.from({ length: widths[l + 1]! }, (_, i) => f[l]!.reduce((s, x, j) => s + w[i * widths[l]! + j]! * x, 0))));
    const b: number[][] = Array(W.length + 1);
    b[W.length] = Array(widths[W.length]).fill(1);
    for (let l = W.length - 1; l >= 0; l--) b[l] = Array.from({ length: widths[l]! }, (_, j) => b[l + 1]!.reduce((s, y, i) => s + W[l]![i * widths[l]! + j]! * y, 0));
    expect(f[W.length]!.reduce((s, v) => s + v, 0)).toBeGreaterThan(3.4e38); // R itself overflows float32
    const expected = W.flatMap((w, l) => w.map((v, k) => v * b[l + 1]![Math.floor(k / widths[l]!)]! * f[l]![k % widths[l]!]!));
    const scores = await synflowScores(net, [6]);
    const got = [...scores.values()].flatMap((s) => [...s]);
    expect(got.every(Number.isFinite)).toBe(true);
    expectProportional(got, expected, 1e-3);
  });

  it('SNIP: |dL/dw * w| on the batch', async () => {
    const fc = new nn.Linear(2, 1, { bias: false });
    fc.weight.assign(gb.tensor([[3, -4]]));
    const scores = await snipScores(fc, [{ x: gb.tensor([[1, 2]]), y: gb.tensor([0], { dtype: 'int32' }) }], (logits) => logits.sum());
    expect([...scores.get('weight')!]).toEqual([3, 8]);
    expect(fc.weight.grad).toBeNull();
  });
});

describe('pruning at initialisation', () => {
  for (const method of ['synflow', 'magnitude', 'random'] as const) {
    it(`${method} keeps exactly the density asked for, and the model's masked weights are 0.0`, async () => {
      gb.manualSeed(1);
      const model = new nn.Sequential(new nn.Conv2d(1, 4, 3), new nn.ReLU(), new nn.MaxPool2d(2), new nn.Flatten(), new nn.Linear(36, 8), new nn.ReLU(), new nn.Linear(8, 3));
      const mask = await new PruneAtInit(model, { method, inputShape: [1, 8, 8], iterations: 10 }).prune(0.1);
      expect(mask.collapsedLayers()).toEqual([]);
      const total = mask.layers().reduce((s, l) => s + l.size, 0);
      expect(mask.layers().reduce((s, l) => s + l.kept, 0)).toBe(Math.round(0.1 * total));
      for (const [name, w] of prunableWeights(model)) {
        const v = await arr(w);
        const keep = mask.keepOf(name);
        expect(v.filter((x, i) => !keep[i] && !Object.is(x, 0))).toEqual([]);
      }
      PruningMask.remove(model);
    });
  }

  it('refuses SynFlow without an input shape, SNIP without data, an unknown method', () => {
    const model = gb.models.create('lenet5');
    expect(() => new PruneAtInit(model, { method: 'synflow' })).toThrow(/'synflow' needs inputShape/);
    expect(() => new PruneAtInit(model, { method: 'snip' })).toThrow(/'snip' needs batches/);
    expect(() => new PruneAtInit(model, { method: 'grasp' as never })).toThrow(/unknown method 'grasp'; choose magnitude, random, snip, synflow/);
  });
});

describe('iterative magnitude pruning on a small MLP (MNIST subset)', async () => {
  const all = await loadDataset('mnist', { split: 'train', limit: 700 });
  const [trainPart, rest] = splitDataset(all, 500);
  const [val, test] = splitDataset(rest, 100);
  const data: TrainData = { train: trainPart, val, test, ...NORMALISATION.mnist! };
  const recipe: TrainRecipe = { iterations: 12, batchSize: 50, optimizer: 'adam', lr: 2e-3, evalEvery: 4 };
  const build = () => new gb.models.MLP(784, [40, 20], 10);

  it('one round prunes 20% / 20% / 10% of the trained weights with the smallest magnitudes; the ticket restarts from the initial values', async () => {
    gb.manualSeed(9);
    const model = build();
    const init = await Promise.all(prunableWeights(model).map(([, w]) => arr(w)));
    const started: Record<string, number[][]> = {};
    const store = new MemoryStore();
    const imp = new IterativeMagnitudePruning(model, {
      levels: 1, recipe, data, build, seed: 2,
      onTrainStart: async (level, branch, m) => void (started[`${level}/${branch}`] = await Promise.all(prunableWeights(m).map(([, w]) => arr(w)))),
    });
    const levels = await imp.run(store);
    const sizes = [784 * 40, 40 * 20, 20 * 10];
    expect(levels[1]!.layers.map((l) => l.kept)).toEqual(sizes.map((n, i) => n - Math.round([0.2, 0.2, 0.1][i]! * n)));
    const mask = PruningMask.fromSafetensors((await store.load('level_1/mask.safetensors'))!, model);
    // the criterion: every kept trained weight is at least as large as every pruned one, layer by layer
    const trained = build();
    loadSafetensors(trained, (await store.load('level_0/main/trained.safetensors'))!);
    for (const [name, w] of prunableWeights(trained)) {
      const v = (await arr(w)).map(Math.abs);
      const keep = mask.keepOf(name);
      expect(Math.min(...v.filter((_, i) => keep[i]))).toBeGreaterThanOrEqual(Math.max(...v.filter((_, i) => !keep[i])));
    }
    // rewinding to initialisation: the ticket starts from θ0 where kept, exactly 0 where pruned
    const names = mask.names;
    started['1/main']!.forEach((values, l) => values.forEach((v, i) => expect(v).toBe(mask.keepOf(names[l]!)[i] ? init[l]![i] : 0)));
    // the controls: reinit starts elsewhere under the same mask; the random mask has the same counts per layer
    const reinitLayer0 = started['1/reinit']![0]!;
    expect(reinitLayer0.filter((v, i) => v !== 0 && v === init[0]![i]).length).toBe(0);
    expect(reinitLayer0.filter((v) => v !== 0).length).toBe(levels[1]!.layers[0]!.kept);
    expect(levels[1]!.randomMask!.testAccuracy).toBeGreaterThan(0);
    // resuming from the store trains nothing again and gives the same records
    const again = await new IterativeMagnitudePruning(build(), { levels: 1, recipe, data, build, seed: 2, onTrainStart: () => { throw new Error('trained again'); } }).run(store);
    expect(again.map((l) => l.ticket.testAccuracy)).toEqual(levels.map((l) => l.ticket.testAccuracy));
  });

  it('late rewinding restores the weights of iteration k (those of a run stopped at k), masked', async () => {
    gb.manualSeed(9);
    const model = build();
    const init = await saveSafetensors(model);
    let rewound: number[][] = [];
    const imp = new IterativeMagnitudePruning(model, {
      levels: 1, recipe, data, build, seed: 2, rewindIteration: 5, branches: [], rates: { global: 0.5 },
      onTrainStart: async (level, _b, m) => void (level === 1 && (rewound = await Promise.all(prunableWeights(m).map(([, w]) => arr(w))))),
    });
    const levels = await imp.run(new MemoryStore());
    expect(levels[1]!.density).toBeCloseTo(0.5, 4);
    const reference = build();
    loadSafetensors(reference, init);
    await trainIterations(reference, data, { ...recipe, iterations: 5 }, { seed: 2 });
    const ref = await Promise.all(prunableWeights(reference).map(([, w]) => arr(w)));
    let kept = 0;
    rewound.forEach((values, l) => values.forEach((v, i) => {
      if (v !== 0) {
        kept++;
        expect(v).toBe(ref[l]![i]);
      }
    }));
    expect(kept).toBe(Math.round(0.5 * (784 * 40 + 40 * 20 + 20 * 10)));
  });

  it('refuses a rewind point past the training and a global rate outside (0, 1)', () => {
    const model = build();
    expect(() => new IterativeMagnitudePruning(model, { levels: 1, recipe, data, build, rewindIteration: 12 })).toThrow(/rewindIteration must be an integer in \[0, 12\)/);
    expect(() => new IterativeMagnitudePruning(model, { levels: 1, recipe, data, build, rates: { global: 1 } })).toThrow(/global rate must be in \(0, 1\), got 1/);
  });
});
