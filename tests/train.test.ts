/** Training on real data: the loader, the loop, reproducibility. Small subsets, seconds each. */
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { loadMnist } from '../datasets/index.ts';
import { DataLoader, NORMALISATION } from '../src/train/data-loader.ts';
import { evaluate, fit, TrainingDivergedError } from '../src/train/trainer.ts';
import { modelEntry } from '../src/nn/models/zoo.ts';
import type { ImageDataset } from '../datasets/index.ts';

const mnistTrain = await loadMnist({ split: 'train', limit: 2048 });
const mnistTest = await loadMnist({ split: 'test', limit: 1000 });
const ce = (l: gb.Tensor, y: gb.Tensor) => gb.crossEntropy(l, y);

async function weightsOf(m: gb.nn.Module): Promise<number[]> {
  const out: number[] = [];
  for (const p of m.parameters()) for (const v of await p.toArray()) out.push(v);
  return out;
}

describe('data loader', () => {
  it('decodes and normalises bytes on the GPU exactly like the CPU would', async () => {
    const loader = new DataLoader(mnistTrain, { batchSize: 8, ...NORMALISATION.mnist });
    const batch = loader.batches(0).next().value!;
    const x = await batch.x.toArray();
    const [mean, std] = [NORMALISATION.mnist!.mean[0]!, NORMALISATION.mnist!.std[0]!];
    for (let i = 0; i < 8 * 784; i += 97) expect(x[i]).toBeCloseTo((mnistTrain.images[i]! / 255 - mean) / std, 5);
    expect(Array.from(await batch.y.toArray())).toEqual(Array.from(mnistTrain.labels.subarray(0, 8)));
  });

  it('shuffles by seed and epoch, covering every image once', () => {
    const a = new DataLoader(mnistTrain, { batchSize: 64, shuffle: true, seed: 3 });
    const b = new DataLoader(mnistTrain, { batchSize: 64, shuffle: true, seed: 3 });
    expect(Array.from(a.order(1))).toEqual(Array.from(b.order(1)));
    expect(Array.from(a.order(1))).not.toEqual(Array.from(a.order(2)));
    expect(new Set(a.order(0)).size).toBe(mnistTrain.n);
  });

  it('random crop with padding shifts the image and flip mirrors it', async () => {
    // one 1x4x4 image with distinct pixels, so every shift and flip is recognisable
    const img: ImageDataset = { name: 't', split: 'train', images: Uint8Array.from({ length: 16 }, (_, i) => 10 * (i + 1)), labels: Uint8Array.of(0), n: 1, channels: 1, height: 4, width: 4, classes: ['a'] };
    const loader = new DataLoader(img, { batchSize: 1, augment: { cropPadding: 1, horizontalFlip: true }, seed: 5 });
    for (let epoch = 0; epoch < 6; epoch++) {
      const out = Array.from(await loader.batches(epoch).next().value!.x.toArray()).map((v) => Math.round(Number(v) * 255));
      // every output row is a (possibly flipped) window of a zero-padded source row
      const src = Array.from(img.images);
      const rows = [0, 1, 2, 3].map((r) => out.slice(4 * r, 4 * r + 4));
      const padded = (r: number) => (r < 0 || r > 3 ? [0, 0, 0, 0, 0, 0] : [0, ...src.slice(4 * r, 4 * r + 4), 0]);
      const matches = (row: number[], r: number) => [0, 1, 2].some((dx) => {
        const win = padded(r).slice(dx, dx + 4);
        return JSON.stringify(win) === JSON.stringify(row) || JSON.stringify([...win].reverse()) === JSON.stringify(row);
      });
      expect([-1, 0, 1].some((dy) => rows.every((row, r) => matches(row, r + dy)))).toBe(true);
    }
  });
});

describe('training', () => {
  it('LeNet-5 learns MNIST: loss falls, accuracy far above chance', async () => {
    gb.manualSeed(0);
    const model = modelEntry('lenet5').build({ channels: 1, height: 28, width: 28, classes: 10 });
    const val = new DataLoader(mnistTest, { batchSize: 500, ...NORMALISATION.mnist });
    const before = await evaluate(model, val, ce);
    const history = await fit(model, {
      epochs: 2,
      optimizer: new gb.optim.Adam(model.parameters(), { lr: 3e-3 }),
      loss: ce,
      train: new DataLoader(mnistTrain, { batchSize: 64, shuffle: true, seed: 1, keepLast: false, ...NORMALISATION.mnist }),
      val,
    });
    expect(history[1]!.trainLoss).toBeLessThan(history[0]!.trainLoss);
    expect(history[1]!.valLoss!).toBeLessThan(before.loss * 0.5);
    expect(history[1]!.valAccuracy!).toBeGreaterThan(0.8); // chance is 0.1
  });

  it('a seeded run is reproducible to the bit', async () => {
    const run = async () => {
      gb.manualSeed(7);
      const model = modelEntry('mlp').build({ channels: 1, height: 28, width: 28, classes: 10 });
      await fit(model, {
        epochs: 1,
        optimizer: new gb.optim.SGD(model.parameters(), { lr: 0.05, momentum: 0.9 }),
        loss: ce,
        train: new DataLoader(mnistTrain, { batchSize: 64, shuffle: true, seed: 2, limit: 512, ...NORMALISATION.mnist }),
      });
      return weightsOf(model);
    };
    const a = await run();
    const b = await run();
    expect(a.length).toBeGreaterThan(1000);
    expect(a.every((v, i) => Object.is(v, b[i]))).toBe(true);
  });

  it('stops with a clear message when the loss diverges', async () => {
    gb.manualSeed(0);
    const model = modelEntry('mlp').build({ channels: 1, height: 28, width: 28, classes: 10 });
    await expect(
      fit(model, {
        epochs: 1,
        optimizer: new gb.optim.SGD(model.parameters(), { lr: 1e6 }),
        loss: ce,
        logEvery: 2,
        train: new DataLoader(mnistTrain, { batchSize: 64, limit: 512, ...NORMALISATION.mnist }),
      }),
    ).rejects.toThrow(TrainingDivergedError);
  });
});
