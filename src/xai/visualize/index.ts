/** Methods that draw what a network responds to, on the input-optimisation core in ../optimize/: features.ts (E1 feature visualisation). */
export * from './features.ts';
