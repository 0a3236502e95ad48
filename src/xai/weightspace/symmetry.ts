/**
 * D1, the symmetries of ReLU networks (Phuong & Lampert 2020 study when they are the only ones):
 * - permuting a layer's hidden units, with everything indexed by them carried along (the layer's
 *   weight rows and bias, its batch norm's affine parameters and running statistics, the next
 *   layer's input columns or, after a flatten, column blocks);
 * - positive rescaling: a unit's incoming parameters times c > 0 and its outgoing weights times
 *   1/c. relu(c z) = c relu(z), and max pooling, average pooling and a flatten commute with a
 *   positive per-channel scale, so the function is unchanged. Where batch norm follows the layer,
 *   batch norm divides any scale of its input away, so the scale is set by batch norm's weight and
 *   bias (the `scaled` tensors of the unit group); the conv's own weight scale is a separate
 *   invariance, exact only up to batch norm's eps, and is not used here.
 * - a canonical form: each unit's incoming vector (its `scaled` rows) scaled to norm 1, layer by
 *   layer from the input, then the units sorted by the norm of their outgoing weights, largest
 *   first. Equivalent networks (same architecture, related by permutations and positive
 *   rescalings) get the same parameters; different functions get different ones.
 */
import type { Module } from '../../nn/module.ts';
import { noGrad } from '../../autograd/node.ts';
import { tensor } from '../../tensor/ops/creation.ts';
import { tidy } from '../../tensor/tensor.ts';
import { seededRandom } from '../../train/data-loader.ts';
import type { UnitGraph, UnitGroup } from './graph.ts';
import { unitGraph } from './graph.ts';
import { cloneState, readState, writeState, type WeightState } from './state.ts';

/** perm[i] = the old index of the unit that goes to position i. */
export type Permutation = Int32Array;

function checkPermutation(p: Permutation, group: UnitGroup): void {
  const seen = new Uint8Array(group.size);
  if (p.length !== group.size) throw new Error(`glassbox.weightspace: a permutation of '${group.layer}' needs ${group.size} entries, got ${p.length}`);
  for (const v of p) {
    if (!(v >= 0 && v < group.size) || seen[v]) throw new Error(`glassbox.weightspace: the permutation of '${group.layer}' is not a permutation of 0..${group.size - 1} (entry ${v})`);
    seen[v] = 1;
  }
}

/** Reorders the group's units in place in `state`: dim 0 of its rows, dim 1 of its consumer. */
function permuteGroup(state: WeightState, group: UnitGroup, perm: Permutation): void {
  checkPermutation(perm, group);
  const U = group.size;
  for (const name of group.rows) {
    const v = state.values.get(name)!;
    const rest = v.length / U;
    const old = v.slice();
    for (let i = 0; i < U; i++) v.set(old.subarray(perm[i]! * rest, (perm[i]! + 1) * rest), i * rest);
  }
  const w = state.values.get(group.consumer.weight)!;
  const S = group.consumer.block;
  const O = w.length / (U * S);
  const old = w.slice();
  for (let o = 0; o < O; o++)
    for (let i = 0; i < U; i++) w.set(old.subarray((o * U + perm[i]!) * S, (o * U + perm[i]! + 1) * S), (o * U + i) * S);
}

/** Multiplies unit i's incoming parameters by c[i] and its outgoing weights by 1 / c[i], in place. */
function rescaleGroup(state: WeightState, group: UnitGroup, c: ArrayLike<number>): void {
  const U = group.size;
  for (let i = 0; i < U; i++)
    if (!(c[i]! > 0 && Number.isFinite(c[i]!))) throw new Error(`glassbox.weightspace: rescaling '${group.layer}' unit ${i} by ${c[i]}: the factor must be finite and > 0 (ReLU commutes only with positive scales)`);
  if (group.scaled.length === 0) throw new Error(`glassbox.weightspace: '${group.layer}' is followed by batch norm without affine parameters, which divides any scale away; its units cannot be rescaled`);
  for (const name of group.scaled) {
    const v = state.values.get(name)!;
    const rest = v.length / U;
    for (let i = 0; i < U; i++) for (let k = 0; k < rest; k++) v[i * rest + k]! *= c[i]!;
  }
  const w = state.values.get(group.consumer.weight)!;
  const S = group.consumer.block;
  const O = w.length / (U * S);
  for (let o = 0; o < O; o++) for (let i = 0; i < U; i++) for (let s = 0; s < S; s++) w[(o * U + i) * S + s]! /= c[i]!;
}

/** The groups to act on, in graph order, from a map keyed by layer path (unknown keys refused). */
function byLayer<T>(graph: UnitGraph, map: ReadonlyMap<string, T>): Array<[UnitGroup, T]> {
  for (const key of map.keys())
    if (!graph.groups.some((g) => g.layer === key)) throw new Error(`glassbox.weightspace: '${key}' has no hidden units; layers with units: ${graph.groups.map((g) => g.layer).join(', ')}`);
  return graph.groups.filter((g) => map.has(g.layer)).map((g) => [g, map.get(g.layer)!]);
}

/** A copy of `state` with the units of each named layer permuted. */
export function permuteUnits(state: WeightState, graph: UnitGraph, perms: ReadonlyMap<string, Permutation>): WeightState {
  const out = cloneState(state);
  for (const [g, p] of byLayer(graph, perms)) permuteGroup(out, g, p);
  return out;
}

/** A copy of `state` with the units of each named layer rescaled (c in, 1/c out). */
export function rescaleUnits(state: WeightState, graph: UnitGraph, scales: ReadonlyMap<string, ArrayLike<number>>): WeightState {
  const out = cloneState(state);
  for (const [g, c] of byLayer(graph, scales)) rescaleGroup(out, g, c);
  return out;
}

export interface Symmetry {
  perms: Map<string, Permutation>;
  scales: Map<string, Float64Array>;
}

/** A random element of the symmetry group: a uniform permutation and scales e^N(0, spread^2) for every rescalable group. */
export function randomSymmetry(graph: UnitGraph, seed = 0, spread = 1): Symmetry {
  const rand = seededRandom(seed);
  const perms = new Map<string, Permutation>();
  const scales = new Map<string, Float64Array>();
  for (const g of graph.groups) {
    const p = Int32Array.from({ length: g.size }, (_, i) => i);
    for (let i = g.size - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [p[i], p[j]] = [p[j]!, p[i]!];
    }
    perms.set(g.layer, p);
    if (g.scaled.length) scales.set(g.layer, Float64Array.from({ length: g.size }, () => Math.exp(spread * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()))));
  }
  return { perms, scales };
}

/** Applies a symmetry: rescale, then permute. */
export function applySymmetry(state: WeightState, graph: UnitGraph, s: Symmetry): WeightState {
  return permuteUnits(rescaleUnits(state, graph, s.scales), graph, s.perms);
}

/** Each unit's incoming vector (its `scaled` rows) and the norm of its outgoing weights. */
function unitNorms(state: WeightState, g: UnitGroup): { incoming: Float64Array; outgoing: Float64Array } {
  const U = g.size;
  const incoming = new Float64Array(U);
  for (const name of g.scaled) {
    const v = state.values.get(name)!;
    const rest = v.length / U;
    for (let i = 0; i < U; i++) for (let k = 0; k < rest; k++) incoming[i]! += v[i * rest + k]! ** 2;
  }
  const outgoing = new Float64Array(U);
  const w = state.values.get(g.consumer.weight)!;
  const S = g.consumer.block;
  const O = w.length / (U * S);
  for (let o = 0; o < O; o++) for (let i = 0; i < U; i++) for (let s = 0; s < S; s++) outgoing[i]! += w[(o * U + i) * S + s]! ** 2;
  return { incoming: incoming.map(Math.sqrt), outgoing: outgoing.map(Math.sqrt) };
}

/**
 * The canonical representative of `state`'s equivalence class, and the symmetry that maps `state`
 * to it (scales first, then permutations). Units with a zero incoming vector keep scale 1.
 */
export function canonicalForm(state: WeightState, graph: UnitGraph): { state: WeightState; symmetry: Symmetry } {
  let out = cloneState(state);
  const symmetry: Symmetry = { perms: new Map(), scales: new Map() };
  // scales layer by layer from the input: normalising a layer changes the next layer's incoming rows
  for (const g of graph.groups) {
    if (!g.scaled.length) continue;
    const c = unitNorms(out, g).incoming.map((n) => (n > 0 ? 1 / n : 1));
    rescaleGroup(out, g, c);
    symmetry.scales.set(g.layer, c);
  }
  for (const g of graph.groups) {
    const key = unitNorms(out, g).outgoing;
    const perm = Int32Array.from({ length: g.size }, (_, i) => i).sort((a, b) => key[b]! - key[a]! || a - b);
    symmetry.perms.set(g.layer, perm);
  }
  out = permuteUnits(out, graph, symmetry.perms);
  return { state: out, symmetry };
}

/** The model's outputs on `n` seeded random inputs, uniform in [-1, 1], as numbers (for checks). */
async function outputsOn(model: Module, inputShape: readonly number[], seed: number, n: number): Promise<Float32Array> {
  const wasTraining = model.training;
  model.eval();
  try {
    const rand = seededRandom(seed);
    const x = Float32Array.from({ length: n * inputShape.reduce((a, b) => a * b, 1) }, () => 2 * rand() - 1);
    const y = tidy(() => noGrad(() => model.forward(tensor(x, [n, ...inputShape]))));
    return Float32Array.from(await y.toArrayAndDispose());
  } finally {
    model.train(wasTraining);
  }
}

/**
 * D1 on a model: its unit graph (checked once by applying a random symmetry and comparing
 * outputs: a net the graph misreads, such as one with residual connections, is refused), and
 * the transformations as methods that return states (load them with `apply`).
 *
 *   const sym = await ReluSymmetry.create(model, [1, 28, 28]);
 *   const canonical = sym.canonicalForm(await sym.state());
 */
export class ReluSymmetry {
  private constructor(
    readonly model: Module,
    readonly graph: UnitGraph,
  ) {}

  static async create(model: Module, inputShape: readonly number[], opts: { check?: boolean } = {}): Promise<ReluSymmetry> {
    const sym = new ReluSymmetry(model, unitGraph(model, inputShape));
    if (opts.check ?? true) await sym.checkFunctionPreserved();
    return sym;
  }

  state(): Promise<WeightState> {
    return readState(this.model);
  }

  /** Loads a state into the model. */
  apply(state: WeightState): void {
    writeState(this.model, state);
  }

  canonicalForm(state: WeightState): { state: WeightState; symmetry: Symmetry } {
    return canonicalForm(state, this.graph);
  }

  random(seed = 0, spread = 1): Symmetry {
    return randomSymmetry(this.graph, seed, spread);
  }

  transform(state: WeightState, s: Symmetry): WeightState {
    return applySymmetry(state, this.graph, s);
  }

  /**
   * The largest output change when a random symmetry is applied, on 8 random inputs, relative to
   * how much the outputs vary between those inputs (so a constant output, a bias, cannot hide a
   * change); the model's weights are restored afterwards.
   */
  async functionChange(seed = 1, spread = 1): Promise<number> {
    const original = await this.state();
    const n = 8;
    const before = await outputsOn(this.model, this.graph.inputShape, 12345, n);
    try {
      this.apply(this.transform(original, this.random(seed, spread)));
      const after = await outputsOn(this.model, this.graph.inputShape, 12345, n);
      const k = before.length / n;
      let spreadOfOutputs = 0;
      let worst = 0;
      for (let j = 0; j < k; j++) {
        let mean = 0;
        for (let i = 0; i < n; i++) mean += before[i * k + j]! / n;
        for (let i = 0; i < n; i++) spreadOfOutputs = Math.max(spreadOfOutputs, Math.abs(before[i * k + j]! - mean));
      }
      for (let i = 0; i < before.length; i++) worst = Math.max(worst, Math.abs(before[i]! - after[i]!));
      return worst / Math.max(spreadOfOutputs, 1e-12);
    } finally {
      this.apply(original);
    }
  }

  private async checkFunctionPreserved(): Promise<void> {
    const change = await this.functionChange(7, 0.5);
    if (!(change < 1e-3))
      throw new Error(
        `glassbox.weightspace: a random permutation and rescaling of the units changed the outputs by ${change.toExponential(2)} (relative): ` +
          `the model is not a plain chain of Conv2d/Linear layers with ReLU-like activations (residual connections, a non-homogeneous activation or an op between layers that mixes units); permutation and rescaling are not supported for it`,
      );
  }
}
