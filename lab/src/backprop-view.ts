/**
 * The "see backprop" view: one row per layer, its activations (forward) beside the gradient of
 * the target score with respect to them (backward), under the chosen ReLU backward rule. Conv
 * and pooling outputs show one tile per channel; vectors show as one strip.
 */
import { mapCanvas } from './paint.ts';
import type { LayerState } from './layer-trace.ts';

const MAX_TILES = 16;

function tiles(values: Float32Array, shape: number[], signed: boolean): HTMLElement {
  const box = document.createElement('div');
  box.className = 'tiles';
  if (shape.length === 3) {
    const [c, h, w] = shape as [number, number, number];
    const scale = Math.max(1, Math.round(56 / Math.max(h, w)));
    for (let k = 0; k < Math.min(c, MAX_TILES); k++)
      box.append(mapCanvas(values.subarray(k * h * w, (k + 1) * h * w), w, h, signed, scale, `channel ${k}`));
    if (c > MAX_TILES) box.append(Object.assign(document.createElement('span'), { textContent: `+${c - MAX_TILES}` }));
  } else {
    const n = values.length;
    box.append(mapCanvas(values, n, 1, signed, Math.max(1, Math.floor(400 / n)), `${n} values`));
  }
  return box;
}

/** Renders the trace (layers in forward order; the view lists them from the input up to the logits). */
export function renderTrace(el: HTMLElement, trace: readonly LayerState[]): void {
  const rows = [...trace].reverse().map((layer) => {
    const row = document.createElement('div');
    row.className = 'layer';
    row.dataset.layer = layer.name;
    const label = document.createElement('div');
    label.className = 'label';
    label.textContent = `${layer.name} ${layer.kind} [${layer.shape.join('x')}]`;
    const act = tiles(layer.activation, layer.shape, layer.kind !== 'ReLU' && layer.kind !== 'MaxPool2d');
    act.classList.add('act');
    const grad = tiles(layer.gradient, layer.shape, true);
    grad.classList.add('grad');
    row.append(label, act, grad);
    return row;
  });
  el.replaceChildren(...rows.reverse());
}
