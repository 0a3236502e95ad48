/**
 * The pruning mask every method here makes and every experiment applies: for each prunable
 * weight (the weights of Linear and Conv2d layers; biases and batch norm are never pruned, as in
 * Frankle & Carbin 2019 and Tanaka et al. 2020) a 0/1 array of the weight's size, kept on the CPU.
 * `apply(model)` hands it to the engine (`nn.setParameterMask`), which keeps masked entries exactly
 * 0.0 through backward and every optimiser. Pruning by scores (`pruneLowest`, `keepHighest`) always
 * removes the lowest-scored of the weights still alive, ties broken by position, so the same scores
 * give the same mask.
 */
import { setParameterMask } from '../../nn/module.ts';
import type { Module } from '../../nn/module.ts';
import { Conv2d } from '../../nn/conv-layers.ts';
import { Linear } from '../../nn/layers.ts';
import { tensorFromArray, type Tensor } from '../../tensor/tensor.ts';
import { seededRandom } from '../../train/data-loader.ts';
import { parseSafetensors, writeSafetensors, type SafetensorsInput } from '../../nn/safetensors.ts';

/** Per prunable weight (by parameter name), one score per entry; higher scores survive. */
export type Scores = Map<string, Float32Array>;

/** The weights of every Linear and Conv2d layer, by parameter name, in the model's order. */
export function prunableWeights(model: Module): Array<[string, Tensor]> {
  const out: Array<[string, Tensor]> = [];
  for (const [path, m] of model.namedModules()) if (m instanceof Linear || m instanceof Conv2d) out.push([path ? `${path}.weight` : 'weight', m.weight]);
  if (!out.length) throw new Error(`glassbox.pruning: ${model.constructor.name} has no Linear or Conv2d layer to prune`);
  return out;
}

export interface LayerDensity {
  name: string;
  size: number;
  kept: number;
  density: number;
}

export class PruningMask {
  private constructor(
    /** 1 keeps an entry, 0 prunes it, per prunable weight. */
    readonly keep: ReadonlyMap<string, Uint8Array>,
    readonly shapes: ReadonlyMap<string, readonly number[]>,
  ) {}

  /** Everything kept: the dense network. */
  static ones(model: Module): PruningMask {
    const weights = prunableWeights(model);
    return new PruningMask(new Map(weights.map(([n, w]) => [n, new Uint8Array(w.size).fill(1)])), new Map(weights.map(([n, w]) => [n, w.shape])));
  }

  get names(): string[] {
    return [...this.keep.keys()];
  }

  /** Fraction of all prunable weights kept. */
  density(): number {
    let kept = 0;
    let size = 0;
    for (const k of this.keep.values()) {
      size += k.length;
      for (const v of k) kept += v;
    }
    return kept / size;
  }

  layers(): LayerDensity[] {
    return this.names.map((name) => {
      const k = this.keep.get(name)!;
      let kept = 0;
      for (const v of k) kept += v;
      return { name, size: k.length, kept, density: kept / k.length };
    });
  }

  /** Layers with no weight left (layer collapse: the network's output no longer depends on its input). */
  collapsedLayers(): string[] {
    return this.layers()
      .filter((l) => l.kept === 0)
      .map((l) => l.name);
  }

  /** Sets the model's parameter masks (nn.setParameterMask): masked weights become and stay 0.0. */
  apply(model: Module): void {
    const params = new Map(prunableWeights(model));
    for (const [name, k] of this.keep) {
      const p = params.get(name);
      if (!p) throw new Error(`glassbox.pruning: the mask names '${name}', which ${model.constructor.name} has no prunable weight of; it has ${[...params.keys()].join(', ')}`);
      if (p.size !== k.length) throw new Error(`glassbox.pruning: the mask of '${name}' has ${k.length} entries, the weight ${p.size}`);
      const m = tensorFromArray(Float32Array.from(k), p.shape, 'float32');
      setParameterMask(p, m);
      m.dispose();
    }
  }

  /** Removes the model's masks (the weights keep their values). */
  static remove(model: Module): void {
    for (const [, p] of prunableWeights(model)) setParameterMask(p, null);
  }

  /**
   * Prunes, in each layer, `fractions.get(name)` of the weights still alive with the lowest scores
   * (the layer-wise IMP of Frankle & Carbin); a layer without an entry is left as it is.
   */
  pruneLowestPerLayer(scores: Scores, fractions: ReadonlyMap<string, number>): PruningMask {
    const keep = new Map(this.keep);
    for (const [name, fraction] of fractions) {
      checkFraction(fraction, `the pruning fraction of '${name}'`);
      const k = this.keepOf(name);
      const alive = countOnes(k);
      const remove = Math.round(fraction * alive);
      if (remove >= alive && alive > 0)
        throw new Error(`glassbox.pruning: pruning ${(100 * fraction).toFixed(1)}% of '${name}' removes all of its ${alive} remaining weights (layer collapse); use a smaller rate or fewer rounds`);
      keep.set(name, dropLowest([[name, k]], scoresOf(scores, name, k.length), remove).get(name)!);
    }
    return new PruningMask(keep, this.shapes);
  }

  /** Prunes `fraction` of all weights still alive, the lowest scores over every layer together (global pruning). */
  pruneLowestGlobal(scores: Scores, fraction: number): PruningMask {
    checkFraction(fraction, 'the global pruning fraction');
    const alive = this.names.reduce((n, name) => n + countOnes(this.keepOf(name)), 0);
    return this.dropGlobal(scores, Math.round(fraction * alive));
  }

  /** Keeps the `density` fraction of all prunable weights with the highest scores (pruning at initialisation to a target density). */
  keepHighestGlobal(scores: Scores, density: number): PruningMask {
    checkFraction(density, 'the density (fraction of weights left)');
    const total = this.names.reduce((n, name) => n + this.keepOf(name).length, 0);
    const alive = this.names.reduce((n, name) => n + countOnes(this.keepOf(name)), 0);
    const target = Math.round(density * total);
    if (target > alive) throw new Error(`glassbox.pruning: density ${density} keeps ${target} weights, but only ${alive} are left in the mask`);
    return this.dropGlobal(scores, alive - target);
  }

  /** A random mask with the same number of weights per layer (the "random pruning" control of Frankle & Carbin). */
  randomLike(seed: number): PruningMask {
    const rand = seededRandom(seed);
    const keep = new Map<string, Uint8Array>();
    for (const name of this.names) {
      const k = this.keepOf(name);
      const kept = countOnes(k);
      // a partial Fisher-Yates shuffle picks `kept` positions uniformly
      const idx = Uint32Array.from({ length: k.length }, (_, i) => i);
      const out = new Uint8Array(k.length);
      for (let i = 0; i < kept; i++) {
        const j = i + Math.floor(rand() * (k.length - i));
        [idx[i], idx[j]] = [idx[j]!, idx[i]!];
        out[idx[i]!] = 1;
      }
      keep.set(name, out);
    }
    return new PruningMask(keep, this.shapes);
  }

  /** The mask as a safetensors file (uint8 stored as int32 0/1 per entry; a few MB at most for the nets here). */
  toSafetensors(metadata: Record<string, string> = {}): Uint8Array {
    const input: SafetensorsInput = new Map();
    for (const name of this.names) input.set(name, { shape: this.shapes.get(name)!, data: Int32Array.from(this.keepOf(name)) });
    return writeSafetensors(input, metadata);
  }

  static fromSafetensors(bytes: Uint8Array, model: Module): PruningMask {
    const file = parseSafetensors(bytes);
    const base = PruningMask.ones(model);
    const keep = new Map<string, Uint8Array>();
    for (const name of base.names) {
      const t = file.tensors.get(name);
      if (!t) throw new Error(`glassbox.pruning: the mask file has no entry for '${name}'; it has ${[...file.tensors.keys()].join(', ')}`);
      if (t.data.length !== base.keepOf(name).length) throw new Error(`glassbox.pruning: the mask of '${name}' in the file has ${t.data.length} entries, the model's weight ${base.keepOf(name).length}`);
      keep.set(name, Uint8Array.from(t.data as ArrayLike<number>, (v) => (v ? 1 : 0)));
    }
    return new PruningMask(keep, base.shapes);
  }

  keepOf(name: string): Uint8Array {
    const k = this.keep.get(name);
    if (!k) throw new Error(`glassbox.pruning: no prunable weight '${name}' in the mask; it has ${this.names.join(', ')}`);
    return k;
  }

  private dropGlobal(scores: Scores, remove: number): PruningMask {
    const entries = this.names.map((n) => [n, this.keepOf(n)] as [string, Uint8Array]);
    const all = new Float32Array(entries.reduce((s, [, k]) => s + k.length, 0));
    let at = 0;
    for (const [name, k] of entries) {
      all.set(scoresOf(scores, name, k.length), at);
      at += k.length;
    }
    return new PruningMask(dropLowest(entries, all, remove), this.shapes);
  }
}

function checkFraction(v: number, what: string): void {
  if (!(v > 0 && v < 1)) throw new Error(`glassbox.pruning: ${what} must be in (0, 1), got ${v}`);
}

function countOnes(k: Uint8Array): number {
  let n = 0;
  for (const v of k) n += v;
  return n;
}

function scoresOf(scores: Scores, name: string, size: number): Float32Array {
  const s = scores.get(name);
  if (!s) throw new Error(`glassbox.pruning: no scores for '${name}'; scores were given for ${[...scores.keys()].join(', ')}`);
  if (s.length !== size) throw new Error(`glassbox.pruning: the scores of '${name}' have ${s.length} entries, the weight ${size}`);
  for (const v of s) if (Number.isNaN(v)) throw new Error(`glassbox.pruning: the scores of '${name}' contain NaN; the scoring diverged`);
  return s;
}

/**
 * Drops the `remove` lowest-scored entries still alive over the concatenation of `entries`
 * (scores laid end to end in the same order); ties go to the earlier position. The threshold comes
 * from a native numeric sort of the alive scores (a comparator sort of 266k indices took ~10x longer).
 */
function dropLowest(entries: Array<[string, Uint8Array]>, scores: Float32Array, remove: number): Map<string, Uint8Array> {
  const out = entries.map(([n, k]) => [n, Uint8Array.from(k)] as [string, Uint8Array]);
  const alive: number[] = [];
  for (const [, k] of out) alive.push(countOnes(k));
  const total = alive.reduce((a, b) => a + b, 0);
  const count = Math.min(remove, total);
  if (count <= 0) return new Map(out);
  const values = new Float32Array(total);
  let n = 0;
  let at = 0;
  for (const [, k] of out) {
    for (let i = 0; i < k.length; i++) if (k[i]) values[n++] = scores[at + i]!;
    at += k.length;
  }
  values.sort();
  const threshold = values[count - 1]!;
  // everything below the threshold goes; entries equal to it go in position order until `count`
  let below = 0;
  for (let i = 0; i < count; i++) if (values[i]! < threshold) below++;
  let ties = count - below;
  at = 0;
  for (const [, k] of out) {
    for (let i = 0; i < k.length; i++) {
      if (!k[i]) continue;
      const s = scores[at + i]!;
      if (s < threshold) k[i] = 0;
      else if (s === threshold && ties > 0) {
        k[i] = 0;
        ties--;
      }
    }
    at += k.length;
  }
  return new Map(out);
}
