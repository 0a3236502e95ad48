/**
 * The unit-statistics pass: a data set goes through the model once, in batches, and every tally
 * sees one layer's activation [B, C, h, w] of each batch (NetDissect's first pass, which tallies
 * per-unit top-k and quantiles in one sweep). A tally reduces the activation on the GPU
 * (`reduce`, inside the batch's tidy scope), the pass reads the results back once per batch, and
 * the tally folds them into its state on the CPU (`absorb`).
 *
 * `TopKTally` keeps, per channel, the K images whose strongest response is largest: each image's
 * maximum over positions and where it is (Zeiler & Fergus 2014 show each unit's top 9 such
 * activations; Zhou et al. 2015 and NetDissect rank images the same way), so the K come from K
 * different images.
 */
import { noGrad } from '../../autograd/node.ts';
import { normalize, type Normalization } from '../../data/normalization.ts';
import type { Module } from '../../nn/module.ts';
import { tensor } from '../../tensor/ops/creation.ts';
import { indexSelect } from '../../tensor/ops/indexing.ts';
import { max } from '../../tensor/ops/reduce.ts';
import { slice } from '../../tensor/ops/views.ts';
import { shapeStr } from '../../tensor/shape.ts';
import { tidy, type NumericArray, type Tensor } from '../../tensor/tensor.ts';
import { forwardWithLayer } from '../attribution.ts';

export interface UnitTally {
  /** GPU work on one batch's activation [B, C, h, w]; the tensors returned are read back. */
  reduce(activation: Tensor): Tensor[];
  /** Folds the read-back values of the batch whose first image is `firstImage` into the tally. */
  absorb(values: NumericArray[], firstImage: number, activationShape: readonly number[]): void;
}

export interface UnitPassOptions {
  /** The layer whose activations are tallied: a path as nn.summary prints it. */
  layer: string;
  /** Images per forward pass (default 128). */
  batchSize?: number;
  /** Applied to each batch before the model sees it (images given in [0, 1] pixels); none by default. */
  normalization?: Normalization;
  /** Called after each batch with the images done so far. */
  onProgress?: (done: number, total: number) => void;
  /** The data-set index of `images`' first image, when a data set too large for one tensor goes through in chunks (default 0). */
  firstImage?: number;
}

/** Runs `images` [N, C, H, W] through `model` once (eval mode, no gradients), feeding `layer`'s activations to every tally. */
export async function unitPass(model: Module, images: Tensor, opts: UnitPassOptions, tallies: readonly UnitTally[]): Promise<void> {
  if (images.rank !== 4) throw new Error(`glassbox.xai.units: images must be [N, C, H, W], got ${shapeStr(images.shape)}`);
  const batchSize = opts.batchSize ?? 128;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`glassbox.xai.units: batchSize must be an integer >= 1, got ${batchSize}`);
  const n = images.shape[0]!;
  const wasTraining = model.namedModules().map(([, m]) => [m, m.training] as const);
  model.eval();
  try {
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      let shape: number[] = [];
      const outputs = noGrad(() =>
        tidy(() => {
          let x = slice(images, 0, { start, end });
          if (opts.normalization) x = normalize(x, opts.normalization);
          const { activation } = forwardWithLayer(model, opts.layer, x);
          if (activation.rank !== 4) throw new Error(`glassbox.xai.units: layer '${opts.layer}' outputs ${shapeStr(activation.shape)}; unit statistics need a feature map [N, C, h, w]`);
          shape = [...activation.shape];
          return tallies.map((t) => t.reduce(activation));
        }),
      );
      try {
        for (let i = 0; i < tallies.length; i++) {
          const values: NumericArray[] = [];
          for (const t of outputs[i]!) values.push(await t.toArray());
          tallies[i]!.absorb(values, (opts.firstImage ?? 0) + start, shape);
        }
      } finally {
        outputs.flat().forEach((t) => t.dispose());
      }
      opts.onProgress?.(end, n);
    }
  } finally {
    for (const [m, training] of wasTraining) m.training = training;
  }
}

/** One activation: its value, the image (index into the data set) and the position in the layer's map. */
export interface TopActivation {
  value: number;
  image: number;
  y: number;
  x: number;
}

export interface TopKOptions {
  k: number;
  /** The channels to tally (default: all of the layer's). */
  channels?: readonly number[];
}

/** Per channel, the K images with the largest maximum activation, sorted by value (descending; ties: the earlier image first). */
export class TopKTally implements UnitTally {
  readonly k: number;
  private channelList: number[] | null;
  private lists: TopActivation[][] = [];
  private layerChannels = -1;

  constructor(opts: TopKOptions) {
    if (!(Number.isInteger(opts.k) && opts.k >= 1)) throw new Error(`glassbox.xai.units: k must be an integer >= 1, got ${opts.k}`);
    this.k = opts.k;
    this.channelList = opts.channels ? [...opts.channels] : null;
  }

  /** The channels tallied, in order. */
  get channels(): number[] {
    return this.channelList ?? [];
  }

  reduce(activation: Tensor): Tensor[] {
    const [b, c, h, w] = activation.shape as [number, number, number, number];
    if (this.channelList === null) this.channelList = Array.from({ length: c }, (_, i) => i);
    const bad = this.channelList.find((ch) => !(Number.isInteger(ch) && ch >= 0 && ch < c));
    if (bad !== undefined) throw new Error(`glassbox.xai.units: channel ${bad} is out of range; the layer has ${c} channels (0-${c - 1})`);
    const picked = this.channelList.length === c && this.channelList.every((ch, i) => ch === i) ? activation : indexSelect(activation, 1, tensor(this.channelList, [this.channelList.length], { dtype: 'int32' }));
    const { values, indices } = max(picked.reshape(b, this.channelList.length, h * w), { dim: 2 });
    return [values, indices];
  }

  absorb([values, indices]: NumericArray[], firstImage: number, shape: readonly number[]): void {
    const width = shape[3]!;
    const channels = this.channels;
    if (this.layerChannels < 0) {
      this.layerChannels = shape[1]!;
      this.lists = channels.map(() => []);
    }
    const m = channels.length;
    const batch = values!.length / m;
    for (let i = 0; i < batch; i++)
      for (let j = 0; j < m; j++) {
        const value = values![i * m + j]!;
        if (Number.isNaN(value)) throw new Error(`glassbox.xai.units: the activation of channel ${channels[j]} on image ${firstImage + i} is NaN`);
        const list = this.lists[j]!;
        if (list.length === this.k && !(value > list[this.k - 1]!.value)) continue;
        const at = indices![i * m + j]!;
        const entry = { value, image: firstImage + i, y: Math.floor(at / width), x: at % width };
        // after every entry of at least this value: ties keep data-set order
        let pos = list.length;
        while (pos > 0 && list[pos - 1]!.value < value) pos--;
        list.splice(pos, 0, entry);
        if (list.length > this.k) list.pop();
      }
  }

  /** The top activations of each tallied channel, in the order of `channels`. */
  top(): TopActivation[][] {
    return this.lists.map((l) => l.map((e) => ({ ...e })));
  }
}

export interface TopActivationsResult {
  layer: string;
  channels: number[];
  k: number;
  images: number;
  /** The layer's activation shape for one image [C, h, w]. */
  activationShape: [number, number, number];
  /** Per channel (as `channels`), its top activations, strongest first. */
  top: TopActivation[][];
}

/** The top-K activating images per channel of `layer` over `images`, in one pass. */
export async function topActivations(model: Module, images: Tensor, opts: UnitPassOptions & TopKOptions): Promise<TopActivationsResult> {
  const tally = new TopKTally(opts);
  let shape: number[] = [];
  const shapeProbe: UnitTally = { reduce: () => [], absorb: (_v, _f, s) => void (shape = [...s]) };
  await unitPass(model, images, opts, [tally, shapeProbe]);
  return { layer: opts.layer, channels: tally.channels, k: tally.k, images: images.shape[0]!, activationShape: [shape[1]!, shape[2]!, shape[3]!], top: tally.top() };
}

/**
 * Per image and channel, the maximum activation over positions and where it is: the score each
 * image gets as a detector's input (Zhou et al.'s precision@K ranks the data set by it) and the
 * order of the top images. Keeps all N x C values (20,000 x 30 floats for the mixture nets).
 */
export class ImageMaxTally implements UnitTally {
  private maxes: number[] = [];
  private argmaxes: number[] = [];
  private c = 0;
  private map: [number, number] = [0, 0];

  reduce(activation: Tensor): Tensor[] {
    const [b, c, h, w] = activation.shape as [number, number, number, number];
    const { values, indices } = max(activation.reshape(b, c, h * w), { dim: 2 });
    return [values, indices];
  }

  absorb([values, indices]: NumericArray[], firstImage: number, shape: readonly number[]): void {
    if (firstImage !== this.maxes.length / Math.max(this.c, 1)) throw new Error(`glassbox.xai.units: ImageMaxTally needs the batches in order; got image ${firstImage} after ${this.maxes.length / Math.max(this.c, 1)}`);
    this.c = shape[1]!;
    this.map = [shape[2]!, shape[3]!];
    for (let i = 0; i < values!.length; i++) {
      if (Number.isNaN(values![i]!)) throw new Error(`glassbox.xai.units: the activation of channel ${i % this.c} on image ${firstImage + Math.floor(i / this.c)} is NaN`);
      this.maxes.push(values![i]!);
      this.argmaxes.push(indices![i]!);
    }
  }

  /** Images tallied, channels, and the map's [h, w]. */
  get shape(): { images: number; channels: number; height: number; width: number } {
    return { images: this.c ? this.maxes.length / this.c : 0, channels: this.c, height: this.map[0], width: this.map[1] };
  }

  /** [N * C], image-major: the maximum of channel c on image i at i * C + c. */
  values(): Float32Array {
    return Float32Array.from(this.maxes);
  }

  /** [N * C]: where that maximum is, as y * w + x in the layer's map. */
  positions(): Int32Array {
    return Int32Array.from(this.argmaxes);
  }
}
