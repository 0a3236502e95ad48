/**
 * `glassbox visualize dream`: A3b DeepDream (src/xai/visualize/deep-dream.ts) from a validation
 * image. Writes dream-before.png, dream-after.png, dream.png (the two side by side) and dream.json
 * (the layer's mean square activation at every step, before and after, and the octave sizes).
 */
import { join } from 'node:path';
import { Progress } from '../train/progress.ts';
import { makeGrid } from '../viz/grid.ts';
import { deepDream } from '../xai/visualize/deep-dream.ts';
import { imageTiles } from '../xai/visualize/features.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';
import { validationImages } from './visualize-invert.ts';
import { loadForVisualization } from './visualize.ts';

export async function visualizeDreamCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  if (o.layer === undefined) throw new UsageError('give --layer, a module path as nn.summary prints it (e.g. --layer features.4); an unknown path lists the known ones');
  const layer = stringOption(o, 'layer', '');
  const { model, arch, dataset, input, normalization } = await loadForVisualization(o);
  const index = numberOption(o, 'index', 0);
  const settings = {
    octaves: numberOption(o, 'octaves', 3),
    octaveScale: numberOption(o, 'octave-scale', 1.4),
    steps: numberOption(o, 'steps', 20),
    lr: numberOption(o, 'lr', 0.01),
    jitter: numberOption(o, 'jitter', 2),
    seed: numberOption(o, 'seed', 0),
  };
  const out = stringOption(o, 'out', `runs/dream-${arch}-${layer}`);
  const start = await validationImages(dataset, index, 1);
  const started = Date.now();
  const progress = new Progress({ label: 'dream', total: settings.octaves * settings.steps, unit: 'step' });
  try {
    const r = await deepDream(model, start, layer, {
      inputShape: [input.channels, input.height, input.width],
      normalization,
      ...settings,
      onStep: (octave, step, norm) => progress.update(octave * settings.steps + step, { octave: octave + 1, 'layer mean square': norm }),
    });
    progress.done();
    const output = new CommandOutput(out, `DeepDream on ${arch} (${dataset}): ${r.objective}`);
    output.report.paragraph(`Validation image ${index}, ${settings.octaves} octave(s) of ${settings.steps} gradient-ascent steps on the mean square of ${layer}: ${r.initial[0]!.toFixed(4)} -> ${r.final[0]!.toFixed(4)} (${(r.final[0]! / r.initial[0]!).toFixed(2)}x).`);
    const [before] = await imageTiles(start);
    const [after] = await imageTiles(r.images);
    const scale = Math.max(1, Math.floor(112 / Math.max(input.height, input.width)));
    output.png('dream.png', makeGrid([before!, after!], { cols: 2, tileScale: scale, tileTitles: [`before ${r.initial[0]!.toFixed(3)}`, `after ${r.final[0]!.toFixed(3)}`], title: `DeepDream: ${r.objective}` }), 'the image before and after, captioned with the layer objective');
    output.png('dream-before.png', makeGrid([before!], { tileScale: scale, padding: 0 }), 'the image before', false);
    output.png('dream-after.png', makeGrid([after!], { tileScale: scale, padding: 0 }), 'the image after', false);
    output.json('dream.json', {
      model: arch,
      dataset,
      image: index,
      layer,
      objective: r.objective,
      ...settings,
      octaveSizes: r.octaveSizes,
      seconds: (Date.now() - started) / 1000,
      initial: r.initial[0],
      final: r.final[0],
      factor: r.final[0]! / r.initial[0]!,
      curve: r.curve,
    });
    output.finish();
    console.log(`wrote ${join(out, 'dream.png')}, dream-before.png, dream-after.png and dream.json (${r.objective}: ${r.initial[0]!.toFixed(4)} -> ${r.final[0]!.toFixed(4)}, ${(r.final[0]! / r.initial[0]!).toFixed(2)}x)`);
    r.images.dispose();
  } finally {
    start.dispose();
  }
}
