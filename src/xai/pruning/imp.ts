/**
 * Lottery tickets (Frankle & Carbin 2019; rewinding: Frankle, Dziugaite, Roy & Carbin 2020):
 * iterative magnitude pruning. Level 0 trains the dense network from its initialisation θ0 (and
 * keeps θk, the weights after `rewindIteration` steps); each later level prunes the smallest-magnitude
 * trained weights of the previous level (layer-wise rates or one global rate), resets the survivors to
 * θk (θ0 when k = 0) and trains again: the winning ticket. Two controls per level, as in the paper:
 * the same mask with a fresh random initialisation ('reinit'), and a random mask with the same
 * number of weights per layer from the same θk ('random-mask').
 *
 *   const imp = new IterativeMagnitudePruning(model, { levels: 15, build: () => lenet300100(), recipe, data });
 *   const result = await imp.run(store);   // resumes from what the store holds
 */
import type { Module } from '../../nn/module.ts';
import { manualSeed } from '../../tensor/ops/creation.ts';
import { loadSafetensors, saveSafetensors } from '../../nn/safetensors.ts';
import { PruningMask, type LayerDensity } from './mask.ts';
import { magnitudeScores } from './scores.ts';
import { impLayerRates, type LayerRates } from './schedule.ts';
import { loadJson, MemoryStore, saveJson, type ExperimentStore } from './store.ts';
import { checkOptions } from '../../tensor/check-options.ts';
import { trainIterations, type TrainData, type TrainRecipe, type TrainResult } from './train.ts';

export type ImpBranch = 'reinit' | 'random-mask';

export interface ImpOptions {
  /** Pruning levels after the dense level 0. */
  levels: number;
  /** Layer-wise rates (the paper's), or `{global: 0.2}` (OpenLTH's default: 20% of all remaining weights per level). */
  rates?: LayerRates | { global: number };
  /** Rewind the survivors to their values after this many iterations (0: to the initialisation). */
  rewindIteration?: number;
  recipe: TrainRecipe;
  data: TrainData;
  /** A fresh model of the same architecture (its weights freshly drawn): the 'reinit' control. */
  build: () => Module;
  branches?: readonly ImpBranch[];
  seed?: number;
  /** Called as each network starts training, its weights (rewound and masked) in place: for inspection. */
  onTrainStart?: (level: number, branch: 'main' | ImpBranch, model: Module) => void | Promise<void>;
  /** Called when a level (with its branches) is finished or found finished in the store. */
  onLevel?: (level: ImpLevel) => void | Promise<void>;
}

export interface ImpLevel {
  level: number;
  /** Fraction of prunable weights left. */
  density: number;
  layers: LayerDensity[];
  ticket: TrainResult;
  reinit?: TrainResult;
  randomMask?: TrainResult;
}

export class IterativeMagnitudePruning {
  constructor(
    readonly model: Module,
    readonly opts: ImpOptions,
  ) {
    checkOptions('pruning.IterativeMagnitudePruning', opts, { levels: 'integer', rates: 'object', rewindIteration: 'integer', recipe: 'object', data: 'object', build: 'function', branches: 'strings', seed: 'integer', onTrainStart: 'function', onLevel: 'function' }, ['levels', 'recipe', 'data', 'build']);
    if (!(Number.isInteger(opts.levels) && opts.levels >= 0)) throw new Error(`glassbox.pruning.IterativeMagnitudePruning: levels must be an integer >= 0, got ${opts.levels}`);
    const k = opts.rewindIteration ?? 0;
    if (!(Number.isInteger(k) && k >= 0 && k < opts.recipe.iterations))
      throw new Error(`glassbox.pruning.IterativeMagnitudePruning: rewindIteration must be an integer in [0, ${opts.recipe.iterations}) (the training's iterations), got ${k}`);
    const rates = opts.rates ?? {};
    if ('global' in rates) {
      if (!(rates.global > 0 && rates.global < 1)) throw new Error(`glassbox.pruning.IterativeMagnitudePruning: the global rate must be in (0, 1), got ${rates.global}`);
    } else impLayerRates(model, rates);
  }

  /** The next level's mask: prune the smallest trained weights that `mask` left. */
  async nextMask(mask: PruningMask): Promise<PruningMask> {
    const scores = await magnitudeScores(this.model);
    const rates = this.opts.rates ?? {};
    return 'global' in rates ? mask.pruneLowestGlobal(scores, rates.global) : mask.pruneLowestPerLayer(scores, impLayerRates(this.model, rates));
  }

  async run(store: ExperimentStore = new MemoryStore()): Promise<ImpLevel[]> {
    const { opts, model } = this;
    const seed = opts.seed ?? 0;
    const rewindAt = opts.rewindIteration ?? 0;
    // θ0, kept (or found) before anything trains
    let init = await store.load('init.safetensors');
    if (!init) await store.save('init.safetensors', (init = await saveSafetensors(model)));
    const levels: ImpLevel[] = [];
    let mask = PruningMask.ones(model);
    for (let level = 0; level <= opts.levels; level++) {
      const dir = `level_${level}`;
      if (level > 0) {
        const saved = await store.load(`${dir}/mask.safetensors`);
        if (saved) mask = PruningMask.fromSafetensors(saved, model);
        else {
          const trained = await store.load(`level_${level - 1}/main/trained.safetensors`);
          if (!trained) throw new Error(`glassbox.pruning: level ${level - 1}'s trained weights are missing from the store; cannot compute level ${level}'s mask`);
          loadSafetensors(model, trained);
          mask.apply(model);
          mask = await this.nextMask(mask);
          await store.save(`${dir}/mask.safetensors`, mask.toSafetensors({ level: String(level) }));
        }
      }
      const record: ImpLevel = { level, density: mask.density(), layers: mask.layers(), ticket: undefined as unknown as TrainResult };
      const train = async (branch: 'main' | ImpBranch, weights: Uint8Array, m: PruningMask, snapshot?: boolean): Promise<TrainResult> => {
        const done = await loadJson<TrainResult>(store, `${dir}/${branch}/metrics.json`);
        if (done) return done;
        loadSafetensors(model, weights);
        m.apply(model);
        await opts.onTrainStart?.(level, branch, model);
        const result = await trainIterations(model, opts.data, opts.recipe, {
          seed: seed + level,
          label: `level ${level}/${opts.levels} ${branch} (${(100 * m.density()).toFixed(1)}% left)`,
          onIteration: snapshot && rewindAt > 0 ? async (k) => void (k === rewindAt && (await store.save('rewind.safetensors', await saveSafetensors(model)))) : undefined,
        });
        await store.save(`${dir}/${branch}/trained.safetensors`, await saveSafetensors(model));
        await saveJson(store, `${dir}/${branch}/metrics.json`, result);
        return result;
      };
      record.ticket = await train('main', level === 0 ? init : await this.rewindWeights(store, init), mask, level === 0);
      if (level > 0) {
        const branches = opts.branches ?? ['reinit', 'random-mask'];
        if (branches.includes('reinit')) {
          manualSeed(seed + 1000 + level);
          const other = opts.build();
          const fresh = await saveSafetensors(other);
          for (const p of other.parameters()) p.dispose();
          record.reinit = await train('reinit', fresh, mask);
        }
        if (branches.includes('random-mask')) record.randomMask = await train('random-mask', await this.rewindWeights(store, init), mask.randomLike(seed + 2000 + level));
      }
      levels.push(record);
      await opts.onLevel?.(record);
    }
    PruningMask.remove(model);
    return levels;
  }

  private async rewindWeights(store: ExperimentStore, init: Uint8Array): Promise<Uint8Array> {
    if (!(this.opts.rewindIteration ?? 0)) return init;
    const w = await store.load('rewind.safetensors');
    if (!w) throw new Error(`glassbox.pruning: the weights at the rewind iteration ${this.opts.rewindIteration} are missing from the store; level 0 saves them`);
    return w;
  }
}
