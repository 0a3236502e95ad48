/**
 * Pruning (catalogue D3 lottery tickets, D4 pruning at initialisation): the one mask family
 * (`mask.ts`, masks that live in the engine's parameters), the scores (`scores.ts`), the schedules
 * (`schedule.ts`), iterative magnitude pruning with rewinding (`imp.ts`) and pruning at
 * initialisation (`at-init.ts`), with the fixed-iteration training loop they share (`train.ts`).
 */
export { PruningMask, prunableWeights, type Scores, type LayerDensity } from './mask.ts';
export { magnitudeScores, randomScores, snipScores, synflowScores, SCORE_METHODS, type ScoreMethod } from './scores.ts';
export { impLayerRates, exponentialSchedule, compressionDensities, type LayerRates } from './schedule.ts';
export { IterativeMagnitudePruning, type ImpOptions, type ImpLevel, type ImpBranch } from './imp.ts';
export { PruneAtInit, type PruneAtInitOptions } from './at-init.ts';
export { trainIterations, splitDataset, type TrainRecipe, type TrainData, type TrainResult, type CurvePoint } from './train.ts';
export { MemoryStore, type ExperimentStore } from './store.ts';
