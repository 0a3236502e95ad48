/**
 * Unit ablation (Zhou et al. 2018, "Revisiting the importance of individual units in CNNs via
 * ablation"; Bau et al. 2020): switch units (channels) of a layer off by zeroing their activation
 * maps with a forward hook, and measure what the network loses, overall and per class.
 *
 * An ablation is a keep-mask over the layer's channels (1 = on, 0 = zeroed). Many ablations are
 * measured in one pass over the data set: the hook tiles each batch's activation [B, C, h, w] into G
 * masked copies [G * B, C, h, w], so the layers up to the ablated one run once per batch and only
 * the rest of the network runs G times (for conv3 of the mixture net, a sweep over all its units
 * costs little more than one forward pass). A model whose later layers also read an earlier
 * activation (a skip connection around the ablated layer) cannot take the tiled batch; then each
 * ablation gets its own forward pass (`mode: 'per-ablation'`).
 *
 * The hook is removed after every batch, also when the forward pass throws.
 */
import { noGrad } from '../../autograd/node.ts';
import { normalize, type Normalization } from '../../data/normalization.ts';
import type { Module } from '../../nn/module.ts';
import { tensor } from '../../tensor/ops/creation.ts';
import { mul } from '../../tensor/ops/elementwise.ts';
import { argmax } from '../../tensor/ops/reduce.ts';
import { slice } from '../../tensor/ops/views.ts';
import { shapeStr } from '../../tensor/shape.ts';
import { tidy, type Tensor } from '../../tensor/tensor.ts';
import { Rng } from '../../../datasets/rng.ts';
import { classToPair } from '../../../datasets/mixture-pairs.ts';

export interface AblationOptions {
  /** The layer whose units are switched off: a path as nn.summary prints it (a feature map [N, C, h, w]). */
  layer: string;
  /** Images per forward pass (default 128). */
  batchSize?: number;
  /** Applied to each batch before the model sees it (images given in [0, 1] pixels). */
  normalization?: Normalization;
  /** Most rows (ablations x images) one tiled forward pass may hold (default 4096). */
  maxRows?: number;
  /** Called after each batch with the images done so far. */
  onProgress?: (done: number, total: number) => void;
}

/** Per-class results of one ablation: correct answers and images per class. */
export interface ClassCounts {
  correct: number[];
  total: number[];
}

export interface AblationEvaluation {
  /** Per ablation (in the order given), its per-class counts. */
  counts: ClassCounts[];
  /** 'tiled': one pass with every ablation per batch; 'per-ablation': a pass per ablation (see the file comment). */
  mode: 'tiled' | 'per-ablation';
  /** The layer's channel count. */
  channels: number;
  seconds: number;
}

/** The accuracy of a class count (NaN for an empty class). */
function ratio(correct: number, total: number): number {
  return total === 0 ? NaN : correct / total;
}

/** Overall accuracy of per-class counts. */
export function countsAccuracy(c: ClassCounts): number {
  return ratio(
    c.correct.reduce((a, b) => a + b, 0),
    c.total.reduce((a, b) => a + b, 0),
  );
}

/** Per-class accuracy of per-class counts (NaN where a class has no images). */
export function classAccuracies(c: ClassCounts): number[] {
  return c.correct.map((k, i) => ratio(k, c.total[i]!));
}

/** A keep-mask over `channels` units with `off` switched off; checks every index. */
export function ablationMask(channels: number, off: readonly number[], layer = 'the layer'): Uint8Array {
  const mask = new Uint8Array(channels).fill(1);
  for (const u of off) {
    if (!(Number.isInteger(u) && u >= 0 && u < channels)) throw new Error(`glassbox.xai.units: unit ${u} is out of range; ${layer} has ${channels} units (0-${channels - 1})`);
    mask[u] = 0;
  }
  return mask;
}

/**
 * Registers a forward hook on `layer` that zeroes the channels where `mask` is 0 (a mask [G, C]
 * tiles the batch into G ablated copies, ablation-major). Returns the function that removes it.
 */
export function registerAblation(model: Module, layer: string, masks: readonly Uint8Array[]): () => void {
  const module = model.getSubmodule(layer);
  return module.registerForwardHook((_m, _inputs, out) => {
    if (out.rank !== 4) throw new Error(`glassbox.xai.units: layer '${layer}' outputs ${shapeStr(out.shape)}; unit ablation needs a feature map [N, C, h, w]`);
    const [b, c, h, w] = out.shape as [number, number, number, number];
    const bad = masks.find((m) => m.length !== c);
    if (bad) throw new Error(`glassbox.xai.units: an ablation mask has ${bad.length} entries but layer '${layer}' has ${c} units`);
    const g = masks.length;
    const flat = new Float32Array(g * c);
    masks.forEach((m, i) => flat.set(m, i * c));
    const scale = tensor(flat, [g, 1, c, 1, 1]);
    return mul(out.reshape(1, b, c, h, w), scale).reshape(g * b, c, h, w);
  });
}

/** The number of channels `layer` outputs, from one forward pass on the first image. */
export function layerChannels(model: Module, layer: string, images: Tensor, normalization?: Normalization): number {
  let shape: readonly number[] = [];
  const remove = model.getSubmodule(layer).registerForwardHook((_m, _i, out) => void (shape = out.shape));
  try {
    noGrad(() => tidy(() => {
      let x = slice(images, 0, { start: 0, end: 1 });
      if (normalization) x = normalize(x, normalization);
      model.forward(x);
    }));
  } finally {
    remove();
  }
  if (shape.length === 0) throw new Error(`glassbox.xai.units: layer '${layer}' did not run in the forward pass`);
  if (shape.length !== 4) throw new Error(`glassbox.xai.units: layer '${layer}' outputs ${shapeStr(shape)}; unit ablation needs a feature map [N, C, h, w] (a conv layer or the ReLU after it)`);
  return shape[1]!;
}

function checkLabels(images: Tensor, labels: ArrayLike<number>, classes: number): void {
  if (images.rank !== 4) throw new Error(`glassbox.xai.units: images must be [N, C, H, W], got ${shapeStr(images.shape)}`);
  if (labels.length !== images.shape[0]) throw new Error(`glassbox.xai.units: ${labels.length} labels for ${images.shape[0]} images`);
  for (let i = 0; i < labels.length; i++)
    if (!(Number.isInteger(labels[i]) && labels[i]! >= 0 && labels[i]! < classes)) throw new Error(`glassbox.xai.units: label ${labels[i]} of image ${i} is not a class index in 0..${classes - 1}`);
}

/**
 * Per-class accuracy of the model under each ablation in `masks` (keep-masks over the layer's
 * channels; an all-ones mask is the intact model), in one pass over `images` [N, C, H, W] in
 * [0, 1] (eval mode, no gradients).
 */
export async function evaluateAblations(model: Module, images: Tensor, labels: ArrayLike<number>, masks: readonly Uint8Array[], opts: AblationOptions): Promise<AblationEvaluation> {
  const started = performance.now();
  const batchSize = opts.batchSize ?? 128;
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new Error(`glassbox.xai.units: batchSize must be an integer >= 1, got ${batchSize}`);
  if (masks.length === 0) throw new Error('glassbox.xai.units: evaluateAblations needs at least one ablation mask');
  const n = images.shape[0]!;
  const wasTraining = model.namedModules().map(([, m]) => [m, m.training] as const);
  model.eval();
  try {
    const channels = layerChannels(model, opts.layer, images, opts.normalization);
    const bad = masks.find((m) => m.length !== channels);
    if (bad) throw new Error(`glassbox.xai.units: an ablation mask has ${bad.length} entries but layer '${opts.layer}' has ${channels} units`);
    // predictions of the images start..end under `group`'s ablations, ablation-major
    const predict = async (start: number, end: number, group: readonly Uint8Array[]): Promise<ArrayLike<number>> => {
      const out = noGrad(() =>
        tidy(() => {
          let x = slice(images, 0, { start, end });
          if (opts.normalization) x = normalize(x, opts.normalization);
          const remove = registerAblation(model, opts.layer, group);
          try {
            const logits = model.forward(x);
            if (logits.rank !== 2 || logits.shape[0] !== group.length * (end - start))
              throw new Error(`glassbox.xai.units: the model's output ${shapeStr(logits.shape)} is not [${group.length * (end - start)}, classes]`);
            return argmax(logits, { dim: 1 });
          } finally {
            remove();
          }
        }),
      );
      try {
        return (await out.toArray()) as ArrayLike<number>;
      } finally {
        out.dispose();
      }
    };
    let mode: AblationEvaluation['mode'] = 'tiled';
    if (masks.length > 1) {
      try {
        await predict(0, Math.min(n, 2), masks.slice(0, 2));
      } catch {
        // a skip connection around the layer cannot take the tiled batch: one pass per ablation
        mode = 'per-ablation';
      }
    }
    const perPass = mode === 'tiled' ? Math.max(1, Math.floor((opts.maxRows ?? 4096) / batchSize)) : 1;
    let counts: ClassCounts[] = [];
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      const b = end - start;
      for (let first = 0; first < masks.length; first += perPass) {
        const group = masks.slice(first, first + perPass);
        const predicted = await predict(start, end, group);
        if (counts.length === 0) {
          const classes = await classCount(model, images, opts.normalization);
          checkLabels(images, labels, classes);
          counts = masks.map(() => ({ correct: new Array<number>(classes).fill(0), total: new Array<number>(classes).fill(0) }));
        }
        group.forEach((_, g) => {
          const c = counts[first + g]!;
          for (let i = 0; i < b; i++) {
            const y = labels[start + i]!;
            c.total[y]!++;
            if (predicted[g * b + i] === y) c.correct[y]!++;
          }
        });
      }
      opts.onProgress?.(end, n);
    }
    return { counts, mode, channels, seconds: (performance.now() - started) / 1000 };
  } finally {
    for (const [m, training] of wasTraining) m.training = training;
  }
}

/** The number of classes the model outputs (logits [N, K]). */
async function classCount(model: Module, images: Tensor, normalization?: Normalization): Promise<number> {
  const shape = noGrad(() =>
    tidy(() => {
      let x = slice(images, 0, { start: 0, end: 1 });
      if (normalization) x = normalize(x, normalization);
      return [...model.forward(x).shape];
    }),
  );
  if (shape.length !== 2) throw new Error(`glassbox.xai.units: unit ablation measures accuracy, so the model must output logits [N, classes]; it outputs ${shapeStr(shape)}`);
  return shape[1]!;
}

/** What switching one unit off does. */
export interface UnitAblationEffect {
  unit: number;
  /** Accuracy with the unit zeroed. */
  accuracy: number;
  /** accuracy - the intact model's (negative: lost). */
  accuracyChange: number;
  /** Per class: ablated minus intact accuracy (NaN for classes without images). */
  classChange: number[];
  /** Per digit (with `classDigits`): intact minus ablated accuracy on the images of the classes containing it (positive: lost). */
  digitDrop?: number[];
}

export interface UnitAblationSweep {
  layer: string;
  images: number;
  channels: number;
  baseline: { accuracy: number; classAccuracy: number[] };
  /** One per unit, in unit order. */
  effects: UnitAblationEffect[];
  /** Units from the largest accuracy loss to the smallest (ties: the lower index first). */
  ranking: number[];
  mode: AblationEvaluation['mode'];
  seconds: number;
}

export interface SweepOptions extends AblationOptions {
  /** The units swept (default: all of the layer's). */
  units?: readonly number[];
  /** The digits in each class (mixture-of-MNIST: `mixtureClassDigits`), for the per-digit drops. */
  classDigits?: (cls: number) => readonly number[];
  /** Number of digits (concepts) `classDigits` names (default 10). */
  digits?: number;
}

/** Accuracy lost per digit: over the images of the classes containing each digit, intact minus ablated accuracy. */
export function digitDrops(intact: ClassCounts, ablated: ClassCounts, classDigits: (cls: number) => readonly number[], digits = 10): number[] {
  const tot = new Array(digits).fill(0), before = new Array(digits).fill(0), after = new Array(digits).fill(0);
  intact.total.forEach((t, k) => {
    for (const d of classDigits(k)) {
      tot[d] += t;
      before[d] += intact.correct[k]!;
      after[d] += ablated.correct[k]!;
    }
  });
  return tot.map((t, d) => (t === 0 ? NaN : (before[d] - after[d]) / t));
}

/** The digits of each class of a mixture-of-MNIST variant: the pair, plus the 8 and 9 every 'usefulness' image holds. */
export function mixtureClassDigits(variant: 'pairs' | 'usefulness'): (cls: number) => number[] {
  return variant === 'pairs' ? (k) => classToPair(k) : (k) => [...classToPair(k, 8), 8, 9];
}

/**
 * Each unit of `opts.layer` switched off alone, over a labelled data set: overall and per-class
 * accuracy change, per-digit drops when `classDigits` is given, and the units ranked by effect.
 *
 *   const sweep = await unitAblationEffects(model, images, data.labels, { layer: 'features.7', normalization, classDigits: mixtureClassDigits('pairs') });
 *   sweep.effects[3].digitDrop[0] // accuracy lost on the images whose pair contains a 0
 */
export async function unitAblationEffects(model: Module, images: Tensor, labels: ArrayLike<number>, opts: SweepOptions): Promise<UnitAblationSweep> {
  const channels = layerChannels(model, opts.layer, images, opts.normalization);
  const units = opts.units ? [...opts.units] : Array.from({ length: channels }, (_, i) => i);
  const masks = [ablationMask(channels, [], opts.layer), ...units.map((u) => ablationMask(channels, [u], `layer '${opts.layer}'`))];
  const ev = await evaluateAblations(model, images, labels, masks, opts);
  const intact = ev.counts[0]!;
  const base = countsAccuracy(intact);
  const baseClass = classAccuracies(intact);
  const effects = units.map((unit, i) => {
    const c = ev.counts[i + 1]!;
    const accuracy = countsAccuracy(c);
    const effect: UnitAblationEffect = { unit, accuracy, accuracyChange: accuracy - base, classChange: classAccuracies(c).map((a, k) => a - baseClass[k]!) };
    if (opts.classDigits) effect.digitDrop = digitDrops(intact, c, opts.classDigits, opts.digits ?? 10);
    return effect;
  });
  const ranking = [...effects]
    .sort((a, b) => a.accuracyChange - b.accuracyChange || a.unit - b.unit)
    .map((e) => e.unit);
  return { layer: opts.layer, images: images.shape[0]!, channels, baseline: { accuracy: base, classAccuracy: baseClass }, effects, ranking, mode: ev.mode, seconds: ev.seconds };
}

export interface AblationCurves {
  /** Units removed, 0..C. */
  removed: number[];
  /** Accuracy after removing the first j units of the ranking (most important first). */
  byImportance: number[];
  /** Per seed, accuracy after removing the first j units of a seeded random order. */
  random: number[][];
  /** The mean over seeds. */
  randomMean: number[];
  seeds: number[];
  order: number[];
}

/**
 * Cumulative ablation: accuracy as units are switched off one after another, in the order of
 * `ranking` (most important first) and in random orders (one per seed), all in one pass.
 */
export async function ablationCurves(model: Module, images: Tensor, labels: ArrayLike<number>, ranking: readonly number[], opts: AblationOptions & { seeds?: readonly number[] }): Promise<AblationCurves> {
  const channels = layerChannels(model, opts.layer, images, opts.normalization);
  const seeds = [...(opts.seeds ?? [0, 1, 2, 3, 4])];
  const orders = [ranking, ...seeds.map((s) => new Rng(s, 0xab1a7e).shuffle(Array.from({ length: channels }, (_, i) => i)))];
  const masks = orders.flatMap((order) => Array.from({ length: order.length + 1 }, (_, j) => ablationMask(channels, order.slice(0, j), `layer '${opts.layer}'`)));
  const ev = await evaluateAblations(model, images, labels, masks, opts);
  const acc = ev.counts.map(countsAccuracy);
  const curve = (o: number) => acc.slice(o * (channels + 1), (o + 1) * (channels + 1));
  const random = seeds.map((_, s) => curve(s + 1));
  return {
    removed: Array.from({ length: channels + 1 }, (_, j) => j),
    byImportance: curve(0),
    random,
    randomMean: random[0]!.map((_, j) => random.reduce((a, r) => a + r[j]!, 0) / random.length),
    seeds,
    order: [...ranking],
  };
}

/**
 * Unit ablation in the family shape: `new UnitAblation(model, { layer }).sweep(images, labels)`
 * ranks the layer's units by what switching each off costs; `curves` and `evaluate` measure
 * cumulative and arbitrary ablations with the same hook.
 */
export class UnitAblation {
  constructor(
    readonly model: Module,
    readonly opts: SweepOptions,
  ) {}

  sweep(images: Tensor, labels: ArrayLike<number>): Promise<UnitAblationSweep> {
    return unitAblationEffects(this.model, images, labels, this.opts);
  }

  curves(images: Tensor, labels: ArrayLike<number>, ranking: readonly number[], seeds?: readonly number[]): Promise<AblationCurves> {
    return ablationCurves(this.model, images, labels, ranking, { ...this.opts, seeds });
  }

  /** Accuracy and per-class accuracy with the units `off` switched off together. */
  async evaluate(images: Tensor, labels: ArrayLike<number>, off: readonly number[]): Promise<{ accuracy: number; classAccuracy: number[] }> {
    const channels = layerChannels(this.model, this.opts.layer, images, this.opts.normalization);
    const ev = await evaluateAblations(this.model, images, labels, [ablationMask(channels, off, `layer '${this.opts.layer}'`)], this.opts);
    return { accuracy: countsAccuracy(ev.counts[0]!), classAccuracy: classAccuracies(ev.counts[0]!) };
  }
}
