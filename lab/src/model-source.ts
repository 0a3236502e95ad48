/**
 * Where the lab's models come from: the pretrained nets that ship with the page (LeNet-5 and the
 * MNIST CNN, each a safetensors file with a JSON beside it giving its test accuracy), or a
 * safetensors file the student drops on the page (any zoo architecture saved by `glassbox train`,
 * which records the architecture, input shape and normalisation in the file's metadata).
 */
import * as gb from '../../src/index.ts';

export interface LabModel {
  model: gb.nn.Module;
  /** What the page shows: 'LeNet-5 (MNIST, pretrained)', a file name, ... */
  label: string;
  architecture: string;
  normalization: gb.Normalization;
}

/** A pretrained model served with the page: `models/<file>.safetensors` and `models/<file>.json`. */
export interface PretrainedEntry {
  /** Its key in the model menu and in the URL state. */
  key: string;
  name: string;
  file: string;
}

/** The pretrained models, the default first (scripts/build-lab.mjs copies their files). */
export const PRETRAINED: readonly PretrainedEntry[] = [
  { key: 'lenet5', name: 'LeNet-5', file: 'lenet5-mnist' },
  { key: 'mnist-cnn', name: 'MNIST CNN', file: 'mnist-cnn-mnist' },
];

/** What the JSON beside a pretrained model's weights records (the fixture's and lab/models/*.json). */
interface PretrainedInfo {
  validationAccuracy: number;
  validationImages: number;
}

/** A model from safetensors bytes; `name` is the file's, for messages. Only 1x28x28 inputs with 10 classes suit the lab's pad. */
export function modelFromSafetensors(bytes: Uint8Array, name: string): LabModel {
  const file = gb.nn.parseSafetensors(bytes);
  const d = gb.describeModel(file.metadata, name);
  const { channels, height, width } = d.input;
  if (channels !== 1 || height !== 28 || width !== 28)
    throw new Error(`${name} is a ${d.architecture} for ${channels}x${height}x${width} images; the lab draws 1x28x28 digits, so it needs a model trained on MNIST or Fashion-MNIST`);
  if (!gb.models.names().includes(d.architecture)) throw new Error(`${name} names architecture '${d.architecture}', which is not in glassbox's zoo (${gb.models.names().join(', ')})`);
  const model = gb.models.create(d.architecture, d.input);
  gb.nn.loadSafetensors(model, bytes);
  model.eval();
  return { model, label: `${d.architecture} from ${name}`, architecture: d.architecture, normalization: d.normalization };
}

async function fetchOk(url: string): Promise<Response> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not load ${url}: HTTP ${res.status}; rebuild the lab with npm run build:lab`);
  return res;
}

/** The pretrained model `entry`, fetched with its accuracy (the menu's label says it). */
export async function pretrainedModel(entry: PretrainedEntry): Promise<LabModel> {
  const url = `models/${entry.file}.safetensors`;
  const [bytes, info] = await Promise.all([
    fetchOk(url).then(async (r) => new Uint8Array(await r.arrayBuffer())),
    fetchOk(`models/${entry.file}.json`).then((r) => r.json() as Promise<PretrainedInfo>),
  ]);
  const m = modelFromSafetensors(bytes, url);
  const accuracy = `${(100 * info.validationAccuracy).toFixed(1)}% on ${info.validationImages.toLocaleString('en')} test images`;
  return { ...m, label: `${entry.name}, trained on MNIST (${accuracy})` };
}
