/**
 * How much each method prunes when:
 *   IMP, layer-wise (Frankle & Carbin 2019): each round removes `rate` of each fully connected
 *     layer's remaining weights, `convRate` of each conv layer's, and `outputRate` of the output
 *     layer's (LeNet-300-100: 20%, 20%, 10%; Conv-2/4/6: conv 10%, fc 20%, output 10%).
 *   IMP, global (OpenLTH's default): each level removes `rate` (20%) of all remaining weights at once.
 *   SynFlow: n iterations of the exponential schedule, density d^(k/n) after iteration k (Tanaka et al.).
 */
import { Conv2d } from '../../nn/conv-layers.ts';
import type { Module } from '../../nn/module.ts';
import { prunableWeights } from './mask.ts';

export interface LayerRates {
  /** Per round, of a fully connected layer's remaining weights (default 0.2). */
  rate?: number;
  /** Of a conv layer's (default 0.1). */
  convRate?: number;
  /** Of the output (last) layer's (default rate / 2). */
  outputRate?: number;
}

/** The fraction of its remaining weights each prunable layer loses per IMP round (layer-wise IMP). */
export function impLayerRates(model: Module, opts: LayerRates = {}): Map<string, number> {
  const rate = opts.rate ?? 0.2;
  const convRate = opts.convRate ?? 0.1;
  const outputRate = opts.outputRate ?? rate / 2;
  for (const [what, v] of [['rate', rate], ['convRate', convRate], ['outputRate', outputRate]] as const)
    if (!(v > 0 && v < 1)) throw new Error(`glassbox.pruning: the IMP ${what} must be in (0, 1) (a fraction of the remaining weights per round), got ${v}`);
  const convWeights = new Set(model.namedModules().filter(([, m]) => m instanceof Conv2d).map(([n]) => (n ? `${n}.weight` : 'weight')));
  const weights = prunableWeights(model);
  return new Map(weights.map(([name], i) => [name, i === weights.length - 1 ? outputRate : convWeights.has(name) ? convRate : rate]));
}

/** The densities after each of `iterations` SynFlow iterations ending at `density`: density^(k/n), k = 1..n. */
export function exponentialSchedule(density: number, iterations: number): number[] {
  if (!(density > 0 && density < 1)) throw new Error(`glassbox.pruning: the density (fraction of weights left) must be in (0, 1), got ${density}`);
  if (!(Number.isInteger(iterations) && iterations >= 1)) throw new Error(`glassbox.pruning: the number of SynFlow iterations must be an integer >= 1, got ${iterations}`);
  return Array.from({ length: iterations }, (_, k) => density ** ((k + 1) / iterations));
}

/** Densities 10^-a for compression ratios 10^a, a = from, from + step, ... to (SynFlow's x-axis). */
export function compressionDensities(from: number, to: number, step: number): number[] {
  if (!(from > 0 && to >= from && step > 0)) throw new Error(`glassbox.pruning: compression exponents need 0 < from <= to and step > 0, got from ${from}, to ${to}, step ${step}`);
  const out: number[] = [];
  for (let a = from; a <= to + 1e-9; a += step) out.push(10 ** -a);
  return out;
}
