/**
 * Really trained small models for the tests that check what explanation methods promise.
 * Each is trained once by `node scripts/run-ts.mjs scripts/train-fixture-models.ts` (on 2 CPU
 * cores: minutes for the LeNets, 25 for the mixture net) and committed as tests/fixtures/models/<name>.safetensors with its
 * accuracy in <name>.json; tests load those. If a file is missing, trainedModel() trains it
 * (slow) and writes it, so a fresh checkout still works.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as gb from '../src/index.ts';
import { modelEntry } from '../src/nn/models/zoo.ts';
import { loadModel, saveModel } from '../src/nn/safetensors-file.ts';
import { DataLoader } from '../src/train/data-loader.ts';
import { datasetSpec } from '../src/train/datasets.ts';
import { fit } from '../src/train/trainer.ts';
import { adversarialBatchHook, adversarialTrainingSettings } from '../src/xai/attacks/adversarial-training.ts';
import { REPO_ROOT } from '../datasets/paths.ts';
import type { ImageDataset } from '../datasets/index.ts';

export interface FixtureRecipe {
  model: string;
  dataset: string;
  trainImages: number;
  epochs: number;
  lr: number;
  seed: number;
  /** Train on labels shuffled once by this seed (the data-randomisation model of the sanity checks). */
  shuffleLabels?: boolean;
  /** Adversarial training (src/xai/attacks/adversarial-training.ts): every batch replaced by its attack, eps ramped up over `warmupEpochs`. */
  adversarial?: { method: 'pgd' | 'fgsm-rs'; eps: number; steps: number; warmupEpochs?: number };
  /** Start from this fixture's weights (fine-tuning) instead of a random initialisation. */
  init?: string;
}

export const FIXTURE_MODELS = {
  'lenet-mnist': { model: 'lenet5', dataset: 'mnist', trainImages: 12000, epochs: 2, lr: 2e-3, seed: 0 },
  // Adebayo et al.'s data randomisation: a net that memorised random labels (train accuracy near 100%, test at chance)
  'lenet-mnist-random-labels': { model: 'lenet5', dataset: 'mnist', trainImages: 1000, epochs: 40, lr: 2e-3, seed: 0, shuffleLabels: true },
  // Madry et al.'s PGD training, short: the robust model of the perceptually-aligned-gradients test (Tsipras et al. 2019)
  'lenet-mnist-robust': { model: 'lenet5', dataset: 'mnist', trainImages: 12000, epochs: 3, lr: 2e-3, seed: 0, adversarial: { method: 'pgd', eps: 0.3, steps: 5 } },
  'mixture-net': { model: 'mixture-net', dataset: 'mnist-mixture', trainImages: 20000, epochs: 6, lr: 3e-3, seed: 0 },
  // the mixture net fine-tuned by Wong et al.'s FGSM-RS training (eps 0.1, ramped up over the first epoch; from a random
  // start the small net stays at chance): the pointing game and energy of perceptually aligned gradients
  'mixture-net-robust': { model: 'mixture-net', dataset: 'mnist-mixture', trainImages: 20000, epochs: 2, lr: 1e-3, seed: 0, init: 'mixture-net', adversarial: { method: 'fgsm-rs', eps: 0.1, steps: 1, warmupEpochs: 1 } },
} satisfies Record<string, FixtureRecipe>;

export type FixtureName = keyof typeof FIXTURE_MODELS;

/** Every fixture trains with batches of 64, the last incomplete one dropped. */
const FIXTURE_BATCH = 64;

// from the repository root, not this file's URL: the script that trains them runs bundled from dist/
const dir = join(REPO_ROOT, 'tests', 'fixtures', 'models') + '/';

function shuffledLabels(data: ImageDataset, seed: number): ImageDataset {
  const labels = Uint8Array.from(data.labels);
  let s = seed + 1;
  for (let i = labels.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    const j = s % (i + 1);
    [labels[i], labels[j]] = [labels[j]!, labels[i]!];
  }
  return { ...data, labels };
}

export interface TrainedModel {
  model: gb.nn.Module;
  recipe: FixtureRecipe;
  /** Validation accuracy measured when the model was trained. */
  accuracy: number;
  mean: number[];
  std: number[];
}

/** Trains a fixture model from its recipe and writes it to tests/fixtures/models/. */
export async function trainFixtureModel(name: FixtureName): Promise<void> {
  const recipe: FixtureRecipe = FIXTURE_MODELS[name];
  const spec = datasetSpec(recipe.dataset);
  let train = await spec.load('train', recipe.trainImages);
  if (recipe.shuffleLabels) train = shuffledLabels(train, recipe.seed);
  const val = await spec.load('validation', 2000);
  gb.manualSeed(recipe.seed);
  const model = modelEntry(recipe.model).build({ channels: train.channels, height: train.height, width: train.width, classes: train.classes.length });
  if (recipe.init) {
    if (!existsSync(`${dir}${recipe.init}.safetensors`)) await trainFixtureModel(recipe.init as FixtureName);
    await loadModel(`${dir}${recipe.init}.safetensors`, model);
  }
  const history = await fit(model, {
    epochs: recipe.epochs,
    perturbBatch: recipe.adversarial
      ? adversarialBatchHook(model, adversarialTrainingSettings(recipe.adversarial.method, recipe.adversarial), { mean: spec.mean, std: spec.std }, { batchesPerEpoch: Math.floor(recipe.trainImages / FIXTURE_BATCH) })
      : undefined,
    optimizer: new gb.optim.Adam(model.parameters(), { lr: recipe.lr }),
    loss: (l, y) => gb.crossEntropy(l, y),
    train: new DataLoader(train, { batchSize: FIXTURE_BATCH, shuffle: true, seed: recipe.seed, keepLast: false, mean: spec.mean, std: spec.std }),
    val: new DataLoader(val, { batchSize: 500, mean: spec.mean, std: spec.std }),
    label: name,
  });
  mkdirSync(dir, { recursive: true });
  await saveModel(`${dir}${name}.safetensors`, model, { metadata: { recipe: JSON.stringify(recipe) } });
  const last = history[history.length - 1]!;
  writeFileSync(`${dir}${name}.json`, `${JSON.stringify({ recipe, validationAccuracy: last.valAccuracy, validationImages: 2000, history }, null, 2)}\n`);
}

/** The trained fixture model `name`, in eval mode. */
export async function trainedModel(name: FixtureName): Promise<TrainedModel> {
  const recipe: FixtureRecipe = FIXTURE_MODELS[name];
  if (!existsSync(`${dir}${name}.safetensors`)) await trainFixtureModel(name);
  const spec = datasetSpec(recipe.dataset);
  const meta = JSON.parse(readFileSync(`${dir}${name}.json`, 'utf8')) as { validationAccuracy: number };
  const classes = recipe.dataset === 'mnist-mixture' ? 45 : 10;
  const side = recipe.dataset === 'mnist-mixture' ? 56 : 28;
  const model = modelEntry(recipe.model).build({ channels: 1, height: side, width: side, classes });
  await loadModel(`${dir}${name}.safetensors`, model);
  model.eval();
  return { model, recipe, accuracy: meta.validationAccuracy, mean: spec.mean, std: spec.std };
}
