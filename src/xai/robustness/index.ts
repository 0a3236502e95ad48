/** Robustness probes (catalogue C5): common corruptions as GPU tensor ops. */
export * from './corruptions.ts';
export { Rng } from './image-ops.ts';
export * from './accuracy.ts';
export * from './cue-conflict.ts';
