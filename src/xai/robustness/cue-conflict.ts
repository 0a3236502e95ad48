/**
 * Cue conflict (Geirhos et al. 2019, "ImageNet-trained CNNs are biased towards texture"): images
 * whose shape comes from one class and whose texture from another, made by style transfer (the
 * content of image A in the Gram-matrix style of image B, src/xai/visualize/style-transfer.ts on
 * Ustyuzhaninov et al.'s random multi-scale net). A classifier's decision on such an image follows
 * the shape (A's class), the texture (B's class) or neither; the shape bias is the share of shape
 * decisions among the shape and texture decisions. Geirhos et al. use only images whose two cues
 * the model recognises on their own, and only pairs of different classes; so do these pairs.
 */
import type { Normalization } from '../../data/normalization.ts';
import type { Module } from '../../nn/module.ts';
import { argmax, mean, std } from '../../tensor/ops/reduce.ts';
import { add, clamp, div, mul, sub } from '../../tensor/ops/elementwise.ts';
import { tensor } from '../../tensor/ops/creation.ts';
import { indexSelect } from '../../tensor/ops/indexing.ts';
import { noGrad } from '../../autograd/node.ts';
import { keep, tidy, type Tensor } from '../../tensor/tensor.ts';
import { cat, slice } from '../../tensor/ops/views.ts';
import { RandomMultiScaleNet, styleTransfer } from '../visualize/style-transfer.ts';
import { normalisePixels } from './accuracy.ts';

export interface CueConflictPair {
  /** Index of the image giving the shape (the content). */
  shape: number;
  /** Index of the image giving the texture (the style). */
  texture: number;
}

export type CueDecision = 'shape' | 'texture' | 'other';

export interface CueConflictOptions {
  /** The style net's input normalisation (default: none, mean 0 and std 1 per channel). */
  styleNormalization?: Normalization;
  /** L-BFGS steps per image (default 20). */
  steps?: number;
  /** Weight of the style loss against the content loss's 1 (default 10, the style-transfer default). */
  styleWeight?: number;
  /** Seed of the random multi-scale net (default 0). */
  seed?: number;
  /** After each image: how many are done. */
  onImage?: (done: number, total: number) => void;
}

export interface CueConflictImages {
  pairs: CueConflictPair[];
  /** [pairs, C, H, W] in [0, 1]. */
  images: Tensor;
  /** Style loss after / before, per image (how far the texture moved). */
  styleLossRatio: number[];
}

export interface CueConflictScore {
  /** Per pair: the class predicted on the cue-conflict image and which cue it follows. */
  predicted: number[];
  decisions: CueDecision[];
  shapeShare: number;
  textureShare: number;
  otherShare: number;
  /** shape / (shape + texture); NaN when no decision follows either cue. */
  shapeBias: number;
}

/** Predicted classes of pixels [N, C, H, W] in [0, 1]. */
export async function predictPixels(model: Module, pixels: Tensor, normalization: Normalization): Promise<number[]> {
  const classes = noGrad(() => tidy(() => argmax(model.forward(normalisePixels(pixels, normalization.mean, normalization.std)), { dim: 1 })));
  try {
    return Array.from(await classes.toArray());
  } finally {
    classes.dispose();
  }
}

/**
 * Up to `count` pairs (shape image, texture image) of different classes, each image recognised by
 * every model in `recognised` (predicted = label), drawn in order: image i takes its texture from
 * the next usable image of another class, cycling.
 */
export function cueConflictPairs(labels: readonly number[], recognised: readonly (readonly number[])[], count: number): CueConflictPair[] {
  const usable = labels.map((_, i) => i).filter((i) => recognised.every((p) => p[i] === labels[i]));
  const pairs: CueConflictPair[] = [];
  for (let k = 0; k < usable.length && pairs.length < count; k++) {
    const shape = usable[k]!;
    for (let d = 1; d < usable.length; d++) {
      const texture = usable[(k + d) % usable.length]!;
      if (labels[texture] !== labels[shape]) {
        pairs.push({ shape, texture });
        break;
      }
    }
  }
  return pairs;
}

/** The cue-conflict image of each pair: the shape image's content in the texture image's style. */
export async function cueConflictImages(pixels: Tensor, pairs: readonly CueConflictPair[], opts: CueConflictOptions = {}): Promise<CueConflictImages> {
  const channels = pixels.shape[1]!;
  const net = new RandomMultiScaleNet({ channels, seed: opts.seed ?? 0 });
  const normalization = opts.styleNormalization ?? { mean: Array(channels).fill(0), std: Array(channels).fill(1) };
  const layers = net.layerPaths();
  const parts: Tensor[] = [];
  const styleLossRatio: number[] = [];
  try {
    for (const [k, pair] of pairs.entries()) {
      const content = slice(pixels, 0, { start: pair.shape, end: pair.shape + 1 });
      const style = slice(pixels, 0, { start: pair.texture, end: pair.texture + 1 });
      try {
        const r = await styleTransfer(net, content, style, { normalization, contentLayer: layers[layers.length - 1]!, styleLayers: layers, styleWeight: opts.styleWeight ?? 10, steps: opts.steps ?? 20, optimizer: 'lbfgs', seed: opts.seed });
        parts.push(keep(r.image));
        styleLossRatio.push(r.final.style / r.initial.style);
      } finally {
        content.dispose();
        style.dispose();
      }
      opts.onImage?.(k + 1, pairs.length);
    }
    const images = parts.length === 1 ? parts[0]! : keep(tidy(() => cat(parts, 0)));
    if (parts.length > 1) parts.forEach((p) => p.dispose());
    return { pairs: [...pairs], images, styleLossRatio };
  } catch (e) {
    parts.forEach((p) => p.dispose());
    throw e;
  }
}

/**
 * The colour control of each pair: the shape image with every channel's values moved to the texture
 * image's mean and standard deviation of that channel (clipped to [0, 1]); pixels [N, C, H, W] in [0, 1].
 */
export function colourControlImages(pixels: Tensor, pairs: readonly CueConflictPair[]): Tensor {
  return tidy(() => {
    const pick = (key: 'shape' | 'texture') => indexSelect(pixels, 0, tensor(Int32Array.from(pairs, (p) => p[key]), [pairs.length]));
    const [shape, texture] = [pick('shape'), pick('texture')];
    const moments = (x: Tensor) => [mean(x, { dim: [2, 3], keepdim: true }), std(x, { dim: [2, 3], keepdim: true, correction: 0 })] as const;
    const [[shapeMean, shapeStd], [textureMean, textureStd]] = [moments(shape), moments(texture)];
    // a flat channel (std 0) keeps its offset from the mean, 0, rather than dividing by zero
    const standardised = div(sub(shape, shapeMean), clamp(shapeStd, { min: 1e-6 }));
    return clamp(add(mul(standardised, textureStd), textureMean), { min: 0, max: 1 });
  });
}

/** Which cue each decision of `model` on the cue-conflict images follows, and the shape bias. */
export async function scoreCueConflict(model: Module, cue: CueConflictImages, labels: readonly number[], normalization: Normalization): Promise<CueConflictScore> {
  const predicted = await predictPixels(model, cue.images, normalization);
  const decisions = predicted.map((p, i): CueDecision => (p === labels[cue.pairs[i]!.shape] ? 'shape' : p === labels[cue.pairs[i]!.texture] ? 'texture' : 'other'));
  const share = (d: CueDecision) => decisions.filter((x) => x === d).length / Math.max(1, decisions.length);
  const [shape, texture] = [share('shape'), share('texture')];
  return { predicted, decisions, shapeShare: shape, textureShare: texture, otherShare: share('other'), shapeBias: shape + texture > 0 ? shape / (shape + texture) : NaN };
}
