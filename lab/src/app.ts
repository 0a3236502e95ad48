/**
 * The lab page: wires the drawing pad, the model, the explanation, the backprop view, the sanity
 * check, training and feature visualisation together. Work runs in one queue where the latest
 * request wins: while the GPU computes a map, new strokes only mark the view stale, and the next
 * pass uses the drawing as it is then. `window.__lab` exposes what the page shows (for the tests).
 */
import * as gb from '../../src/index.ts';
import { DrawPad, type DrawEvent } from './draw.ts';
import { classProbabilities, renderBars, argmax } from './predict.ts';
import { camLayers, explain, LAB_METHODS, methodControls, optionValues, type ExplainedMap } from './explain.ts';
import { renderOptionControls } from './controls.ts';
import { layerTrace, type LayerState, type ReluRule } from './layer-trace.ts';
import { renderTrace } from './backprop-view.ts';
import { Randomization } from './sanity-view.ts';
import { loadSubset, lossChart, PageTrainer } from './train-view.ts';
import { featureLayers, visualizeUnit } from './features-view.ts';
import { modelFromSafetensors, PRETRAINED, pretrainedModel, type LabModel } from './model-source.ts';
import { decodeState, encodeState } from './url-state.ts';
import { paintGrey, paintOverlay } from './paint.ts';
import { SUBSET } from './subset-format.ts';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

/** What the page shows, for tests and the curious (open the console: __lab). */
export interface LabView {
  ready: boolean;
  busy: boolean;
  updates: number;
  adapter: unknown;
  image: number[];
  probs: number[];
  target: number;
  map: { method: string; values: number[]; h: number; w: number; options: Record<string, number | string> } | null;
  trace: { rule: ReluRule; layers: Array<{ name: string; gradient: number[] }> } | null;
  sanity: { randomized: string[]; similarity: Record<string, number> } | null;
  /** Milliseconds from the end of a stroke to the drawn map, per method, newest last. */
  strokeToMap: Array<{ method: string; ms: number }>;
  train: { losses: number[]; stepMs: number[]; accuracy: Array<{ step: number; accuracy: number }> };
  /** The model in use: its key in the menu and the URL ('lenet5', 'mnist-cnn', 'trained', 'file'). */
  model: string;
  feature: { layer: string; index: number; steps: number; curve: number[]; image: number[]; predicted: { class: number; probability: number } | null } | null;
  error: string | null;
}

declare global {
  interface Window {
    __lab?: LabView;
  }
}

const info = await gb.init();
const view: LabView = { ready: false, busy: true, updates: 0, adapter: info.adapter, image: [], probs: [], target: 0, map: null, trace: null, sanity: null, strokeToMap: [], train: { losses: [], stepMs: [], accuracy: [] }, model: '', feature: null, error: null };
window.__lab = view;
$('status').textContent = `WebGPU: ${[info.adapter.vendor, info.adapter.architecture, info.adapter.description].filter(Boolean).join(' ')} · loading the model...`;

const { state, problems } = decodeState(location.hash);
const models = new Map<string, LabModel>();
/** The pretrained models are fetched when first used (the MNIST CNN's weights are 4.8 MB). */
async function modelFor(key: string): Promise<LabModel> {
  const loaded = models.get(key);
  if (loaded) return loaded;
  const entry = PRETRAINED.find((p) => p.key === key);
  if (!entry) throw new Error(`no model '${key}' in this page (train one, or drop a .safetensors file)`);
  $('status').textContent = `loading ${entry.name}...`;
  const m = await pretrainedModel(entry);
  models.set(key, m);
  $<HTMLSelectElement>('model').querySelector<HTMLOptionElement>(`option[value="${key}"]`)!.text = m.label;
  return m;
}
for (const p of PRETRAINED) $<HTMLSelectElement>('model').append(new Option(p.name, p.key));
const startProblem = PRETRAINED.some((p) => p.key === state.model)
  ? null
  : `the link names model '${state.model}', which lives only in the page that made it (train it or drop its file here); showing the pretrained ${PRETRAINED[0]!.name}`;
if (startProblem) state.model = PRETRAINED[0]!.key;
let current = await modelFor(state.model);
/** null where the build found no MNIST data: the pretrained models still work, training and test images do not. */
const subset = await loadSubset();
let trainer: PageTrainer | null = null;
let randomization = new Randomization(current.model);
let lastStrokeHandled = 0;
let mnistIndex = -1;

function showError(e: unknown): void {
  const message = e instanceof Error ? e.message : String(e);
  view.error = message;
  $('error').textContent = message;
}
if (problems.length) showError(`This link's view could not be restored in full: ${problems.join('; ')}`);
if (startProblem) showError(startProblem);
if (!LAB_METHODS.includes(state.method as (typeof LAB_METHODS)[number])) {
  if (state.method) showError(`unknown method '${state.method}' in the link; known: ${LAB_METHODS.join(', ')}`);
  state.method = 'saliency';
}

// ---- the work queue: the latest request wins ----
let dirty = false;
let running = false;
function schedule(): void {
  dirty = true;
  view.busy = true;
  if (!running) void loop();
}
async function loop(): Promise<void> {
  running = true;
  while (dirty) {
    dirty = false;
    try {
      await update();
    } catch (e) {
      showError(e);
    }
  }
  running = false;
  view.busy = false;
}

/** The pad's image as MNIST bytes would give it (k / 255), so a shared link reproduces it exactly. */
const currentImage = () => Float32Array.from(pad.image(), (v) => Math.round(v * 255) / 255);

async function update(): Promise<void> {
  const strokeEnd = pad.strokeEndedAt > lastStrokeHandled ? pad.strokeEndedAt : 0;
  lastStrokeHandled = Math.max(lastStrokeHandled, pad.strokeEndedAt);
  // what this pass explains, fixed at its start: the menus may change while the GPU works (the next pass follows them)
  const image = currentImage();
  const { model, normalization } = current;
  const { method, rule, model: key } = state;
  const x = gb.tidy(() => gb.normalize(gb.tensor(image, [1, 1, 28, 28]), normalization));
  try {
    const probs = await classProbabilities(model, x);
    renderBars($('bars'), probs, (k) => {
      state.target = k;
      $<HTMLSelectElement>('target').value = String(k);
      schedule();
    });
    const target = state.target === 'auto' ? argmax(probs) : state.target;
    const options = optionValues(method, camLayers(model), state.options);
    const map: ExplainedMap = await explain(model, method, x, target, options, normalization);
    // the map is on the canvas when paintOverlay returns (the compositor shows it at the next frame;
    // waiting for requestAnimationFrame would stall in a hidden tab, where frames never come)
    paintOverlay($<HTMLCanvasElement>('map'), image, map.values, 28, map.signed);
    if (strokeEnd) {
      const ms = performance.now() - strokeEnd;
      view.strokeToMap.push({ method, ms });
      $('map-timing').textContent = `${method} for class ${target}: drawn ${ms.toFixed(0)} ms after the stroke ended`;
    } else $('map-timing').textContent = `${method} for class ${target}`;
    Object.assign(view, { model: key, image: Array.from(image), probs: Array.from(probs), target, map: { method, values: Array.from(map.values), h: map.h, w: map.w, options } });
    if ($<HTMLDetailsElement>('backprop').open) await updateBackprop(model, normalization, x, target, rule);
    history.replaceState(null, '', '#' + encodeState({ ...state, image: image.some((v) => v > 0) ? image : null }));
    view.updates++;
  } finally {
    x.dispose();
  }
}

async function updateBackprop(model: gb.nn.Module, normalization: gb.Normalization, x: gb.Tensor, target: number, rule: ReluRule): Promise<void> {
  const trace: LayerState[] = await layerTrace(model, x, target, rule);
  renderTrace($('layers'), trace);
  view.trace = { rule, layers: trace.map((l) => ({ name: l.name, gradient: Array.from(l.gradient) })) };
  const sanity = randomization;
  const similarity = await sanity.render($('sanity'), x, target, normalization);
  view.sanity = { randomized: sanity.randomized, similarity };
  $('randomized').textContent = sanity.randomized.length ? `randomised: ${sanity.randomized.join(', ')}` : 'trained weights';
  $<HTMLButtonElement>('randomize').disabled = !sanity.canRandomizeMore;
}

// ---- drawing ----
const pad = new DrawPad($<HTMLCanvasElement>('pad'), (_e: DrawEvent) => schedule());
$('clear').onclick = () => pad.clear();
$('mnist').onclick = () => {
  if (!subset) return;
  mnistIndex = (mnistIndex + 1) % SUBSET.test;
  const px = SUBSET.side * SUBSET.side;
  $('mnist-label').textContent = `test image ${mnistIndex}, label ${subset.test.labels[mnistIndex]}`;
  pad.load(Float32Array.from(subset.test.images.subarray(mnistIndex * px, (mnistIndex + 1) * px), (b) => b / 255));
};

// ---- method, target, options ----
const methodSelect = $<HTMLSelectElement>('method');
for (const m of LAB_METHODS) methodSelect.append(new Option(m, m));
const targetSelect = $<HTMLSelectElement>('target');
for (let k = 0; k < 10; k++) targetSelect.append(new Option(String(k), String(k)));

function showMethod(): void {
  methodSelect.value = state.method;
  targetSelect.value = String(state.target);
  const layers = camLayers(current.model);
  renderOptionControls($('options'), methodControls(state.method, layers), optionValues(state.method, layers, state.options), (key, value) => {
    state.options[key] = value;
    schedule();
  });
  $('method-about').textContent = gb.xai.methodSpec(state.method).description;
}
methodSelect.onchange = () => {
  state.method = methodSelect.value;
  state.options = {};
  showMethod();
  schedule();
};
targetSelect.onchange = () => {
  state.target = targetSelect.value === 'auto' ? 'auto' : Number(targetSelect.value);
  schedule();
};
$('share').onclick = () => void navigator.clipboard?.writeText(location.href).catch(() => {});

// ---- backprop view and sanity check ----
$('backprop').addEventListener('toggle', () => schedule());
for (const radio of document.querySelectorAll<HTMLInputElement>('input[name=rule]')) {
  radio.checked = radio.value === state.rule;
  radio.onchange = () => {
    state.rule = radio.value as ReluRule;
    schedule();
  };
}
async function withInput<T>(fn: (x: gb.Tensor, target: number) => Promise<T>): Promise<T> {
  const x = gb.tidy(() => gb.normalize(gb.tensor(currentImage(), [1, 1, 28, 28]), current.normalization));
  try {
    return await fn(x, view.target);
  } finally {
    x.dispose();
  }
}
$('randomize').onclick = () =>
  void withInput((x, t) => randomization.next(x, t, current.normalization))
    .then(() => schedule())
    .catch(showError);
$('restore').onclick = () => {
  randomization.restore();
  schedule();
};

// ---- models: pretrained, trained here, dropped ----
/** Switches to model `key` (fetching a pretrained one on first use); the menu, the controls and the URL follow. */
async function useModel(key: string): Promise<void> {
  const select = $<HTMLSelectElement>('model');
  select.disabled = true;
  try {
    const m = await modelFor(key);
    randomization.restore();
    current = m;
    state.model = key;
    randomization = new Randomization(current.model);
    select.value = key;
    $('status').textContent = statusLine();
    showMethod();
    fillFeatureLayers();
    schedule();
  } catch (e) {
    select.value = state.model;
    showError(e);
  } finally {
    select.disabled = false;
  }
}
function addModel(key: string, m: LabModel): void {
  models.set(key, m);
  const select = $<HTMLSelectElement>('model');
  select.querySelector(`option[value="${key}"]`)?.remove();
  select.append(new Option(m.label, key));
}
$<HTMLSelectElement>('model').onchange = (e) => void useModel((e.target as HTMLSelectElement).value);
document.addEventListener('dragover', (e) => {
  e.preventDefault();
  document.body.classList.add('dragging');
});
document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
document.addEventListener('drop', (e) => {
  e.preventDefault();
  document.body.classList.remove('dragging');
  const file = e.dataTransfer?.files[0];
  if (!file) return;
  void file
    .arrayBuffer()
    .then((buf) => {
      addModel('file', modelFromSafetensors(new Uint8Array(buf), file.name));
      $('error').textContent = '';
      return useModel('file');
    })
    .catch((err: unknown) => showError(`could not use ${file.name}: ${err instanceof Error ? err.message : String(err)}`));
});

// ---- training ----
function trainStatus(t: PageTrainer): void {
  const last = t.losses[t.losses.length - 1];
  const acc = t.accuracy[t.accuracy.length - 1];
  const ms = t.stepMs.slice(-10);
  $('train-status').textContent =
    `step ${t.step}` + (last ? `, loss ${last.loss.toFixed(3)}` : '') + (acc ? `, test accuracy ${(100 * acc.accuracy).toFixed(1)}% (step ${acc.step})` : '') +
    (ms.length ? `, ${(ms.reduce((a, b) => a + b, 0) / ms.length).toFixed(0)} ms per step` : '');
  $('curve').replaceChildren(lossChart(t));
  view.train = { losses: t.losses.map((p) => p.loss), stepMs: [...t.stepMs], accuracy: [...t.accuracy] };
}
$('train').onclick = () => {
  if (!subset) return;
  trainer ??= new PageTrainer(subset, gb.normalization.mnist!);
  const t = trainer;
  const steps = Math.max(1, Math.min(5000, Math.round(Number($<HTMLInputElement>('train-steps').value) || 100)));
  $<HTMLButtonElement>('train').disabled = true;
  void t
    .train(steps, () => trainStatus(t))
    .then(() => {
      addModel('trained', { model: t.model, label: `LeNet-5 trained here (${t.step} steps)`, architecture: 'lenet5', normalization: t.normalization });
      $<HTMLButtonElement>('explain-trained').disabled = false;
      if (state.model === 'trained') schedule();
    })
    .catch(showError)
    .finally(() => ($<HTMLButtonElement>('train').disabled = false));
};
$('stop').onclick = () => trainer?.stop();
$('explain-trained').onclick = () => void useModel('trained');

// ---- feature visualisation ----
function fillFeatureLayers(): void {
  const select = $<HTMLSelectElement>('feature-layer');
  select.replaceChildren(...featureLayers(current.model).map((l) => new Option(l.layer === 'class' ? 'class logit (0-9)' : `${l.layer} (${l.units} channels)`, l.layer)));
}
$('visualize').onclick = () => {
  const layer = $<HTMLSelectElement>('feature-layer').value;
  const units = featureLayers(current.model).find((l) => l.layer === layer)?.units ?? 10;
  const index = Math.max(0, Math.min(units - 1, Math.round(Number($<HTMLInputElement>('feature-index').value) || 0)));
  const steps = Math.max(1, Math.min(2048, Math.round(Number($<HTMLInputElement>('feature-steps').value) || 64)));
  $<HTMLButtonElement>('visualize').disabled = true;
  $('feature-info').textContent = 'optimising...';
  void visualizeUnit(current.model, { layer, index }, steps, current.normalization, (s) => ($('feature-info').textContent = `step ${s} of ${steps}`))
    .then((r) => {
      paintGrey($<HTMLCanvasElement>('feature'), r.image, 28, 28);
      const first = r.curve[0] ?? NaN;
      const last = r.curve[r.curve.length - 1] ?? NaN;
      $('feature-info').textContent = `${layer === 'class' ? 'class' : layer + ' channel'} ${index}: objective ${first.toFixed(2)} -> ${last.toFixed(2)} in ${steps} steps` + (r.predicted ? `; the net calls it a ${r.predicted.class} (${(100 * r.predicted.probability).toFixed(0)}%)` : '');
      view.feature = { layer, index, steps, curve: r.curve, image: Array.from(r.image), predicted: r.predicted };
    })
    .catch(showError)
    .finally(() => ($<HTMLButtonElement>('visualize').disabled = false));
};

// ---- start ----
function statusLine(): string {
  return `WebGPU: ${[info.adapter.vendor, info.adapter.architecture, info.adapter.description].filter(Boolean).join(' ')} · ${current.label}`;
}
if (!subset) {
  for (const id of ['mnist', 'train']) $<HTMLButtonElement>(id).disabled = true;
  $('mnist-label').textContent = $('train-status').textContent =
    'no MNIST subset was served with this page (it was built without the MNIST data): test images and training here are off; the pretrained models work';
}
$<HTMLSelectElement>('model').value = state.model;
view.model = state.model;
showMethod();
fillFeatureLayers();
if (state.image) pad.load(state.image);
$('status').textContent = statusLine();
view.ready = true;
schedule();
