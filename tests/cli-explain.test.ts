/**
 * The explain, evaluate and sanity commands end to end on the trained LeNet fixture: each writes the
 * files it promises, with contents that match the model.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli/args.ts';
import { explainCommand, EXPLAIN_OPTIONS } from '../src/cli/explain.ts';
import { evaluateCommand, EVALUATE_OPTIONS } from '../src/cli/evaluate.ts';
import { sanityCommand, SANITY_OPTIONS } from '../src/cli/sanity.ts';
import { defaultCamLayer } from '../src/cli/explain-setup.ts';
import { modelEntry } from '../src/nn/models/zoo.ts';
import * as gb from '../src/index.ts';
import { loadDataset } from '../datasets/index.ts';
import { REPO_ROOT } from '../datasets/paths.ts';

const fixture = ['--model', join(REPO_ROOT, 'tests/fixtures/models/lenet-mnist.safetensors'), '--arch', 'lenet5', '--dataset', 'mnist'];
const explain = (argv: string[]) => explainCommand(parseArgs([...fixture, ...argv], EXPLAIN_OPTIONS));

interface Explanation {
  label: number;
  predicted: number;
  target: number;
  probabilities: number[];
  maps: Array<{ method: string; map: number[]; height: number; width: number }>;
}
const readExplanation = (dir: string) => JSON.parse(readFileSync(join(dir, 'explanation.json'), 'utf8')) as Explanation;

describe('glassbox explain', () => {
  it('explains a test image with methods given by alias: input.png, one PNG per method, explanation.json', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-explain-'));
    await explain(['--index', '0', '--method', 'gradcam,ig', '--out', out]);
    for (const f of ['input.png', 'grad-cam.png', 'integrated-gradients.png', 'explanation.json']) expect(existsSync(join(out, f)), f).toBe(true);
    const e = readExplanation(out);
    // MNIST test image 0 is a 7, which the trained LeNet (95.7%) gets right; the default target is the prediction
    expect([e.label, e.predicted, e.target]).toEqual([7, 7, 7]);
    expect(e.probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(e.maps.map((m) => m.method)).toEqual(['grad-cam', 'integrated-gradients']);
    for (const m of e.maps) expect(m.map).toHaveLength(28 * 28);
    expect(Math.min(...e.maps[0]!.map)).toBeGreaterThanOrEqual(0); // Grad-CAM is rectified
  });

  it('explains a PNG file for a chosen class; the picture read back gives the same prediction', async () => {
    const first = mkdtempSync(join(tmpdir(), 'gb-explain-'));
    await explain(['--index', '1', '--method', 'saliency', '--out', first]);
    const second = mkdtempSync(join(tmpdir(), 'gb-explain-'));
    await explain(['--image', join(first, 'input.png'), '--method', 'saliency', '--target', '4', '--out', second]);
    const [a, b] = [readExplanation(first), readExplanation(second)];
    expect(b.predicted).toBe(a.predicted);
    expect(b.target).toBe(4);
    expect(existsSync(join(second, 'saliency.png'))).toBe(true);
  });

  it('names what is wrong with a bad method or index', async () => {
    await expect(explain(['--index', '0', '--method', 'nope'])).rejects.toThrow(/unknown method 'nope'; known: .*saliency/);
    await expect(explain(['--method', 'saliency'])).rejects.toThrow(/--image <file.png> or --index <i>/);
    // LeNet-5 has no global average pooling, so CAM named on its own is refused with the reason
    await expect(explain(['--index', '0', '--method', 'cam'])).rejects.toThrow(/--method cam does not apply to this model: CAM is defined for nets that end in global average pooling/);
  });

  it("skips what does not apply with 'all' and lists it, instead of failing", async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-explain-'));
    await explain(['--index', '0', '--method', 'all', '--out', out]);
    const e = readExplanation(out) as Explanation & { notApplicable: Array<{ method: string; reason: string }> };
    expect(e.notApplicable.map((m) => m.method)).toEqual(['cam']);
    expect(e.maps.map((m) => m.method)).not.toContain('cam');
    expect(e.maps.map((m) => m.method)).toContain('grad-cam');
    expect(existsSync(join(out, 'cam.png'))).toBe(false);
  });
});

describe('glassbox evaluate', () => {
  it('scores the methods on the same images and writes the table (Markdown, JSON), curves, maps and report', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-evaluate-'));
    const n = 4;
    await evaluateCommand(parseArgs([...fixture, '--methods', 'saliency,grad-cam,deeplift', '--n', String(n), '--out', out], EVALUATE_OPTIONS));
    for (const f of ['evaluation.md', 'evaluation.json', 'deletion.png', 'insertion.png', 'maps.png', 'report.html']) expect(existsSync(join(out, f)), f).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8')) as { images: number; predicted: number[]; labels: number[]; results: Array<{ method: string; deletionAuc: number; insertionAuc: number; deletion: number[]; completenessError?: number; error?: string }> };
    expect(json.results.map((r) => r.method)).toEqual(['saliency', 'grad-cam', 'deeplift']);
    const data = await loadDataset('mnist', { split: 'test', limit: n });
    expect(json.labels).toEqual(Array.from(data.labels));
    // the explained class is the trained model's prediction, right on these 4 easy test images
    expect(json.predicted).toEqual(json.labels);
    for (const r of json.results) {
      expect(r.error).toBeUndefined();
      expect(r.deletionAuc).toBeGreaterThan(0);
      expect(r.insertionAuc).toBeLessThanOrEqual(1);
      // deletion starts at the unmodified images, where the trained model is confident
      expect(r.deletion[0]).toBeGreaterThan(0.5);
    }
    // completeness is scored where a method promises it: DeepLIFT sums to f(x) - f(0) (float tolerance)
    expect(json.results[0]!.completenessError).toBeUndefined();
    expect(json.results[2]!.completenessError).toBeLessThan(1e-3);
    expect(readFileSync(join(out, 'evaluation.md'), 'utf8')).toMatch(/\| saliency \| A1 \|/);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('data:image/png;base64');
  });
});

describe('glassbox sanity', () => {
  it('writes a plot per method and mode and the similarities per layer, with data randomisation', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-sanity-'));
    const randomLabels = join(REPO_ROOT, 'tests/fixtures/models/lenet-mnist-random-labels.safetensors');
    await sanityCommand(parseArgs([...fixture, '--random-labels', randomLabels, '--methods', 'saliency,guided', '--n', '4', '--out', out], SANITY_OPTIONS));
    for (const mode of ['cascading', 'independent']) for (const m of ['saliency', 'guided-backprop']) expect(existsSync(join(out, `${mode}-${m}.png`)), `${mode}-${m}.png`).toBe(true);
    const json = JSON.parse(readFileSync(join(out, 'sanity.json'), 'utf8')) as {
      cascading: { layers: string[]; similarity: Record<string, Array<{ spearmanAbs: number }>> };
      dataRandomization: Record<string, { spearmanAbs: number }>;
    };
    // LeNet has 5 layers with parameters; one similarity per layer, each below the trained model's 1
    expect(json.cascading.layers).toHaveLength(5);
    for (const s of json.cascading.similarity.saliency!) expect(s.spearmanAbs).toBeLessThan(1);
    expect(json.dataRandomization.saliency!.spearmanAbs).toBeLessThan(1);
  });
});

describe('the default CAM layer', () => {
  const layerOf = (arch: string, c: number, side: number) => {
    const model = modelEntry(arch).build({ channels: c, height: side, width: side, classes: 10 }).eval();
    const x = gb.randn([2, c, side, side]);
    const layer = defaultCamLayer(model, x);
    x.dispose();
    return layer;
  };
  it('is the map global average pooling reads, where CAM is exact', () => {
    // mixture-net: conv3 - ReLU - max pool (features.8) - global average pooling - linear
    expect(layerOf('mixture-net', 1, 56)).toBe('features.8');
    // a ResNet block ends in a functional ReLU: the block itself is the layer
    expect(layerOf('resnet18-narrow', 3, 32)).toBe('layer4.1');
    // cifar-net: the last conv block's ReLU feeds the pooling directly
    expect(layerOf('cifar-net', 3, 32)).toBe('features.19');
  });
  it('is the last ReLU after the last conv in a net without global pooling', () => {
    expect(layerOf('lenet5', 1, 28)).toBe('features.4');
  });
});
