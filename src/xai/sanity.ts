/**
 * Sanity checks for saliency maps (catalogue C2; Adebayo, Gilmer, Muelly, Goodfellow, Hardt, Kim
 * 2018, "Sanity Checks for Saliency Maps"):
 * - model parameter randomisation, cascading: re-initialise the layers one after another from the
 *   top (logits) down, and after each step compare every method's maps with those of the trained
 *   model; a method that explains the model must change as its weights are destroyed;
 * - independent: re-initialise one layer at a time, the others trained;
 * - data randomisation: compare the maps of the trained model with those of the same architecture
 *   trained on shuffled labels (`compareModels`).
 * Layers are re-initialised with the engine's seeded default init (src/nn/init.ts, the same draw
 * a fresh layer gets) and restored afterwards, so the model leaves unchanged.
 */
import type { Module } from '../nn/module.ts';
import { defaultBias, defaultWeight, fanIn } from '../nn/init.ts';
import { noGrad } from '../autograd/node.ts';
import { mul } from '../tensor/ops/elementwise.ts';
import { keep, type Tensor } from '../tensor/tensor.ts';
import type { MethodContext, MethodSpec } from './registry.ts';
import { withSeed } from './baselines.ts';
import { mapScores } from './metrics.ts';
import { mapSimilarity, type MapSimilarity } from './similarity.ts';
import { linePlot } from '../viz/plot.ts';
import type { RGBAImage } from '../viz/image.ts';

/** The layer path of a parameter name: 'features.0.weight' -> 'features.0'. */
const layerOf = (parameter: string) => parameter.slice(0, parameter.lastIndexOf('.'));

/** Layers that own parameters, by path, in forward (definition) order: 'features.0', ..., 'classifier.5'. */
export function parameterLayers(model: Module): string[] {
  return [...new Set(model.namedParameters().map(([name]) => layerOf(name)))];
}

/**
 * Overwrites the parameters of `layer` with a fresh draw of the default init (seeded) and returns
 * a function that puts the trained values back.
 */
export function randomizeLayer(model: Module, layer: string, seed: number): () => void {
  const params = model.namedParameters().filter(([name]) => layerOf(name) === layer);
  if (!params.length) throw new Error(`glassbox.xai.sanity: layer '${layer}' has no parameters; layers with parameters: ${parameterLayers(model).join(', ')}`);
  const weightFanIn = fanIn(params.find(([, p]) => p.rank >= 2)?.[1].shape ?? [1, 1]);
  const saved = noGrad(() => params.map(([, p]) => keep(mul(p, 1))));
  withSeed(seed, () =>
    noGrad(() => {
      for (const [, p] of params) {
        const fresh = p.rank >= 2 ? defaultWeight(p.shape) : defaultBias(p.shape[0]!, weightFanIn);
        p.assign(fresh);
        fresh.dispose();
      }
    }),
  );
  return () => {
    noGrad(() => params.forEach(([, p], i) => p.assign(saved[i]!)));
    saved.forEach((t) => t.dispose());
  };
}

/** Per-pixel maps [N][H*W] of every method for `input` and class `targets`. */
async function methodMaps(model: Module, methods: readonly MethodSpec[], input: Tensor, targets: readonly number[], ctx: MethodContext): Promise<Map<string, Float64Array[]>> {
  const out = new Map<string, Float64Array[]>();
  for (const m of methods) {
    const map = await m.create(model, ctx).attribute(input, { target: targets });
    out.set(m.name, await mapScores(map));
    map.dispose();
  }
  return out;
}

/** Mean similarity over the batch between two lists of maps. */
function meanSimilarity(a: readonly Float64Array[], b: readonly Float64Array[], h: number, w: number): MapSimilarity {
  const all = a.map((m, i) => mapSimilarity(m, b[i]!, h, w));
  const avg = (k: keyof MapSimilarity) => all.reduce((s, v) => s + v[k], 0) / all.length;
  return { spearman: avg('spearman'), spearmanAbs: avg('spearmanAbs'), ssim: avg('ssim'), hog: avg('hog') };
}

export interface RandomizationResult {
  mode: 'cascading' | 'independent';
  /** Step labels: for cascading the lowest layer randomised so far (top first), for independent the one layer randomised. */
  layers: string[];
  /** Per method, the similarity to the trained model's maps at each step (mean over the images). */
  similarity: Record<string, MapSimilarity[]>;
}

export interface RandomizationOptions {
  mode?: 'cascading' | 'independent';
  /** Seed of the re-initialisation (layer k uses seed + k). */
  seed?: number;
  /** Layers to randomise, top first (default: every layer with parameters, from the logits down). */
  layers?: readonly string[];
}

/**
 * Model parameter randomisation test (Adebayo et al. sec. 4.1): maps of every method in `methods`
 * for `input` [N, C, H, W] and `targets`, compared with the trained model's after each step.
 * The model's weights are restored before this returns, even on error.
 */
export async function modelRandomization(
  model: Module,
  methods: readonly MethodSpec[],
  input: Tensor,
  targets: readonly number[],
  ctx: MethodContext,
  opts: RandomizationOptions = {},
): Promise<RandomizationResult> {
  const mode = opts.mode ?? 'cascading';
  const seed = opts.seed ?? 0;
  const layers = [...(opts.layers ?? parameterLayers(model).reverse())];
  const [h, w] = [input.shape[2]!, input.shape[3]!];
  const original = await methodMaps(model, methods, input, targets, ctx);
  const similarity: Record<string, MapSimilarity[]> = Object.fromEntries(methods.map((m) => [m.name, []]));
  const restores: Array<() => void> = [];
  try {
    for (const [k, layer] of layers.entries()) {
      restores.push(randomizeLayer(model, layer, seed + k));
      const maps = await methodMaps(model, methods, input, targets, ctx);
      for (const m of methods) similarity[m.name]!.push(meanSimilarity(original.get(m.name)!, maps.get(m.name)!, h, w));
      if (mode === 'independent') restores.pop()!();
    }
  } finally {
    // undo in reverse order, so every parameter ends with its trained value
    while (restores.length) restores.pop()!();
  }
  return { mode, layers, similarity };
}

/**
 * Data randomisation test (Adebayo et al. sec. 4.2): per method, the similarity between the maps
 * of `trained` and of `other` (e.g. the same architecture trained on shuffled labels) on the same
 * images and targets.
 */
export async function compareModels(
  trained: Module,
  other: Module,
  methods: readonly MethodSpec[],
  input: Tensor,
  targets: readonly number[],
  ctx: MethodContext,
): Promise<Record<string, MapSimilarity>> {
  const [h, w] = [input.shape[2]!, input.shape[3]!];
  const a = await methodMaps(trained, methods, input, targets, ctx);
  const b = await methodMaps(other, methods, input, targets, ctx);
  return Object.fromEntries(methods.map((m) => [m.name, meanSimilarity(a.get(m.name)!, b.get(m.name)!, h, w)]));
}

/**
 * Adebayo et al.'s figure for one method: every similarity measure against the randomisation step
 * (step 0 is the trained model, similarity 1 by definition; step k has the top k layers randomised).
 */
export function randomizationPlot(result: RandomizationResult, method: string): RGBAImage {
  const steps = result.similarity[method];
  if (!steps) throw new Error(`glassbox.xai.sanity: no result for method '${method}'; have ${Object.keys(result.similarity).join(', ')}`);
  const measures: Array<[keyof MapSimilarity, string]> = [['spearmanAbs', 'Spearman (abs)'], ['spearman', 'Spearman'], ['ssim', 'SSIM'], ['hog', 'HOG']];
  return linePlot(
    measures.map(([key, name]) => ({ name, y: [1, ...steps.map((s) => s[key])] })),
    {
      title: `${method}: ${result.mode} randomisation`,
      xLabel: result.mode === 'cascading' ? 'layers randomised, from the logits down' : 'the one layer randomised (1 = logits)',
      yLabel: 'similarity to the trained model',
      yRange: [-0.5, 1],
      width: 560,
      height: 360,
    },
  );
}
