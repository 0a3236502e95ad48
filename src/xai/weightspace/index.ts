/**
 * Weight space (catalogue rows A4, D1, D2): which networks are the same function, how trained
 * networks connect, and whether their codes are interchangeable.
 * - state.ts: a net's parameters and buffers as CPU arrays (`readState`, `writeState`), and the architecture check.
 * - graph.ts: `unitGraph(model, inputShape)`: the hidden unit groups and what indexes them (batch norm, the flatten).
 * - symmetry.ts: D1, `await ReluSymmetry.create(model, inputShape)`: permutations, positive rescaling, the canonical form.
 * - matching.ts: `linearAssignment` (Hungarian / Jonker-Volgenant) and `matchWeights` (Git Re-Basin weight matching).
 * - paths.ts: lines, Bezier curves and polygonal chains between nets, `evaluatePath`, and `barrier`.
 * - curve-training.ts: `trainCurve`, the middle point of a curve trained at random t (Garipov et al. 2018).
 * - batchnorm-stats.ts: `recomputeBatchNormStats` at a point of a path.
 * - connectivity.ts: D2, `new ModeConnectivity(model, a, b, inputShape).connect(opts)`: every path and its barrier.
 * - stitching.ts: A4, `new Stitching(netA, netB, inputShape).stitch(layer, opts)` (Lenc & Vedaldi 2015).
 * - pictures.ts: weights as heat maps and unit tiles.
 */
export * from './state.ts';
export * from './graph.ts';
export * from './symmetry.ts';
export * from './matching.ts';
export * from './paths.ts';
export * from './curve-training.ts';
export * from './batchnorm-stats.ts';
export * from './connectivity.ts';
export * from './stitching.ts';
export * from './pictures.ts';
