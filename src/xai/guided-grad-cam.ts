/**
 * Guided Grad-CAM (Selvaraju et al. 2017, sec. 3): the fine-grained guided-backprop map times the
 * coarse, class-discriminative Grad-CAM map, pointwise: [N, C, H, W].
 */
import type { Module } from '../nn/module.ts';
import { noGrad } from '../autograd/node.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { mul } from '../tensor/ops/elementwise.ts';
import { Attribution, checkAttributeOptions } from './attribution.ts';
import { GuidedBackprop } from './backprop-rules.ts';
import { checkLayerMapOptions, GradCAM, type GradCAMAttributeOptions, type LayerMapOptions } from './cam.ts';
import { registerMethods } from './registry.ts';

export class GuidedGradCAM extends Attribution<GradCAMAttributeOptions> {
  private readonly gradCam: GradCAM;
  private readonly guided: GuidedBackprop;
  constructor(model: Module, options: LayerMapOptions) {
    super(model);
    this.gradCam = new GradCAM(model, checkLayerMapOptions('GuidedGradCAM', options));
    this.guided = new GuidedBackprop(model);
  }

  async attribute(input: Tensor, opts: GradCAMAttributeOptions): Promise<Tensor> {
    checkAttributeOptions('GuidedGradCAM', opts, { layer: 'string' });
    const cam = await this.gradCam.attribute(input, opts);
    const guided = await this.guided.attribute(input, { target: opts.target, score: opts.score });
    const out = noGrad(() => mul(guided, cam));
    cam.dispose();
    guided.dispose();
    return out;
  }
}

registerMethods([
  {
    name: 'guided-grad-cam',
    catalogue: 'B1b',
    description: 'Guided Grad-CAM (Selvaraju et al. 2017): guided backprop times upsampled Grad-CAM',
    output: 'input',
    signed: true,
    create: (model, ctx) => new GuidedGradCAM(model, { layer: ctx.layer }),
    requires: ['feature-map'],
  },
]);
