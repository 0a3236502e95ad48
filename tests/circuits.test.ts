/**
 * Catalogue E9 circuits and the exemplar ratio of E1 on the trained LeNet-5 (MNIST): a unit of
 * conv2 (features.3) decomposes into its input channels' contributions; zeroing one connection
 * changes the unit's pre-activation by exactly the removed contribution, computed here
 * independently on the CPU as the correlation of that input channel's activation with the zeroed
 * weights; the weights are restored bit for bit (also when the measurement throws); the CLI
 * writes its PNG and JSON. A channel visualisation is reported as a multiple of its top exemplar.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { loadDataset } from '../datasets/index.ts';
import { parseArgs, UsageError } from '../src/cli/args.ts';
import { VISUALIZE_CIRCUIT_OPTIONS, VISUALIZE_FEATURES_OPTIONS } from '../src/cli/options.ts';
import { visualizeFeaturesCommand } from '../src/cli/visualize.ts';
import { visualizeCircuitCommand } from '../src/cli/visualize-circuit.ts';
import { readPng } from '../src/viz/node.ts';
import { forwardWithLayer } from '../src/xai/attribution.ts';
import * as opt from '../src/xai/optimize/index.ts';
import { measureEdit, unitCircuit, withCircuitEdit, type Circuit } from '../src/xai/visualize/circuits.ts';
import { visualizeFeatures } from '../src/xai/visualize/features.ts';
import { trainedModel } from './trained-models.ts';
import { expectCommandReport } from './command-report.ts';

const LAYER = 'features.3'; // conv 6 -> 16, 5x5, no padding, stride 1: reads features.2 (conv1 -> ReLU -> max pool)
const UNIT = 5;
const norm = gb.normalization.mnist!;
let model: gb.nn.Module;
let images: gb.Tensor;
let circuit: Circuit;

beforeAll(async () => {
  model = (await trainedModel('lenet-mnist')).model;
  const data = await loadDataset('mnist', { split: 'test', limit: 1000 });
  images = gb.tensor(Float32Array.from(data.images, (v) => v / 255), [data.n, 1, 28, 28]);
  circuit = await unitCircuit(model, images, { layer: LAYER, channel: UNIT, patches: 6, normalization: norm });
});

const weightsOf = async (path: string) => Array.from(await (model.getSubmodule(path) as gb.nn.Conv2d).weight.toArray());

/** The correlation of input channel `c` of conv2's input with `w` (5x5) at output (y, x), on the CPU in float64. */
async function contributionByHand(c: number, w: readonly number[], patch: { image: number; y: number; x: number }): Promise<number> {
  const x = gb.normalize(gb.slice(images, 0, { start: patch.image, end: patch.image + 1 }), norm);
  const input = await gb.noGrad(() => forwardWithLayer(model, 'features.2', x).activation).toArray(); // [1, 6, 14, 14]
  let sum = 0;
  for (let dy = 0; dy < 5; dy++) for (let dx = 0; dx < 5; dx++) sum += input[(c * 14 + patch.y + dy) * 14 + patch.x + dx]! * w[dy * 5 + dx]!;
  return sum;
}

describe('E9 circuits on the trained LeNet-5', () => {
  it("ranks the unit's 6 input channels by the L2 norm of the connecting weights, which are conv2's", async () => {
    const all = await weightsOf(LAYER);
    expect(circuit.inputLayer).toBe('features.0');
    expect(circuit.inputs).toHaveLength(6);
    for (const i of circuit.inputs) {
      expect(i.weights).toEqual(all.slice((UNIT * 6 + i.channel) * 25, (UNIT * 6 + i.channel + 1) * 25));
      expect(i.norm).toBeCloseTo(Math.hypot(...i.weights), 6);
    }
    expect(circuit.inputs.map((i) => i.normRank)).toEqual([0, 1, 2, 3, 4, 5]);
    for (let k = 1; k < 6; k++) expect(circuit.inputs[k]!.norm).toBeLessThanOrEqual(circuit.inputs[k - 1]!.norm);
    // the top patches are the unit's strongest pre-activations, strongest first
    expect(circuit.patches).toHaveLength(6);
    for (let k = 1; k < 6; k++) expect(circuit.patches[k]!.value).toBeLessThanOrEqual(circuit.patches[k - 1]!.value);
  });

  it('zeroing a connection changes the pre-activation by exactly the removed contribution; the weights come back bit for bit', async () => {
    const before = await weightsOf(LAYER);
    for (const input of circuit.inputs.slice(0, 3)) {
      const result = await measureEdit(model, images, circuit, { kind: 'connection', layer: LAYER, channel: UNIT, input: input.channel }, norm);
      for (let p = 0; p < circuit.patches.length; p++) {
        const removed = await contributionByHand(input.channel, input.weights, circuit.patches[p]!);
        const scale = Math.abs(result.before[p]!) + Math.abs(removed) + 1;
        // float32 sums of 150 terms in another order: a few ulps of the magnitudes
        expect(Math.abs(result.after[p]! - result.before[p]! + removed)).toBeLessThan(2e-5 * scale);
        expect(result.before[p]!).toBeCloseTo(circuit.patches[p]!.value, 4);
      }
      console.log(`E9 LeNet-5 ${LAYER} unit ${UNIT}: zeroing input ${input.channel} (|w| ${input.norm.toFixed(3)}) changes the top-patch pre-activation by ${result.meanChange.toFixed(3)} on average (from ${(result.before.reduce((a, b) => a + b, 0) / result.before.length).toFixed(3)})`);
    }
    expect(await weightsOf(LAYER)).toEqual(before);
  });

  it("zeroing a whole input channel (conv1's filter and bias) has the same effect on the unit, through ReLU and max pooling", async () => {
    const input = circuit.inputs[0]!.channel;
    const conv1 = await weightsOf('features.0');
    const connection = await measureEdit(model, images, circuit, { kind: 'connection', layer: LAYER, channel: UNIT, input }, norm);
    const channel = await measureEdit(model, images, circuit, { kind: 'input-channel', layer: LAYER, input }, norm);
    channel.after.forEach((v, p) => expect(v).toBeCloseTo(connection.after[p]!, 4));
    expect(await weightsOf('features.0')).toEqual(conv1);
  });

  it('restores the weights when the measurement throws; refuses a first conv layer, a non-conv layer and channels out of range', async () => {
    const before = await weightsOf(LAYER);
    await expect(withCircuitEdit(model, { kind: 'connection', layer: LAYER, channel: UNIT, input: 2 }, async () => {
      expect((await weightsOf(LAYER)).slice((UNIT * 6 + 2) * 25, (UNIT * 6 + 3) * 25).every((v) => v === 0)).toBe(true);
      throw new Error('measurement failed');
    })).rejects.toThrow('measurement failed');
    expect(await weightsOf(LAYER)).toEqual(before);
    await expect(unitCircuit(model, images, { layer: 'features.0', channel: 0 })).rejects.toThrow(/'features.0' is the first conv layer.*features.3/);
    await expect(unitCircuit(model, images, { layer: 'classifier.1', channel: 0 })).rejects.toThrow(/'classifier.1' is not a Conv2d layer of the model; its conv layers are features.0, features.3/);
    await expect(unitCircuit(model, images, { layer: LAYER, channel: 16 })).rejects.toThrow(/channel 16 is out of range: layer 'features.3' has 16 channels/);
    await expect(withCircuitEdit(model, { kind: 'connection', layer: LAYER, channel: UNIT, input: 6 }, async () => 0)).rejects.toThrow(/input channel 6 is out of range: layer 'features.3' reads 6 channels/);
  });
});

describe('E1 exemplar ratio', () => {
  it("channel visualisations (Fourier, transforms, 128 steps) report their activation as a multiple of the top exemplar's, and exceed it", async () => {
    // conv2's ReLU (a pre-activation's channel mean can be negative on every image: then the ratio is NaN)
    const [layer, channels, steps] = ['features.4', [UNIT, 9, 12, 0], 128];
    const r = await visualizeFeatures(model, { layer, channel: channels }, { inputShape: [1, 28, 28], normalization: norm, param: 'fourier', transforms: opt.standardTransforms(), batch: 4, steps }, { images });
    const ratio = r.exemplarRatio!;
    console.log(`E1 exemplar ratio, LeNet-5 ${layer} channels ${channels.join(', ')}, ${steps} steps: ${ratio.map((v) => v.toFixed(2)).join(', ')} x the top of ${images.shape[0]} test images (${r.exemplars!.map((e) => `${e.value.toFixed(3)} on #${e.image}`).join(', ')})`);
    // the exemplar is the image with the largest channel mean: checked against the objective run on it
    for (const [i, e] of r.exemplars!.entries()) {
      const x = gb.normalize(gb.slice(images, 0, { start: e.image, end: e.image + 1 }), norm);
      const a = await gb.noGrad(() => forwardWithLayer(model, layer, x).activation).toArray();
      const channel = channels[i]!;
      expect(Array.from(a.subarray(channel * 100, (channel + 1) * 100)).reduce((s, v) => s + v, 0) / 100).toBeCloseTo(e.value, 4);
      expect(ratio[i]).toBeCloseTo(r.final[i]! / e.value, 6);
      expect(ratio[i]!).toBeGreaterThan(1);
    }
    [r.images, r.probabilities].forEach((t) => t?.dispose());
  });

  it('glassbox visualize features reports the ratio in its JSON for a channel (--exemplars N), and none for a class', async () => {
    const run = async (extra: string[]) => {
      const out = mkdtempSync(join(tmpdir(), 'gb-exemplar-'));
      await visualizeFeaturesCommand(parseArgs(['--model', 'tests/fixtures/models/lenet-mnist.safetensors', '--steps', '8', '--batch', '2', '--out', out, ...extra], VISUALIZE_FEATURES_OPTIONS));
      return JSON.parse(readFileSync(join(out, 'features.json'), 'utf8')) as { final: number[]; exemplarsSearched: number; exemplars: Array<{ channel: number; value: number }> | null; exemplarRatio: number[] | null };
    };
    const channel = await run(['--layer', 'features.4', '--channel', '9', '--exemplars', '200']);
    expect(channel.exemplarsSearched).toBe(200);
    expect(channel.exemplars!.map((e) => e.channel)).toEqual([9, 9]);
    channel.exemplarRatio!.forEach((r, i) => expect(r).toBeCloseTo(channel.final[i]! / channel.exemplars![i]!.value, 6));
    const none = await run(['--layer', 'features.4', '--channel', '9', '--exemplars', '0']);
    expect([none.exemplarsSearched, none.exemplarRatio]).toEqual([0, null]);
    expect((await run(['--class', '3'])).exemplarRatio).toBeNull();
  });
});

describe('glassbox visualize circuit', () => {
  it('writes circuit.png and circuit.json with weights, ranks and the activation before and after each edit', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-circuit-'));
    const argv = ['--model', 'tests/fixtures/models/lenet-mnist.safetensors', '--layer', LAYER, '--channel', String(UNIT), '--top', '3', '--n', '200', '--patches', '4', '--steps', '8', '--out', out];
    await visualizeCircuitCommand(parseArgs(argv, VISUALIZE_CIRCUIT_OPTIONS));
    const json = JSON.parse(readFileSync(join(out, 'circuit.json'), 'utf8')) as { inputLayer: string; inputs: Array<{ channel: number; weights: number[]; normRank: number }>; edits: Array<{ input: number; connection: { before: number[]; after: number[] } }>; visualization: { unit: { exemplarRatio: number[] } } };
    expect(json.inputLayer).toBe('features.0');
    expect(json.inputs[0]!.weights).toHaveLength(25);
    expect(json.edits.map((e) => e.input)).toEqual(json.inputs.slice(0, 3).map((i) => i.channel));
    expect(json.edits[0]!.connection.before).toHaveLength(4);
    expect(json.edits[0]!.connection.after[0]).not.toBe(json.edits[0]!.connection.before[0]);
    expect(json.visualization.unit.exemplarRatio).toHaveLength(1);
    expect(readPng(join(out, 'circuit.png')).width).toBeGreaterThan(4 * 28);
    expectCommandReport(out, { shown: ['circuit.png'], listed: ['circuit.json'] });
    const bad = ['--model', 'tests/fixtures/models/lenet-mnist.safetensors', '--layer', 'features.0', '--channel', '0', '--out', out];
    await expect(visualizeCircuitCommand(parseArgs(bad, VISUALIZE_CIRCUIT_OPTIONS))).rejects.toThrow(UsageError);
  });
});
