/**
 * `glassbox sanity`: Adebayo et al.'s sanity checks (catalogue C2) for a trained model: cascading
 * and independent parameter randomisation, and with --random-labels (a model of the same
 * architecture trained on shuffled labels) data randomisation. Writes one plot per method and
 * mode (<mode>-<method>.png), sanity.json (similarity per layer per method) and report.html (the
 * same curves as interactive charts, one self-contained file) into --out.
 */
import { join } from 'node:path';
import * as gb from '../index.ts';
import { datasetSpec } from '../train/datasets.ts';
import { compareModels, modelRandomization, randomizationPlot } from '../xai/sanity.ts';
import { HtmlReport, type ChartSpec } from '../viz/index.ts';
import { writeJson, writePng, writeReport } from '../viz/node.ts';
import { randomizationChart } from './report.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { defaultCamLayer, loadTrained, methodsByName } from './explain-setup.ts';

export { SANITY_OPTIONS } from './options.ts';

export async function sanityCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  const str = (name: string) => (o[name] === undefined ? undefined : stringOption(o, name, ''));
  const modelPath = str('model');
  if (!modelPath) throw new UsageError('sanity needs --model <run folder> (or a .safetensors file with --arch and --dataset)');
  const loaded = await loadTrained(modelPath, str('arch'), str('dataset'));
  const methods = methodsByName(stringOption(o, 'methods', 'saliency,grad-cam,guided-backprop'));
  const n = numberOption(o, 'n', 16);
  const out = stringOption(o, 'out', join('runs', `sanity-${loaded.arch}-${loaded.dataset}`));
  const spec = datasetSpec(loaded.dataset);
  const data = await spec.load('validation', n);
  const [c, h, w] = [data.channels, data.height, data.width];
  const channelOf = (i: number) => Math.min(Math.floor(i / (h * w)) % c, spec.mean.length - 1);
  const input = gb.tensor(Float32Array.from(data.images.subarray(0, n * c * h * w), (v, i) => (v / 255 - spec.mean[channelOf(i)]!) / spec.std[channelOf(i)]!), [n, c, h, w]);
  // the true labels: the same question asked of every model, trained or randomised
  const targets = Array.from(data.labels.subarray(0, n));
  const ctx = { layer: str('layer') ?? defaultCamLayer(loaded.model, input), background: input };
  const seed = numberOption(o, 'seed', 0);
  const report: Record<string, unknown> = { model: modelPath, images: n, methods: methods.map((m) => m.name) };
  const charts: ChartSpec[] = [];
  for (const mode of ['cascading', 'independent'] as const) {
    console.error(`${mode} randomisation of ${loaded.arch}, ${methods.length} methods on ${n} images`);
    const r = await modelRandomization(loaded.model, methods, input, targets, ctx, { mode, seed });
    for (const m of methods) writePng(join(out, `${mode}-${m.name}.png`), randomizationPlot(r, m.name));
    report[mode] = r;
    charts.push(...methods.map((m) => randomizationChart(r, m.name)));
    for (const m of methods) console.error(`  ${m.name.padEnd(20)} Spearman (abs) per layer: ${r.similarity[m.name]!.map((s) => s.spearmanAbs.toFixed(2)).join(' ')}`);
  }
  const randomLabels = str('random-labels');
  if (randomLabels) {
    const other = await loadTrained(randomLabels, loaded.arch, loaded.dataset);
    report.dataRandomization = await compareModels(loaded.model, other.model, methods, input, targets, ctx);
  }
  writeJson(join(out, 'sanity.json'), report);
  const page = new HtmlReport(`glassbox sanity: ${loaded.arch} on ${loaded.dataset}`)
    .paragraph(`Model parameter randomisation (Adebayo et al. 2018) on ${n} validation images, explaining the true class. Each chart: a method's maps compared with the trained model's as layers are re-initialised (cascading: from the logits down; independent: one at a time). A map that explains the model should change. Hover for the values.`)
    .chartRow(charts);
  writeReport(join(out, 'report.html'), page);
  console.log(`sanity checks written to ${out} (sanity.json, report.html, one plot per method and mode)`);
}
