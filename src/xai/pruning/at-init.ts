/**
 * Pruning at initialisation, before any training, to a target density (fraction of weights left):
 * 'magnitude', 'random' and 'snip' in one shot (the global top scores), 'synflow' iteratively
 * (Tanaka et al. 2020: `iterations` rounds (100) of scoring the masked network and keeping the top
 * density^(k/n) of all weights, so that a layer whose weights are being removed gains score from the
 * remaining paths through it instead of collapsing).
 *
 *   const mask = await new PruneAtInit(model, { method: 'synflow', inputShape: [1, 28, 28] }).prune(0.01);
 */
import type { Module } from '../../nn/module.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { PruningMask } from './mask.ts';
import { magnitudeScores, randomScores, SCORE_METHODS, snipScores, synflowScores, type ScoreMethod } from './scores.ts';
import { exponentialSchedule } from './schedule.ts';
import { checkOptions } from '../../tensor/check-options.ts';

export interface PruneAtInitOptions {
  method: ScoreMethod;
  /** SynFlow: the input's shape without the batch ([C, H, W] or [features]). */
  inputShape?: readonly number[];
  /** SynFlow's iterations (default 100). */
  iterations?: number;
  /** SNIP: the batches whose loss gradient scores the weights. */
  batches?: () => Iterable<{ x: Tensor; y: Tensor }>;
  loss?: (logits: Tensor, y: Tensor) => Tensor;
  seed?: number;
  onIteration?: (k: number, of: number) => void;
}

export class PruneAtInit {
  constructor(
    readonly model: Module,
    readonly opts: PruneAtInitOptions,
  ) {
    checkOptions('pruning.PruneAtInit', opts, { method: 'string', inputShape: 'numbers', iterations: 'integer', batches: 'function', loss: 'function', seed: 'integer', onIteration: 'function' }, ['method']);
    if (!SCORE_METHODS.includes(opts.method)) throw new Error(`glassbox.pruning.PruneAtInit: unknown method '${opts.method}'; choose ${SCORE_METHODS.join(', ')}`);
    if (opts.method === 'synflow' && !opts.inputShape) throw new Error("glassbox.pruning.PruneAtInit: 'synflow' needs inputShape (the input without its batch dimension, e.g. [1, 28, 28])");
    if (opts.method === 'snip' && !(opts.batches && opts.loss)) throw new Error("glassbox.pruning.PruneAtInit: 'snip' needs batches (a function returning batches of {x, y}) and loss");
  }

  /** The mask keeping `density` of the prunable weights, applied to the model (masked weights set to 0.0 and kept there). */
  async prune(density: number): Promise<PruningMask> {
    const { model, opts } = this;
    let mask = PruningMask.ones(model);
    if (opts.method === 'synflow') {
      const schedule = exponentialSchedule(density, opts.iterations ?? 100);
      for (const [k, d] of schedule.entries()) {
        mask = mask.keepHighestGlobal(await synflowScores(model, opts.inputShape!), d);
        mask.apply(model);
        opts.onIteration?.(k + 1, schedule.length);
      }
      return mask;
    }
    const scores =
      opts.method === 'magnitude'
        ? await magnitudeScores(model)
        : opts.method === 'random'
          ? randomScores(model, opts.seed ?? 0)
          : await snipScores(model, opts.batches!(), opts.loss!);
    mask = mask.keepHighestGlobal(scores, density);
    mask.apply(model);
    return mask;
  }
}
