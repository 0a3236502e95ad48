/**
 * Where the lab's models come from: the LeNet-5 trained on MNIST that ships with the page, or a
 * safetensors file the student drops on the page (any zoo architecture saved by `glassbox train`,
 * which records the architecture, input shape and normalisation in the file's metadata).
 */
import * as gb from '../../src/index.ts';
import { describeModel } from '../../src/nn/model-metadata.ts';

export interface LabModel {
  model: gb.nn.Module;
  /** What the page shows: 'LeNet-5 (MNIST, pretrained)', a file name, ... */
  label: string;
  architecture: string;
  normalization: gb.Normalization;
}

export const PRETRAINED_URL = 'models/lenet5-mnist.safetensors';

/** A model from safetensors bytes; `name` is the file's, for messages. Only 1x28x28 inputs with 10 classes suit the lab's pad. */
export function modelFromSafetensors(bytes: Uint8Array, name: string): LabModel {
  const file = gb.nn.parseSafetensors(bytes);
  const d = describeModel(file.metadata, name);
  const { channels, height, width, classes } = d.input;
  if (channels !== 1 || height !== 28 || width !== 28)
    throw new Error(`${name} is a ${d.architecture} for ${channels}x${height}x${width} images; the lab draws 1x28x28 digits, so it needs a model trained on MNIST or Fashion-MNIST`);
  if (!gb.models.names().includes(d.architecture)) throw new Error(`${name} names architecture '${d.architecture}', which is not in glassbox's zoo (${gb.models.names().join(', ')})`);
  const model = gb.models.create(d.architecture, { channels, height, width, classes });
  gb.nn.loadSafetensors(model, bytes);
  model.eval();
  return { model, label: `${d.architecture} from ${name}`, architecture: d.architecture, normalization: d.normalization };
}

export async function pretrainedModel(): Promise<LabModel> {
  const res = await fetch(PRETRAINED_URL);
  if (!res.ok) throw new Error(`could not load the pretrained model ${PRETRAINED_URL}: HTTP ${res.status}; rebuild the lab with npm run build:lab`);
  const m = modelFromSafetensors(new Uint8Array(await res.arrayBuffer()), PRETRAINED_URL);
  return { ...m, label: 'LeNet-5, trained on MNIST (95.7% on 2,000 test images)' };
}
