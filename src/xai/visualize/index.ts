/** Methods that draw what a network responds to, on the input-optimisation core in ../optimize/: features.ts (E1 feature visualisation). */
export * from './features.ts';
export * from './circuits.ts';
export * from './decoder.ts';
export * from './style-transfer.ts';
export * from './inversion.ts';
export * from './deep-dream.ts';
