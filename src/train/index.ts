/** The `optim` namespace. */
export { Optimizer, SGD, Adam, AdamW, type SGDOptions, type AdamOptions } from './optim.ts';
export {
  LRScheduler,
  StepLR,
  CosineAnnealingLR,
  OneCycleLR,
  LinearWarmup,
  type StepLROptions,
  type CosineAnnealingLROptions,
  type OneCycleLROptions,
  type LinearWarmupOptions,
} from './schedulers.ts';
export { LBFGS, type LBFGSOptions, type LBFGSClosure } from './lbfgs.ts';
export { clipGradNorm, clipGradValue, type ClipGradNormOptions } from './clip.ts';
