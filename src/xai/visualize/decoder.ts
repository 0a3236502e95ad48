/**
 * A2b inversion by a learned decoder (Dosovitskiy & Brox 2016, "Inverting Visual Representations
 * with Convolutional Networks"): an up-convolutional network trained on the training set to map a
 * frozen classifier's layer-L features back to the image, one decoder per layer. Unlike A2
 * (inversion by optimisation) the decoder learns what the layer's code keeps on average over the
 * data, so its held-out error measures how much of the image the layer throws away; classifying
 * the reconstructions with the same classifier says whether what is kept is the class identity.
 *
 * The classifier stays frozen: its features are read by a forward hook under noGrad, so no
 * gradient reaches it. Pixels are reconstructed in [0, 1] (the data set's scale, before the
 * model's normalisation), with a mean squared error loss.
 */
import { noGrad } from '../../autograd/node.ts';
import { normalize, type Normalization } from '../../data/normalization.ts';
import { ConvTranspose2d, Conv2d, Upsample } from '../../nn/conv-layers.ts';
import { LeakyReLU, Linear, Sequential } from '../../nn/layers.ts';
import { Module } from '../../nn/module.ts';
import { loadSafetensors, parseSafetensors, saveSafetensors } from '../../nn/safetensors.ts';
import { manualSeed, tensor, zeros } from '../../tensor/ops/creation.ts';
import { add, clamp } from '../../tensor/ops/elementwise.ts';
import { mseLoss } from '../../tensor/ops/loss.ts';
import { argmax } from '../../tensor/ops/reduce.ts';
import { reshape, slice } from '../../tensor/ops/views.ts';
import { keep, tidy, type Tensor } from '../../tensor/tensor.ts';
import { DataLoader } from '../../train/data-loader.ts';
import { Adam } from '../../train/optim.ts';
import type { ImageDataset } from '../../../datasets/types.ts';
import { forwardCapturing, resolveLayers } from '../optimize/render.ts';

export type ImageShape = readonly [channels: number, height: number, width: number];

/** Reshapes [N, F] to [N, ...shape] (the fully connected decoder's code to a small feature map). */
class Unflatten extends Module {
  constructor(readonly shape: readonly number[]) {
    super();
  }
  forward(x: Tensor): Tensor {
    return reshape(x, [x.shape[0]!, ...this.shape]);
  }
}

/** Stride-2 up-convolution (kernel 4, padding 1: exactly doubles the size) then leaky ReLU, as Dosovitskiy & Brox's decoders. */
const upStage = (channels: number): Module[] => [new ConvTranspose2d(channels, channels, 4, { stride: 2, padding: 1 }), new LeakyReLU(0.2)];

/** The most stride-2 doublings (at most `wanted`) that end exactly at the image size: H and W divisible by 2^k. */
function exactDoublings(wanted: number, height: number, width: number): number {
  let k = 0;
  while (k < wanted && height % 2 ** (k + 1) === 0 && width % 2 ** (k + 1) === 0) k++;
  return k;
}

/**
 * A decoder for features of shape `featureShape` ([C, h, w] of a conv layer, or [F] of a fully
 * connected one, without the batch) to images of `imageShape`. A feature map gets a 3x3 conv to
 * `width` channels, then stride-2 up-convolutions, as many as double h up to the image height;
 * when the doublings cannot land on the image size exactly (LeNet-5's 10x10 map to 28x28) the
 * map is first resized bilinearly to the size that they do (7x7), which is cheaper than
 * up-convolving past the image and resizing down. A vector gets two fully connected layers to
 * a width x H/4 x W/4 map, then two up-convolutions. A last 3x3 conv gives the image's channels.
 */
export function buildDecoder(featureShape: readonly number[], imageShape: ImageShape, opts: { width?: number } = {}): Module {
  const width = opts.width ?? 32;
  const [channels, height, imageWidth] = imageShape;
  const layers: Module[] = [];
  let ups: number;
  if (featureShape.length === 3) {
    const [c, h, w] = featureShape as [number, number, number];
    ups = exactDoublings(Math.max(0, Math.ceil(Math.log2(height / h)), Math.ceil(Math.log2(imageWidth / w))), height, imageWidth);
    const start: [number, number] = [height / 2 ** ups, imageWidth / 2 ** ups];
    if (start[0] !== h || start[1] !== w) layers.push(new Upsample({ size: start, mode: 'bilinear' }));
    layers.push(new Conv2d(c, width, 3, { padding: 1 }), new LeakyReLU(0.2));
  } else if (featureShape.length === 1) {
    ups = exactDoublings(2, height, imageWidth);
    const start: [number, number] = [height / 2 ** ups, imageWidth / 2 ** ups];
    const hidden = 256;
    layers.push(new Linear(featureShape[0]!, hidden), new LeakyReLU(0.2), new Linear(hidden, width * start[0] * start[1]), new LeakyReLU(0.2), new Unflatten([width, ...start]));
  } else {
    throw new Error(`glassbox.xai.visualize.decoder: features of shape [${featureShape.join(', ')}] (without the batch) cannot be decoded; give a conv layer ([C, H, W]) or a fully connected one ([F])`);
  }
  for (let i = 0; i < ups; i++) layers.push(...upStage(width));
  layers.push(new Conv2d(width, channels, 3, { padding: 1 }));
  return new Sequential(...layers);
}

/** Layer `layer`'s output for normalised images [N, C, H, W], with no gradient to the model. */
export function layerFeatures(model: Module, layer: string, normalizedImages: Tensor): Tensor {
  const layers = resolveLayers(model, [layer]);
  return tidy(() => noGrad(() => forwardCapturing(model, layers, normalizedImages).activation(layer)));
}

/** The shape of `layer`'s output for one image of `imageShape`, without the batch. */
export function layerFeatureShape(model: Module, layer: string, imageShape: ImageShape): number[] {
  return tidy(() => layerFeatures(model, layer, zeros([1, ...imageShape])).shape.slice(1));
}

/** What a decoder was trained with: a saved decoder is reused only when these match. */
export interface DecoderSettings {
  layer: string;
  trainImages: number;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  width: number;
  /** A checksum of the frozen model's weights (weightsChecksum): a decoder fits only the model it was trained on. */
  classifier: string;
}

/** FNV-1a over the bytes of every tensor of the model's state dict, as hex. */
export async function weightsChecksum(model: Module): Promise<string> {
  let hash = 0x811c9dc5;
  for (const [, t] of model.stateDict()) {
    const values = await t.toArray();
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}

export interface CurvePoint {
  /** Training steps done (batches), and the epoch they ended in (from 1). */
  step: number;
  epoch: number;
  /** Mean training MSE (pixels in [0, 1]) over the steps since the previous point. */
  loss: number;
}

export interface TrainedDecoder {
  decoder: Module;
  settings: DecoderSettings;
  featureShape: number[];
  curve: CurvePoint[];
  /** Seconds spent training (0 when loaded). */
  seconds: number;
}

export interface DecoderTrainingOptions extends Partial<Omit<DecoderSettings, 'layer' | 'trainImages' | 'classifier'>> {
  layer: string;
  normalization: Normalization;
  /** Steps per curve point (each point is one read back from the GPU); default 25. */
  logEvery?: number;
  /** Called after every step with the steps done, the total, and the last curve point's loss. */
  onProgress?: (step: number, total: number, loss: number) => void;
}

/** Trains a decoder for `opts.layer` of the frozen `model` on `train` (8-bit images, all of them used), with Adam. */
export async function trainDecoder(model: Module, train: ImageDataset, opts: DecoderTrainingOptions): Promise<TrainedDecoder> {
  const settings: DecoderSettings = { layer: opts.layer, trainImages: train.n, epochs: opts.epochs ?? 2, batchSize: opts.batchSize ?? 64, lr: opts.lr ?? 1e-3, seed: opts.seed ?? 0, width: opts.width ?? 32, classifier: await weightsChecksum(model) };
  for (const [name, v] of Object.entries({ epochs: settings.epochs, batchSize: settings.batchSize }))
    if (!Number.isSafeInteger(v) || v < 1) throw new Error(`glassbox.xai.visualize.decoder: ${name} must be a whole number >= 1, got ${v}`);
  if (!(settings.lr > 0 && Number.isFinite(settings.lr))) throw new Error(`glassbox.xai.visualize.decoder: lr must be a positive number, got ${settings.lr}`);
  if (train.n < settings.batchSize) throw new Error(`glassbox.xai.visualize.decoder: ${train.n} training images are fewer than one batch of ${settings.batchSize}; give more images or a smaller batch`);
  const imageShape: ImageShape = [train.channels, train.height, train.width];
  const featureShape = layerFeatureShape(model, opts.layer, imageShape);
  const layers = resolveLayers(model, [opts.layer]);
  manualSeed(settings.seed);
  const decoder = buildDecoder(featureShape, imageShape, { width: settings.width });
  decoder.train();
  const optimizer = new Adam(decoder.parameters(), { lr: settings.lr });
  // pixels in [0, 1] (no mean/std): the target; the model gets them normalised
  const loader = new DataLoader(train, { batchSize: settings.batchSize, shuffle: true, seed: settings.seed, keepLast: false });
  const logEvery = opts.logEvery ?? 25;
  const total = settings.epochs * loader.batchesPerEpoch;
  const curve: CurvePoint[] = [];
  const started = performance.now();
  let lossSum = keep(zeros([]));
  let pending = 0;
  let step = 0;
  const flush = async (epoch: number) => {
    const loss = (await lossSum.toArray())[0]! / pending;
    if (!Number.isFinite(loss)) throw new Error(`glassbox.xai.visualize.decoder: the training loss of the '${opts.layer}' decoder became ${loss} at step ${step}; lower the learning rate (lr ${settings.lr})`);
    curve.push({ step, epoch, loss });
    lossSum.dispose();
    lossSum = keep(zeros([]));
    pending = 0;
  };
  for (let epoch = 0; epoch < settings.epochs; epoch++) {
    for (const batch of loader.batches(epoch)) {
      const next = tidy(() => {
        const features = noGrad(() => forwardCapturing(model, layers, normalize(batch.x, opts.normalization)).activation(opts.layer));
        optimizer.zeroGrad();
        const loss = mseLoss(decoder.forward(features), batch.x);
        loss.backward();
        optimizer.step();
        return keep(noGrad(() => add(lossSum, loss.detach())));
      });
      lossSum.dispose();
      lossSum = next;
      batch.x.dispose();
      batch.y.dispose();
      step++;
      pending++;
      if (pending === logEvery) await flush(epoch + 1);
      opts.onProgress?.(step, total, curve[curve.length - 1]?.loss ?? NaN);
    }
  }
  if (pending > 0) await flush(settings.epochs);
  lossSum.dispose();
  decoder.eval();
  return { decoder, settings, featureShape, curve, seconds: (performance.now() - started) / 1000 };
}

export interface DecoderEvaluation {
  /** Mean squared error per pixel (values in [0, 1]) of the reconstructions clamped to [0, 1]. */
  mse: number;
  /** Share of the images whose reconstruction the model classifies as the image's label. */
  accuracy: number;
  /** The reconstructions clamped to [0, 1], [N, C, H, W]. */
  reconstructions: Tensor;
}

/** Decodes `layer`'s features of held-out images [N, C, H, W] in [0, 1], and classifies the reconstructions with the same model. */
export async function evaluateDecoder(model: Module, trained: TrainedDecoder, images: Tensor, labels: ArrayLike<number>, normalization: Normalization, opts: { batchSize?: number } = {}): Promise<DecoderEvaluation> {
  const n = images.shape[0]!;
  if (labels.length !== n) throw new Error(`glassbox.xai.visualize.decoder: ${labels.length} labels for ${n} images; give one label per image`);
  const batchSize = opts.batchSize ?? 250;
  const parts: Tensor[] = [];
  let squaredError = 0;
  let hits = 0;
  for (let start = 0; start < n; start += batchSize) {
    const x = slice(images, 0, { start, end: Math.min(n, start + batchSize) });
    const { recon, error, predicted } = tidy(() =>
      noGrad(() => {
        const recon = clamp(trained.decoder.forward(layerFeatures(model, trained.settings.layer, normalize(x, normalization))), { min: 0, max: 1 });
        return { recon, error: mseLoss(recon, x, { reduction: 'sum' }), predicted: argmax(model.forward(normalize(recon, normalization)), { dim: 1 }) };
      }),
    );
    squaredError += (await error.toArray())[0]!;
    const classes = await predicted.toArray();
    classes.forEach((c, i) => void (c === labels[start + i] && hits++));
    parts.push(recon);
    error.dispose();
    predicted.dispose();
    x.dispose();
  }
  const values = new Float32Array(images.size);
  let offset = 0;
  for (const part of parts) {
    values.set(await part.toArray(), offset);
    offset += part.size;
    part.dispose();
  }
  return { mse: squaredError / images.size, accuracy: hits / n, reconstructions: tensor(values, images.shape) };
}

/** The error of the best constant predictor: the training images' mean image, scored on held-out images [N, C, H, W] in [0, 1]. */
export async function meanImageMse(train: ImageDataset, images: Tensor): Promise<number> {
  const pixels = train.channels * train.height * train.width;
  const meanImage = new Float64Array(pixels);
  for (let i = 0; i < train.n * pixels; i++) meanImage[i % pixels]! += train.images[i]! / 255 / train.n;
  const values = await images.toArray();
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += (values[i]! - meanImage[i % pixels]!) ** 2;
  return sum / values.length;
}

/** The decoder's weights as a .safetensors file, with its settings, feature shape and training curve as metadata. */
export async function decoderToSafetensors(trained: TrainedDecoder): Promise<Uint8Array> {
  return saveSafetensors(trained.decoder, {
    metadata: { format: 'glassbox-decoder', settings: JSON.stringify(trained.settings), featureShape: JSON.stringify(trained.featureShape), curve: JSON.stringify(trained.curve) },
  });
}

/**
 * The decoder in `bytes` (written by decoderToSafetensors) for `model`'s layer with exactly
 * `settings`, or a reason it cannot be reused (other settings, another feature shape: the decoder
 * must then be trained again).
 */
export async function decoderFromSafetensors(bytes: Uint8Array, model: Module, imageShape: ImageShape, wanted: Omit<DecoderSettings, 'classifier'>): Promise<TrainedDecoder | { reason: string }> {
  const settings: DecoderSettings = { ...wanted, classifier: await weightsChecksum(model) };
  const meta = parseSafetensors(bytes).metadata;
  if (meta.format !== 'glassbox-decoder') return { reason: 'the file is not a decoder written by glassbox visualize decode' };
  const saved = JSON.parse(meta.settings ?? '{}') as DecoderSettings;
  const differing = (Object.keys(settings) as Array<keyof DecoderSettings>).filter((k) => saved[k] !== settings[k]);
  if (differing.length) return { reason: `it was trained with other settings (${differing.map((k) => `${k} ${saved[k]} here ${settings[k]}`).join(', ')})` };
  const featureShape = layerFeatureShape(model, settings.layer, imageShape);
  if (meta.featureShape !== JSON.stringify(featureShape)) return { reason: `it decodes features of shape ${meta.featureShape}, but layer '${settings.layer}' gives [${featureShape.join(',')}]` };
  const decoder = buildDecoder(featureShape, imageShape, { width: settings.width });
  loadSafetensors(decoder, bytes);
  decoder.eval();
  return { decoder, settings, featureShape, curve: JSON.parse(meta.curve ?? '[]') as CurvePoint[], seconds: 0 };
}
