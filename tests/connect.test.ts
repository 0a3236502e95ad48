/**
 * D2 mode connectivity (src/xai/weightspace): the linear assignment solver against brute force;
 * weight matching recovering a hidden permutation exactly; the barrier's definition on hand-made
 * values; batch norm statistics recomputed to the data's own; and, on two small MLPs trained
 * here from two seeds, the finding: the straight line between them has a barrier, a trained
 * Bezier curve and the line after weight matching much less. And the three commands (connect,
 * symmetry, stitch) end to end on the fixture LeNets.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { loadDataset, type ImageDataset } from '../datasets/index.ts';
import { DataLoader } from '../src/train/data-loader.ts';
import { NORMALISATION } from '../src/train/data-loader.ts';
import { fit } from '../src/train/trainer.ts';
import { recomputeBatchNormStats } from '../src/xai/weightspace/batchnorm-stats.ts';
import { ModeConnectivity } from '../src/xai/weightspace/connectivity.ts';
import { unitGraph } from '../src/xai/weightspace/graph.ts';
import { linearAssignment, matchWeights } from '../src/xai/weightspace/matching.ts';
import { barrier } from '../src/xai/weightspace/paths.ts';
import { maxStateDifference, readState } from '../src/xai/weightspace/state.ts';
import { randomSymmetry, permuteUnits } from '../src/xai/weightspace/symmetry.ts';
import { parseArgs } from '../src/cli/args.ts';
import { CONNECT_OPTIONS, STITCH_OPTIONS, SYMMETRY_OPTIONS } from '../src/cli/options.ts';
import { connectCommand } from '../src/cli/connect.ts';
import { stitchCommand } from '../src/cli/stitch.ts';
import { symmetryCommand } from '../src/cli/symmetry.ts';
import { expectCommandReport } from './command-report.ts';

const { nn } = gb;

function permutations(n: number): number[][] {
  if (n === 1) return [[0]];
  return permutations(n - 1).flatMap((p) => Array.from({ length: n }, (_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]));
}

describe('linear assignment and the barrier', () => {
  it('the Hungarian solver finds the brute-force optimum on random 6x6 costs', () => {
    let s = 1;
    const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let trial = 0; trial < 20; trial++) {
      const cost = Array.from({ length: 6 }, () => Array.from({ length: 6 }, () => Math.round(rand() * 20) - 10));
      const best = Math.min(...permutations(6).map((p) => p.reduce((sum, j, i) => sum + cost[i]![j]!, 0)));
      const a = linearAssignment(cost);
      expect(new Set(a).size).toBe(6);
      expect(Array.from(a).reduce((sum, j, i) => sum + cost[i]![j]!, 0)).toBe(best);
    }
    expect(() => linearAssignment([[1, 2]])).toThrow(/must be square/);
  });

  it('the barrier is the largest rise above the line between the ends', () => {
    const points = [0, 0.25, 0.5, 0.75, 1].map((t, i) => ({ t, loss: [1, 2.5, 3, 1.5, 2][i]! }));
    const b = barrier(points);
    // at t = 0.5 the ends' interpolation is 1.5, the loss 3
    expect(b.barrier).toBeCloseTo(1.5, 12);
    expect(b.t).toBe(0.5);
    expect(barrier([{ t: 0, loss: 1 }, { t: 1, loss: 3 }]).barrier).toBe(0);
    expect(() => barrier([{ t: 0, loss: 1 }, { t: 0.5, loss: 1 }])).toThrow(/t = 0 and t = 1/);
  });
});

describe('batch norm statistics at a point', () => {
  it('are recomputed to the mean and unbiased variance of the data', async () => {
    gb.manualSeed(3);
    const model = new nn.Sequential(new nn.Flatten(), new nn.Linear(4, 3), new nn.BatchNorm1d(3));
    const n = 64;
    const images = Uint8Array.from({ length: n * 4 }, (_, i) => (i * 37 + 11) % 256);
    const data: ImageDataset = { name: 'tiny', split: 'train', images, labels: new Uint8Array(n), n, channels: 1, height: 2, width: 2, classes: ['a', 'b', 'c'] };
    // one batch, so the average over batches is the batch's own statistics
    recomputeBatchNormStats(model, new DataLoader(data, { batchSize: n }));
    const w = await (model.at(1) as gb.nn.Linear).weight.toArray();
    const bias = await (model.at(1) as gb.nn.Linear).bias!.toArray();
    const z = Array.from({ length: n }, (_, r) => [0, 1, 2].map((k) => bias[k]! + [0, 1, 2, 3].reduce((s, j) => s + w[k * 4 + j]! * (images[r * 4 + j]! / 255), 0)));
    const mean = [0, 1, 2].map((k) => z.reduce((s, row) => s + row[k]!, 0) / n);
    const variance = [0, 1, 2].map((k) => z.reduce((s, row) => s + (row[k]! - mean[k]!) ** 2, 0) / (n - 1));
    const bn = model.at(2);
    Array.from(await bn.buffer('runningMean').toArray()).forEach((v, k) => expect(v).toBeCloseTo(mean[k]!, 4));
    Array.from(await bn.buffer('runningVar').toArray()).forEach((v, k) => expect(v).toBeCloseTo(variance[k]!, 4));
  });
});

describe('two MLPs trained from two seeds', () => {
  const input = [1, 28, 28];
  const build = () => new gb.models.MLP(784, [64, 32], 10);
  let nets: gb.nn.Module[];
  let train: ImageDataset;
  let test: ImageDataset;
  const norm = NORMALISATION.mnist!;
  beforeAll(async () => {
    train = await loadDataset('mnist', { split: 'train', limit: 4000 });
    test = await loadDataset('mnist', { split: 'test', limit: 1000 });
    nets = [];
    for (const seed of [1, 2]) {
      gb.manualSeed(seed);
      const model = build();
      await fit(model, { epochs: 3, optimizer: new gb.optim.Adam(model.parameters(), { lr: 2e-3 }), loss: (l, y) => gb.crossEntropy(l, y), train: new DataLoader(train, { batchSize: 32, shuffle: true, seed, keepLast: false, ...norm }), label: `mlp seed ${seed}` });
      nets.push(model);
    }
  }, 120_000);

  it('weight matching undoes a hidden permutation exactly', async () => {
    const graph = unitGraph(nets[0]!, input);
    const a = await readState(nets[0]!);
    const shuffled = permuteUnits(a, graph, randomSymmetry(graph, 5).perms);
    expect(maxStateDifference(a, shuffled).difference).toBeGreaterThan(0.1);
    const matched = matchWeights(graph, a, shuffled);
    expect(maxStateDifference(a, matched.state).difference).toBe(0);
  });

  it('refuses two nets of different architectures, naming the parameter and both shapes', async () => {
    const other = new gb.models.MLP(784, [64, 16], 10);
    const a = await readState(nets[0]!);
    const b = await readState(other);
    expect(() => new ModeConnectivity(nets[0]!, a, b, input)).toThrow(/'3\.weight' is \[32, 64\] in net A and \[16, 64\] in net B/);
  });

  it('the line has a barrier; the trained Bezier curve and the line after matching far less', async () => {
    const a = await readState(nets[0]!);
    const b = await readState(nets[1]!);
    const result = await new ModeConnectivity(build(), a, b, input).connect({
      test: new DataLoader(test, { batchSize: 500, ...norm }),
      train: new DataLoader(train, { batchSize: 32, shuffle: true, seed: 3, keepLast: false, ...norm }),
      trainEval: new DataLoader(train, { batchSize: 500, limit: 1000, ...norm }),
      paths: ['line', 'bezier', 'line-after-matching'],
      segments: 8,
      curveEpochs: 2,
    });
    const [line, bezier, matched] = result.paths;
    expect(line!.name).toBe('line');
    // the ends are the nets themselves
    expect(line!.points[0]!.accuracy).toBeGreaterThan(0.85);
    expect(line!.barrier).toBeGreaterThan(0.2);
    expect(bezier!.barrier).toBeLessThan(line!.barrier / 4);
    expect(matched!.barrier).toBeLessThan(line!.barrier / 2);
    console.log(`MLP 64-32 barriers: line ${line!.barrier.toFixed(3)}, bezier ${bezier!.barrier.toFixed(3)}, matched line ${matched!.barrier.toFixed(3)}`);
  }, 120_000);
});

describe('the weight-space commands on the fixture LeNets', () => {
  const fixture = (name: string) => `tests/fixtures/models/${name}.safetensors`;
  const pair = ['--model-a', fixture('lenet-mnist'), '--model-b', fixture('lenet-mnist-random-labels'), '--arch', 'lenet5', '--dataset', 'mnist'];

  it('connect, symmetry and stitch write their pictures, JSON and report; connect prints the barriers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'glassbox-weightspace-'));
    try {
      const logs: string[] = [];
      const log = console.log;
      console.log = (...a: unknown[]) => void logs.push(a.join(' '));
      try {
        await connectCommand(parseArgs([...pair, '--paths', 'line,line-after-matching', '--segments', '2', '--test-images', '200', '--eval-train-images', '200', '--train-images', '200', '--out', join(dir, 'c')], CONNECT_OPTIONS));
      } finally {
        console.log = log;
      }
      expect(logs.join('\n')).toMatch(/straight line\s+barrier \d+\.\d{4}/);
      const json = JSON.parse(readFileSync(join(dir, 'c', 'connect.json'), 'utf8')) as { paths: Array<{ name: string; points: unknown[]; barrier: number }> };
      expect(json.paths.map((p) => [p.name, p.points.length])).toEqual([['line', 3], ['line-after-matching', 3]]);
      expectCommandReport(join(dir, 'c'), { shown: ['paths.png'], listed: ['connect.json', 'barriers.md'] });
      await symmetryCommand(parseArgs(['--model', fixture('lenet-mnist'), '--model-b', fixture('lenet-mnist-random-labels'), '--arch', 'lenet5', '--dataset', 'mnist', '--n', '100', '--out', join(dir, 's')], SYMMETRY_OPTIONS));
      const sym = JSON.parse(readFileSync(join(dir, 's', 'symmetry.json'), 'utf8')) as { afterSymmetry: { relative: number; sameArgmax: number }; canonicalGap: { difference: number }; otherGap: { difference: number } };
      expect(sym.afterSymmetry.relative).toBeLessThan(1e-5);
      expect(sym.afterSymmetry.sameArgmax).toBe(1);
      expect(sym.canonicalGap.difference).toBeLessThan(1e-4);
      expect(sym.otherGap.difference).toBeGreaterThan(0.1);
      expectCommandReport(join(dir, 's'), { shown: ['units.png'], listed: ['symmetry.json', 'symmetry.md'] });
      await stitchCommand(parseArgs([...pair, '--layers', 'classifier.4', '--train-images', '128', '--test-images', '100', '--out', join(dir, 't')], STITCH_OPTIONS));
      expectCommandReport(join(dir, 't'), { shown: ['accuracy.png', 'maps.png'], listed: ['stitch.json', 'stitch.md'] });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('refuses a path list without the line, and a missing net', async () => {
    await expect(connectCommand(parseArgs([...pair, '--paths', 'bezier'], CONNECT_OPTIONS))).rejects.toThrow(/--paths must include 'line'/);
    await expect(connectCommand(parseArgs(['--model-a', fixture('lenet-mnist')], CONNECT_OPTIONS))).rejects.toThrow(/give both nets: --model-a .* --model-b/);
  });
});
