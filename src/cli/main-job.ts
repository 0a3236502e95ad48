/**
 * `glassbox main`, the README's first command: train LeNet-5 on part of MNIST (a couple of
 * minutes on 2 CPU cores), then explain its predictions on test images with every registered
 * method that applies to it (CAM does not: LeNet-5 has no global average pooling) and score them,
 * run the sanity checks (cascading randomisation) on three of them, draw what the net responds to
 * (class pictures, units of the last conv layer with their top patches: main-feature-vis.ts), and write
 * runs/main/report.html (with the PNGs and JSON beside it).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { allMethods, methodSpec, notApplicableReason } from '../xai/registry.ts';
import { modelRandomization } from '../xai/sanity.ts';
import { parseArgs, stringOption, numberOption, type ParsedArgs } from './args.ts';
import { train, TRAIN_OPTIONS } from './train.ts';
import { evaluateMethods } from './evaluate.ts';
import { defaultCamLayer, loadTrained } from './explain-setup.ts';
import { randomizationChart, trainingChart, writeEvaluation } from './report.ts';
import { featureVisSection, type FeatureVisSection } from './main-feature-vis.ts';
import { tensor } from '../tensor/ops/creation.ts';
import { datasetSpec } from '../train/datasets.ts';
import { writeJson } from '../viz/files.ts';
import type { Module } from '../nn/module.ts';

/** Validation images searched for the units' top patches and exemplars in the report. */
const VIS_IMAGES = 1000;

/** The report's feature-visualisation section (main-feature-vis.ts), its numbers written to feature-visualization.json. */
async function mainFeatureVis(model: Module, out: string): Promise<FeatureVisSection> {
  const spec = datasetSpec('mnist');
  const data = await spec.load('validation', VIS_IMAGES);
  const count = Math.min(VIS_IMAGES, data.n);
  const images = tensor(Float32Array.from(data.images.subarray(0, count * 784), (v) => v / 255), [count, 1, 28, 28]);
  try {
    const vis = await featureVisSection(model, { mean: spec.mean, std: spec.std }, images, { classNames: data.classes });
    writeJson(join(out, 'feature-visualization.json'), vis.numbers);
    return vis;
  } finally {
    images.dispose();
  }
}

export { MAIN_OPTIONS } from './options.ts';

export async function mainJob(args: ParsedArgs): Promise<void> {
  const out = stringOption(args.options, 'out', join('runs', 'main'));
  const modelDir = join(out, 'lenet5-mnist');
  const started = performance.now();
  await train(
    parseArgs(
      ['--model', 'lenet5', '--dataset', 'mnist', '--epochs', String(numberOption(args.options, 'epochs', 2)), '--limit', String(numberOption(args.options, 'train-images', 12000)), '--val-limit', '2000', '--out', modelDir],
      TRAIN_OPTIONS,
    ),
  );
  const loaded = await loadTrained(modelDir);
  const n = numberOption(args.options, 'n', 4);
  // every method is listed; those that do not apply to LeNet-5 are not run, and their rows say why
  const applicable = allMethods().filter((m) => !notApplicableReason(m, loaded.model));
  console.error(`explaining ${n} test images with the ${applicable.length} of ${allMethods().length} methods that apply to LeNet-5`);
  const ev = await evaluateMethods(loaded, allMethods(), n);
  // Adebayo et al.'s cascading randomisation on the same images: which maps notice that the classifier is gone?
  const sanityMethods = ['saliency', 'grad-cam', 'guided-backprop'].map(methodSpec).filter((m) => applicable.includes(m));
  const sanity = await modelRandomization(loaded.model, sanityMethods, ev.input, ev.labels, { layer: defaultCamLayer(loaded.model, ev.input) });
  console.error('feature visualisation: class pictures, and units of the last conv layer with their top patches');
  const vis = await mainFeatureVis(loaded.model, out);
  const seconds = (performance.now() - started) / 1000;
  const history = (JSON.parse(readFileSync(join(modelDir, 'metrics.json'), 'utf8')) as { epochs: Parameters<typeof trainingChart>[0] }).epochs;
  const accuracy = history[history.length - 1]?.valAccuracy ?? NaN;
  writeEvaluation(ev, out, 'glassbox: LeNet-5 on MNIST, explained by every method', {
    seconds,
    command: 'glassbox main',
    intro: [
      `LeNet-5 trained here from scratch (${modelDir}) reaches ${(100 * accuracy).toFixed(1)}% on 2,000 MNIST test images after ${history.length} epochs. ` +
        'Every registered explanation method then explains its prediction on the first test images, and every map is scored the same way.',
    ],
    charts: [trainingChart(history)],
    sections: [
      {
        title: 'Sanity checks',
        text:
          `Cascading randomisation (Adebayo et al. 2018): the layers are re-initialised one by one from the logits down (${sanity.layers.join(', ')}), ` +
          "and each method's maps are compared with those of the trained model. A map that explains the model should change; guided backprop's barely does.",
        charts: sanityMethods.map((m) => randomizationChart(sanity, m.name)),
      },
      vis.section,
    ],
  });
  console.log(`done in ${seconds.toFixed(0)} s: open ${join(out, 'report.html')}`);
}
