/**
 * The lab in a real browser: the page served by `glassbox lab`'s server (src/cli/lab.ts) in headless
 * Chromium on its own WebGPU (SwiftShader). A digit drawn with mouse events gets the prediction and
 * the map of every method that glassbox computes in Node (Dawn on lavapipe) for the same image;
 * switching the ReLU rule changes the layer gradients as in Node; 20 training steps lower the
 * loss; the MNIST CNN, chosen in the menu or named by a shared link, predicts and explains as in
 * Node, its layers, sanity check and feature visualisation included; a browser without WebGPU gets
 * a message. Any console error fails the test. Screenshots go to dist/test-output/lab/.
 *
 * Time goes to SwiftShader compiling each new WGSL pipeline (seconds each on this 2-core machine),
 * so one page serves every LeNet-5 check and the menu's MNIST CNN, and one more page (the shared
 * link) every check of the link's view; each check reuses the pipelines the ones before compiled.
 *
 * Needs /usr/bin/chromium (Debian's `chromium` package); skipped, with a message, without it.
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { loadModel } from '../src/nn/safetensors-file.ts';
import { REPO_ROOT } from '../datasets/paths.ts';
import { explain, LAB_METHODS } from '../lab/src/explain.ts';
import { classProbabilities } from '../lab/src/predict.ts';
import { layerTrace } from '../lab/src/layer-trace.ts';
import { mnistCentre } from '../lab/src/mnist-centre.ts';
import { decodeState, encodeState, DEFAULT_STATE } from '../lab/src/url-state.ts';
import { decodeSubset } from '../lab/src/subset-format.ts';
import { visualizeUnit } from '../lab/src/features-view.ts';
import { CHROMIUM, HAS_CHROMIUM, LabSession, SETTLE_MS, SEVEN } from './browser/lab-driver.ts';
import { expectClose } from './helpers.ts';
import { machine, markdownTable, writeSection } from '../bench/report.ts';

const SHOTS = join(REPO_ROOT, 'dist', 'test-output', 'lab');
const NORM = gb.normalization.mnist!;
const CNN_FILE = join(REPO_ROOT, 'lab/models/mnist-cnn-mnist.safetensors');

async function nodeModel(architecture: string, file: string): Promise<gb.nn.Module> {
  const m = gb.models.create(architecture);
  await loadModel(file, m);
  return m.eval();
}

if (!HAS_CHROMIUM) console.warn(`[lab.test] skipped: ${CHROMIUM} is missing (install Debian's chromium: apt-get install -y chromium)`);

/** Page and Node maps agree to float tolerance, on the scale of the map. */
function expectSameMap(page: ArrayLike<number>, node: ArrayLike<number>, what: string): void {
  let scale = 0;
  for (let i = 0; i < node.length; i++) scale = Math.max(scale, Math.abs(node[i]!));
  expect(scale, `${what}: a map that is not all zeros`).toBeGreaterThan(0);
  expectClose(page, node, { atol: 2e-4 * scale, rtol: 2e-3, what });
}

/**
 * The lab's speed as this run measured it: to dist/test-output/lab/timings.json always, and to
 * bench/RESULTS.md (section 'lab') when GLASSBOX_LAB_BENCH=1.
 */
function reportTimings(t: Record<string, number>, adapter: string): void {
  const browser = execFileSync(CHROMIUM, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  const { cpu, cores } = machine();
  const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? 'n/a' : `${x.toFixed(0)} ms`);
  writeFileSync(join(SHOTS, 'timings.json'), JSON.stringify({ date: new Date().toISOString(), browser, adapter, cpu, cores, ...t }, null, 2));
  console.log(`[lab.test] ${browser}, adapter ${adapter}: stroke -> saliency ${ms(t.saliency)}, stroke -> IG (32 steps) ${ms(t['integrated-gradients'])}, training step ${ms(t.trainStep)}, MNIST CNN stroke -> saliency ${ms(t.cnnSaliency)}`);
  if (process.env.GLASSBOX_LAB_BENCH !== '1') return;
  const body = [
    '## lab: the page in a browser (`GLASSBOX_LAB_BENCH=1 npx vitest run tests/lab.test.ts`)',
    '',
    `${new Date().toISOString().slice(0, 10)}, ${cpu} (${cores} cores), ${browser} headless, WebGPU adapter ${adapter} (SwiftShader, Chromium's CPU implementation). ` +
      'Times inside the page (performance.now()), the method\'s pipelines already compiled (the first map of each method costs its shader compilation, seconds on SwiftShader); one run, ' +
      `on a machine shared with other jobs (load average ${loadavg()[0]!.toFixed(1)} on ${cores} cores when it ended): compare with care.`,
    '',
    markdownTable(
      ['what', 'time'],
      [
        ['end of a stroke to the drawn saliency map (LeNet-5, 28x28; prediction, map and drawing)', ms(t.saliency)],
        ['end of a stroke to the drawn Integrated Gradients map (32 steps, one batch)', ms(t['integrated-gradients'])],
        ['one LeNet-5 training step in the page (batch 32, Adam, loss read back), median of 20', ms(t.trainStep)],
        ['end of a stroke to the drawn saliency map, MNIST CNN (conv 32 and 64 @3x3, fc 9216x128)', ms(t.cnnSaliency)],
      ],
    ),
  ].join('\n');
  writeSection(join(REPO_ROOT, 'bench/RESULTS.md'), 'lab', body);
}

describe('mnistCentre (the pad to an MNIST digit)', () => {
  it('scales the ink to a 20-pixel box and centres its mass', () => {
    const w = 100;
    const ink = new Float32Array(w * w);
    for (let y = 10; y < 50; y++) for (let x = 60; x < 70; x++) ink[y * w + x] = 1; // a bar 10 wide, 40 tall, off-centre
    const out = mnistCentre(ink, w, w);
    let [mass, mx, my, rows] = [0, 0, 0, new Set<number>()];
    out.forEach((v, i) => {
      if (v <= 0) return;
      mass += v;
      mx += v * ((i % 28) + 0.5);
      my += v * (Math.floor(i / 28) + 0.5);
      rows.add(Math.floor(i / 28));
    });
    expect(rows.size).toBe(20);
    expect(Math.abs(mx / mass - 14)).toBeLessThanOrEqual(0.5);
    expect(Math.abs(my / mass - 14)).toBeLessThanOrEqual(0.5);
    expect(mnistCentre(new Float32Array(w * w), w, w).every((v) => v === 0)).toBe(true);
  });

  it('round-trips the state through the URL', () => {
    const image = Float32Array.from({ length: 784 }, (_, i) => ((i * 37) % 256) / 255);
    const { state, problems } = decodeState('#' + encodeState({ ...DEFAULT_STATE, method: 'integrated-gradients', target: 3, rule: 'guided', options: { steps: 16, baseline: 'blurred' }, image }));
    expect(problems).toEqual([]);
    expect(state).toMatchObject({ method: 'integrated-gradients', target: 3, rule: 'guided', options: { steps: 16, baseline: 'blurred' } });
    expect(Array.from(state.image!)).toEqual(Array.from(image));
    expect(decodeState('#target=12&rule=sideways').problems).toHaveLength(2);
    expect(decodeState('#model=pretrained').state.model).toBe('lenet5'); // links from before the MNIST CNN shipped
    expect(decodeState('#model=mnist-cnn').state.model).toBe('mnist-cnn');
  });
});

describe.skipIf(!HAS_CHROMIUM)('the lab in headless Chromium (WebGPU on SwiftShader)', () => {
  let lab: LabSession;
  let page: Page;
  let model: gb.nn.Module;
  let adapter = '';

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    model = await nodeModel('lenet5', join(REPO_ROOT, 'tests/fixtures/models/lenet-mnist.safetensors'));
    lab = await LabSession.start();
    page = await lab.open();
    adapter = JSON.stringify((await lab.view(page)).adapter);
  }, 2 * SETTLE_MS);

  const timings: Record<string, number> = {};

  afterAll(async () => {
    await lab?.close();
    if (Object.keys(timings).length) reportTimings(timings, adapter);
  });

  const nodeInput = (image: readonly number[]) => gb.tidy(() => gb.normalize(gb.tensor(Float32Array.from(image), [1, 1, 28, 28]), NORM));

  it('draws a digit, predicts it and explains it with every method as glassbox does in Node', async () => {
    const before = (await lab.view(page)).updates;
    await lab.stroke(page, SEVEN);
    const v = await lab.idle(page, before);
    expect(v.image.filter((p) => p > 0).length, 'the stroke left ink in the 28x28 input').toBeGreaterThan(40);
    const x = nodeInput(v.image);
    const probs = await classProbabilities(model, x);
    expectClose(v.probs, probs, { atol: 1e-4, rtol: 1e-3, what: 'class probabilities, page vs Node' });
    expect(v.target, 'the drawn 7 is read as a 7').toBe(7);
    await page.screenshot({ path: join(SHOTS, 'draw-saliency.png') });

    for (const method of LAB_METHODS) {
      const n = (await lab.view(page)).updates;
      if (method !== 'saliency') await page.selectOption('#method', method);
      const m = method === 'saliency' ? v : await lab.idle(page, n);
      expect(m.map?.method).toBe(method);
      const node = await explain(model, method, x, m.target, m.map!.options, NORM);
      expect([m.map!.h, m.map!.w]).toEqual([node.h, node.w]);
      expectSameMap(m.map!.values, node.values, `${method} map, page vs Node`);
    }
    x.dispose();

    // speed: from the end of a stroke to the drawn map, with the method's pipelines already compiled
    for (const method of ['integrated-gradients', 'saliency'] as const) {
      const n = (await lab.view(page)).updates;
      await page.selectOption('#method', method);
      const settled = await lab.idle(page, n);
      await lab.stroke(page, [[0.3, 0.5], [0.55, 0.5]]); // the 7's cross bar
      const after = await lab.idle(page, settled.updates);
      const last = after.strokeToMap[after.strokeToMap.length - 1]!;
      expect(last.method).toBe(method);
      timings[method] = last.ms;
      if (method === 'integrated-gradients') expect(after.map!.options.steps).toBe(32);
    }
    timings.firstSaliency = v.strokeToMap.find((t) => t.method === 'saliency')?.ms ?? NaN;
    await page.locator('section').first().screenshot({ path: join(SHOTS, 'lab.png') });
    expect(lab.errors, 'console errors').toEqual([]);
  }, 4 * SETTLE_MS);

  it('switches the ReLU backward rule and the layer gradients change as in Node', async () => {
    let n = (await lab.view(page)).updates;
    await page.selectOption('#method', 'saliency');
    await page.click('#backprop summary');
    let v = await lab.idle(page, n);
    expect(v.trace?.rule).toBe('gradient');
    const x = nodeInput(v.image);
    const maps: Record<string, number[]> = {};
    for (const rule of ['gradient', 'guided', 'deconvnet'] as const) {
      if (rule !== 'gradient') {
        n = v.updates;
        await page.check(`input[name=rule][value=${rule}]`);
        v = await lab.idle(page, n);
      }
      expect(v.trace!.rule).toBe(rule);
      const node = await layerTrace(model, x, v.target, rule);
      expect(v.trace!.layers.map((l) => l.name)).toEqual(node.map((l) => l.name));
      v.trace!.layers.forEach((l, i) => expectSameMap(l.gradient, node[i]!.gradient, `${rule}: gradient at ${l.name}, page vs Node`));
      maps[rule] = v.trace!.layers[v.trace!.layers.length - 1]!.gradient;
    }
    // guided backprop's input map is glassbox's GuidedBackprop; and the rules really differ
    const guided = await new gb.xai.GuidedBackprop(model).attribute(x, { target: v.target });
    expectSameMap(maps.guided!, await guided.toArray(), 'guided rule in the page vs xai.GuidedBackprop in Node');
    guided.dispose();
    const diff = (a: number[], b: number[]) => a.reduce((s, ai, i) => s + Math.abs(ai - b[i]!), 0) / a.reduce((s, ai) => s + Math.abs(ai), 0);
    expect(diff(maps.gradient!, maps.guided!)).toBeGreaterThan(0.1);
    expect(diff(maps.guided!, maps.deconvnet!)).toBeGreaterThan(0.1);

    // the sanity check: randomising the top layer changes the gradient maps
    n = v.updates;
    await page.click('#randomize');
    await page.waitForFunction(() => (window.__lab?.sanity?.randomized.length ?? 0) === 1 && !window.__lab!.busy, undefined, { timeout: SETTLE_MS });
    v = await lab.view(page);
    expect(v.sanity!.randomized).toEqual([gb.xai.parameterLayers(model).at(-1)]); // the top layer first
    expect(v.sanity!.similarity.saliency).toBeLessThan(0.99);
    await page.screenshot({ path: join(SHOTS, 'backprop.png'), fullPage: true });
    await page.click('#restore');
    await lab.idle(page, v.updates);
    x.dispose();
    expect(lab.errors, 'console errors').toEqual([]);
  }, 4 * SETTLE_MS);

  it('trains LeNet-5 in the page for 20 steps and the loss falls', async () => {
    await page.click('#train-section summary');
    await page.fill('#train-steps', '20');
    await page.click('#train');
    await page.waitForFunction(() => window.__lab!.train.losses.length >= 20, undefined, { timeout: SETTLE_MS, polling: 100 });
    const { losses, stepMs } = (await lab.view(page)).train;
    const mean = (a: number[]) => a.reduce((s, x) => s + x, 0) / a.length;
    expect(losses[0]!).toBeGreaterThan(2); // a fresh net: about ln 10
    expect(mean(losses.slice(-5))).toBeLessThan(mean(losses.slice(0, 5)) - 0.1);
    timings.trainStep = [...stepMs].sort((a, b) => a - b)[10]!;
    console.log(`[lab.test] 20 training steps: loss ${losses[0]!.toFixed(3)} -> ${losses[19]!.toFixed(3)}, median step ${[...stepMs].sort((a, b) => a - b)[10]!.toFixed(0)} ms`);
    await page.screenshot({ path: join(SHOTS, 'train.png'), fullPage: true });
    expect(lab.errors, 'console errors').toEqual([]);
  }, 4 * SETTLE_MS);

  it('explains a model dropped on the page as a safetensors file', async () => {
    const file = join(REPO_ROOT, 'tests/fixtures/models/lenet-mnist-random-labels.safetensors');
    const n = (await lab.view(page)).updates;
    await page.evaluate((b64) => {
      const dt = new DataTransfer();
      dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], 'random-labels.safetensors'));
      document.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    }, readFileSync(file).toString('base64'));
    const v = await lab.idle(page, n);
    expect(await page.locator('#model').inputValue()).toBe('file');
    const dropped = gb.models.create('lenet5');
    await loadModel(file, dropped);
    dropped.eval();
    const x = nodeInput(v.image);
    expectClose(v.probs, await classProbabilities(dropped, x), { atol: 1e-4, rtol: 1e-3, what: 'the dropped model\'s probabilities, page vs Node' });
    expectSameMap(v.map!.values, (await explain(dropped, v.map!.method, x, v.target, v.map!.options, NORM)).values, 'the dropped model\'s map, page vs Node');
    x.dispose();
    expect(lab.errors, 'console errors').toEqual([]);
  }, 2 * SETTLE_MS);

  it('explains with the MNIST CNN chosen in the menu, as glassbox does in Node', async () => {
    const cnn = await nodeModel('mnist-cnn', CNN_FILE);
    // the backprop view closed, so that the stroke's time is the map's alone (its passes add the layer trace and the sanity maps)
    if (await page.locator('#backprop').evaluate((d) => (d as HTMLDetailsElement).open)) {
      const before = (await lab.view(page)).updates;
      await page.click('#backprop summary');
      await lab.idle(page, before);
    }
    let n = (await lab.view(page)).updates;
    await page.selectOption('#method', 'saliency');
    await page.selectOption('#model', 'mnist-cnn');
    let v = await lab.idle(page, n);
    // the menu may settle before the switch: wait for the CNN's own update
    if (v.model !== 'mnist-cnn') v = await lab.idle(page, v.updates);
    expect(v.model).toBe('mnist-cnn');
    expect(await page.locator('#model option:checked').innerText()).toMatch(/^MNIST CNN, trained on MNIST \(\d+\.\d% on 10,000 test images\)$/);
    expect(decodeState(new URL(page.url()).hash).state.model, 'the URL names the model').toBe('mnist-cnn');
    const x = nodeInput(v.image);
    expectClose(v.probs, await classProbabilities(cnn, x), { atol: 1e-4, rtol: 1e-3, what: 'the MNIST CNN\'s probabilities, page vs Node' });
    expectSameMap(v.map!.values, (await explain(cnn, 'saliency', x, v.target, v.map!.options, NORM)).values, 'the MNIST CNN\'s saliency map, page vs Node');
    x.dispose();
    // the CAM menu offers the CNN's own conv layers
    n = v.updates;
    await page.selectOption('#method', 'grad-cam');
    v = await lab.idle(page, n);
    expect(await page.locator('#opt-layer option').allInnerTexts()).toEqual(['conv2', 'conv1']);
    expect(v.map!.options.layer).toBe('conv2');
    // speed: stroke to drawn saliency map with the CNN's pipelines compiled
    n = v.updates;
    await page.selectOption('#method', 'saliency');
    const settled = await lab.idle(page, n);
    await lab.stroke(page, [[0.3, 0.5], [0.55, 0.5]]);
    const after = await lab.idle(page, settled.updates);
    expect(after.strokeToMap.at(-1)!.method).toBe('saliency');
    timings.cnnSaliency = after.strokeToMap.at(-1)!.ms;
    n = after.updates;
    await page.selectOption('#model', 'lenet5');
    await lab.idle(page, n);
    expect(lab.errors, 'console errors').toEqual([]);
  }, 2 * SETTLE_MS);

  describe('a shared link', () => {
    let linked: Page;
    let cnn: gb.nn.Module;
    /** MNIST test image 1 (a 2) from the subset served with the page, explained for class 3. */
    const subset = () => decodeSubset(new Uint8Array(readFileSync(join(REPO_ROOT, 'dist/lab/data/mnist-subset.bin'))));
    const image = () => Float32Array.from(subset().test.images.subarray(784, 2 * 784), (b) => b / 255);
    const linkState = () => ({ ...DEFAULT_STATE, model: 'mnist-cnn', method: 'integrated-gradients', target: 3 as const, options: { steps: 8, baseline: 'blurred' }, rule: 'guided' as const, image: image() });

    beforeAll(async () => {
      cnn = await nodeModel('mnist-cnn', CNN_FILE);
    });

    it('opens the view it names (model, image, method, options, target, ReLU rule) with the map Node computes', async () => {
      linked = await lab.open({ hash: encodeState(linkState()) });
      const v = await lab.view(linked);
      expect(v.error).toBeNull();
      expect(v.model).toBe('mnist-cnn');
      expect(await linked.locator('#model').inputValue()).toBe('mnist-cnn');
      expect(await linked.locator('#method').inputValue()).toBe('integrated-gradients');
      expect(await linked.locator('#target').inputValue()).toBe('3');
      expect(await linked.locator('#opt-steps').inputValue()).toBe('8');
      expect(await linked.locator('#opt-baseline').inputValue()).toBe('blurred');
      expect(v.image).toEqual(Array.from(image()));
      expect(v.map!.options).toEqual({ steps: 8, baseline: 'blurred' });
      const x = nodeInput(v.image);
      const probs = await classProbabilities(cnn, x);
      expectClose(v.probs, probs, { atol: 1e-4, rtol: 1e-3, what: 'the linked view\'s probabilities, page vs Node' });
      expect(probs.indexOf(Math.max(...probs)), 'the MNIST CNN reads the test image as its label').toBe(subset().test.labels[1]);
      expect(v.target).toBe(3);
      const node = await explain(cnn, 'integrated-gradients', x, 3, { steps: 8, baseline: 'blurred' }, NORM);
      expectSameMap(v.map!.values, node.values, 'the linked view\'s IG map (8 steps, blurred baseline, class 3), page vs Node');

      // the backprop view opens with the link's ReLU rule, every CNN layer as in Node; the sanity check randomises fc2 first
      const n = v.updates;
      await linked.click('#backprop summary');
      const traced = await lab.idle(linked, n);
      expect(traced.trace!.rule).toBe('guided');
      const trace = await layerTrace(cnn, x, 3, 'guided');
      expect(traced.trace!.layers.map((l) => l.name)).toEqual(['conv1', 'conv2', 'dropout1', 'fc1', 'dropout2', 'fc2', 'input']);
      expect(traced.trace!.layers.map((l) => l.name)).toEqual(trace.map((l) => l.name));
      traced.trace!.layers.forEach((l, i) => expectSameMap(l.gradient, trace[i]!.gradient, `guided: gradient at the CNN's ${l.name}, page vs Node`));
      await linked.click('#randomize');
      await linked.waitForFunction(() => (window.__lab?.sanity?.randomized.length ?? 0) === 1 && !window.__lab!.busy, undefined, { timeout: SETTLE_MS });
      const randomized = await lab.view(linked);
      expect(randomized.sanity!.randomized).toEqual(['fc2']);
      expect(randomized.sanity!.similarity.saliency).toBeLessThan(0.99);
      await linked.screenshot({ path: join(SHOTS, 'shared-link-cnn.png'), fullPage: true });
      x.dispose();
      expect(lab.errors, 'console errors').toEqual([]);
    }, 2 * SETTLE_MS);

    it('visualises a class unit of the MNIST CNN: the objective rises and the picture is read as the class, as in Node', async () => {
      await linked.click('#restore');
      await linked.click('#backprop summary'); // closed: the next passes skip the sanity check's maps
      await linked.click('#features-section summary');
      await linked.selectOption('#feature-layer', 'class');
      await linked.fill('#feature-index', '3');
      await linked.fill('#feature-steps', '24');
      await linked.click('#visualize');
      await linked.waitForFunction(() => window.__lab?.feature != null, undefined, { timeout: SETTLE_MS, polling: 100 });
      const f = (await lab.view(linked)).feature!;
      expect([f.layer, f.index, f.steps, f.curve.length]).toEqual(['class', 3, 24, 24]);
      expect(f.curve.at(-1)!, 'the class logit rises').toBeGreaterThan(f.curve[0]! + 1);
      expect(f.predicted?.class).toBe(3);
      // Node reads the page's picture as a 3 too, and its own run from the same seed starts where the page's does
      const x = nodeInput(f.image);
      const probs = await classProbabilities(cnn, x);
      x.dispose();
      expect(probs.indexOf(Math.max(...probs))).toBe(3);
      const node = await visualizeUnit(cnn, { layer: 'class', index: 3 }, 24, NORM);
      expectClose([f.curve[0]!], [node.curve[0]!], { atol: 1e-3, rtol: 1e-3, what: 'the objective at the first step, page vs Node' });
      expect(node.predicted?.class).toBe(3);
      await linked.locator('#features-section').screenshot({ path: join(SHOTS, 'features-cnn.png') });
      expect(lab.errors, 'console errors').toEqual([]);
    }, 2 * SETTLE_MS);
  });

  it('tells a browser without WebGPU so, instead of a blank page', async () => {
    const bare = await lab.open({ withoutWebGpu: true });
    await bare.waitForSelector('#no-webgpu:not([hidden])', { timeout: 10_000 });
    expect(await bare.locator('#no-webgpu').innerText()).toMatch(/no WebGPU[\s\S]*Chrome/);
    expect(await bare.locator('#lab').isHidden()).toBe(true);
    await bare.screenshot({ path: join(SHOTS, 'no-webgpu.png') });
    await bare.close();
    expect(lab.errors, 'console errors').toEqual([]);
  }, 60_000);
});
