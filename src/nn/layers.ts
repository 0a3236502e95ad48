/** Layers without convolution: Linear, activations, Flatten, Sequential. */
import { linear } from '../tensor/ops/matmul.ts';
import { elu, gelu, leakyRelu, relu, sigmoid, softplus, tanh } from '../tensor/ops/elementwise.ts';
import { flatten } from '../tensor/ops/views.ts';
import { reluMaxPool2d } from '../tensor/ops/pool.ts';
import { MaxPool2d } from './conv-layers.ts';
import { softmax, logSoftmax } from '../tensor/ops/activation.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { checkOptions } from '../tensor/check-options.ts';
import { defaultBias, defaultWeight } from './init.ts';
import { Module, Parameter } from './module.ts';

export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    opts: { bias?: boolean } = {},
  ) {
    super();
    checkOptions('nn.Linear', { inFeatures, outFeatures }, { inFeatures: 'integer', outFeatures: 'integer' });
    checkOptions('nn.Linear', opts, { bias: 'boolean' });
    this.weight = Parameter(defaultWeight([outFeatures, inFeatures]));
    this.bias = opts.bias === false ? null : Parameter(defaultBias(outFeatures, inFeatures));
  }
  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }
}

/** An activation layer wrapping a function; the op name shows in summaries. */
abstract class Activation extends Module {
  protected abstract apply(x: Tensor): Tensor;
  forward(x: Tensor): Tensor {
    return this.apply(x);
  }
}

export class ReLU extends Activation {
  protected apply = relu;
}
export class Sigmoid extends Activation {
  protected apply = sigmoid;
}
export class Tanh extends Activation {
  protected apply = tanh;
}
export class GELU extends Activation {
  protected apply = (x: Tensor) => gelu(x);
}
export class LeakyReLU extends Activation {
  constructor(readonly negativeSlope = 0.01) {
    super();
    checkOptions('nn.LeakyReLU', { negativeSlope }, { negativeSlope: 'number' });
  }
  protected apply = (x: Tensor) => leakyRelu(x, { negativeSlope: this.negativeSlope });
}
export class ELU extends Activation {
  constructor(readonly alpha = 1) {
    super();
    checkOptions('nn.ELU', { alpha }, { alpha: 'number' });
  }
  protected apply = (x: Tensor) => elu(x, { alpha: this.alpha });
}
/** softplus with sharpness beta: a smooth ReLU (as beta grows it approaches ReLU). */
export class Softplus extends Activation {
  constructor(
    readonly beta = 1,
    readonly threshold = 20,
  ) {
    super();
    checkOptions('nn.Softplus', { beta, threshold }, { beta: 'number', threshold: 'number' });
  }
  protected apply = (x: Tensor) => softplus(x, { beta: this.beta, threshold: this.threshold });
}
export class Softmax extends Activation {
  constructor(readonly dim = -1) {
    super();
    checkOptions('nn.Softmax', { dim }, { dim: 'integer' });
  }
  protected apply = (x: Tensor) => softmax(x, this.dim);
}
export class LogSoftmax extends Activation {
  constructor(readonly dim = -1) {
    super();
    checkOptions('nn.LogSoftmax', { dim }, { dim: 'integer' });
  }
  protected apply = (x: Tensor) => logSoftmax(x, this.dim);
}
export class Identity extends Activation {
  protected apply = (x: Tensor) => x;
}

export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
    checkOptions('nn.Flatten', { startDim, endDim }, { startDim: 'integer', endDim: 'integer' });
  }
  forward(x: Tensor): Tensor {
    return flatten(x, this.startDim, this.endDim);
  }
}

/** A module that is exactly a `type` (not a subclass) with its class's forward: no hooks, nothing patched. */
function runAsOne(m: Module, type: abstract new (...args: never[]) => Module): boolean {
  return m.constructor === type && !Object.hasOwn(m, 'forward');
}

/** Runs its modules in order; they are named '0', '1', ... as in PyTorch. */
export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
  }
  override namedChildren(): Array<[string, Module]> {
    return this.layers.map((m, i) => [String(i), m]);
  }
  /**
   * Runs the layers in turn, except that a ReLU followed by a MaxPool2d runs as one op,
   * reluMaxPool2d (the same values and gradients, and one pass over the activations less each
   * way), unless either module has hooks or its forward was replaced.
   */
  forward(x: Tensor): Tensor {
    let h = x;
    for (let i = 0; i < this.layers.length; i++) {
      const layer = this.layers[i]!;
      const next = this.layers[i + 1];
      if (next instanceof MaxPool2d && runAsOne(layer, ReLU) && runAsOne(next, MaxPool2d)) {
        h = reluMaxPool2d(h, next.opts);
        i++;
      } else h = layer.forward(h);
    }
    return h;
  }
  get length(): number {
    return this.layers.length;
  }
  at(i: number): Module {
    const m = this.layers[i < 0 ? this.layers.length + i : i];
    if (!m) throw new Error(`glassbox.nn.Sequential: index ${i} out of range (length ${this.layers.length})`);
    return m;
  }
}
