/**
 * The input-optimisation core (Lucid / Lucent's three separate pieces, plus regularisers):
 *   param.ts        what is optimised: plain pixels or Olah et al.'s decorrelated Fourier parametrisation
 *   param-from-image.ts  the pixels of given images, clipped to [0, 1] (DeepDream's start)
 *   fourier.ts      the inverse real 2-D DFT as matmuls (differentiable), Lucid's spectrum scale, high-frequency share
 *   color.ts        colour decorrelation matrices: Lucid's ImageNet constant or one from a data set's pixel covariance
 *   transforms.ts   pad, jitter (and fitting back to the model's input size)
 *   regularizers.ts L2, alpha-norm, total variation, blur every k steps, Yosinski's norm / contribution clipping
 *   objectives.ts   composable objectives: class logit / probability, channel, neuron, layer norm, feature and Gram matching, diversity
 *   render.ts       renderVis: a batch optimised together with Adam, one tidy() per step
 *   random.ts       the seeded random source of starts and transforms
 * Methods built on it (feature visualisation, ...) are in ../visualize/.
 */
export * from './random.ts';
export * from './fourier.ts';
export * from './color.ts';
export * from './param.ts';
export * from './param-from-image.ts';
export * from './transforms.ts';
export * from './regularizers.ts';
export * from './objectives.ts';
export * from './render.ts';
export * from './transforms-affine.ts';
