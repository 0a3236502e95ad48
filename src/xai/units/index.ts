/**
 * Unit statistics: what single units (channels) of a layer respond to, from one pass over a data set.
 * - receptive-field.ts: the input box each position of a layer sees (kernel, stride, padding, dilation composed).
 * - statistics.ts: the one-pass machinery (`unitPass` feeding tallies) and the per-channel top-K tally.
 * - top-patches.ts: top-activating data set patches per unit (Zeiler & Fergus 2014), cropped and drawn as grids.
 * - ablation.ts: units switched off by a forward hook; accuracy lost per unit, class and digit; cumulative curves (E5).
 * - net2vec.ts: concept vectors over a layer's channels against the best single unit (Fong & Vedaldi 2018, E8).
 * - concepts.ts: concepts with pixel masks (the mixture-of-MNIST digits).
 * - detectors.ts: units as concept detectors: precision@K, precision at recall, alignment AUC (E3).
 * - dissection.ts: network dissection: quantile thresholds, IoU per unit and concept, interpretable units (E4).
 */
export * from './receptive-field.ts';
export * from './statistics.ts';
export * from './top-patches.ts';
export * from './ablation.ts';
export * from './net2vec.ts';
export * from './concepts.ts';
export * from './detectors.ts';
export * from './dissection.ts';
