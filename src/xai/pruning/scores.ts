/**
 * Saliency scores of every prunable weight, the quantity each pruning method ranks by (higher
 * survives):
 *   magnitude  |w|                                  (Han et al. 2015; IMP's criterion on trained weights)
 *   random     uniform noise, seeded                (the control)
 *   snip       |dL/dw * w| on a batch of data       (Lee et al. 2019, "connection sensitivity")
 *   synflow    |w| * dR/d|w|, R = 1^T f_|W|(1)       (Tanaka et al. 2020: the network with every
 *              weight replaced by its absolute value, fed an all-ones input, no data)
 * Masked weights are 0.0 in the model, so every score but the random one is 0 there; the mask
 * never revives them anyway (PruningMask prunes only among the weights still alive).
 */
import type { Module } from '../../nn/module.ts';
import { Conv2d } from '../../nn/conv-layers.ts';
import { Linear } from '../../nn/layers.ts';
import { noGrad } from '../../autograd/node.ts';
import { ones } from '../../tensor/ops/creation.ts';
import { tidy, keep, type Tensor } from '../../tensor/tensor.ts';
import { seededRandom } from '../../train/data-loader.ts';
import { prunableWeights, type Scores } from './mask.ts';

export type ScoreMethod = 'magnitude' | 'random' | 'snip' | 'synflow';
export const SCORE_METHODS: readonly ScoreMethod[] = ['magnitude', 'random', 'snip', 'synflow'];

async function readScores(model: Module, score: (w: Tensor) => Tensor): Promise<Scores> {
  const out: Scores = new Map();
  for (const [name, w] of prunableWeights(model)) {
    const s = tidy(() => noGrad(() => score(w)));
    out.set(name, Float32Array.from(await s.toArray()));
    s.dispose();
  }
  return out;
}

export function magnitudeScores(model: Module): Promise<Scores> {
  return readScores(model, (w) => w.abs());
}

export function randomScores(model: Module, seed: number): Scores {
  const rand = seededRandom(seed);
  return new Map(prunableWeights(model).map(([name, w]) => [name, Float32Array.from({ length: w.size }, () => rand())]));
}

/**
 * SNIP: |g * w| with g the gradient of `loss(model(x), y)` summed over `batches` (Lee et al. use one
 * batch; the gradients of several add up before the absolute value). The model is left with no grads.
 */
export async function snipScores(model: Module, batches: Iterable<{ x: Tensor; y: Tensor }>, loss: (logits: Tensor, y: Tensor) => Tensor): Promise<Scores> {
  model.zeroGrad();
  const wasTraining = model.training;
  model.train();
  let n = 0;
  for (const { x, y } of batches) {
    tidy(() => loss(model.forward(x), y).backward());
    n++;
  }
  model.train(wasTraining);
  if (!n) throw new Error('glassbox.pruning.snipScores: no batches given; SNIP needs at least one batch of data');
  const scores = await readScores(model, (w) => (w.grad ? w.grad.mul(w).abs() : w.mul(0)));
  model.zeroGrad();
  return scores;
}

/**
 * SynFlow: the synaptic saliency |w| * dR/d|w| with R the sum of the outputs of the network whose
 * weights are |w| and whose biases are 0, fed an all-ones input of `inputShape` ([C, H, W] or [F]).
 * R = 1^T |W_L| ... |W_1| 1 for a linear chain (ReLUs pass everything positive; max pooling picks
 * one positive path), so the score of w_ij is |w_ij| times the sum of all path products through it.
 *
 * Overflow: R is a product of the layers' scales, which overflows float32 in deep nets (and
 * underflows where the weights are small). Each Linear/Conv2d's output is divided by its own mean,
 * a constant taken out of the graph (detached): R and every gradient are then divided by the same
 * positive number, so the ranking of all scores, across layers too, is exactly the unscaled one.
 * Batch norm runs in eval mode (its running statistics, as in the authors' code). The model's
 * weights, biases and training flag are restored afterwards.
 */
export async function synflowScores(model: Module, inputShape: readonly number[]): Promise<Scores> {
  const layers = model.namedModules().filter(([, m]) => m instanceof Linear || m instanceof Conv2d) as Array<[string, Linear | Conv2d]>;
  const saved = layers.map(([, m]) => ({ w: keep(noGrad(() => m.weight.mul(1))), b: m.bias ? keep(noGrad(() => m.bias!.mul(1))) : null }));
  const removeHooks = layers.map(([, m]) => m.registerForwardHook((_m, _in, out) => out.div(noGrad(() => out.mean().detach().maximum(1e-30)))));
  const wasTraining = model.training;
  model.eval();
  try {
    noGrad(() => {
      for (const [, m] of layers) {
        m.weight.assign(m.weight.abs());
        m.bias?.assign(m.bias.mul(0));
      }
    });
    model.zeroGrad();
    tidy(() => model.forward(ones([1, ...inputShape])).sum().backward());
    return await readScores(model, (w) => (w.grad ? w.grad.mul(w) : w.mul(0)));
  } finally {
    removeHooks.forEach((remove) => remove());
    noGrad(() =>
      layers.forEach(([, m], i) => {
        m.weight.assign(saved[i]!.w);
        if (m.bias) m.bias.assign(saved[i]!.b!);
      }),
    );
    saved.forEach((s) => {
      s.w.dispose();
      s.b?.dispose();
    });
    model.zeroGrad();
    model.train(wasTraining);
  }
}
