/**
 * Net2Vec (Fong & Vedaldi 2018): a concept as a direction in a layer's channel space rather than a
 * single unit. Per concept k, a weight vector w_k over the layer's C channels and a bias b_k make a
 * map z_k = sum_c w_kc A_c + b_k (a 1x1 convolution of the activation), upsampled (bilinear) to the
 * image; sigmoid(z_k) is trained to segment the concept's pixel masks with the paper's per-pixel
 * logistic loss, whose weights balance the rare concept pixels against the rest:
 *
 *   L_k = -mean_{i,x} [ a_k y log s + (1 - a_k)(1 - y) log(1 - s) ],  s = sigmoid(up(z_k)),  a_k = 1 - (concept pixel share).
 *
 * The layer's activations on the training images are read once (one unitPass); Adam (the engine's)
 * then trains all concepts' vectors together on them (they share no parameters, so that is K
 * independent fits). Evaluation is a second pass over held-out images, two ways:
 *  - 'learned': the paper's segmentation, up(z_k) > 0 (sigmoid above 0.5);
 *  - 'quantile': up(z_k) above the top-quantile value of z_k over the data set, exactly as
 *    dissection thresholds a single unit (DissectionTally fed the combined maps), so a one-hot w_k
 *    gives that unit's dissection IoU, and the comparison with the best single unit is like for like.
 * The best single unit per concept comes from the same pass (DissectionTally on the raw activation).
 */
import type { Normalization } from '../../data/normalization.ts';
import type { Module } from '../../nn/module.ts';
import { tensor } from '../../tensor/ops/creation.ts';
import { add, exp, log1p, mul, neg, abs, relu, sub } from '../../tensor/ops/elementwise.ts';
import { matmul } from '../../tensor/ops/matmul.ts';
import { mean } from '../../tensor/ops/reduce.ts';
import { interpolate } from '../../tensor/ops/resample.ts';
import { keep, tidy, type NumericArray, type Tensor } from '../../tensor/tensor.ts';
import { Adam } from '../../train/optim.ts';
import { Rng } from '../../../datasets/rng.ts';
import type { ConceptSet } from './concepts.ts';
import { DissectionTally, NETDISSECT_QUANTILE, type UnitIou } from './dissection.ts';
import { unitPass, type UnitTally } from './statistics.ts';

export interface Net2VecOptions {
  /** The layer whose channels are combined (a feature map [N, C, h, w]; nn.summary path). */
  layer: string;
  /** Training epochs over the images given to fit (default 10). */
  epochs?: number;
  /** Adam's learning rate (default 0.01). */
  lr?: number;
  /** Images per training step (default 64) and per forward pass (default 128). */
  batchSize?: number;
  passBatchSize?: number;
  /** The quantile of the 'quantile' evaluation and of the single units (default NetDissect's 0.005). */
  quantile?: number;
  normalization?: Normalization;
  /** Seed of the batch order and the initial weights (default 0). */
  seed?: number;
  onProgress?: (stage: 'activations' | 'train' | 'evaluate', done: number, total: number, loss?: number) => void;
}

export interface Net2VecConceptResult {
  concept: string;
  /** IoU of the learned vector, thresholded at sigmoid 0.5 (the paper's). */
  iouLearned: number;
  /** IoU of the learned vector's map at the top-quantile threshold (as single units are dissected). */
  iouQuantile: number;
  /** The single unit with the highest IoU for the concept, and that IoU. */
  bestUnit: number;
  bestUnitIou: number;
  /** max(iouLearned, iouQuantile) - bestUnitIou. */
  gain: number;
  /** The learned weights over the channels, and the bias. */
  weights: number[];
  bias: number;
}

export interface Net2VecEvaluation {
  layer: string;
  images: number;
  quantile: number;
  concepts: Net2VecConceptResult[];
  /** Every unit's dissection IoU per concept on the same images. */
  units: UnitIou[];
  seconds: number;
}

/** Reads a layer's whole activation [N, C, h, w] back into one array (for the training set). */
class ActivationTally implements UnitTally {
  data = new Float32Array(0);
  shape: [number, number, number] = [0, 0, 0];
  constructor(private readonly images: number) {}
  reduce(activation: Tensor): Tensor[] {
    return [activation];
  }
  absorb([values]: NumericArray[], firstImage: number, shape: readonly number[]): void {
    const per = shape[1]! * shape[2]! * shape[3]!;
    if (this.data.length === 0) {
      this.shape = [shape[1]!, shape[2]!, shape[3]!];
      this.data = new Float32Array(this.images * per);
    }
    this.data.set(values as Float32Array, firstImage * per);
  }
}

/** z = W A + b per position: [B, C, h, w] -> [B, K, h, w]. */
function combine(activation: Tensor, w: Tensor, b: Tensor): Tensor {
  const [n, c, h, wd] = activation.shape as [number, number, number, number];
  const k = w.shape[0]!;
  return add(matmul(w, activation.reshape(n, c, h * wd)), b.reshape(1, k, 1)).reshape(n, k, h, wd);
}

/** softplus(x) = log(1 + e^x), stable. */
const softplus = (x: Tensor) => add(relu(x), log1p(exp(neg(abs(x)))));

/** Feeds `inner` tallies the combined maps [B, K, h, w] instead of the layer's activation. */
class CombinedMapTally implements UnitTally {
  private counts: number[] = [];
  constructor(
    private readonly w: Tensor,
    private readonly b: Tensor,
    private readonly inner: UnitTally[],
  ) {}
  reduce(activation: Tensor): Tensor[] {
    if (activation.shape[1] !== this.w.shape[1]) throw new Error(`glassbox.xai.units: the layer has ${activation.shape[1]} channels but the vectors have ${this.w.shape[1]}`);
    const z = combine(activation, this.w, this.b);
    const outs = this.inner.map((t) => t.reduce(z));
    this.counts = outs.map((o) => o.length);
    return outs.flat();
  }
  absorb(values: NumericArray[], firstImage: number, shape: readonly number[]): void {
    const mapped = [shape[0]!, this.w.shape[0]!, shape[2]!, shape[3]!];
    let at = 0;
    this.inner.forEach((t, i) => {
      t.absorb(values.slice(at, at + this.counts[i]!), firstImage, mapped);
      at += this.counts[i]!;
    });
  }
}

/** Set IoU of each map channel above a fixed threshold (after bilinear upsampling to the image) with concept k's masks. */
export class FixedThresholdIouTally implements UnitTally {
  private inter: Float64Array;
  private union: Float64Array;
  constructor(
    private readonly concepts: ConceptSet,
    private readonly threshold = 0,
  ) {
    this.inter = new Float64Array(concepts.names.length);
    this.union = new Float64Array(concepts.names.length);
  }
  reduce(map: Tensor): Tensor[] {
    return [interpolate(map, { size: [this.concepts.height, this.concepts.width], mode: 'bilinear' })];
  }
  absorb([values]: NumericArray[], firstImage: number, shape: readonly number[]): void {
    const [b, k] = [shape[0]!, shape[1]!];
    if (k !== this.concepts.names.length) throw new Error(`glassbox.xai.units: ${k} maps for ${this.concepts.names.length} concepts`);
    const hw = this.concepts.height * this.concepts.width;
    for (let i = 0; i < b; i++) {
      const masks = new Map(this.concepts.masks(firstImage + i).map((m) => [m.concept, m.mask]));
      for (let c = 0; c < k; c++) {
        const base = (i * k + c) * hw;
        const mask = masks.get(c);
        let inter = 0, region = 0, truth = 0;
        for (let p = 0; p < hw; p++) {
          const on = values![base + p]! > this.threshold ? 1 : 0;
          const y = mask ? mask[p]! : 0;
          region += on;
          truth += y;
          inter += on & y;
        }
        this.inter[c] += inter;
        this.union[c] += region + truth - inter;
      }
    }
  }
  iou(): number[] {
    return Array.from(this.inter, (x, c) => (x === 0 ? 0 : x / this.union[c]!));
  }
}

/**
 *   const n2v = new Net2Vec(model, { layer: 'features.7', normalization });
 *   await n2v.fit(trainImages, digitConcepts(train));
 *   const result = await n2v.evaluate(valImages, digitConcepts(val)); // per digit: IoU, best unit's, gain
 */
export class Net2Vec {
  /** [K * C] learned weights (concept-major) and [K] biases, after fit (or setWeights). */
  weights: Float32Array | null = null;
  bias: Float32Array | null = null;
  channels = 0;
  /** The mean training loss of each epoch. */
  losses: number[] = [];

  constructor(
    readonly model: Module,
    readonly opts: Net2VecOptions,
  ) {}

  /** Sets the vectors by hand ([K * C] concept-major, [K]); e.g. one-hot to score single units. */
  setWeights(weights: ArrayLike<number>, bias: ArrayLike<number>): this {
    if (weights.length % bias.length !== 0) throw new Error(`glassbox.xai.units: ${weights.length} weights do not split into ${bias.length} concept vectors`);
    this.weights = Float32Array.from(weights);
    this.bias = Float32Array.from(bias);
    this.channels = weights.length / bias.length;
    return this;
  }

  /** Learns one vector per concept of `concepts` from `images` [N, C, H, W] in [0, 1]. */
  async fit(images: Tensor, concepts: ConceptSet): Promise<this> {
    const { layer, normalization } = this.opts;
    checkMatch(images, concepts);
    const n = concepts.images, H = concepts.height, W = concepts.width, K = concepts.names.length;
    const acts = new ActivationTally(n);
    await unitPass(this.model, images, { layer, batchSize: this.opts.passBatchSize, normalization, onProgress: (d, t) => this.opts.onProgress?.('activations', d, t) }, [acts]);
    const [C, h, w] = acts.shape;
    this.channels = C;
    // concept pixel shares -> the positive weight a_k
    const pixels = new Float64Array(K);
    for (let i = 0; i < n; i++) for (const { concept, mask } of concepts.masks(i)) for (let p = 0; p < mask.length; p++) pixels[concept] += mask[p]!;
    const alpha = Array.from(pixels, (s) => 1 - s / (n * H * W));
    const rng = new Rng(this.opts.seed ?? 0, 0x2e72);
    const wInit = Float32Array.from({ length: K * C }, () => (rng.next() - 0.5) * 0.02);
    const wt = keep(tensor(wInit, [K, C], { requiresGrad: true }));
    const bt = keep(tensor(new Float32Array(K), [K], { requiresGrad: true }));
    const posW = keep(tensor(Float32Array.from(alpha), [1, K, 1, 1]));
    const negW = keep(tensor(Float32Array.from(alpha, (a) => 1 - a), [1, K, 1, 1]));
    const optimizer = new Adam([wt, bt], { lr: this.opts.lr ?? 0.01 });
    const epochs = this.opts.epochs ?? 10;
    const batch = this.opts.batchSize ?? 64;
    const per = C * h * w;
    const steps = Math.ceil(n / batch);
    this.losses = [];
    try {
      for (let epoch = 0; epoch < epochs; epoch++) {
        const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
        const pending: Tensor[] = [];
        for (let s = 0; s < steps; s++) {
          const idx = order.slice(s * batch, (s + 1) * batch);
          const a = new Float32Array(idx.length * per);
          const y = new Float32Array(idx.length * K * H * W);
          idx.forEach((img, j) => {
            a.set(acts.data.subarray(img * per, (img + 1) * per), j * per);
            for (const { concept, mask } of concepts.masks(img)) {
              const base = (j * K + concept) * H * W;
              for (let p = 0; p < mask.length; p++) y[base + p] = mask[p]!;
            }
          });
          const loss = tidy(() => {
            optimizer.zeroGrad();
            const z = interpolate(combine(tensor(a, [idx.length, C, h, w]), wt, bt), { size: [H, W], mode: 'bilinear' });
            const target = tensor(y, [idx.length, K, H, W]);
            // -[a y log s + (1 - a)(1 - y) log(1 - s)] = a y softplus(-z) + (1 - a)(1 - y) softplus(z)
            const l = mean(add(mul(mul(target, posW), softplus(neg(z))), mul(mul(sub(1, target), negW), softplus(z))));
            l.backward();
            optimizer.step();
            return l.detach();
          });
          pending.push(loss);
          this.opts.onProgress?.('train', epoch * steps + s + 1, epochs * steps);
        }
        let sum = 0;
        for (const l of pending) {
          sum += (await l.toArray())[0]!;
          l.dispose();
        }
        this.losses.push(sum / pending.length);
        this.opts.onProgress?.('train', (epoch + 1) * steps, epochs * steps, this.losses[epoch]);
      }
      this.weights = (await wt.toArray()) as Float32Array;
      this.bias = (await bt.toArray()) as Float32Array;
    } finally {
      [wt, bt, posW, negW].forEach((t) => t.dispose());
      optimizer.zeroGrad();
    }
    return this;
  }

  /** Set IoU of each concept's vector (learned and quantile thresholds) against the best single unit's, over `images`. */
  async evaluate(images: Tensor, concepts: ConceptSet): Promise<Net2VecEvaluation> {
    if (!this.weights || !this.bias) throw new Error('glassbox.xai.units: Net2Vec has no vectors yet; call fit(images, concepts) (or setWeights) first');
    checkMatch(images, concepts);
    const K = concepts.names.length;
    if (this.bias.length !== K) throw new Error(`glassbox.xai.units: the vectors are for ${this.bias.length} concepts but the concept set has ${K}`);
    const started = performance.now();
    const quantile = this.opts.quantile ?? NETDISSECT_QUANTILE;
    const w = keep(tensor(this.weights, [K, this.channels]));
    const b = keep(tensor(this.bias, [K]));
    const learned = new FixedThresholdIouTally(concepts, 0);
    const combinedQuantile = new DissectionTally(concepts, { quantile });
    const single = new DissectionTally(concepts, { quantile });
    try {
      await unitPass(this.model, images, { layer: this.opts.layer, batchSize: this.opts.passBatchSize, normalization: this.opts.normalization, onProgress: (d, t) => this.opts.onProgress?.('evaluate', d, t) }, [
          new CombinedMapTally(w, b, [learned, combinedQuantile]),
          single,
        ]);
    } finally {
      w.dispose();
      b.dispose();
    }
    const units = single.result();
    const iouLearned = learned.iou();
    const iouQuantile = combinedQuantile.result().map((r, k) => r.iou[k]!);
    const result = concepts.names.map((name, k) => {
      const bestUnit = units.reduce((best, u, i) => (u.iou[k]! > units[best]!.iou[k]! ? i : best), 0);
      const bestUnitIou = units[bestUnit]!.iou[k]!;
      return {
        concept: name,
        iouLearned: iouLearned[k]!,
        iouQuantile: iouQuantile[k]!,
        bestUnit,
        bestUnitIou,
        gain: Math.max(iouLearned[k]!, iouQuantile[k]!) - bestUnitIou,
        weights: Array.from(this.weights!.subarray(k * this.channels, (k + 1) * this.channels)),
        bias: this.bias![k]!,
      };
    });
    return { layer: this.opts.layer, images: concepts.images, quantile, concepts: result, units, seconds: (performance.now() - started) / 1000 };
  }
}

function checkMatch(images: Tensor, concepts: ConceptSet): void {
  const [n, , H, W] = images.shape as [number, number, number, number];
  if (images.rank !== 4 || n !== concepts.images || H !== concepts.height || W !== concepts.width)
    throw new Error(`glassbox.xai.units: the images [${images.shape.join(', ')}] and the concept masks (${concepts.images} of ${concepts.height}x${concepts.width}) do not match`);
}

