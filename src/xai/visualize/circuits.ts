/**
 * E9 circuits (Olah et al. 2020, "Zoom In"): a unit (channel) of a conv layer is read as a
 * weighted sum of the channels of the previous conv layer. For one unit this finds its strongest
 * inputs (by the L2 norm of the connecting k x k weights, and by their mean contribution on the
 * unit's top data set activations, found with ../units topActivations), and edits the circuit:
 * zero one connection (input channel i's k x k weights into the unit) or a whole input channel
 * (the previous conv's filter i and bias), then measures the unit's pre-activation on its top
 * patches again. The weights are always restored, even when the measurement throws.
 *
 * The contribution of input channel i at output position (y, x) is the correlation of the conv's
 * input channel i with W[unit, i] at that window; the unit's pre-activation is the bias plus the
 * sum of the contributions, so zeroing a connection lowers it by exactly that contribution.
 */
import { noGrad } from '../../autograd/node.ts';
import { normalize, type Normalization } from '../../data/normalization.ts';
import { Conv2d } from '../../nn/conv-layers.ts';
import type { Module } from '../../nn/module.ts';
import { conv2d } from '../../tensor/ops/conv.ts';
import { tensor } from '../../tensor/ops/creation.ts';
import { indexSelect } from '../../tensor/ops/indexing.ts';
import { select, slice } from '../../tensor/ops/views.ts';
import { tidy, type Tensor } from '../../tensor/tensor.ts';
import { topActivations, type TopActivation } from '../units/statistics.ts';

const fail = (message: string): never => {
  throw new Error(`glassbox.xai.circuits: ${message}`);
};

/** The Conv2d at `path`; anything else is refused with the model's conv paths. */
export function convAt(model: Module, path: string): Conv2d {
  const convs = model.namedModules().filter(([, m]) => m instanceof Conv2d);
  const found = convs.find(([p]) => p === path);
  if (!found) fail(`'${path}' is not a Conv2d layer of the model; its conv layers are ${convs.map(([p]) => p).join(', ') || '(none)'}`);
  const conv = found![1] as Conv2d;
  if ((conv.opts.groups ?? 1) !== 1) fail(`layer '${path}' is a grouped convolution (groups ${conv.opts.groups}); circuits read ungrouped ones`);
  return conv;
}

/** The conv layer that runs before `layer` (in module order): the layer whose channels are the unit's inputs. */
export function previousConv(model: Module, layer: string): string {
  convAt(model, layer);
  const convs = model.namedModules().filter(([, m]) => m instanceof Conv2d).map(([p]) => p);
  const at = convs.indexOf(layer);
  if (at === 0) fail(`layer '${layer}' is the first conv layer: its inputs are the image's channels, not units; pick a later conv (${convs.slice(1).join(', ') || 'the model has no other'})`);
  return convs[at - 1]!;
}

/** The unit's pre-activation (the conv's output) and every input channel's contribution to it, at given positions. */
export interface UnitDecomposition {
  /** Per position: the conv's output for the unit. */
  preActivation: number[];
  /** Per position, per input channel: the correlation of the conv's input channel with the connecting weights there. */
  contributions: number[][];
  bias: number;
}

export interface UnitPosition {
  /** Index into the images given. */
  image: number;
  y: number;
  x: number;
}

function checkChannel(conv: Conv2d, layer: string, channel: number): void {
  if (!(Number.isInteger(channel) && channel >= 0 && channel < conv.outChannels)) fail(`channel ${channel} is out of range: layer '${layer}' has ${conv.outChannels} channels (0 to ${conv.outChannels - 1})`);
}

/** Runs the positions' images through the model (eval mode, no gradients) and splits the unit's pre-activation into per-input-channel contributions. */
export async function decomposeUnit(model: Module, images: Tensor, opts: { layer: string; channel: number; positions: readonly UnitPosition[]; normalization?: Normalization }): Promise<UnitDecomposition> {
  const conv = convAt(model, opts.layer);
  checkChannel(conv, opts.layer, opts.channel);
  const { positions, channel } = opts;
  if (positions.length === 0) return { preActivation: [], contributions: [], bias: conv.bias ? (await conv.bias.toArray())[channel]! : 0 };
  const cin = conv.inChannels;
  const wasTraining = model.namedModules().map(([, m]) => [m, m.training] as const);
  model.eval();
  try {
    const [maps, pre] = noGrad(() =>
      tidy(() => {
        const rows = tensor(positions.map((p) => p.image), [positions.length], { dtype: 'int32' });
        let x = indexSelect(images, 0, rows);
        if (opts.normalization) x = normalize(x, opts.normalization);
        let input: Tensor | undefined;
        let output: Tensor | undefined;
        const remove = conv.registerForwardHook((_m, inputs, out) => void ((input = inputs[0] as Tensor), (output = out)));
        try {
          model.forward(x);
        } finally {
          remove();
        }
        if (!input || !output) fail(`layer '${opts.layer}' did not run in the forward pass`);
        // W[channel] as Cin one-channel filters: a grouped conv gives every input channel's own correlation map
        const w = slice(conv.weight, 0, { start: channel, end: channel + 1 }).reshape(cin, 1, ...conv.kernelSize);
        const { stride, padding, dilation } = conv.opts;
        return [conv2d(input!, w, null, { stride, padding, dilation, groups: cin }), select(output!, 1, channel)];
      }),
    );
    try {
      const [m, p] = [await maps.toArray(), await pre.toArray()];
      const [, , h, w] = maps.shape as [number, number, number, number];
      return {
        preActivation: positions.map((q, i) => p[(i * h + q.y) * w + q.x]!),
        contributions: positions.map((q, i) => Array.from({ length: cin }, (_, c) => m[((i * cin + c) * h + q.y) * w + q.x]!)),
        bias: conv.bias ? (await conv.bias.toArray())[channel]! : 0,
      };
    } finally {
      maps.dispose();
      pre.dispose();
    }
  } finally {
    wasTraining.forEach(([m, t]) => (m.training = t));
  }
}

/** A circuit edit: one connection into the unit, or a whole channel of the previous conv layer. */
export type CircuitEdit = { kind: 'connection'; layer: string; channel: number; input: number } | { kind: 'input-channel'; layer: string; input: number };

/**
 * Runs `fn` with the edit's weights zeroed, and restores them (bit for bit) afterwards, also when
 * `fn` throws. A connection zeroes W[channel, input] of `layer`; an input channel zeroes filter
 * `input` and its bias in the conv before `layer`, so that channel is 0 for every unit after it
 * (when the layers between map 0 to 0, as ReLU and max pooling do).
 */
export async function withCircuitEdit<T>(model: Module, edit: CircuitEdit, fn: () => Promise<T>): Promise<T> {
  const conv = convAt(model, edit.layer);
  const target = edit.kind === 'connection' ? conv : convAt(model, previousConv(model, edit.layer));
  if (!(Number.isInteger(edit.input) && edit.input >= 0 && edit.input < conv.inChannels)) fail(`input channel ${edit.input} is out of range: layer '${edit.layer}' reads ${conv.inChannels} channels (0 to ${conv.inChannels - 1})`);
  if (edit.kind === 'connection') checkChannel(conv, edit.layer, edit.channel);
  const [kh, kw] = target.kernelSize;
  const per = target.weight.shape[1]! * kh * kw;
  const saved: Array<[Tensor, Float32Array, number, number]> = [];
  // the block of values zeroed: the k x k weights of one connection, or one filter (and its bias)
  if (edit.kind === 'connection') saved.push([target.weight, Float32Array.from(await target.weight.toArray()), (edit.channel * target.inChannels + edit.input) * kh * kw, kh * kw]);
  else {
    saved.push([target.weight, Float32Array.from(await target.weight.toArray()), edit.input * per, per]);
    if (target.bias) saved.push([target.bias, Float32Array.from(await target.bias.toArray()), edit.input, 1]);
  }
  const put = (values: Float32Array[]) => noGrad(() => saved.forEach(([t], i) => t.assign(tensor(values[i]!, [...t.shape]))));
  put(saved.map(([, v, start, length]) => v.slice().fill(0, start, start + length)));
  try {
    return await fn();
  } finally {
    put(saved.map(([, v]) => v));
  }
}

export interface CircuitInput {
  /** Channel of the previous conv layer. */
  channel: number;
  /** The k x k weights into the unit, row-major. */
  weights: number[];
  /** Their L2 norm, and its rank among the inputs (0 = strongest). */
  norm: number;
  normRank: number;
  /** Mean contribution to the unit's pre-activation over its top patches, and the rank of that (0 = most positive). */
  contribution: number;
  contributionRank: number;
}

export interface CircuitEditResult {
  edit: CircuitEdit;
  /** The unit's pre-activation on each top patch, before and after the edit. */
  before: number[];
  after: number[];
  /** Mean of after - before. */
  meanChange: number;
}

export interface Circuit {
  layer: string;
  channel: number;
  /** The conv layer whose channels feed the unit. */
  inputLayer: string;
  kernel: [number, number];
  bias: number;
  /** The unit's top activations over the images (pre-activation, strongest first). */
  patches: TopActivation[];
  /** Every input channel, strongest first by `rankBy`. */
  inputs: CircuitInput[];
  rankBy: 'weight' | 'contribution';
}

export interface CircuitOptions {
  layer: string;
  channel: number;
  /** Top activations the contributions are averaged over (default 9). */
  patches?: number;
  /** Inputs ranked by the weights' L2 norm (default) or by mean contribution on the top patches. */
  rankBy?: 'weight' | 'contribution';
  normalization?: Normalization;
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
}

const ranks = (values: readonly number[]): number[] => {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const out = new Array<number>(values.length);
  order.forEach(([, i], r) => (out[i] = r));
  return out;
};

/** The unit's circuit over `images` [N, C, H, W] (in [0, 1] when `normalization` is given). */
export async function unitCircuit(model: Module, images: Tensor, opts: CircuitOptions): Promise<Circuit> {
  const conv = convAt(model, opts.layer);
  checkChannel(conv, opts.layer, opts.channel);
  const inputLayer = previousConv(model, opts.layer);
  const found = await topActivations(model, images, { layer: opts.layer, k: opts.patches ?? 9, channels: [opts.channel], normalization: opts.normalization, batchSize: opts.batchSize, onProgress: opts.onProgress });
  const patches = found.top[0]!;
  const parts = await decomposeUnit(model, images, { layer: opts.layer, channel: opts.channel, positions: patches, normalization: opts.normalization });
  const [kh, kw] = conv.kernelSize;
  const all = await conv.weight.toArray();
  const cin = conv.inChannels;
  const weights = Array.from({ length: cin }, (_, i) => Array.from(all.subarray((opts.channel * cin + i) * kh * kw, (opts.channel * cin + i + 1) * kh * kw)));
  const norms = weights.map((w) => Math.hypot(...w));
  const contributions = weights.map((_, i) => parts.contributions.reduce((s, c) => s + c[i]!, 0) / Math.max(1, patches.length));
  const [normRanks, contributionRanks] = [ranks(norms), ranks(contributions)];
  const rankBy = opts.rankBy ?? 'weight';
  const inputs = weights
    .map((w, i) => ({ channel: i, weights: w, norm: norms[i]!, normRank: normRanks[i]!, contribution: contributions[i]!, contributionRank: contributionRanks[i]! }))
    .sort((a, b) => (rankBy === 'weight' ? a.normRank - b.normRank : a.contributionRank - b.contributionRank));
  return { layer: opts.layer, channel: opts.channel, inputLayer, kernel: [kh, kw], bias: parts.bias, patches, inputs, rankBy };
}

/** The unit's pre-activation on its top patches before and after `edit` (the weights are restored afterwards). */
export async function measureEdit(model: Module, images: Tensor, circuit: Circuit, edit: CircuitEdit, normalization?: Normalization): Promise<CircuitEditResult> {
  const read = async () => (await decomposeUnit(model, images, { layer: circuit.layer, channel: circuit.channel, positions: circuit.patches, normalization })).preActivation;
  const before = await read();
  const after = await withCircuitEdit(model, edit, read);
  const meanChange = before.reduce((s, b, i) => s + after[i]! - b, 0) / Math.max(1, before.length);
  return { edit, before, after, meanChange };
}
