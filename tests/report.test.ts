/**
 * report.html as a person gets it (issue 21): one self-contained file (no URL outside it), the
 * chart library inlined with a chart spec per curve that names its axes, every method row either
 * scores or "not applicable: <reason>" (CAM on LeNet-5), and, in headless Chromium with the
 * network cut off, charts drawn as SVG with <text> ticks and axis labels, a tip with the values
 * under the pointer, and a page no wider than a narrow window whose charts grow in a wide one. The evaluation is made up (no GPU needed): this tests the report, not the methods.
 * Set REPORT_EXAMPLE_DIR to keep the example report.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluationTable, randomizationChart, trainingChart, writeEvaluation } from '../src/cli/report.ts';
import { evaluateMethods, type Evaluation, type MethodResult } from '../src/cli/evaluate.ts';
import '../src/index.ts'; // starts WebGPU: the models below allocate their parameters
import { LeNet5 } from '../src/nn/models/lenet.ts';
import { MixtureNet } from '../src/nn/models/mixture-net.ts';
import { MLP } from '../src/nn/models/mlp.ts';
import { allMethods, methodSpec, notApplicableReason } from '../src/xai/index.ts';
import { decodePng, HtmlReport } from '../src/viz/index.ts';
import { chartLibrary } from '../src/viz/files.ts';
import { featureVisSection } from '../src/cli/main-feature-vis.ts';
import { tensor } from '../src/tensor/ops/creation.ts';
import { loadDataset } from '../datasets/index.ts';
import { trainedModel } from './trained-models.ts';

const CHROMIUM = '/usr/bin/chromium';

/** A made-up evaluation of 3 images, 10 methods that ran, CAM not applicable, one failure. */
function fakeEvaluation(): Evaluation {
  const [n, h, w] = [3, 28, 28];
  const images = new Uint8Array(n * h * w).map((_, i) => ((i % w) - 14) ** 2 + ((Math.floor(i / w) % h) - 14) ** 2 < 60 ? 255 : 0);
  const curve = (k: number) => Array.from({ length: 17 }, (_, s) => Math.exp(-s / (2 + k)));
  const ran: MethodResult[] = Array.from({ length: 10 }, (_, k) => ({
    method: `method-${k}`,
    catalogue: 'A1',
    secondsPerImage: 0.01 * (k + 1),
    deletionAuc: 0.1 * k,
    insertionAuc: 0.9 - 0.05 * k,
    deletion: curve(k),
    insertion: curve(k).map((v) => 1 - v),
    maps: Array.from({ length: n }, (_, i) => Float64Array.from({ length: h * w }, (_, p) => Math.sin(p / (5 + k + i)))),
  }));
  const results: MethodResult[] = [
    ...ran,
    { method: 'cam', catalogue: 'B1', secondsPerImage: NaN, deletionAuc: NaN, insertionAuc: NaN, deletion: [], insertion: [], maps: [], notApplicable: notApplicableReason(methodSpec('cam'), new LeNet5(1, 10, 28)) },
    { method: 'broken', catalogue: 'Z9', secondsPerImage: NaN, deletionAuc: NaN, insertionAuc: NaN, deletion: [], insertion: [], maps: [], error: 'out of cheese\nsecond line' },
  ];
  return {
    images: { name: 'mnist', split: 'test', images, labels: Uint8Array.from([7, 2, 1]), n, channels: 1, height: h, width: w, classes: [...'0123456789'] },
    input: undefined as never, // the report reads the images, never the tensor
    predicted: [7, 2, 8],
    labels: [7, 2, 1],
    results,
    substitute: 'blur',
  };
}

function fakeSanity() {
  const step = (v: number) => ({ spearman: v, spearmanAbs: v, ssim: v / 2, hog: v / 3 });
  return { mode: 'cascading' as const, layers: ['classifier.4', 'classifier.2', 'classifier.0', 'features.3', 'features.0'], similarity: { saliency: [0.8, 0.5, 0.3, 0.1, 0].map(step) } };
}

const keep = process.env.REPORT_EXAMPLE_DIR;
const out = keep ?? mkdtempSync(join(tmpdir(), 'report-'));
afterAll(() => {
  if (!keep) rmSync(out, { recursive: true, force: true });
});

function writeExample(): string {
  const epochs = [1, 2, 3].map((e) => ({ epoch: e, trainLoss: 1 / e, trainAccuracy: 1 - 0.2 / e, valLoss: 1.1 / e, valAccuracy: 1 - 0.25 / e }));
  writeEvaluation(fakeEvaluation(), out, 'report test <&> "quotes"', {
    intro: ['A made-up evaluation.'],
    charts: [trainingChart(epochs)],
    sections: [{ title: 'Sanity checks', text: 'Made up too.', charts: [randomizationChart(fakeSanity(), 'saliency')] }],
    command: 'glassbox evaluate --fake',
  });
  return join(out, 'report.html');
}

describe('method applicability', () => {
  it('CAM does not apply to LeNet-5 (no global average pooling) and says why; it applies to the GAP mixture net', () => {
    const cam = methodSpec('cam');
    expect(notApplicableReason(cam, new LeNet5(1, 10, 28))).toMatch(/global average pooling/);
    expect(notApplicableReason(cam, new MixtureNet({ classes: 10 }))).toBeUndefined();
    // every other method applies to LeNet-5, so the main job's table has no failure to show
    const others = allMethods().filter((m) => m.name !== 'cam' && notApplicableReason(m, new LeNet5(1, 10, 28)));
    expect(others.map((m) => m.name)).toEqual([]);
  });

  it('CAM-style methods do not apply to a model without conv layers; the others do', () => {
    const mlp = new MLP(28 * 28, [16], 10);
    const notApplicable = allMethods().filter((m) => notApplicableReason(m, mlp));
    expect(notApplicable.map((m) => m.name).sort()).toEqual(['cam', 'grad-cam', 'grad-cam++', 'guided-grad-cam']);
    expect(notApplicableReason(methodSpec('grad-cam'), mlp)).toMatch(/feature map and the model has no Conv2d/);
  });

  it('evaluate lists CAM on LeNet-5 as not applicable, without running it', async () => {
    const lines: string[] = [];
    const ev = await evaluateMethods({ model: new LeNet5(1, 10, 28).eval(), arch: 'lenet5', dataset: 'mnist' }, [methodSpec('cam'), methodSpec('saliency')], 2, { steps: 4, log: (l) => lines.push(l) });
    expect(ev.results.map((r) => [r.method, r.notApplicable === undefined, r.error])).toEqual([['cam', false, undefined], ['saliency', true, undefined]]);
    expect(ev.results[0]!.notApplicable).toMatch(/global average pooling/);
    expect(lines[0]).toMatch(/^ {2}cam +not applicable: CAM is defined/);
  });

  it('every row scores or says "not applicable: <reason>" or "failed: <first line>"', () => {
    const rows = evaluationTable(fakeEvaluation().results);
    expect(rows.find((r) => r[0] === 'cam')![8]).toMatch(/^not applicable: CAM is defined for nets that end in global average pooling/);
    expect(rows.find((r) => r[0] === 'broken')![8]).toBe('failed: out of cheese');
    for (const r of rows.filter((r) => r[0]!.startsWith('method-'))) expect([r[2], r[8]]).toEqual([expect.stringMatching(/^\d\.\d{3}$/), '']);
  });
});

describe('sanity-check charts', () => {
  it('name the layers on the x axis and keep every value inside the y range', () => {
    const chart = randomizationChart(fakeSanity(), 'saliency');
    expect(chart.xLabels).toEqual(['trained', 'classifier.4', 'classifier.2', 'classifier.0', 'features.3', 'features.0']);
    expect(chart.yRange).toEqual([-0.5, 1]);
    const anti = fakeSanity();
    anti.similarity.saliency[2]!.spearman = -0.8;
    expect(randomizationChart(anti, 'saliency').yRange).toEqual([-1, 1]);
  });
});

describe('report.html', () => {
  const path = writeExample();
  const html = readFileSync(path, 'utf8');

  it('is self-contained: no URL to fetch, d3 and Plot inlined once', () => {
    // every src/href is a data: URL; the only http(s) text is XML namespace names and d3's banner, never fetched
    expect(html.match(/\b(?:src|href)="(?!data:)[^"]*"/g)).toBeNull();
    const urls = new Set(html.match(/https?:\/\/[^"'\s)`]*/g));
    expect([...urls].filter((u) => !/^http:\/\/www\.w3\.org\/(?:1999\/xhtml|1999\/xlink|2000\/svg|2000\/xmlns\/|XML\/1998\/namespace)$/.test(u))).toEqual(['https://d3js.org']);
    expect(html.match(/url\(\s*["']?(?!#)/g)).toBeNull(); // CSS urls only point into the page (#id)
    expect(html.split('// https://d3js.org v7').length - 1).toBe(1);
    expect(html.split('// @observablehq/plot v0.6').length - 1).toBe(1);
  });

  it('has a chart spec with axis labels for every curve, training and sanity check', () => {
    const specs = [...html.matchAll(/<script type="application\/json" class="gb-chart-spec">(.*?)<\/script>/gs)].map((m) => JSON.parse(m[1]!) as { spec: { title: string; xLabel: string; yLabel: string; series: unknown[] }; data: unknown[][] });
    expect(specs.map((s) => s.spec.title)).toEqual(['training', 'deletion (mean over 3 images)', 'insertion (mean over 3 images)', 'saliency: cascading randomisation']);
    for (const { spec, data } of specs) {
      expect(spec.xLabel.length && spec.yLabel.length).toBeTruthy();
      expect(data.length).toBe(spec.series.length + 1); // x, then one column per series
    }
    expect(specs[1]!.spec.series).toHaveLength(10); // the methods that ran, not CAM or the failure
  });

  it('shows the note of every method row and escapes text', () => {
    // a row without scores shows its note across the score columns
    expect(html).toContain('<tr><td>cam</td><td>B1</td><td class="na" colspan="7">not applicable: CAM is defined for nets that end in global average pooling');
    expect(html).toContain('<td class="fail" colspan="7">failed: out of cheese</td>');
    expect(html).toContain('<title>report test &lt;&amp;&gt; &quot;quotes&quot;</title>');
    expect(html).toContain('Not shown (see the table for why): cam, broken.');
  });

  it('keeps the PNG files for the CLI', () => {
    for (const f of ['deletion.png', 'insertion.png', 'maps.png']) expect(decodePng(new Uint8Array(readFileSync(join(out, f)))).width).toBeGreaterThan(100);
  });

  it.skipIf(!existsSync(CHROMIUM))('in Chromium: offline, SVG charts with text axes, values on hover, fits 400 px and grows at 1400 px', async () => {
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 400, height: 900 } });
      const fetched: string[] = [];
      await page.route('**/*', (route) => (route.request().url().startsWith('file:') ? route.continue() : (fetched.push(route.request().url()), route.abort())));
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(path).href);
      await page.waitForSelector('.gb-plot svg');
      expect(errors).toEqual([]);
      expect(fetched).toEqual([]);
      expect(await page.locator('.gb-plot > svg').count()).toBe(4);
      expect(await page.locator('.gb-chart canvas').count()).toBe(0);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(400);

      // axis labels and tick values are SVG <text>; the second axis of the training chart too
      const texts = (i: number) => page.locator('.gb-plot > svg').nth(i).locator('text').allTextContents();
      const training = await texts(0);
      expect(training).toEqual(expect.arrayContaining([expect.stringContaining('cross-entropy loss'), expect.stringContaining('accuracy'), expect.stringContaining('epoch'), '0.8', '2']));
      const deletion = page.locator('.gb-chart').nth(1);
      const deletionTexts = await texts(1);
      expect(deletionTexts).toEqual(expect.arrayContaining([expect.stringContaining('probability of the predicted class'), expect.stringContaining('fraction of pixels removed (blur)'), '0.5']));
      expect(await texts(3)).toEqual(expect.arrayContaining(['trained', 'classifier.4', 'features.0'])); // layers by name
      expect(await deletion.locator('.gb-legend').textContent()).toContain('method-9');

      // hovering the deletion chart shows every method's value at that fraction, as text
      const svg = deletion.locator('.gb-plot > svg');
      await svg.scrollIntoViewIfNeeded();
      expect(await svg.locator('[aria-label="tip"] text').count()).toBe(0);
      const box = (await svg.boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.move(box.x + box.width / 2 + 4, box.y + box.height / 2);
      await svg.locator('[aria-label="tip"] text').first().waitFor({ timeout: 5000 });
      const [head, ...lines] = (await svg.locator('[aria-label="tip"] tspan').allTextContents()).map((l) => l.replace(/\u200b/g, ''));
      const fraction = Number(head!.match(/^fraction: (0\.\d+)$/)![1]);
      // the fake curves: method-k's deletion at step s of 16 is exp(-s / (2 + k))
      expect(lines).toEqual(Array.from({ length: 10 }, (_, k) => `method-${k}: ${Number(Math.exp((-fraction * 16) / (2 + k)).toPrecision(4))}`));

      // hovering the training chart halfway between two epochs (> 40 px from either) still shows the nearer one's values
      const trainingSvg = page.locator('.gb-plot > svg').first();
      await trainingSvg.scrollIntoViewIfNeeded();
      const tbox = (await trainingSvg.boundingBox())!;
      await page.mouse.move(tbox.x + tbox.width * 0.3, tbox.y + tbox.height / 2);
      await page.mouse.move(tbox.x + tbox.width * 0.3 + 2, tbox.y + tbox.height / 2);
      await trainingSvg.locator('[aria-label="tip"] text').first().waitFor({ timeout: 5000 });
      const [epochLine, ...epochValues] = (await trainingSvg.locator('[aria-label="tip"] tspan').allTextContents()).map((l) => l.replace(/\u200b/g, ''));
      const e = Number(epochLine!.match(/^epoch: ([12])$/)![1]);
      const sig = (v: number) => Number(v.toPrecision(4));
      expect(epochValues).toEqual([`train loss: ${sig(1 / e)}`, `validation loss: ${sig(1.1 / e)}`, `train accuracy: ${sig(1 - 0.2 / e)}`, `validation accuracy: ${sig(1 - 0.25 / e)}`]);

      // the charts grow with a wide window (drawn again at their box's width, text staying text)
      await page.setViewportSize({ width: 1400, height: 900 });
      await page.waitForFunction(() => Number(document.querySelector('.gb-plot > svg')!.getAttribute('width')) > 600);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1400);
      expect(await texts(0)).toEqual(expect.arrayContaining([expect.stringContaining('cross-entropy loss')]));
    } finally {
      await browser.close();
    }
  });

  it.skipIf(!existsSync(CHROMIUM))('in Chromium: odd charts draw without errors, their tick labels inside the chart', async () => {
    const file = join(out, 'odd-charts.html');
    const odd = new HtmlReport('odd charts').chartRow([
      { title: 'no series', xLabel: 'x', yLabel: 'y', series: [] },
      { title: 'one point', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', y: [3] }] },
      { title: 'gaps only', xLabel: 'x', yLabel: 'y', series: [{ name: 'a', y: [null, null] }, { name: 'b', y: [1, NaN, 2] }] },
      { title: 'constant, right axis', xLabel: 'x', yLabel: 'y', y2Label: 'z', series: [{ name: 'a', y: [5, 5], axis: 'right' }] },
      { title: 'millions', xLabel: 'x', yLabel: 'y', y2Label: 'z', series: [{ name: 'a', y: [1e6, 3e6, 2e-5] }, { name: 'b', y: [-4e6, 0, 1], axis: 'right' }] },
    ]);
    writeFileSync(file, odd.render({ chartLibrary: chartLibrary() }));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage({ viewport: { width: 500, height: 900 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(file).href);
      await page.waitForSelector('.gb-plot svg');
      expect(errors).toEqual([]);
      expect(await page.locator('.gb-plot > svg').count()).toBe(5);
      // every tick label of the millions chart (3e+6 on the left, -4e+6 on the right) lies inside its SVG
      const ticks = await page.locator('.gb-plot > svg').nth(4).evaluate((svg) => {
        const box = svg.getBoundingClientRect();
        return [...svg.querySelectorAll('[aria-label="y-axis tick label"] text')].map((t) => {
          const r = t.getBoundingClientRect();
          return { text: t.textContent, inside: r.left >= box.left - 0.5 && r.right <= box.right + 0.5 };
        });
      });
      expect(ticks.map((t) => t.text)).toEqual(expect.arrayContaining(['3e+6', '-4e+6']));
      expect(ticks.filter((t) => !t.inside)).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

describe("glassbox main's feature-visualisation section", () => {
  it('shows the trained LeNet-5 class pictures captioned with what the net sees, and last-conv units with their exemplar ratio and top patches', async () => {
    const model = (await trainedModel('lenet-mnist')).model;
    const data = await loadDataset('mnist', { split: 'test', limit: 500 });
    const images = tensor(Float32Array.from(data.images, (v) => v / 255), [data.n, 1, 28, 28]);
    const vis = await featureVisSection(model, { mean: [0.1307], std: [0.3081] }, images);
    images.dispose();
    const t = vis.numbers.timing;
    console.log(`main report feature-visualisation section on the LeNet-5 fixture: ${vis.numbers.seconds.toFixed(1)} s wall (classes ${t.classes.toFixed(1)}, units ${t.units.toFixed(1)}, patches ${t.patches.toFixed(1)}), ${vis.numbers.cpuSeconds.toFixed(1)} CPU s; exemplar ratios ${vis.numbers.units.map((u) => u.exemplarRatio.toFixed(2)).join(', ')}`);
    const [classes, units] = vis.section.imageTables!;
    expect(classes!.colTitles).toEqual([...'0123456789'].map((k) => `class ${k}`));
    expect(classes!.cells[0]!.every((c) => c !== null && 'png' in c && !(c.png instanceof Uint8Array) && c.png.width === 28)).toBe(true);
    // the caption under each picture is the class the net predicts for it, and that probability
    const captions = classes!.cells[1]!.map((c) => (c && 'text' in c ? c.text : ''));
    captions.forEach((t, k) => expect(t).toBe(`${vis.numbers.classes[k]!.predicted} p ${vis.numbers.classes[k]!.probability.toFixed(2)}`));
    expect(vis.numbers.classes.filter((c) => c.predicted === c.class && c.probability > 0.9).length).toBeGreaterThanOrEqual(9);
    expect(vis.numbers.layer).toBe('features.4');
    expect(units!.rowTitles).toEqual([0, 1, 2, 3].map((u) => `features.4 ch ${u}`));
    for (const [i, row] of units!.cells.entries()) {
      expect(row).toHaveLength(2 + 6);
      expect(row[1]).toEqual({ text: `${vis.numbers.units[i]!.exemplarRatio.toFixed(2)}x` });
      // each unit's patches come strongest first
      const values = vis.numbers.units[i]!.patches.map((p) => p.value);
      expect(values).toEqual([...values].sort((a, b) => b - a));
    }
    writeEvaluation(fakeEvaluation(), out, 'with feature visualisation', { sections: [vis.section] });
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    const section = html.slice(html.indexOf('<h2>What the network responds to</h2>'));
    expect(section.length).toBeLessThan(html.length);
    expect(section.match(/<img /g)).toHaveLength(10 + 4 * 7);
    expect(section).toContain('class pictures are classified as their class');
  }, 120_000);
});
