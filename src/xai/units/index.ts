/**
 * Unit statistics: what single units (channels) of a layer respond to, from one pass over a data set.
 * - receptive-field.ts: the input box each position of a layer sees (kernel, stride, padding, dilation composed).
 * - statistics.ts: the one-pass machinery (`unitPass` feeding tallies) and the per-channel top-K tally.
 * - top-patches.ts: top-activating data set patches per unit (Zeiler & Fergus 2014), cropped and drawn as grids.
 */
export * from './receptive-field.ts';
export * from './statistics.ts';
export * from './top-patches.ts';
