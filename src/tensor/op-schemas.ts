/**
 * The option schemas (check-options.ts) of the ops that nn layers wrap: the op checks its options
 * when it runs, the layer checks the same ones when it is built, so a wrong option fails at
 * `new nn.Conv2d(...)` rather than at the first forward. Kept out of src/tensor/ops so that they
 * are not public names.
 */
import type { OptionSchema } from './check-options.ts';

export const CONV2D_OPTIONS: OptionSchema = { stride: 'pair', padding: ['pair', '=same', '=valid'], dilation: 'pair', groups: 'integer' };
export const CONV_TRANSPOSE2D_OPTIONS: OptionSchema = { stride: 'pair', padding: 'pair', outputPadding: 'pair', dilation: 'pair', groups: 'integer' };
export const MAX_POOL_OPTIONS: OptionSchema = { kernelSize: 'pair', stride: 'pair', padding: 'pair', dilation: 'pair', ceilMode: 'boolean' };
export const AVG_POOL_OPTIONS: OptionSchema = { kernelSize: 'pair', stride: 'pair', padding: 'pair', ceilMode: 'boolean', countIncludePad: 'boolean' };
export const INTERPOLATE_OPTIONS: OptionSchema = { size: 'numbers', scaleFactor: 'numbers', mode: ['=nearest', '=bilinear'], alignCorners: 'boolean' };
