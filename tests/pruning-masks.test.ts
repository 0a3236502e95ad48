/**
 * Pruning masks in the engine (nn.setParameterMask): masked entries are exactly 0.0 after every
 * optimiser's steps (SGD with momentum and weight decay, Nesterov, Adam, AdamW), in the parameter
 * and in its state; the gradient arrives masked; unmasked entries follow the same arithmetic as an
 * unmasked run, bit for bit. And the PruningMask family: exact counts, global vs per layer,
 * random masks of the same per-layer sizes, layer collapse refused.
 */
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import type { Tensor } from '../src/index.ts';
import { PruningMask } from '../src/xai/pruning/mask.ts';
import { impLayerRates, exponentialSchedule, compressionDensities } from '../src/xai/pruning/schedule.ts';

const { nn, optim } = gb;
const arr = async (t: Tensor) => Array.from(await t.toArray());

// a weight of 64 entries (a multiple of 4: the optimiser's vec4 kernels) and one of 6 (the scalar ones)
const shapes = [[8, 8], [2, 3]];
const maskValues = shapes.map((s, k) => Array.from({ length: s[0]! * s[1]! }, (_, i) => ((i * 7 + k) % 3 === 0 ? 0 : 1)));

type MakeOpt = (params: Tensor[]) => gb.optim.Optimizer;
const OPTIMISERS: Record<string, MakeOpt> = {
  'SGD, momentum 0.9, weight decay 0.1': (p) => new optim.SGD(p, { lr: 0.05, momentum: 0.9, weightDecay: 0.1 }),
  'SGD, Nesterov, weight decay 0.1': (p) => new optim.SGD(p, { lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.1 }),
  'SGD, no momentum, weight decay 0.1': (p) => new optim.SGD(p, { lr: 0.05, weightDecay: 0.1 }),
  'Adam, weight decay 0.1': (p) => new optim.Adam(p, { lr: 0.01, weightDecay: 0.1 }),
  AdamW: (p) => new optim.AdamW(p, { lr: 0.01, weightDecay: 0.1 }),
};

/** Parameters with fixed values, stepped `steps` times with fixed gradients (nonzero everywhere). */
async function run(make: MakeOpt, masked: boolean, steps = 6): Promise<{ params: number[][]; state: Map<string, number[]> }> {
  gb.manualSeed(11);
  const params = shapes.map((s) => nn.Parameter(gb.randn(s)));
  if (masked) params.forEach((p, k) => nn.setParameterMask(p, gb.tensor(maskValues[k]!, p.shape)));
  const opt = make(params);
  for (let step = 0; step < steps; step++) {
    params.forEach((p, k) => {
      p.grad?.dispose();
      p.grad = gb.keep(gb.randn(shapes[k]!).add(step * 0.1 + 0.5));
    });
    opt.step();
  }
  const state = new Map<string, number[]>();
  for (const [name, t] of opt.stateDict().tensors) state.set(name, await arr(t));
  return { params: await Promise.all(params.map(arr)), state };
}

describe('masks in the parameters: every optimiser keeps masked entries at exactly 0.0', () => {
  for (const [name, make] of Object.entries(OPTIMISERS)) {
    it(name, async () => {
      const plain = await run(make, false);
      const pruned = await run(make, true);
      pruned.params.forEach((values, k) =>
        values.forEach((v, i) => {
          // masked: +0.0 exactly (Object.is tells -0 apart); unmasked: the unmasked run's value, bit for bit
          if (maskValues[k]![i] === 0) expect(Object.is(v, 0)).toBe(true);
          else expect(v).toBe(plain.params[k]![i]);
        }),
      );
      expect(pruned.state.size).toBe(plain.state.size);
      for (const [key, values] of pruned.state) {
        const k = Number(key.split('.')[0]);
        values.forEach((v, i) => (maskValues[k]![i] === 0 ? expect(Object.is(v, 0)).toBe(true) : expect(v).toBe(plain.state.get(key)![i])));
      }
      // the gradients were never zero: without the mask every entry moves
      plain.params.forEach((values) => expect(values.filter((v) => v === 0)).toEqual([]));
    });
  }

  it('an all-ones mask changes nothing, bit for bit', async () => {
    gb.manualSeed(3);
    const a = nn.Parameter(gb.randn([16]));
    const b = nn.Parameter(a.mul(1));
    nn.setParameterMask(b, gb.ones([16]));
    const optA = new optim.Adam([a], { lr: 0.1, weightDecay: 0.01 });
    const optB = new optim.Adam([b], { lr: 0.1, weightDecay: 0.01 });
    for (let s = 0; s < 4; s++) {
      const g = gb.keep(gb.randn([16]));
      a.grad = gb.keep(g.mul(1));
      b.grad = gb.keep(g.mul(1));
      optA.step();
      optB.step();
      g.dispose();
    }
    expect(await arr(b)).toEqual(await arr(a));
  });

  it('L-BFGS keeps masked entries at exactly 0.0 too: its directions are sums of masked gradients and steps', async () => {
    // L-BFGS has no fused update of its own; this checks that the masked gradient alone is enough
    gb.manualSeed(5);
    const fc = new nn.Linear(6, 3, { bias: false });
    const mask = gb.tensor(Array.from({ length: 18 }, (_, i) => (i % 3 === 1 ? 0 : 1)), [3, 6]);
    nn.setParameterMask(fc.weight, mask);
    const x = gb.randn([8, 6]);
    const y = gb.randint(0, 3, [8]);
    const opt = new optim.LBFGS([fc.weight], { maxIter: 10 });
    const before = await arr(fc.weight);
    await opt.step(() => gb.tidy(() => { opt.zeroGrad(); const l = gb.crossEntropy(fc.forward(x), y); l.backward(); return l.detach(); }));
    const after = await arr(fc.weight);
    after.forEach((v, i) => (i % 3 === 1 ? expect(Object.is(v, 0)).toBe(true) : undefined));
    expect(after.filter((v, i) => i % 3 !== 1 && v !== before[i]).length).toBeGreaterThan(0);
  });

  it('backward delivers the gradient masked, and the mask can be removed', async () => {
    const fc = new nn.Linear(3, 2, { bias: false });
    nn.setParameterMask(fc.weight, gb.tensor([1, 0, 1, 0, 1, 1], [2, 3]));
    expect((await arr(fc.weight)).filter((_, i) => [1, 3].includes(i))).toEqual([0, 0]);
    fc.forward(gb.tensor([[1, 2, 3]])).sum().backward();
    expect(await arr(fc.weight.grad!)).toEqual([1, 0, 3, 0, 2, 3]);
    nn.setParameterMask(fc.weight, null);
    expect(nn.parameterMask(fc.weight)).toBeUndefined();
    fc.zeroGrad();
    fc.forward(gb.tensor([[1, 2, 3]])).sum().backward();
    expect(await arr(fc.weight.grad!)).toEqual([1, 2, 3, 1, 2, 3]);
  });

  it('refuses a mask of the wrong shape, or on a tensor that is not a parameter', () => {
    const p = nn.Parameter(gb.zeros([2, 3]));
    expect(() => nn.setParameterMask(p, gb.ones([3, 2]))).toThrow(/mask must be float32 of the parameter's shape \[2, 3\], got float32 \[3, 2\]/);
    expect(() => nn.setParameterMask(gb.zeros([2]), gb.ones([2]))).toThrow(/not a parameter/);
  });
});

describe('PruningMask', () => {
  const net = () => new nn.Sequential(new nn.Linear(10, 20), new nn.ReLU(), new nn.Linear(20, 5));
  const scoresFor = (m: PruningMask, f: (name: string, i: number) => number) => new Map(m.names.map((n) => [n, Float32Array.from(m.keepOf(n), (_, i) => f(n, i))]));

  it('names the Linear and Conv2d weights, never biases', () => {
    const m = PruningMask.ones(new nn.Sequential(new nn.Conv2d(1, 2, 3), new nn.Flatten(), new nn.Linear(8, 3)));
    expect(m.names).toEqual(['0.weight', '2.weight']);
    expect(m.density()).toBe(1);
  });

  it('per layer: removes exactly round(fraction * alive) of each layer, the lowest scores, and never revives', () => {
    const model = net();
    const ones = PruningMask.ones(model);
    const scores = scoresFor(ones, (_, i) => i); // lowest first
    const m1 = ones.pruneLowestPerLayer(scores, new Map([['0.weight', 0.2], ['2.weight', 0.1]]));
    expect(m1.layers().map((l) => l.kept)).toEqual([200 - 40, 100 - 10]);
    expect(Array.from(m1.keepOf('0.weight').subarray(0, 41))).toEqual([...Array(40).fill(0), 1]);
    // reversed scores would pick other entries; the pruned ones stay pruned
    const m2 = m1.pruneLowestPerLayer(scoresFor(ones, (_, i) => -i), new Map([['0.weight', 0.5]]));
    expect(m2.layers()[0]!.kept).toBe(80);
    expect(Array.from(m2.keepOf('0.weight').subarray(0, 40))).toEqual(Array(40).fill(0));
    expect(m2.layers()[1]!.kept).toBe(90);
  });

  it('global: removes the lowest over all layers together, to an exact count', () => {
    const ones = PruningMask.ones(net());
    // the second layer's scores are all lower: a global pass empties it first
    const m = ones.pruneLowestGlobal(scoresFor(ones, (n, i) => (n === '2.weight' ? i : 1000 + i)), 0.4);
    // 40% of 300 = 120: all 100 of the second layer, then the 20 lowest of the first
    expect(m.layers().map((l) => l.kept)).toEqual([200 - 20, 0]);
    expect(Array.from(m.keepOf('0.weight').subarray(18, 22))).toEqual([0, 0, 1, 1]);
    expect(m.collapsedLayers()).toEqual(['2.weight']);
    const k = ones.keepHighestGlobal(scoresFor(ones, (_, i) => i), 0.1);
    expect(k.layers().reduce((s, l) => s + l.kept, 0)).toBe(30);
  });

  it('a random mask keeps the same count per layer, at other positions, reproducibly', () => {
    const ones = PruningMask.ones(net());
    const m = ones.pruneLowestPerLayer(scoresFor(ones, (_, i) => i), new Map([['0.weight', 0.7], ['2.weight', 0.5]]));
    const r = m.randomLike(5);
    expect(r.layers().map((l) => l.kept)).toEqual(m.layers().map((l) => l.kept));
    expect(Array.from(r.keepOf('0.weight'))).not.toEqual(Array.from(m.keepOf('0.weight')));
    expect(Array.from(m.randomLike(5).keepOf('0.weight'))).toEqual(Array.from(r.keepOf('0.weight')));
  });

  it('round-trips through safetensors and applies to a model', async () => {
    const model = net();
    const ones = PruningMask.ones(model);
    const m = ones.pruneLowestGlobal(scoresFor(ones, (_, i) => i % 13), 0.5);
    const back = PruningMask.fromSafetensors(m.toSafetensors(), model);
    expect(back.layers()).toEqual(m.layers());
    back.apply(model);
    const w = await arr(model.parameters()[0]!);
    expect(w.filter((v) => v === 0).length).toBe(200 - m.layers()[0]!.kept);
    PruningMask.remove(model);
  });

  it('refuses fractions outside (0, 1), NaN scores and pruning a whole layer', () => {
    const ones = PruningMask.ones(net());
    const s = scoresFor(ones, (_, i) => i);
    expect(() => ones.pruneLowestGlobal(s, 1)).toThrow(/global pruning fraction must be in \(0, 1\), got 1/);
    expect(() => ones.keepHighestGlobal(s, 0)).toThrow(/density .* must be in \(0, 1\), got 0/);
    expect(() => ones.pruneLowestPerLayer(s, new Map([['0.weight', 1.5]]))).toThrow(/pruning fraction of '0.weight' must be in \(0, 1\), got 1.5/);
    const tiny = ones.pruneLowestPerLayer(s, new Map([['2.weight', 0.99]]));
    expect(() => tiny.pruneLowestPerLayer(s, new Map([['2.weight', 0.9]]))).toThrow(/removes all of its 1 remaining weights \(layer collapse\)/);
    expect(() => ones.pruneLowestGlobal(new Map([...s].map(([n, v]) => [n, v.map(() => NaN)])), 0.5)).toThrow(/contain NaN/);
  });
});

describe('schedules', () => {
  it("IMP's layer-wise rates: 20% for hidden layers, 10% for the output layer and conv layers", () => {
    const lenet = gb.models.create('lenet5');
    expect([...impLayerRates(lenet).values()]).toEqual([0.1, 0.1, 0.2, 0.2, 0.1]);
    expect([...impLayerRates(gb.models.create('lenet-300-100')).values()]).toEqual([0.2, 0.2, 0.1]);
    expect(() => impLayerRates(lenet, { rate: 1 })).toThrow(/rate must be in \(0, 1\)/);
  });

  it("SynFlow's exponential schedule ends at the density; compressions are powers of ten", () => {
    const s = exponentialSchedule(0.01, 100);
    expect(s.length).toBe(100);
    expect(s[49]).toBeCloseTo(0.1, 12);
    expect(s[99]).toBeCloseTo(0.01, 12);
    expect(compressionDensities(0.5, 1.5, 0.5).map((d) => Math.log10(d))).toEqual([-0.5, -1, -1.5].map((a) => expect.closeTo(a, 12)));
    expect(() => exponentialSchedule(1.2, 10)).toThrow(/density .* must be in \(0, 1\), got 1.2/);
  });
});
