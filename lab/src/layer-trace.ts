/**
 * Backprop made visible: every layer's activation in the forward pass and the gradient of the
 * target score with respect to it in the backward pass, with the ReLU's backward replaced by
 * guided backprop's or the deconvnet's rule (glassbox's own rules, src/xai/backprop-rules.ts).
 * The last entry is the input and its gradient: the saliency map under that rule. Shared by the
 * page (backprop-view.ts) and the browser test.
 */
import * as gb from '../../src/index.ts';

export type ReluRule = 'gradient' | 'guided' | 'deconvnet';
export const RELU_RULES: readonly ReluRule[] = ['gradient', 'guided', 'deconvnet'];

const RULES: Record<Exclude<ReluRule, 'gradient'>, gb.BackwardRule> = { guided: gb.xai.guidedReluRule, deconvnet: gb.xai.deconvnetReluRule };

export interface LayerState {
  /** Module path ('features.0'), or 'input'. */
  name: string;
  /** The module's class: Conv2d, ReLU, MaxPool2d, Linear, ... */
  kind: string;
  /** Without the batch axis: [C, H, W] or [features]. */
  shape: number[];
  activation: Float32Array;
  gradient: Float32Array;
}

/** Forward and backward through `model` for `input` [1, C, H, W] and class `target`; layers in forward order, then the input. */
export async function layerTrace(model: gb.nn.Module, input: gb.Tensor, target: number, rule: ReluRule): Promise<LayerState[]> {
  const leaves = model.namedModules().filter(([name, m]) => name !== '' && m.namedModules().length === 1 && !(m instanceof gb.nn.Flatten));
  const seen: Array<{ name: string; kind: string; out: gb.Tensor }> = [];
  const removers = leaves.map(([name, m]) =>
    m.registerForwardHook((_m, _inputs, out) => {
      seen.push({ name, kind: m.constructor.name, out });
      return out;
    }),
  );
  let tensors: { acts: gb.Tensor[]; grads: gb.Tensor[] };
  try {
    const run = () => {
      const x = input.detach().requiresGrad_();
      const score = gb.sum(gb.xai.targetScores(model.forward(x), target));
      const acts = [...seen.map((s) => s.out), x];
      return { acts, grads: gb.grad(score, acts) };
    };
    tensors = gb.tidy(() => (rule === 'gradient' ? run() : gb.withBackwardRule('relu', RULES[rule], run)));
  } finally {
    removers.forEach((remove) => remove());
  }
  const names = [...seen.map((s) => ({ name: s.name, kind: s.kind })), { name: 'input', kind: 'Input' }];
  const out = await Promise.all(
    names.map(async ({ name, kind }, i) => ({
      name,
      kind,
      shape: tensors.acts[i]!.shape.slice(1),
      activation: Float32Array.from(await tensors.acts[i]!.toArray()),
      gradient: Float32Array.from(await tensors.grads[i]!.toArray()),
    })),
  );
  [...tensors.acts, ...tensors.grads].forEach((t) => t.dispose());
  return out as LayerState[];
}
