/**
 * `glassbox demo`: the engine end to end on real data. A 784-128-10 MLP learns MNIST with
 * Adam for one epoch; the loss falls on screen and the test accuracy is printed.
 */
import { loadMnist } from '../../datasets/index.ts';
import * as gb from '../index.ts';
import { Progress } from '../train/progress.ts';
import { numberOption, type ParsedArgs } from './args.ts';

function toInputs(images: Uint8Array, from: number, count: number, pixels: number): gb.Tensor {
  const x = new Float32Array(count * pixels);
  for (let i = 0; i < x.length; i++) x[i] = images[from * pixels + i]! / 255;
  return gb.tensor(x, [count, pixels]);
}

export async function demo(args: ParsedArgs): Promise<void> {
  const limit = numberOption(args.options, 'train-images', 20000);
  const batch = numberOption(args.options, 'batch-size', 64);
  const info = await gb.init();
  console.log(`glassbox demo on ${info.adapter.description || info.adapter.device} (${info.target} kernels)`);
  const train = await loadMnist({ split: 'train', limit });
  const test = await loadMnist({ split: 'test' });
  const pixels = train.height * train.width;

  gb.manualSeed(0);
  const model = new gb.nn.Sequential(new gb.nn.Linear(pixels, 128), new gb.nn.ReLU(), new gb.nn.Linear(128, 10));
  const opt = new gb.optim.Adam(model.parameters(), { lr: 1e-3 });
  const steps = Math.floor(train.n / batch);
  const progress = new Progress({ label: 'MLP on MNIST', total: steps * batch, unit: 'img' });
  let recent = 0;
  for (let s = 0; s < steps; s++) {
    const x = toInputs(train.images, s * batch, batch, pixels);
    const y = gb.tensor(Int32Array.from(train.labels.subarray(s * batch, (s + 1) * batch)), [batch], { dtype: 'int32' });
    const loss = gb.tidy(() => {
      opt.zeroGrad();
      const l = gb.crossEntropy(model.forward(x), y);
      l.backward();
      opt.step();
      return l.detach();
    });
    x.dispose();
    y.dispose();
    if (s % 50 === 0) {
      const value = await loss.item();
      recent = recent === 0 ? value : 0.7 * recent + 0.3 * value;
      progress.update((s + 1) * batch, { loss: recent });
    }
    loss.dispose();
  }
  progress.done({ loss: recent });

  let correct = 0;
  const evalBatch = 1000;
  for (let from = 0; from < test.n; from += evalBatch) {
    const count = Math.min(evalBatch, test.n - from);
    const pred = gb.tidy(() => gb.noGrad(() => gb.argmax(model.forward(toInputs(test.images, from, count, pixels)), { dim: 1 })));
    const p = await pred.toArray();
    pred.dispose();
    for (let i = 0; i < count; i++) if (p[i] === test.labels[from + i]) correct++;
  }
  console.log(`test accuracy: ${((100 * correct) / test.n).toFixed(2)}% on ${test.n} MNIST test images (${progress.elapsedSeconds.toFixed(1)} s of training)`);
}
