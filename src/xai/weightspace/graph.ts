/**
 * Which hidden units connect to which: the chain of Conv2d / Linear layers of a network (with the
 * batch norm that follows a layer, and the flatten between the last conv and the first linear),
 * found by one traced forward pass. Each hidden layer's outputs form a *unit group*: its channels
 * (conv) or neurons (linear). Permuting a group reorders dim 0 of every tensor that indexes those
 * units (the layer's weight and bias, the batch norm's weight, bias and running statistics) and
 * the matching input slice of the next layer (a conv's input channels; after a flatten, the
 * block of spatial positions that each channel became).
 *
 * Only chains are modelled: a net whose layers do not feed one another in order (ResNet's
 * shortcuts, grouped convolutions) is refused by the checks in symmetry.ts, which apply a random
 * symmetry and compare outputs.
 */
import { BatchNorm } from '../../nn/conv-layers.ts';
import { Conv2d } from '../../nn/conv-layers.ts';
import { Linear } from '../../nn/layers.ts';
import type { Module } from '../../nn/module.ts';
import { noGrad } from '../../autograd/node.ts';
import { zeros } from '../../tensor/ops/creation.ts';
import { tidy } from '../../tensor/tensor.ts';
import { shapeStr } from '../../tensor/shape.ts';

/** One permutable set of hidden units: the outputs of one Conv2d or Linear layer. */
export interface UnitGroup {
  /** The layer whose outputs the units are ('features.0'). */
  layer: string;
  kind: 'channel' | 'neuron';
  size: number;
  /** Tensors whose dim 0 indexes the units: the layer's weight and bias, then its batch norm's weight, bias, runningMean, runningVar. */
  rows: string[];
  /**
   * The tensors multiplied by c when a unit's output is scaled by c > 0: the layer's weight and
   * bias, or, where batch norm follows, the batch norm's weight and bias (batch norm divides any
   * scale of its input away, so the scale that reaches the ReLU is set by its affine part).
   * Empty when batch norm has no affine part (then the units cannot be rescaled).
   */
  scaled: string[];
  /** The batch norm after the layer, if any. */
  batchNorm?: string;
  /** The next layer: its weight, seen as [outputs, units, block], takes these units as inputs. */
  consumer: { layer: string; weight: string; block: number };
}

export interface UnitGraph {
  /** Hidden unit groups, from the input side to the output side. */
  groups: UnitGroup[];
  /** Every Conv2d / Linear layer in the order the forward pass calls them. */
  layers: string[];
  /** The input shape the graph was traced with ([C, H, W] or [features]). */
  inputShape: number[];
}

interface Call {
  path: string;
  module: Module;
  input: number[];
  output: number[];
}

/** The Conv2d, Linear and BatchNorm layers in the order one forward pass calls them, with their shapes. */
function traceCalls(model: Module, inputShape: readonly number[]): Call[] {
  const calls: Call[] = [];
  const tracked = model.namedModules().filter(([, m]) => m instanceof Conv2d || m instanceof Linear || m instanceof BatchNorm);
  const removers = tracked.map(([path, m]) => m.registerForwardHook((_, inputs, output) => void calls.push({ path, module: m, input: [...(inputs[0] as { shape: number[] }).shape], output: [...output.shape] })));
  const wasTraining = model.training;
  model.eval();
  try {
    tidy(() => noGrad(() => void model.forward(zeros([1, ...inputShape]))));
  } finally {
    removers.forEach((remove) => remove());
    model.train(wasTraining);
  }
  const seen = new Set<string>();
  for (const c of calls) {
    if (seen.has(c.path)) throw new Error(`glassbox.weightspace: layer '${c.path}' runs twice in one forward pass; only chains of layers (each used once) are supported`);
    seen.add(c.path);
  }
  return calls;
}

const paramName = (layer: string, field: string) => (layer ? `${layer}.${field}` : field);

/**
 * The unit groups of `model` for inputs of `inputShape` ([C, H, W], or [features] for an MLP).
 * Throws for a layer type that cannot be permuted (grouped conv), a batch norm that does not
 * directly follow its layer, or a model with no hidden units (a linear classifier).
 */
export function unitGraph(model: Module, inputShape: readonly number[]): UnitGraph {
  const calls = traceCalls(model, inputShape);
  const layers = calls.filter((c) => !(c.module instanceof BatchNorm));
  if (layers.length === 0) throw new Error('glassbox.weightspace: the model has no Conv2d or Linear layer, so no units to permute or rescale');
  const groups: UnitGroup[] = [];
  for (let i = 0; i + 1 < layers.length; i++) {
    const producer = layers[i]!;
    const next = layers[i + 1]!;
    const m = producer.module as Conv2d | Linear;
    if (m instanceof Conv2d && (m.opts.groups ?? 1) !== 1) throw new Error(`glassbox.weightspace: '${producer.path}' is a grouped convolution (groups ${m.opts.groups}); permuting its channels is not supported`);
    const size = m instanceof Conv2d ? m.outChannels : m.outFeatures;
    const rows = [paramName(producer.path, 'weight'), ...(m.bias ? [paramName(producer.path, 'bias')] : [])];
    let scaled = [...rows];
    let batchNorm: string | undefined;
    const between = calls.slice(calls.indexOf(producer) + 1, calls.indexOf(next));
    for (const bn of between) {
      const b = bn.module as BatchNorm;
      if (bn !== calls[calls.indexOf(producer) + 1] || b.numFeatures !== size)
        throw new Error(`glassbox.weightspace: batch norm '${bn.path}' (${b.numFeatures} features) does not directly follow '${producer.path}' (${size} units); only layer -> batch norm -> activation chains are supported`);
      batchNorm = bn.path;
      const affine = b.weight ? [paramName(bn.path, 'weight'), ...(b.bias ? [paramName(bn.path, 'bias')] : [])] : [];
      rows.push(...affine, paramName(bn.path, 'runningMean'), paramName(bn.path, 'runningVar'));
      scaled = affine;
    }
    const n = next.module as Conv2d | Linear;
    const inputs = n instanceof Conv2d ? n.inChannels : n.inFeatures;
    let block: number;
    if (n instanceof Conv2d) {
      if (inputs !== size) throw new Error(`glassbox.weightspace: '${next.path}' takes ${inputs} channels but '${producer.path}' before it gives ${size}; the layers do not form a chain`);
      block = n.kernelSize[0] * n.kernelSize[1];
    } else {
      // after a flatten, channel c's spatial positions are the inputs c*S .. c*S + S - 1
      if (inputs % size !== 0) throw new Error(`glassbox.weightspace: '${next.path}' takes ${inputs} features, not a multiple of the ${size} units of '${producer.path}' (output ${shapeStr(producer.output)}); the layers do not form a chain`);
      block = inputs / size;
    }
    groups.push({ layer: producer.path, kind: m instanceof Conv2d ? 'channel' : 'neuron', size, rows, scaled, ...(batchNorm ? { batchNorm } : {}), consumer: { layer: next.path, weight: paramName(next.path, 'weight'), block } });
  }
  if (groups.length === 0) throw new Error(`glassbox.weightspace: the model's only layer '${layers[0]!.path}' maps inputs to outputs directly; it has no hidden units to permute or rescale (a layer without units)`);
  return { groups, layers: layers.map((l) => l.path), inputShape: [...inputShape] };
}

/** The group of a layer by path, or an error listing the layers that have units. */
export function groupOf(graph: UnitGraph, layer: string): UnitGroup {
  const g = graph.groups.find((x) => x.layer === layer || x.batchNorm === layer);
  if (!g) throw new Error(`glassbox.weightspace: '${layer}' has no hidden units of its own (it is not a hidden Conv2d/Linear layer or its batch norm); layers with units: ${graph.groups.map((x) => x.layer).join(', ')}`);
  return g;
}
