/**
 * What a saved model's safetensors metadata records besides its weights, so that `loadModel(path)`
 * can rebuild it: the zoo architecture, the data set, the input shape and class count, and the
 * input normalisation. Written by `glassbox train` for every epoch's model; write it for your own
 * models with `saveModel(path, model, {metadata: modelMetadata({...})})`. Browser-safe.
 */
import type { Normalization } from '../data/normalization.ts';
import { normalization as datasetNormalization } from '../data/normalization.ts';
import type { InputSpec } from './models/zoo.ts';

export interface ModelDescription {
  /** The zoo name (`models.MODEL_ZOO`'s key): 'lenet5', 'mnist-cnn', ... */
  architecture: string;
  dataset?: string;
  input: InputSpec;
  normalization: Normalization;
}

/** The metadata strings for a model's safetensors file. */
export function modelMetadata(d: ModelDescription): Record<string, string> {
  return {
    model: d.architecture,
    ...(d.dataset ? { dataset: d.dataset } : {}),
    input: JSON.stringify(d.input),
    normalization: JSON.stringify({ mean: d.normalization.mean, std: d.normalization.std }),
  };
}

/** Image shape and class count of the data sets the zoo trains on (files written before the metadata held `input`). */
const DATASET_INPUTS: Record<string, InputSpec> = {
  mnist: { channels: 1, height: 28, width: 28, classes: 10 },
  'fashion-mnist': { channels: 1, height: 28, width: 28, classes: 10 },
  cifar10: { channels: 3, height: 32, width: 32, classes: 10 },
  // datasets/mixture-mnist.ts: pairs of distinct digits on a 56x56 canvas (45 classes); pairs of 0-7 plus an 8 and a 9 on 64x64 (28)
  'mnist-mixture': { channels: 1, height: 56, width: 56, classes: 45 },
  'mnist-mixture-usefulness': { channels: 1, height: 64, width: 64, classes: 28 },
};

/**
 * Reads a description back from metadata written by modelMetadata, by `glassbox train` (model,
 * dataset, epoch) or by the fixture scripts (a `recipe` JSON with model and dataset). Throws,
 * naming what is missing, where the file does not say enough to rebuild the model.
 */
export function describeModel(metadata: Record<string, string>, file: string): ModelDescription {
  const recipe = metadata.recipe ? (parseJson(metadata.recipe, 'recipe', file) as { model?: string; dataset?: string }) : {};
  const architecture = metadata.model ?? recipe.model;
  const dataset = metadata.dataset ?? recipe.dataset;
  if (!architecture)
    throw new Error(`glassbox.loadModel: ${file} does not name its architecture (no 'model' in its metadata); build the model yourself and call loadModel(path, model)`);
  const input = metadata.input ? (parseJson(metadata.input, 'input', file) as InputSpec) : dataset ? DATASET_INPUTS[dataset] : undefined;
  if (!input)
    throw new Error(`glassbox.loadModel: ${file} does not record its input shape (no 'input' in its metadata, data set ${JSON.stringify(dataset)}); build the model yourself and call loadModel(path, model)`);
  const norm = metadata.normalization ? (parseJson(metadata.normalization, 'normalization', file) as Normalization) : dataset ? datasetNormalization[dataset] : undefined;
  if (!norm)
    throw new Error(`glassbox.loadModel: ${file} does not record its input normalisation (no 'normalization' in its metadata, data set ${JSON.stringify(dataset)})`);
  return { architecture, dataset, input, normalization: norm };
}

function parseJson(text: string, key: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`glassbox.loadModel: ${file}'s metadata '${key}' is not JSON: ${text.slice(0, 80)}`);
  }
}
