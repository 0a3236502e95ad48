/**
 * Whole training runs against PyTorch, step by step (tests/fixtures/training.json, made by
 * scripts/gen_fixtures_training.py): the same small CNN from the same initial weights, trained on
 * the same batches, must give the same loss at every step, the same weights and batch-norm running
 * statistics at the end, and the same eval-mode logits. The op fixtures check each op alone; this
 * checks that forward, cross-entropy, backward and the optimiser compose into the same run.
 *
 * Tolerances: losses within 1e-5 relative at every step, final state and logits atol 1e-5 /
 * rtol 1e-4 (measured on lavapipe: 3e-7 relative on the losses, at most 1/30 of the state
 * tolerance). Float32 sums in a different order differ in the last bits, so a run only stays
 * comparable while no max-pool window or ReLU input comes within rounding of a tie; the fixture's
 * runs are short and their learning rates moderate for that reason (see the generator).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { expectClose } from './helpers.ts';

type Layer = [string, number[]];
interface Flat { shape: number[]; data: number[] }
interface TrainingCase {
  id: string;
  net: Layer[];
  optimizer: 'Adam' | 'SGD';
  options: { lr: number; momentum?: number; weightDecay?: number };
  steps: number;
  batch: number;
  classes: number;
  size: number;
  initial: Record<string, Flat>;
  losses: number[];
  final: Record<string, Flat>;
  evalLogits: Flat;
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/training.json', import.meta.url), 'utf8')) as { torch: string; cases: TrainingCase[] };
const STATE_TOL = { atol: 1e-5, rtol: 1e-4 };

/** The generator's images: pixel p of image i from a 32-bit hash of i * size² + p (see the script). */
function imagesAndLabels(n: number, size: number, bands: number): { x: Float32Array; y: Int32Array } {
  const pixels = size * size;
  const x = new Float32Array(n * pixels);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const bandSums = new Array<number>(bands).fill(0);
    for (let p = 0; p < pixels; p++) {
      let h = Math.imul(i * pixels + p, 2654435761) >>> 0;
      h = (h ^ (h >>> 16)) >>> 0;
      h = Math.imul(h, 0x45d9f3b) >>> 0;
      h = (h ^ (h >>> 16)) >>> 0;
      const code = h >>> 8;
      x[i * pixels + p] = code / 2 ** 23 - 1;
      bandSums[Math.floor(p / (pixels / bands))]! += code;
    }
    y[i] = bandSums.indexOf(Math.max(...bandSums));
  }
  return { x, y };
}

function build(layers: Layer[]): gb.nn.Sequential {
  const { nn } = gb;
  return new nn.Sequential(
    ...layers.map(([kind, a]): gb.nn.Module => {
      switch (kind) {
        case 'conv': return new nn.Conv2d(a[0]!, a[1]!, a[2]!, { padding: a[3]! });
        case 'bn': return new nn.BatchNorm2d(a[0]!);
        case 'relu': return new nn.ReLU();
        case 'maxpool': return new nn.MaxPool2d(a[0]!);
        case 'avgpool': return new nn.AvgPool2d(a[0]!);
        case 'flatten': return new nn.Flatten();
        case 'linear': return new nn.Linear(a[0]!, a[1]!);
        default: throw new Error(`training.json: unknown layer kind '${kind}'`);
      }
    }),
  );
}

describe(`training runs against PyTorch ${fixture.torch}`, () => {
  for (const c of fixture.cases) {
    it(`${c.id}: ${c.steps} steps give the same losses, weights and logits`, async () => {
      const net = build(c.net);
      const state = Object.fromEntries(Object.entries(c.initial).map(([name, t]) => [name, gb.tensor(t.data, t.shape)]));
      const { missing, unexpected } = net.loadStateDict(state);
      expect({ missing, unexpected }).toEqual({ missing: [], unexpected: [] });
      const params = net.parameters();
      const opt = c.optimizer === 'Adam' ? new gb.optim.Adam(params, c.options) : new gb.optim.SGD(params, c.options);
      const { x, y } = imagesAndLabels(c.steps * c.batch, c.size, c.classes);
      const pixels = c.size * c.size;
      const batchOf = (k: number) => ({
        x: gb.tensor(x.subarray(k * c.batch * pixels, (k + 1) * c.batch * pixels), [c.batch, 1, c.size, c.size]),
        y: gb.tensor(y.subarray(k * c.batch, (k + 1) * c.batch), [c.batch], { dtype: 'int32' }),
      });

      net.train();
      const losses: number[] = [];
      for (let k = 0; k < c.steps; k++) {
        const b = batchOf(k);
        const loss = gb.tidy(() => {
          opt.zeroGrad();
          const l = gb.crossEntropy(net.forward(b.x), b.y);
          l.backward();
          opt.step();
          return l;
        });
        losses.push(await loss.item());
        loss.dispose();
        b.x.dispose();
        b.y.dispose();
      }
      expectClose(losses, c.losses, { atol: 0, rtol: 1e-5, what: `${c.id} loss per step` });
      // the run really trains: the loss moves, so equal trajectories are not equal constants
      expect(Math.max(...c.losses) - Math.min(...c.losses)).toBeGreaterThan(0.05);

      const finalState = net.stateDict();
      expect([...finalState.keys()].sort()).toEqual(Object.keys(c.final).sort());
      for (const [name, expected] of Object.entries(c.final)) {
        expectClose(await finalState.get(name)!.toArray(), expected.data, { ...STATE_TOL, what: `${c.id} ${name} after ${c.steps} steps` });
      }

      net.eval();
      const first = batchOf(0);
      const logits = gb.noGrad(() => net.forward(first.x));
      expect(logits.shape).toEqual(c.evalLogits.shape);
      expectClose(await logits.toArray(), c.evalLogits.data, { ...STATE_TOL, what: `${c.id} eval-mode logits` });
      [logits, first.x, first.y, ...Object.values(state)].forEach((t) => t.dispose());
    });
  }
});
