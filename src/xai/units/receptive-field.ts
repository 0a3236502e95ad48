/**
 * Receptive fields: which input pixels a unit at position (y, x) of a layer can see, from the
 * geometry of every conv and pooling layer in front of it (Araujo et al. 2019, "Computing
 * receptive fields of convolutional neural networks", Distill).
 *
 * Along each axis a layer's positions map to the input affinely: position i sees the input box
 * [start + i * jump, start + i * jump + size - 1]. A window layer (kernel k, stride s, padding p,
 * dilation d, so an effective kernel k' = d (k - 1) + 1) composes as
 *   jump' = jump * s,  size' = size + (k' - 1) * jump,  start' = start - p * jump,
 * and an elementwise layer (ReLU, batch norm, dropout) leaves the geometry as it is. `start` may be
 * negative and boxes may reach past the image: that is the padding; `clipBox` cuts them to the image.
 */
import { noGrad } from '../../autograd/node.ts';
import { AvgPool2d, Conv2d, MaxPool2d } from '../../nn/conv-layers.ts';
import type { Module } from '../../nn/module.ts';
import { zeros } from '../../tensor/ops/creation.ts';
import { shapeStr } from '../../tensor/shape.ts';
import { tidy, type Tensor } from '../../tensor/tensor.ts';

/** One axis of the map from a layer's positions to input pixels. */
export interface AxisGeometry {
  /** Input pixels between neighbouring positions (the product of the strides). */
  jump: number;
  /** Side of the field, in input pixels. */
  size: number;
  /** Input coordinate of the first pixel position 0 sees (negative: it starts in the padding). */
  start: number;
}

/** A layer's sliding window along both axes ([height, width] pairs). */
export interface WindowStep {
  kernel: [number, number];
  stride: [number, number];
  /** Padding before the first row / column. */
  padding: [number, number];
  dilation: [number, number];
}

export interface Geometry {
  y: AxisGeometry;
  x: AxisGeometry;
}

/** A box of input pixels, both ends inclusive. */
export interface Box {
  top: number;
  left: number;
  bottom: number;
  right: number;
}

export interface LayerGeometry extends Geometry {
  layer: string;
  /** The layer's output [C, h, w] at this input size. */
  outputShape: [number, number, number];
  inputShape: number[];
  /** The window layers composed, input first. */
  windows: { path: string; type: string; step: WindowStep }[];
}

export const IDENTITY_GEOMETRY: Geometry = { y: { jump: 1, size: 1, start: 0 }, x: { jump: 1, size: 1, start: 0 } };

function composeAxis(a: AxisGeometry, kernel: number, stride: number, padding: number, dilation: number): AxisGeometry {
  const effective = dilation * (kernel - 1) + 1;
  return { jump: a.jump * stride, size: a.size + (effective - 1) * a.jump, start: a.start - padding * a.jump };
}

/** The geometry after a window layer. */
export function composeWindow(g: Geometry, w: WindowStep): Geometry {
  return {
    y: composeAxis(g.y, w.kernel[0], w.stride[0], w.padding[0], w.dilation[0]),
    x: composeAxis(g.x, w.kernel[1], w.stride[1], w.padding[1], w.dilation[1]),
  };
}

/** The geometry of a stack of window layers, input first. */
export function composeWindows(steps: readonly WindowStep[]): Geometry {
  return steps.reduce(composeWindow, IDENTITY_GEOMETRY);
}

/** The input box a position sees, before clipping. */
export function inputBox(g: Geometry, y: number, x: number): Box {
  const top = g.y.start + y * g.y.jump;
  const left = g.x.start + x * g.x.jump;
  return { top, left, bottom: top + g.y.size - 1, right: left + g.x.size - 1 };
}

/** The part of a box inside an image of `height` x `width` (null if none is). */
export function clipBox(b: Box, height: number, width: number): Box | null {
  const c = { top: Math.max(0, b.top), left: Math.max(0, b.left), bottom: Math.min(height - 1, b.bottom), right: Math.min(width - 1, b.right) };
  return c.top > c.bottom || c.left > c.right ? null : c;
}

const pair = (v: number | readonly number[] | undefined, dflt: number): [number, number] =>
  v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [v[0]!, v[1]!];

/** A module's sliding window, or null if it has none (elementwise layers). */
export function windowOf(m: Module): WindowStep | null {
  if (m instanceof Conv2d) {
    const dilation = pair(m.opts.dilation, 1);
    let padding: [number, number];
    if (m.opts.padding === 'same') padding = [0, 1].map((a) => Math.floor((dilation[a]! * (m.kernelSize[a]! - 1)) / 2)) as [number, number];
    else if (m.opts.padding === 'valid') padding = [0, 0];
    else padding = pair(m.opts.padding, 0);
    return { kernel: m.kernelSize, stride: pair(m.opts.stride, 1), padding, dilation };
  }
  if (m instanceof MaxPool2d || m instanceof AvgPool2d) {
    const kernel = pair(m.opts.kernelSize, 1);
    const dilation = m instanceof MaxPool2d ? pair(m.opts.dilation, 1) : ([1, 1] as [number, number]);
    return { kernel, stride: m.opts.stride === undefined ? kernel : pair(m.opts.stride, 1), padding: pair(m.opts.padding, 0), dilation };
  }
  return null;
}

/**
 * The receptive-field geometry of `layer` (a path as nn.summary prints it) for inputs of
 * `inputShape` [N, C, H, W]. Found by one forward pass on zeros with a hook on every leaf module:
 * each module's output takes the geometry of its input composed with its window, so the chain
 * followed is the one the data takes (a functional op between modules keeps the geometry of the
 * last module output of the same spatial size). A module that changes the spatial size without a
 * window it can describe (a transposed conv, upsampling, adaptive pooling, flatten) ends the
 * geometry: asking for a layer after it is an error naming it.
 */
export function receptiveField(model: Module, layer: string, inputShape: readonly number[]): LayerGeometry {
  if (inputShape.length !== 4) throw new Error(`glassbox.xai.units: receptiveField needs an input shape [N, C, H, W], got ${shapeStr(inputShape)}`);
  const modules = model.namedModules();
  const known = new Map(modules);
  const target = known.get(layer);
  if (!target) throw new Error(`glassbox.xai.units: no layer '${layer}'; the layers are ${modules.map(([n]) => `'${n}'`).filter((n) => n !== "''").join(', ')}`);
  type Traced = { geometry: Geometry | null; windows: LayerGeometry['windows']; brokenBy?: string };
  const traced = new Map<Tensor, Traced>();
  let last: { out: Tensor; t: Traced } | null = null;
  let targetOut: Tensor | null = null;
  const wasTraining = modules.map(([, m]) => m.training);
  const input = { t: null as Tensor | null };
  const spatial = (t: Tensor): string => t.shape.slice(2).join('x');
  const leaves = modules.filter(([, m]) => m.namedChildren().length === 0);
  const removers = leaves.map(([path, m]) =>
    m.registerForwardHook((_mod, inputs, out) => {
      const x = inputs[0] as Tensor | undefined;
      let from: Traced | undefined = x ? traced.get(x) : undefined;
      if (!from && x === input.t) from = { geometry: IDENTITY_GEOMETRY, windows: [] };
      if (!from && last && x && spatial(last.out) === spatial(x)) from = last.t;
      if (!from) from = { geometry: null, windows: [], brokenBy: `the input of '${path}' (produced outside any module)` };
      let t: Traced;
      if (!from.geometry || !x) t = from;
      else {
        const step = out.rank === 4 && x.rank === 4 ? windowOf(m) : null;
        if (step) t = { geometry: composeWindow(from.geometry, step), windows: [...from.windows, { path, type: m.constructor.name, step }] };
        else if (out.rank === 4 && x.rank === 4 && spatial(out) === spatial(x)) t = from;
        else t = { geometry: null, windows: from.windows, brokenBy: `'${path}' (${m.constructor.name}, ${shapeStr(x.shape)} -> ${shapeStr(out.shape)})` };
      }
      traced.set(out, t);
      last = { out, t };
    }),
  );
  const removeTarget = target.registerForwardHook((_m, _i, out) => {
    targetOut ??= out;
  });
  try {
    model.eval();
    tidy(() =>
      noGrad(() => {
        input.t = zeros([...inputShape]);
        model.forward(input.t);
      }),
    );
  } finally {
    removers.forEach((r) => r());
    removeTarget();
    modules.forEach(([, m], i) => (m.training = wasTraining[i]!));
  }
  const out = targetOut as Tensor | null;
  if (!out) throw new Error(`glassbox.xai.units: layer '${layer}' did not run in the forward pass`);
  if (out.rank !== 4) throw new Error(`glassbox.xai.units: layer '${layer}' outputs ${shapeStr(out.shape)}; a receptive field needs a feature map [N, C, h, w] (pick a conv layer or one after it)`);
  const t = traced.get(out) ?? (out === input.t ? { geometry: IDENTITY_GEOMETRY, windows: [] } : undefined);
  if (!t?.geometry) throw new Error(`glassbox.xai.units: layer '${layer}' has no receptive field to compute: ${t?.brokenBy ?? 'its output was not traced'} changes the spatial size without a window`);
  return { layer, ...t.geometry, windows: t.windows, outputShape: [out.shape[1]!, out.shape[2]!, out.shape[3]!], inputShape: [...inputShape] };
}
