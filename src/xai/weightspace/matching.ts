/**
 * Weight matching (Ainsworth, Hayase & Srinivasa 2023, "Git Re-Basin", their algorithm 1): permute
 * net B's hidden units so that its weights line up with net A's, one layer at a time. For a
 * layer's units, the similarity of A's unit i and B's unit j is the inner product of everything
 * that touches them (incoming weights and bias, batch norm's affine parameters, outgoing weights),
 * with B's neighbouring layers already permuted; the best permutation is a linear assignment
 * problem. Layers are revisited in random order until no permutation changes.
 *
 * The assignment is solved exactly by the shortest-augmenting-path Hungarian method with
 * potentials (Jonker & Volgenant's formulation), O(n^3), written here.
 */
import { seededRandom } from '../../train/data-loader.ts';
import type { UnitGraph, UnitGroup } from './graph.ts';
import { assertSameArchitecture, type WeightState } from './state.ts';
import { permuteUnits, type Permutation } from './symmetry.ts';

/**
 * The assignment that minimises sum_i cost[i][assignment[i]] for a square cost matrix, given as
 * rows (n arrays of n numbers): assignment[i] is the column of row i.
 */
export function linearAssignment(cost: ArrayLike<number>[]): Int32Array {
  const n = cost.length;
  for (const row of cost) if (row.length !== n) throw new Error(`glassbox.weightspace.linearAssignment: the cost matrix must be square; a row has ${row.length} entries for ${n} rows`);
  // 1-based arrays as in the classical formulation; column 0 is the virtual start
  const u = new Float64Array(n + 1);
  const v = new Float64Array(n + 1);
  const rowOfColumn = new Int32Array(n + 1);
  const way = new Int32Array(n + 1);
  const minSlack = new Float64Array(n + 1);
  const used = new Uint8Array(n + 1);
  for (let i = 1; i <= n; i++) {
    rowOfColumn[0] = i;
    let j0 = 0;
    minSlack.fill(Infinity);
    used.fill(0);
    do {
      used[j0] = 1;
      const i0 = rowOfColumn[j0]!;
      let delta = Infinity;
      let j1 = 0;
      const row = cost[i0 - 1]!;
      for (let j = 1; j <= n; j++) {
        if (used[j]) continue;
        const c = row[j - 1]! - u[i0]! - v[j]!;
        if (!Number.isFinite(row[j - 1]!)) throw new Error(`glassbox.weightspace.linearAssignment: cost[${i0 - 1}][${j - 1}] is ${row[j - 1]}; costs must be finite`);
        if (c < minSlack[j]!) {
          minSlack[j] = c;
          way[j] = j0;
        }
        if (minSlack[j]! < delta) {
          delta = minSlack[j]!;
          j1 = j;
        }
      }
      for (let j = 0; j <= n; j++)
        if (used[j]) {
          u[rowOfColumn[j]!]! += delta;
          v[j]! -= delta;
        } else minSlack[j]! -= delta;
      j0 = j1;
    } while (rowOfColumn[j0] !== 0);
    do {
      const j1 = way[j0]!;
      rowOfColumn[j0] = rowOfColumn[j1]!;
      j0 = j1;
    } while (j0 !== 0);
  }
  const assignment = new Int32Array(n);
  for (let j = 1; j <= n; j++) assignment[rowOfColumn[j]! - 1] = j - 1;
  return assignment;
}

/** The tensors whose parameters take part in matching (running statistics are data, not weights). */
const matchedRows = (g: UnitGroup) => g.rows.filter((name) => !/running(Mean|Var)$/.test(name));

/** similarity[i][j] = <A's unit i, B's unit j> over the group's rows and outgoing weights. */
function unitSimilarity(a: WeightState, b: WeightState, g: UnitGroup): Float64Array[] {
  const U = g.size;
  const sim = Array.from({ length: U }, () => new Float64Array(U));
  for (const name of matchedRows(g)) {
    const va = a.values.get(name)!;
    const vb = b.values.get(name)!;
    const rest = va.length / U;
    for (let i = 0; i < U; i++)
      for (let j = 0; j < U; j++) {
        let s = 0;
        for (let k = 0; k < rest; k++) s += va[i * rest + k]! * vb[j * rest + k]!;
        sim[i]![j]! += s;
      }
  }
  const wa = a.values.get(g.consumer.weight)!;
  const wb = b.values.get(g.consumer.weight)!;
  const S = g.consumer.block;
  const O = wa.length / (U * S);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < U; i++)
      for (let j = 0; j < U; j++) {
        let s = 0;
        for (let k = 0; k < S; k++) s += wa[(o * U + i) * S + k]! * wb[(o * U + j) * S + k]!;
        sim[i]![j]! += s;
      }
  return sim;
}

export interface WeightMatchingResult {
  /** Per layer: B's unit that goes to position i, so that it lines up with A's unit i. */
  perms: Map<string, Permutation>;
  /** Net B with its units permuted: the same function as B. */
  state: WeightState;
  /** Passes over the layers until nothing changed. */
  iterations: number;
  /** Sum over layers of the matched similarity, at the start (identity) and the end. */
  similarityBefore: number;
  similarityAfter: number;
}

const totalSimilarity = (a: WeightState, b: WeightState, graph: UnitGraph) =>
  graph.groups.reduce((sum, g) => sum + unitSimilarity(a, b, g).reduce((s, row, i) => s + row[i]!, 0), 0);

/** Permutes B's units to match A's (Git Re-Basin weight matching). */
export function matchWeights(graph: UnitGraph, a: WeightState, b: WeightState, opts: { seed?: number; maxIterations?: number } = {}): WeightMatchingResult {
  assertSameArchitecture(a, b, 'weight matching');
  const perms = new Map<string, Permutation>(graph.groups.map((g) => [g.layer, Int32Array.from({ length: g.size }, (_, i) => i)]));
  const rand = seededRandom(opts.seed ?? 0);
  const maxIterations = opts.maxIterations ?? 100;
  const similarityBefore = totalSimilarity(a, b, graph);
  let iterations = 0;
  for (; iterations < maxIterations; iterations++) {
    let changed = false;
    const order = graph.groups.map((_, i) => i).sort(() => rand() - 0.5);
    for (const index of order) {
      const g = graph.groups[index]!;
      // B with every other layer's current permutation: only this layer's units are still free
      const others = new Map([...perms].filter(([layer]) => layer !== g.layer));
      const sim = unitSimilarity(a, permuteUnits(b, graph, others), g);
      const assignment = linearAssignment(sim.map((row) => row.map((s) => -s)));
      const old = perms.get(g.layer)!;
      const oldScore = sim.reduce((s, row, i) => s + row[old[i]!]!, 0);
      const newScore = sim.reduce((s, row, i) => s + row[assignment[i]!]!, 0);
      // only a strict improvement counts, so ties cannot make the passes cycle
      if (newScore > oldScore + 1e-12 * Math.abs(oldScore)) {
        perms.set(g.layer, assignment);
        changed = true;
      }
    }
    if (!changed) break;
  }
  const state = permuteUnits(b, graph, perms);
  return { perms, state, iterations: iterations + 1, similarityBefore, similarityAfter: totalSimilarity(a, state, graph) };
}
