/**
 * `glassbox visualize circuit`: catalogue E9 (src/xai/visualize/circuits.ts). For one unit of a conv
 * layer: its strongest input channels in the previous conv layer, each unit's feature
 * visualisation (one batch for the inputs), the connecting k x k weights as signed heatmaps, and
 * the unit's pre-activation on its top validation patches before and after zeroing each
 * connection and each whole input channel. Writes circuit.png and circuit.json into --out.
 */
import { join } from 'node:path';
import { tensor } from '../tensor/ops/creation.ts';
import { datasetSpec } from '../train/datasets.ts';
import { Progress } from '../train/progress.ts';
import { makeGrid } from '../viz/grid.ts';
import { chwToImage, upscale, type RGBAImage } from '../viz/image.ts';
import { heatmapToImage } from '../viz/normalize.ts';
import * as opt from '../xai/optimize/index.ts';
import { convAt, measureEdit, previousConv, unitCircuit, type CircuitEditResult } from '../xai/visualize/circuits.ts';
import { visualizeFeatures, type FeatureVisResult } from '../xai/visualize/features.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { CommandOutput } from './command-output.ts';
import { loadForVisualization } from './visualize.ts';

/** The images of a visualisation result as tiles. */
async function tiles(result: FeatureVisResult): Promise<RGBAImage[]> {
  const [n, c, h, w] = result.images.shape as [number, number, number, number];
  const values = await result.images.toArray();
  return Array.from({ length: n }, (_, i) => chwToImage(values.subarray(i * c * h * w, (i + 1) * c * h * w), c, h, w));
}

export async function visualizeCircuitCommand(args: ParsedArgs): Promise<void> {
  const o = args.options;
  if (o.layer === undefined || o.channel === undefined) throw new UsageError('give --layer <conv path> --channel <k>: the unit whose circuit is drawn');
  const { model, arch, dataset, input, normalization } = await loadForVisualization(o);
  const layer = stringOption(o, 'layer', '');
  const channel = numberOption(o, 'channel', 0);
  let inputLayer: string;
  try {
    inputLayer = previousConv(model, layer);
    const conv = convAt(model, layer);
    if (channel >= conv.outChannels) throw new Error(`channel ${channel} is out of range: layer '${layer}' has ${conv.outChannels} channels (0 to ${conv.outChannels - 1})`);
  } catch (e) {
    throw new UsageError(`--layer ${layer} --channel ${channel}: ${(e as Error).message.replace(/^glassbox\.xai\.circuits: /, '')}`);
  }
  if (dataset === 'unknown') throw new UsageError('the top patches are searched in the validation set: give --dataset');
  const n = numberOption(o, 'n', 1000);
  const data = await datasetSpec(dataset).load('validation', n);
  const count = Math.min(n, data.n);
  const size = data.channels * data.height * data.width;
  const images = tensor(Float32Array.from(data.images.subarray(0, count * size), (v) => v / 255), [count, data.channels, data.height, data.width]);
  const out = stringOption(o, 'out', join('runs', `circuit-${arch}-${layer}-${channel}`));
  const started = performance.now();
  try {
    const pass = new Progress({ label: 'top patches', total: count, unit: 'img' });
    const circuit = await unitCircuit(model, images, {
      layer,
      channel,
      patches: numberOption(o, 'patches', 9),
      rankBy: stringOption(o, 'rank', 'weight') as 'weight' | 'contribution',
      normalization,
      onProgress: (done) => done < count && pass.update(done),
    });
    pass.done();
    const shown = circuit.inputs.slice(0, numberOption(o, 'top', 4));
    const edits: Array<{ connection: CircuitEditResult; inputChannel: CircuitEditResult }> = [];
    for (const i of shown)
      edits.push({
        connection: await measureEdit(model, images, circuit, { kind: 'connection', layer, channel, input: i.channel }, normalization),
        inputChannel: await measureEdit(model, images, circuit, { kind: 'input-channel', layer, input: i.channel }, normalization),
      });

    const steps = numberOption(o, 'steps', 128);
    const render = { inputShape: [input.channels, input.height, input.width] as const, normalization, param: 'fourier' as const, transforms: opt.standardTransforms(), steps, seed: numberOption(o, 'seed', 0) };
    const progress = new Progress({ label: 'visualize', total: 2 * steps, unit: 'step' });
    const unitVis = await visualizeFeatures(model, { layer, channel }, { ...render, onStep: (s) => progress.update(s) }, { images });
    const inputVis = await visualizeFeatures(model, { layer: inputLayer, channel: shown.map((i) => i.channel) }, { ...render, batch: shown.length, onStep: (s) => s < steps && progress.update(steps + s) }, { images });
    progress.done();

    // row 1: the unit, then its inputs' pictures; row 2: the weights between (one colour scale for all, red positive, blue negative)
    const [kh, kw] = circuit.kernel;
    const limit = Math.max(...shown.flatMap((i) => i.weights.map(Math.abs)), 1e-12);
    const grow = Math.max(1, Math.floor(input.height / Math.max(kh, kw)));
    const heatmaps = shown.map((i) => upscale(heatmapToImage(i.weights, kw, kh, { cmap: 'coolwarm', vmin: -limit, vmax: limit }), grow));
    const ratio = (r: FeatureVisResult, i: number) => (r.exemplarRatio && Number.isFinite(r.exemplarRatio[i]) ? ` ${r.exemplarRatio[i]!.toFixed(1)}x` : '');
    const grid = makeGrid([...(await tiles(unitVis)), ...(await tiles(inputVis)), null, ...heatmaps], {
      cols: shown.length + 1,
      tileScale: Math.max(1, Math.floor(84 / input.height)),
      tileTitles: [
        `unit ${channel}${ratio(unitVis, 0)}`,
        ...shown.map((i, k) => `${inputLayer}:${i.channel}${ratio(inputVis, k)}`),
        undefined,
        ...shown.map((i, k) => `|w| ${i.norm.toFixed(2)} cut ${edits[k]!.connection.meanChange.toFixed(2)}`),
      ],
      title: `${arch} ${layer} channel ${channel}: top ${shown.length} inputs from ${inputLayer}`,
    });
    const output = new CommandOutput(out, `Circuit of ${arch} ${layer} channel ${channel} (${dataset})`);
    output.report.paragraph(`The unit's feature visualisation, its top ${shown.length} inputs from ${inputLayer} (ranked by ${circuit.rankBy}) with theirs, and the ${kh}x${kw} weights between (red positive, blue negative; Olah et al. 2020). "cut": the mean change of the unit's top-patch pre-activation when that one connection is zeroed, over ${count} images.`);
    output.png('circuit.png', grid, 'row 1: the unit and its inputs\' pictures (x: activation against the top exemplar); row 2: the weights between, with |w| and the effect of cutting them');
    output.table(undefined, [['input channel', '|w|', 'change when the connection is cut', 'change when the input channel is zeroed'], ...shown.map((i, k) => [String(i.channel), i.norm.toFixed(3), edits[k]!.connection.meanChange.toFixed(3), edits[k]!.inputChannel.meanChange.toFixed(3)])], 'edits of the circuit, mean over the top patches');
    const seconds = (performance.now() - started) / 1000;
    const vis = (r: FeatureVisResult) => ({ objective: r.objective, initial: r.initial, final: r.final, exemplars: r.exemplars, exemplarRatio: r.exemplarRatio });
    output.json('circuit.json', {
      model: arch,
      dataset,
      layer,
      channel,
      inputLayer,
      kernel: circuit.kernel,
      bias: circuit.bias,
      rankBy: circuit.rankBy,
      imagesSearched: count,
      seconds,
      patches: circuit.patches,
      inputs: circuit.inputs,
      edits: shown.map((i, k) => ({ input: i.channel, connection: edits[k]!.connection, inputChannel: edits[k]!.inputChannel })),
      visualization: { steps, unit: vis(unitVis), inputs: vis(inputVis) },
    });
    output.finish();
    for (const r of [unitVis, inputVis]) [r.images, r.probabilities].forEach((t) => t?.dispose());
    const mean = circuit.patches.reduce((s, p) => s + p.value, 0) / Math.max(1, circuit.patches.length);
    console.log(`wrote ${join(out, 'circuit.png')} and circuit.json: unit mean top-patch pre-activation ${mean.toFixed(3)}; zeroing ${shown.map((i, k) => `${i.channel}: ${edits[k]!.connection.meanChange.toFixed(3)}`).join(', ')}`);
  } finally {
    images.dispose();
  }
}
