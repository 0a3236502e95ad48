/** Convolution, pooling, normalisation and dropout layers (wrapping the ops in src/tensor/ops). */
import { conv2d, convTranspose2d, type Conv2dOptions, type ConvTranspose2dOptions } from '../tensor/ops/conv.ts';
import { adaptiveAvgPool2d, avgPool2d, maxPool2d, type AvgPool2dOptions, type MaxPool2dOptions } from '../tensor/ops/pool.ts';
import { batchNorm, dropout } from '../tensor/ops/norm.ts';
import { interpolate, type InterpolateOptions } from '../tensor/ops/resample.ts';
import { ones, zeros } from '../tensor/ops/creation.ts';
import type { Pair } from '../tensor/ops/window.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { checkOptions, describeValue, type OptionSchema } from '../tensor/check-options.ts';
import { AVG_POOL_OPTIONS, CONV2D_OPTIONS, CONV_TRANSPOSE2D_OPTIONS, INTERPOLATE_OPTIONS, MAX_POOL_OPTIONS } from '../tensor/op-schemas.ts';
import { defaultBias, defaultWeight } from './init.ts';
import { Module, Parameter } from './module.ts';

const pairOf = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** The layer's options less its own `bias` flag: what the op takes (it refuses keys it does not know). */
/** A conv layer's sizes and options, checked when it is built (the op checks them again when it runs). */
function checkConvLayer(layer: string, sizes: { inChannels: number; outChannels: number; kernelSize: Pair }, opts: object, opSchema: OptionSchema): void {
  checkOptions(layer, sizes, { inChannels: 'integer', outChannels: 'integer', kernelSize: 'pair' });
  checkOptions(layer, opts, { ...opSchema, bias: 'boolean' });
}

function withoutBiasFlag<T extends { bias?: boolean }>(opts: T): Omit<T, 'bias'> {
  if (!('bias' in opts)) return opts;
  const { bias: _bias, ...rest } = opts;
  return rest;
}

export class Conv2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly kernelSize: [number, number];
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    readonly opts: Conv2dOptions & { bias?: boolean } = {},
  ) {
    super();
    checkConvLayer('nn.Conv2d', { inChannels, outChannels, kernelSize }, opts, CONV2D_OPTIONS);
    const groups = opts.groups ?? 1;
    if (inChannels % groups || outChannels % groups)
      throw new Error(`glassbox.nn.Conv2d: channels (${inChannels} in, ${outChannels} out) must be divisible by groups (${groups})`);
    this.kernelSize = pairOf(kernelSize);
    const shape = [outChannels, inChannels / groups, ...this.kernelSize];
    this.weight = Parameter(defaultWeight(shape));
    this.bias = opts.bias === false ? null : Parameter(defaultBias(outChannels, shape[1]! * shape[2]! * shape[3]!));
  }
  forward(x: Tensor): Tensor {
    return conv2d(x, this.weight, this.bias, withoutBiasFlag(this.opts));
  }
}

export class ConvTranspose2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly kernelSize: [number, number];
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Pair,
    readonly opts: ConvTranspose2dOptions & { bias?: boolean } = {},
  ) {
    super();
    checkConvLayer('nn.ConvTranspose2d', { inChannels, outChannels, kernelSize }, opts, CONV_TRANSPOSE2D_OPTIONS);
    const groups = opts.groups ?? 1;
    this.kernelSize = pairOf(kernelSize);
    // PyTorch's weight layout [in, out / groups, kh, kw]; its init uses fan_in = (out / groups) * kh * kw
    const shape = [inChannels, outChannels / groups, ...this.kernelSize];
    this.weight = Parameter(defaultWeight(shape));
    this.bias = opts.bias === false ? null : Parameter(defaultBias(outChannels, shape[1]! * shape[2]! * shape[3]!));
  }
  forward(x: Tensor): Tensor {
    return convTranspose2d(x, this.weight, this.bias, withoutBiasFlag(this.opts));
  }
}

export class MaxPool2d extends Module {
  readonly opts: MaxPool2dOptions;
  constructor(kernelSize: Pair, opts: Omit<MaxPool2dOptions, 'kernelSize'> = {}) {
    super();
    checkOptions('nn.MaxPool2d', opts, MAX_POOL_OPTIONS);
    this.opts = checkOptions('nn.MaxPool2d', { ...opts, kernelSize }, MAX_POOL_OPTIONS);
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.opts);
  }
}

export class AvgPool2d extends Module {
  readonly opts: AvgPool2dOptions;
  constructor(kernelSize: Pair, opts: Omit<AvgPool2dOptions, 'kernelSize'> = {}) {
    super();
    checkOptions('nn.AvgPool2d', opts, AVG_POOL_OPTIONS);
    this.opts = checkOptions('nn.AvgPool2d', { ...opts, kernelSize }, AVG_POOL_OPTIONS);
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.opts);
  }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: number | readonly [number | null, number | null]) {
    super();
    const size = (v: unknown) => Number.isInteger(v) && (v as number) >= 1;
    if (!(size(outputSize) || (Array.isArray(outputSize) && outputSize.length === 2 && outputSize.every((v) => v === null || size(v)))))
      throw new Error(`glassbox.nn.AdaptiveAvgPool2d: outputSize must be a positive integer or a pair [height, width] of them (null keeps the input's), got ${describeValue(outputSize)}`);
  }
  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}

/** Batch norm over channels (dim 1) of [N, C] or [N, C, H, W] inputs, with running statistics as buffers. */
export class BatchNorm extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  constructor(
    readonly numFeatures: number,
    readonly opts: { eps?: number; momentum?: number; affine?: boolean } = {},
  ) {
    super();
    checkOptions(`nn.${new.target.name}`, { numFeatures }, { numFeatures: 'integer' });
    checkOptions(`nn.${new.target.name}`, opts, { eps: 'number', momentum: 'number', affine: 'boolean' });
    const affine = opts.affine ?? true;
    this.weight = affine ? Parameter(ones([numFeatures])) : null;
    this.bias = affine ? Parameter(zeros([numFeatures])) : null;
    this.registerBuffer('runningMean', zeros([numFeatures]));
    this.registerBuffer('runningVar', ones([numFeatures]));
  }
  forward(x: Tensor): Tensor {
    return batchNorm(x, this.buffer('runningMean'), this.buffer('runningVar'), this.weight, this.bias, {
      training: this.training,
      momentum: this.opts.momentum,
      eps: this.opts.eps,
    });
  }
}
export class BatchNorm2d extends BatchNorm {}
export class BatchNorm1d extends BatchNorm {}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
    checkOptions('nn.Dropout', { p }, { p: 'number' });
  }
  forward(x: Tensor): Tensor {
    return dropout(x, { p: this.p, training: this.training });
  }
}

export class Upsample extends Module {
  constructor(readonly opts: InterpolateOptions) {
    super();
    checkOptions('nn.Upsample', opts, INTERPOLATE_OPTIONS);
  }
  forward(x: Tensor): Tensor {
    return interpolate(x, this.opts);
  }
}
