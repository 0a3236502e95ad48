/**
 * Class activation maps: where in a conv layer's feature map the evidence for a class sits,
 * upsampled (bilinear) to the input. Every map is [N, 1, H, W] and raw (not normalised), so maps
 * of different methods can be compared up to scale.
 *   CAM (Zhou et al. 2016, eq. 2):          M_k(x, y) = sum_c w_kc A_c(x, y)    (GAP + linear nets)
 *   Grad-CAM (Selvaraju et al. 2017, eq. 1-2): alpha_c = mean_xy dS/dA_c(x, y);  M = relu(sum_c alpha_c A_c)
 *   Grad-CAM++ (Chattopadhay et al. 2018, eq. 19): alpha_c(x, y) from powers of dS/dA
 * Guided Grad-CAM is in guided-grad-cam.ts.
 */
import type { Module } from '../nn/module.ts';
import { grad } from '../autograd/backward.ts';
import { noGrad } from '../autograd/node.ts';
import { tidy, type Tensor } from '../tensor/tensor.ts';
import { add, div, mul, relu, square, where, ne } from '../tensor/ops/elementwise.ts';
import { mean, sum } from '../tensor/ops/reduce.ts';
import { indexSelect } from '../tensor/ops/indexing.ts';
import { interpolate } from '../tensor/ops/resample.ts';
import { reshape } from '../tensor/ops/views.ts';
import { shapeStr } from '../tensor/shape.ts';
import { checkOptions, type OptionSchema } from '../tensor/check-options.ts';
import { Attribution, checkAttributeOptions, classIndices, forwardWithLayer, targetScores, type AttributeOptions, type Target } from './attribution.ts';
import { registerMethods } from './registry.ts';

export interface LayerMapOptions {
  /** Path of the conv layer whose feature map is explained (e.g. 'features.7'). */
  layer: string;
  /** Clip negative evidence (default true; Grad-CAM and Grad-CAM++ always do). */
  relu?: boolean;
}

const LAYER_MAP_OPTIONS: OptionSchema = { layer: 'string', relu: 'boolean' };

/** Checks a CAM-style method's constructor options (`layer` required). */
export function checkLayerMapOptions<T extends LayerMapOptions>(method: string, options: T, extra: OptionSchema = {}, required: readonly string[] = []): T {
  return checkOptions(`xai.${method}`, options, { ...LAYER_MAP_OPTIONS, ...extra }, ['layer', ...required]);
}

/** A layer map [N, 1, h, w] resized (bilinear) to the input's [H, W]. */
export function upsampleToInput(map: Tensor, input: Tensor): Tensor {
  return interpolate(map, { size: [input.shape[2]!, input.shape[3]!], mode: 'bilinear' });
}

function checkFeatureMap(layer: string, a: Tensor): void {
  if (a.rank !== 4) throw new Error(`glassbox.xai: layer '${layer}' must output a feature map [N, C, h, w], got ${shapeStr(a.shape)}`);
}

/** The layer's activation A [N, C, h, w] and dS/dA for the target scores S (summed over the batch: samples are independent). */
export function activationAndGradient(model: Module, layer: string, input: Tensor, target: Target, score: AttributeOptions['score']): { activation: Tensor; gradient: Tensor } {
  const { output, activation } = forwardWithLayer(model, layer, input);
  checkFeatureMap(layer, activation);
  const [gradient] = grad(sum(targetScores(output, target, score)), activation);
  return { activation: activation.detach(), gradient: gradient! };
}

/** sum_c weights[n, c] A[n, c] -> [N, 1, h, w] (optionally clipped at 0), upsampled to the input. */
function weightedMap(activation: Tensor, weights: Tensor, input: Tensor, clip: boolean): Tensor {
  const [n, c] = activation.shape as [number, number];
  const map = sum(mul(activation, reshape(weights, [n, c, 1, 1])), { dim: 1, keepdim: true });
  return upsampleToInput(clip ? relu(map) : map, input);
}

export interface CAMOptions extends LayerMapOptions {
  /** Path of the linear classifier applied after global average pooling (e.g. 'fc'). */
  fc: string;
  /** Add b_k / (h w), so the map's mean is the logit exactly (default false, as in Zhou et al.). */
  bias?: boolean;
}

/**
 * CAM: the classifier applied at every position of the last feature map. For a GAP + linear net,
 * logit_k = mean_xy (w_k . A(x, y)) + b_k, so the map's mean is the logit (with `bias`).
 */
export class CAM extends Attribution<AttributeOptions> {
  constructor(
    model: Module,
    readonly options: CAMOptions,
  ) {
    super(model);
    checkLayerMapOptions('CAM', options, { fc: 'string', bias: 'boolean' }, ['fc']);
  }

  async attribute(input: Tensor, opts: AttributeOptions): Promise<Tensor> {
    checkAttributeOptions('CAM', opts);
    const { layer, fc, bias = false, relu: clip = true } = this.options;
    const linear = this.model.getSubmodule(fc) as Module & { weight?: Tensor; bias?: Tensor | null };
    if (!linear.weight || linear.weight.rank !== 2) throw new Error(`glassbox.xai: CAM needs '${fc}' to be a linear layer with a weight [classes, channels]`);
    if (typeof opts.target === 'function') throw new Error('glassbox.xai: CAM explains a class (the classifier row w_k); pass a class index, not a target function');
    const weight = linear.weight;
    return noGrad(() =>
      tidy(() => {
        const { activation } = forwardWithLayer(this.model, layer, input);
        checkFeatureMap(layer, activation);
        const [n, c, h, w] = activation.shape as [number, number, number, number];
        if (weight.shape[1] !== c) throw new Error(`glassbox.xai: '${fc}' takes ${weight.shape[1]} features but layer '${layer}' has ${c} channels; CAM needs the layer right before global average pooling`);
        const classes = classIndices(opts.target as Exclude<Target, (o: Tensor) => Tensor>, n, weight.shape[0]!);
        let map = sum(mul(activation, reshape(indexSelect(weight, 0, classes), [n, c, 1, 1])), { dim: 1, keepdim: true });
        if (bias && linear.bias) map = add(map, div(reshape(indexSelect(linear.bias, 0, classes), [n, 1, 1, 1]), h * w));
        return upsampleToInput(clip ? relu(map) : map, input);
      }),
    );
  }
}

export interface GradCAMAttributeOptions extends AttributeOptions {
  /** Overrides the layer given at construction. */
  layer?: string;
}

abstract class LayerGradientMap extends Attribution<GradCAMAttributeOptions> {
  constructor(
    model: Module,
    readonly options: LayerMapOptions,
  ) {
    super(model);
    checkLayerMapOptions(new.target.name, options);
  }

  /** The channel weights [N, C] from the activation and its gradient. */
  protected abstract channelWeights(activation: Tensor, gradient: Tensor): Tensor;

  async attribute(input: Tensor, opts: GradCAMAttributeOptions): Promise<Tensor> {
    checkAttributeOptions(this.constructor.name, opts, { layer: 'string' });
    return tidy(() => {
      const { activation, gradient } = activationAndGradient(this.model, opts.layer ?? this.options.layer, input, opts.target, opts.score);
      return noGrad(() => weightedMap(activation, this.channelWeights(activation, gradient), input, this.options.relu ?? true));
    });
  }
}

/** Grad-CAM: each channel weighted by its spatially averaged gradient (Selvaraju et al. 2017, eq. 1). */
export class GradCAM extends LayerGradientMap {
  protected channelWeights(_activation: Tensor, gradient: Tensor): Tensor {
    return mean(gradient, { dim: [2, 3] });
  }
}

/**
 * Grad-CAM++ (Chattopadhay et al. 2018). For the exponential score Y = exp(S), the second and
 * third derivatives of Y are exp(S) times powers of g = dS/dA (eq. 18), so eq. 19's alpha is
 *   alpha_c(x, y) = g^2 / (2 g^2 + sum_ab A_c(a, b) g^3)
 * and the channel weight is w_c = sum_xy alpha_c(x, y) relu(g) (eq. 10; the common factor
 * exp(S) only scales the map and is dropped, as in pytorch-grad-cam). alpha = 0 where the
 * denominator vanishes.
 */
export class GradCAMPlusPlus extends LayerGradientMap {
  protected channelWeights(activation: Tensor, gradient: Tensor): Tensor {
    const g2 = square(gradient);
    const g3 = mul(g2, gradient);
    const denominator = add(mul(g2, 2), mul(sum(activation, { dim: [2, 3], keepdim: true }), g3));
    const safe = where(ne(denominator, 0), denominator, 1);
    const alpha = where(ne(denominator, 0), div(g2, safe), 0);
    return sum(mul(alpha, relu(gradient)), { dim: [2, 3] });
  }
}

/** The linear classifier right after the explained layer, for CAM from the registry: the model's last Linear. */
function classifierPath(model: Module): string {
  const linear = model.namedModules().filter(([, m]) => m.constructor.name === 'Linear');
  const last = linear[linear.length - 1];
  if (!last) throw new Error('glassbox.xai: CAM needs a model that ends in global average pooling and a linear layer');
  return last[0];
}

registerMethods([
  {
    name: 'cam',
    catalogue: 'B1',
    description: 'CAM (Zhou et al. 2016): the linear classifier applied at every position of the last conv feature map (GAP + linear nets)',
    output: 'layer',
    signed: false,
    create: (model, ctx) => new CAM(model, { layer: ctx.layer, fc: classifierPath(model) }),
    requires: ['feature-map', 'global-average-pooling'],
  },
  {
    name: 'grad-cam',
    catalogue: 'B1b',
    description: 'Grad-CAM (Selvaraju et al. 2017): feature maps weighted by their spatially averaged gradients',
    output: 'layer',
    signed: false,
    create: (model, ctx) => new GradCAM(model, { layer: ctx.layer }),
    requires: ['feature-map'],
  },
  {
    name: 'grad-cam++',
    catalogue: 'B1b',
    description: 'Grad-CAM++ (Chattopadhay et al. 2018): pixel-wise weighted gradients, closed form for exponential scores',
    output: 'layer',
    signed: false,
    create: (model, ctx) => new GradCAMPlusPlus(model, { layer: ctx.layer }),
    requires: ['feature-map'],
  },
]);
