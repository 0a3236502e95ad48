/**
 * `glassbox manipulate`: C4 manipulated explanations (src/xai/attacks/manipulation.ts). Validation
 * image --index is changed so that its explanation matches that of image --target-index while the
 * output stays put. Writes manipulate.png (x, x_adv, their maps on the ReLU network, the target
 * map), manipulate-curve.png (the loss per step), manipulate.json (every number) and report.html.
 */
import { join } from 'node:path';
import { Progress } from '../train/progress.ts';
import { chartPng } from '../viz/chart.ts';
import { applyColormap } from '../viz/colormap.ts';
import { makeGrid } from '../viz/grid.ts';
import { asImage, type RGBAImage } from '../viz/image.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { manipulateExplanation, type ManipulatedMethod } from '../xai/attacks/manipulation.ts';
import { imageTiles } from '../xai/visualize/features.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';
import { validationImages } from './visualize-invert.ts';
import { loadForVisualization } from './visualize.ts';

/** Heat maps [N, H, W] as tiles, all on one colour scale (so the target and the achieved map compare). */
async function heatTiles(maps: Tensor[], vmax: number): Promise<RGBAImage[]> {
  const [, h, w] = maps[0]!.shape as [number, number, number];
  return Promise.all(maps.map(async (m) => asImage(applyColormap(await m.toArray(), { cmap: 'inferno', vmin: 0, vmax }), w, h)));
}

export async function manipulateCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  const method = stringOption(o, 'method', 'saliency') as ManipulatedMethod;
  const index = numberOption(o, 'index', 0);
  const targetIndex = numberOption(o, 'target-index', 1);
  if (index === targetIndex) throw new UsageError(`--index and --target-index are both ${targetIndex}: the target map must come from another image; pick a different --target-index`);
  const { model, arch, dataset, normalization } = await loadForVisualization(o);
  const settings = { beta: numberOption(o, 'beta', 10), gamma: numberOption(o, 'gamma', 0.1), steps: numberOption(o, 'steps', 300), lr: numberOption(o, 'lr', 1e-2), igSteps: numberOption(o, 'ig-steps', 16), epsilon: o.eps === undefined ? undefined : numberOption(o, 'eps', 1) };
  const out = stringOption(o, 'out', `runs/manipulate-${arch}-${method}`);
  const [x, target] = [await validationImages(dataset, index, 1), await validationImages(dataset, targetIndex, 1)];
  const started = Date.now();
  const progress = new Progress({ label: 'manipulate', total: settings.steps, unit: 'step' });
  try {
    const r = await manipulateExplanation(model, x, target, { method, normalization, ...settings, onStep: (step, loss) => progress.update(step, { loss: loss[0]! }) });
    progress.done();
    const output = new CommandOutput(out, `Manipulated explanation: ${method} on ${arch} (${dataset})`);
    const { original, adversarial, target: targetMap } = r.relu.maps;
    const vmax = Math.max(...(await Promise.all([original, adversarial, targetMap].map(async (m) => Math.max(...(await m.toArray()))))));
    const [xTile, advTile] = [...(await imageTiles(x)), ...(await imageTiles(r.adversarial))];
    const maps = await heatTiles([original, adversarial, targetMap], vmax);
    const titles = ['x', 'x_adv', `h(x) ${r.relu.mseBefore[0]!.toExponential(2)}`, `h(x_adv) ${r.relu.mseAfter[0]!.toExponential(2)}`, 'target h_t'];
    const factor = r.relu.mseBefore[0]! / r.relu.mseAfter[0]!;
    output.report.paragraph(
      `Validation image ${index} was changed (largest pixel change ${r.maxPixelChange[0]!.toFixed(3)}) so that its ${method} map on the ReLU net moves towards image ${targetIndex}'s ` +
        `(Dombrowski et al. 2019): map MSE to the target ${factor.toFixed(2)}x lower, output change ${r.relu.outputChange[0]!.toFixed(4)}, class ${r.relu.predictedBefore[0]} -> ${r.relu.predictedAfter[0]}.`,
    );
    output.png('manipulate.png', makeGrid([xTile!, advTile!, ...maps], { cols: 5, tileScale: 4, tileTitles: titles, title: `${method}: MSE to the target map on the ReLU net` }), 'x, x_adv, their maps on the ReLU net and the target map, on one colour scale');
    output.png('manipulate-curve.png', chartPng({ title: `manipulating ${method} (softplus beta ${settings.beta})`, xLabel: 'Adam step', yLabel: 'loss', xFromOne: true, series: [{ name: 'map + gamma output loss', y: r.curve }] }), 'the loss per Adam step');
    output.json('manipulate.json', {
      model: arch,
      dataset,
      method,
      index,
      targetIndex,
      ...settings,
      seconds: (Date.now() - started) / 1000,
      relu: { mseBefore: r.relu.mseBefore[0], mseAfter: r.relu.mseAfter[0], factor, outputChange: r.relu.outputChange[0], predictedBefore: r.relu.predictedBefore[0], predictedAfter: r.relu.predictedAfter[0] },
      smoothed: { mseBefore: r.smoothed.mseBefore[0], mseAfter: r.smoothed.mseAfter[0], factor: r.smoothed.mseBefore[0]! / r.smoothed.mseAfter[0]! },
      maxPixelChange: r.maxPixelChange[0],
      curve: r.curve,
    });
    output.finish();
    console.log(
      `wrote ${join(out, 'manipulate.png')}, manipulate-curve.png and manipulate.json (${method}, ReLU net: map MSE ${r.relu.mseBefore[0]!.toExponential(3)} -> ${r.relu.mseAfter[0]!.toExponential(3)}, ` +
        `${factor.toFixed(2)}x lower; output change ${r.relu.outputChange[0]!.toFixed(4)}; class ${r.relu.predictedBefore[0]} -> ${r.relu.predictedAfter[0]})`,
    );
    [r.adversarial, original, adversarial, targetMap].forEach((t) => t.dispose());
  } finally {
    [x, target].forEach((t) => t.dispose());
  }
}
