/**
 * A model's layer activations, as the representation methods read them: every chosen layer's output
 * for a set of images in one forward pass per batch (a forward hook per layer), flattened to one row
 * per image; and the maps of one image as a picture, one tile per channel.
 *
 * Layer names are module paths as nn.summary prints them ('features.2'); 'input' is the
 * (normalised) pixels the model sees.
 */
import { noGrad } from '../../autograd/node.ts';
import { normalize, type Normalization } from '../../data/normalization.ts';
import type { Module } from '../../nn/module.ts';
import { slice } from '../../tensor/ops/views.ts';
import { shapeStr } from '../../tensor/shape.ts';
import { tidy, type Tensor } from '../../tensor/tensor.ts';
import { applyColormap } from '../../viz/colormap.ts';
import { makeGrid, type GridOptions } from '../../viz/grid.ts';
import { asImage, type RGBAImage } from '../../viz/image.ts';

/** The pseudo-layer name of the model's input. */
export const INPUT_LAYER = 'input';

export interface LayerActivations {
  layer: string;
  /** One image's activation shape, e.g. [6, 28, 28] or [120]. */
  shape: number[];
  /** N x prod(shape), row-major. */
  values: Float32Array;
}

/** Every leaf module's path in the order the forward pass runs them (one image through the model). */
export function layersInOrder(model: Module, probe: Tensor): string[] {
  const order: string[] = [];
  const leaves = model.namedModules().filter(([name, m]) => name !== '' && m.namedModules().length === 1);
  const removers = leaves.map(([name, m]) => m.registerForwardHook(() => void (order.includes(name) || order.push(name))));
  try {
    noGrad(() => tidy(() => void model.forward(probe)));
  } finally {
    removers.forEach((r) => r());
  }
  return order;
}

/**
 * The default layers of the depth study: the input, the output of each nonlinearity and pooling
 * (where a layer's code is "finished"), and the last module (the logits).
 */
export function defaultLayers(model: Module, probe: Tensor): string[] {
  const order = layersInOrder(model, probe);
  const kinds = new Map(model.namedModules().map(([name, m]) => [name, m.constructor.name]));
  const picked = order.filter((name) => /relu|pool|gelu|tanh|sigmoid|silu/i.test(kinds.get(name) ?? ''));
  const last = order[order.length - 1];
  if (last && !picked.includes(last)) picked.push(last);
  return [INPUT_LAYER, ...picked];
}

export interface CollectOptions {
  /** Applied to each batch of [0, 1] pixels before the model sees it. */
  normalization?: Normalization;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

/** The activations of `layers` for `images` [N, C, H, W] (pixels in [0, 1]), the model in eval mode, no gradients. */
export async function collectActivations(model: Module, images: Tensor, layers: readonly string[], opts: CollectOptions = {}): Promise<LayerActivations[]> {
  if (images.rank !== 4) throw new Error(`glassbox.representations.collectActivations: images must be [N, C, H, W], got ${shapeStr(images.shape)}`);
  if (layers.length === 0) throw new Error(`glassbox.representations.collectActivations: no layers given; name module paths such as ${model.namedModules().map(([n]) => n).filter(Boolean).slice(0, 3).join(', ')} or '${INPUT_LAYER}'`);
  const modules = layers.map((name) => (name === INPUT_LAYER ? undefined : model.getSubmodule(name))); // getSubmodule names the known paths on a typo
  const n = images.shape[0]!;
  const batchSize = opts.batchSize ?? 250;
  const results: LayerActivations[] = layers.map((layer) => ({ layer, shape: [], values: new Float32Array(0) }));
  const wasTraining = model.namedModules().map(([, m]) => [m, m.training] as const);
  model.eval();
  try {
    for (let start = 0; start < n; start += batchSize) {
      const end = Math.min(n, start + batchSize);
      const captured = noGrad(() =>
        tidy(() => {
          const seen: (Tensor | undefined)[] = layers.map(() => undefined);
          let x = slice(images, 0, { start, end });
          if (opts.normalization) x = normalize(x, opts.normalization);
          const removers = modules.map((m, i) => m?.registerForwardHook((_m, _in, out) => void (seen[i] = out)));
          try {
            model.forward(x);
          } finally {
            removers.forEach((r) => r?.());
          }
          return layers.map((layer, i) => {
            const t = layer === INPUT_LAYER ? x : seen[i];
            if (!t) throw new Error(`glassbox.representations.collectActivations: layer '${layer}' did not run in the forward pass`);
            return t.contiguous();
          });
        }),
      );
      try {
        for (let i = 0; i < layers.length; i++) {
          const t = captured[i]!;
          const r = results[i]!;
          const perImage = t.shape.slice(1);
          const size = perImage.reduce((a, b) => a * b, 1);
          if (start === 0) {
            r.shape = perImage;
            r.values = new Float32Array(n * size);
          }
          r.values.set(await t.toArray(), start * size);
        }
      } finally {
        captured.forEach((t) => t.dispose());
      }
      opts.onProgress?.(end, n);
    }
  } finally {
    for (const [m, training] of wasTraining) m.training = training;
  }
  return results;
}

/**
 * One image's activation maps [C, h, w] as a grid, a tile per channel, on one shared scale (viridis
 * from the layer's smallest to its largest value, so channels compare); a vector [d] is drawn as one
 * row of d cells.
 */
export function activationGrid(values: ArrayLike<number>, shape: readonly number[], opts: GridOptions = {}): RGBAImage {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]!);
    hi = Math.max(hi, values[i]!);
  }
  const cmap = { cmap: 'viridis' as const, vmin: lo, vmax: hi };
  if (shape.length !== 3) {
    const d = values.length;
    return makeGrid([asImage(applyColormap(values, cmap), d, 1)], { tileScale: Math.max(2, Math.floor(480 / d)), ...opts });
  }
  const [c, h, w] = shape as [number, number, number];
  const tiles = Array.from({ length: c }, (_, k) => asImage(applyColormap(Array.prototype.slice.call(values, k * h * w, (k + 1) * h * w) as number[], cmap), w, h));
  return makeGrid(tiles, { tileScale: Math.max(1, Math.floor(84 / Math.max(h, w))), tileTitles: tiles.map((_, k) => `ch ${k}`), ...opts });
}
