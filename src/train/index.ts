/** The `optim` namespace. */
export { Optimizer, SGD, Adam, AdamW, type SGDOptions, type AdamOptions } from './optim.ts';
