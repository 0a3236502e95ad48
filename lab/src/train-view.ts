/**
 * Training in the page: LeNet-5 from a fresh init on the MNIST subset served with the page
 * (1,000 training images, 200 test), Adam, batches of 32 in the subset's order, one step at a
 * time so the loss curve (Observable Plot) moves as it learns; test accuracy every 25 steps.
 */
import * as Plot from '@observablehq/plot';
import * as gb from '../../src/index.ts';
import { decodeSubset, SUBSET, type Subset } from './subset-format.ts';

export const SUBSET_URL = 'data/mnist-subset.bin';
const BATCH = 32;
const PIXELS = SUBSET.side * SUBSET.side;

/** The subset served with the page, or null where the build had no MNIST data to write it from (HTTP 404). */
export async function loadSubset(): Promise<Subset | null> {
  const res = await fetch(SUBSET_URL);
  if (res.status === 404) return null;
  if (!res.ok) throw new Error(`could not load the MNIST subset ${SUBSET_URL}: HTTP ${res.status}; rebuild the lab with npm run build:lab`);
  return decodeSubset(new Uint8Array(await res.arrayBuffer()));
}

/** Images [from, from + n) of a split as a normalised [n, 1, 28, 28] tensor, with their labels. */
export function batchOf(split: Subset['train'], from: number, n: number, norm: gb.Normalization): { x: gb.Tensor; y: gb.Tensor } {
  const idx = Array.from({ length: n }, (_, k) => (from + k) % split.n);
  const pixels = new Float32Array(n * PIXELS);
  idx.forEach((i, k) => pixels.set(Array.from(split.images.subarray(i * PIXELS, (i + 1) * PIXELS), (b) => b / 255), k * PIXELS));
  return gb.tidy(() => ({
    x: gb.normalize(gb.tensor(pixels, [n, 1, SUBSET.side, SUBSET.side]), norm),
    y: gb.tensor(Int32Array.from(idx, (i) => split.labels[i]!), [n], { dtype: 'int32' }),
  }));
}

export interface TrainPoint {
  step: number;
  loss: number;
}

export class PageTrainer {
  readonly model = gb.models.create('lenet5');
  private readonly optimizer = new gb.optim.Adam(this.model.parameters(), { lr: 2e-3 });
  readonly losses: TrainPoint[] = [];
  readonly accuracy: Array<{ step: number; accuracy: number }> = [];
  step = 0;
  /** Milliseconds of each step (forward, backward, update, loss read back). */
  readonly stepMs: number[] = [];
  stopRequested = false;

  constructor(
    private readonly data: Subset,
    readonly normalization: gb.Normalization,
  ) {}

  /** Runs `steps` steps, calling `onProgress` after each; stops early when stop() is called. */
  async train(steps: number, onProgress: () => void): Promise<void> {
    this.stopRequested = false;
    this.model.train();
    for (let s = 0; s < steps && !this.stopRequested; s++) {
      const t0 = performance.now();
      const { x, y } = batchOf(this.data.train, this.step * BATCH, BATCH, this.normalization);
      const loss = gb.tidy(() => {
        this.optimizer.zeroGrad();
        const l = gb.crossEntropy(this.model.forward(x), y);
        l.backward();
        this.optimizer.step();
        return l.detach();
      });
      const value = await loss.item();
      [x, y, loss].forEach((t) => t.dispose());
      this.stepMs.push(performance.now() - t0);
      this.losses.push({ step: ++this.step, loss: value });
      if (this.step % 25 === 0) this.accuracy.push({ step: this.step, accuracy: await this.testAccuracy() });
      onProgress();
    }
    this.model.eval();
  }

  stop(): void {
    this.stopRequested = true;
  }

  /** Share of the 200 test images classified right. */
  async testAccuracy(): Promise<number> {
    const wasTraining = this.model.training;
    this.model.eval();
    const { x, y } = batchOf(this.data.test, 0, this.data.test.n, this.normalization);
    const hits = gb.tidy(() => gb.noGrad(() => gb.sum(gb.eq(gb.argmax(this.model.forward(x), { dim: 1 }), y))));
    const n = await hits.item();
    [x, y, hits].forEach((t) => t.dispose());
    this.model.train(wasTraining);
    return n / this.data.test.n;
  }
}

/** The loss per step and the test accuracy, as an SVG chart. */
export function lossChart(t: PageTrainer): Element {
  return Plot.plot({
    width: 420,
    height: 180,
    marginLeft: 40,
    x: { label: 'step' },
    y: { label: 'loss / accuracy', grid: true, domain: [0, Math.max(2.5, ...t.losses.map((p) => p.loss))] },
    marks: [
      Plot.lineY(t.losses, { x: 'step', y: 'loss', stroke: 'steelblue' }),
      Plot.dot(t.accuracy, { x: 'step', y: 'accuracy', fill: 'darkorange', r: 3 }),
      Plot.ruleY([0]),
    ],
  });
}
