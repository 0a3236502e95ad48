/**
 * Guided backpropagation and the deconvnet (catalogue B1c) as replacements of the ReLU's backward
 * in the project's own graph (withBackwardRule on op 'relu'), everything else left as the gradient.
 * For y = relu(x) with incoming gradient g (Springenberg et al. 2015, "Striving for simplicity",
 * eq. for R^l_i and fig. 1):
 *   gradient          g * [x > 0]
 *   deconvnet         relu(g)              (Zeiler & Fergus 2014: the reconstruction is rectified)
 *   guided backprop   relu(g) * [x > 0]    (both masks at once)
 * Output: the signed modified gradient [N, C, H, W] (Guided Grad-CAM multiplies it by Grad-CAM).
 */
import type { BackwardRule } from '../autograd/node.ts';
import { gt, mul, relu } from '../tensor/ops/elementwise.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { checkAttributeOptions, type AttributeOptions } from './attribution.ts';
import { GradientAttribution } from './gradient.ts';
import { registerMethods } from './registry.ts';

export const guidedReluRule: BackwardRule = ({ inputs, gradOutput }) => [mul(relu(gradOutput), gt(inputs[0]!, 0))];
export const deconvnetReluRule: BackwardRule = ({ gradOutput }) => [relu(gradOutput)];

export interface BackpropRuleOptions extends AttributeOptions {
  internalBatchSize?: number;
}

/** The input gradient with every ReLU's backward replaced by `rule`. */
abstract class ReluRuleAttribution extends GradientAttribution<BackpropRuleOptions> {
  protected abstract readonly reluRule: BackwardRule;
  async attribute(input: Tensor, opts: BackpropRuleOptions): Promise<Tensor> {
    checkAttributeOptions(this.constructor.name, opts, { internalBatchSize: 'number' });
    return this.inputGradient(input, opts, { ops: ['relu'], rule: this.reluRule });
  }
}

/** Springenberg et al. 2015: `new GuidedBackprop(model).attribute(input, {target})` -> [N, C, H, W]. */
export class GuidedBackprop extends ReluRuleAttribution {
  protected readonly reluRule = guidedReluRule;
}

/** Zeiler & Fergus 2014, as a backward rule: `new Deconvnet(model).attribute(input, {target})` -> [N, C, H, W]. */
export class Deconvnet extends ReluRuleAttribution {
  protected readonly reluRule = deconvnetReluRule;
}

registerMethods([
  {
    name: 'guided-backprop',
    catalogue: 'B1c',
    description: 'Guided backpropagation: ReLU backward passes only positive gradients at positive inputs (Springenberg et al. 2015)',
    output: 'input',
    signed: true,
    create: (model) => new GuidedBackprop(model),
  },
  {
    name: 'deconvnet',
    catalogue: 'B1c',
    description: 'Deconvnet: ReLU backward rectifies the gradient (Zeiler & Fergus 2014)',
    output: 'input',
    signed: true,
    create: (model) => new Deconvnet(model),
  },
]);
