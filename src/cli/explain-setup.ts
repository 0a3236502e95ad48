/**
 * What the explain, evaluate and main commands share: a trained model from a run folder (or a
 * weights file), explanation methods by name, and the default layer of CAM-style methods.
 */
import { existsSync, statSync } from 'node:fs';
import * as gb from '../index.ts';
import { modelEntry } from '../nn/models/zoo.ts';
import { loadModel } from '../nn/safetensors-file.ts';
import { assertFiniteParameters } from '../nn/finite-check.ts';
import { runWeights } from '../train/checkpoint.ts';
import { datasetSpec } from '../train/datasets.ts';
import { allMethods, type MethodSpec } from '../xai/registry.ts';
import { UsageError } from './args.ts';

export interface LoadedModel {
  model: gb.nn.Module;
  arch: string;
  dataset: string;
}

/** A model from a `glassbox train` run folder, or a .safetensors file with --arch and --dataset. */
export async function loadTrained(path: string, arch?: string, datasetName?: string): Promise<LoadedModel> {
  let weights = path;
  // a run folder: its validated manifest says the model, the data set and where the weights are
  const run = existsSync(path) && statSync(path).isDirectory() ? runWeights(path) : undefined;
  if (run) {
    arch ??= run.config.model;
    datasetName ??= run.config.dataset;
    weights = run.modelPath;
  }
  if (!arch || !datasetName) throw new UsageError(`--model ${path} is not a run folder of glassbox train; give a .safetensors file with --arch <model> and --dataset <name>`);
  const data = datasetSpec(datasetName);
  const probe = await data.load('validation', 1);
  const model = modelEntry(arch).build({ channels: probe.channels, height: probe.height, width: probe.width, classes: probe.classes.length });
  await loadModel(weights, model);
  await assertFiniteParameters(model, `in ${weights}`);
  model.eval();
  return { model, arch, dataset: datasetName };
}

/**
 * The feature map CAM-style methods explain by default. In a net that ends in global average
 * pooling it is the map that pooling reads: there CAM is exact (a logit is the mean of its map)
 * and Grad-CAM's channel weights are the classifier's. Otherwise it is the last ReLU after the
 * last conv. The pooling's input is found by one forward pass of the first image with hooks, so
 * it is named right whatever the module structure (a max pool before the pooling, ResNet blocks).
 */
export function defaultCamLayer(model: gb.nn.Module, input: gb.Tensor): string {
  const modules = model.namedModules().filter(([name]) => name !== '');
  const convIndex = modules.map(([, m]) => m instanceof gb.nn.Conv2d).lastIndexOf(true);
  if (convIndex < 0) throw new Error('glassbox: the model has no Conv2d layer for CAM-style methods; pass --layer');
  const pooled = globalPoolingInput(model, modules, input);
  if (pooled) return pooled;
  const after = modules.slice(convIndex + 1).find(([, m]) => m instanceof gb.nn.ReLU);
  return (after ?? modules[convIndex]!)[0];
}

const isGlobalPooling = (m: gb.nn.Module) =>
  m instanceof gb.nn.AdaptiveAvgPool2d && (m.outputSize === 1 || (Array.isArray(m.outputSize) && m.outputSize.every((s) => s === 1)));

/**
 * The innermost module, called once per forward, whose output global average pooling reads
 * (a module called twice, like a ReLU a ResNet block reuses, would be ambiguous as a layer).
 */
function globalPoolingInput(model: gb.nn.Module, modules: Array<[string, gb.nn.Module]>, input: gb.Tensor): string | undefined {
  let pooledInput: unknown;
  const producers = new Map<unknown, string[]>(); // output tensor -> modules that returned it, innermost first
  const calls = new Map<string, number>();
  const removers = modules.map(([name, m]) =>
    isGlobalPooling(m)
      ? m.registerForwardPreHook((_, inputs) => void (pooledInput ??= inputs[0]))
      : m.registerForwardHook((_, __, output) => {
          calls.set(name, (calls.get(name) ?? 0) + 1);
          producers.set(output, [...(producers.get(output) ?? []), name]);
        }),
  );
  try {
    gb.tidy(() => gb.noGrad(() => void model.forward(gb.slice(input, 0, { start: 0, end: 1 }))));
  } finally {
    removers.forEach((remove) => remove());
  }
  return producers.get(pooledInput)?.find((name) => calls.get(name) === 1);
}

/** Short names people type, for the registry's names. */
const ALIASES: Record<string, string> = { gradcam: 'grad-cam', 'gradcam++': 'grad-cam++', ig: 'integrated-gradients', gradient: 'saliency', guided: 'guided-backprop', shap: 'kernel-shap' };

/** Methods named in a comma-separated list ('all' for every registered one), by name or alias. */
export function methodsByName(list: string): MethodSpec[] {
  if (list === 'all') return [...allMethods()];
  return list.split(',').map((typed) => {
    const name = ALIASES[typed] ?? typed;
    const found = allMethods().find((m) => m.name === name);
    if (!found) throw new UsageError(`unknown method '${typed}'; known: ${allMethods().map((m) => m.name).join(', ')} (aliases: ${Object.keys(ALIASES).join(', ')})`);
    return found;
  });
}
