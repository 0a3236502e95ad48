/**
 * `loadModel(path)`: a trained model back from its .safetensors file alone, architecture (from the
 * zoo), weights and input normalisation, as its metadata describes them (src/nn/model-metadata.ts).
 * `loadModel(path, model)` still loads the weights into a model you built. Node only.
 */
import { readFile } from 'node:fs/promises';
import { loadModel as loadInto } from './safetensors-file.ts';
import { describeModel, type ModelDescription } from './model-metadata.ts';
import { modelEntry } from './models/zoo.ts';
import { Module } from './module.ts';
import { parseSafetensors, type LoadSafetensorsOptions, type LoadSafetensorsResult } from './safetensors.ts';

export interface TrainedModel extends ModelDescription {
  /** The model, weights loaded, in eval mode. */
  model: Module;
  /** The file's raw metadata strings. */
  metadata: Record<string, string>;
}

export function loadModel(path: string): Promise<TrainedModel>;
export function loadModel(path: string, module: Module, opts?: LoadSafetensorsOptions): Promise<LoadSafetensorsResult>;
export async function loadModel(path: string, module?: Module, opts: LoadSafetensorsOptions = {}): Promise<TrainedModel | LoadSafetensorsResult> {
  if (typeof path !== 'string') throw new Error(`glassbox.loadModel: the first argument must be the path of a .safetensors file, got ${typeof path}`);
  if (module !== undefined) {
    if (!(module instanceof Module)) throw new Error(`glassbox.loadModel: the second argument must be an nn.Module to load the weights into (or nothing, to rebuild the model from the file), got ${typeof module}`);
    return loadInto(path, module, opts);
  }
  const bytes = await readFile(path);
  const { metadata } = parseSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  const description = describeModel(metadata, path);
  const model = modelEntry(description.architecture).build(description.input);
  await loadInto(path, model);
  return { ...description, model: model.eval(), metadata };
}
