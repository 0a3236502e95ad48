/**
 * Run-time option checks (issue 23): every exported op of src/tensor/ops that takes an options
 * object, found by scanning the sources (so a new one must join the table), is fed an unknown
 * key and a value of the wrong kind, and must throw naming the op, the option and the fix.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';

type Opts = Record<string, unknown>;
const x4 = () => gb.ones([1, 2, 4, 4]);
const w4 = () => gb.ones([2, 2, 3, 3]);
const logits = () => gb.zeros([2, 3]);
const labels = () => gb.tensor(new Int32Array([0, 2]), [2]);
const t = gb.ones([2]); // a tensor where a number goes

/** Each op's call with options `o`, and one wrong option of the right key but the wrong kind. */
const CASES: Record<string, { call: (o: Opts) => unknown; wrong: Opts; message: RegExp }> = {
  conv2d: { call: (o) => gb.conv2d(x4(), w4(), null, o), wrong: { stride: t }, message: /option stride must be an integer or a pair .*got a tensor of shape \[2\]/ },
  convTranspose2d: { call: (o) => gb.convTranspose2d(x4(), w4(), null, o), wrong: { groups: '2' }, message: /option groups must be an integer, got "2"/ },
  unfold: { call: (o) => gb.unfold(x4(), { kernelSize: 2, ...o }), wrong: { padding: [1, 1, 1] }, message: /option padding must be an integer or a pair/ },
  fold: { call: (o) => gb.fold(gb.ones([1, 8, 9]), { kernelSize: 2, outputSize: 4, ...o }), wrong: { outputSize: 'auto' }, message: /option outputSize must be/ },
  tensor: { call: (o) => gb.tensor([1, 2], o), wrong: { dtype: 'float64' }, message: /option dtype must be a dtype name \('float32', 'int32', 'uint32'\), got "float64"/ },
  full: { call: (o) => gb.full([2], 1, 'float32', o), wrong: { requiresGrad: 1 }, message: /option requiresGrad must be true or false, got 1/ },
  zeros: { call: (o) => gb.zeros([2], o), wrong: { dtype: 'int64' }, message: /glassbox.zeros: option dtype must be a dtype name/ },
  ones: { call: (o) => gb.ones([2], o), wrong: { dtype: 'bool' }, message: /glassbox.ones: option dtype/ },
  zerosLike: { call: (o) => gb.zerosLike(t, o), wrong: { dtype: 'half' }, message: /option dtype/ },
  onesLike: { call: (o) => gb.onesLike(t, o), wrong: { dtype: 'half' }, message: /option dtype/ },
  fullLike: { call: (o) => gb.fullLike(t, 3, o), wrong: { dtype: 'half' }, message: /option dtype/ },
  arange: { call: (o) => gb.arange(3, o), wrong: { dtype: 'int8' }, message: /glassbox.arange: option dtype/ },
  linspace: { call: (o) => gb.linspace(0, 1, 3, o), wrong: { requiresGrad: 'yes' }, message: /glassbox.linspace: option requiresGrad/ },
  eye: { call: (o) => gb.eye(2, 2, o), wrong: { dtype: 'f32' }, message: /glassbox.eye: option dtype/ },
  rand: { call: (o) => gb.rand([2], o), wrong: { requiresGrad: t }, message: /glassbox.rand: option requiresGrad must be true or false, got a tensor/ },
  randn: { call: (o) => gb.randn([2], o), wrong: { dtype: 'float16' }, message: /glassbox.randn: option dtype/ },
  uniform: { call: (o) => gb.uniform([2], 0, 1, o), wrong: { dtype: 'float16' }, message: /glassbox.uniform: option dtype/ },
  normal: { call: (o) => gb.normal([2], 0, 1, o), wrong: { dtype: 'float16' }, message: /glassbox.normal: option dtype/ },
  gelu: { call: (o) => gb.gelu(t, o), wrong: { approximate: true }, message: /option approximate must be 'none' or 'tanh', got true/ },
  leakyRelu: { call: (o) => gb.leakyRelu(t, o), wrong: { negativeSlope: t }, message: /option negativeSlope must be a finite number, got a tensor of shape \[2\] \(float32\); pass a plain number \(read a one-element tensor with await t.item\(\)\)/ },
  elu: { call: (o) => gb.elu(t, o), wrong: { alpha: '1' }, message: /option alpha must be a finite number, got "1"/ },
  softplus: { call: (o) => gb.softplus(t, o), wrong: { beta: t }, message: /option beta must be a finite number, got a tensor/ },
  clamp: { call: (o) => gb.clamp(t, { min: 0, ...o }), wrong: { max: [1, 2] }, message: /option max must be a number or a tensor, got \[1, 2\]/ },
  nllLoss: { call: (o) => gb.nllLoss(logits(), labels(), o), wrong: { reduction: 'avg' }, message: /option reduction must be 'mean' or 'sum' or 'none', got "avg"/ },
  crossEntropy: { call: (o) => gb.crossEntropy(logits(), labels(), o), wrong: { labelSmoothing: t }, message: /option labelSmoothing must be a finite number, got a tensor/ },
  mseLoss: { call: (o) => gb.mseLoss(t, t, o), wrong: { reduction: 'mean ' }, message: /option reduction/ },
  l1Loss: { call: (o) => gb.l1Loss(t, t, o), wrong: { reduction: 1 }, message: /option reduction/ },
  binaryCrossEntropyWithLogits: { call: (o) => gb.binaryCrossEntropyWithLogits(t, t, o), wrong: { reduction: null }, message: /option reduction/ },
  multiMarginLoss: { call: (o) => gb.multiMarginLoss(logits(), labels(), o), wrong: { margin: t }, message: /option margin must be a finite number/ },
  batchNorm: { call: (o) => gb.batchNorm(x4(), null, null, null, null, { training: true, ...o }), wrong: { eps: t }, message: /glassbox.batchNorm: option eps must be a finite number/ },
  dropout: { call: (o) => gb.dropout(t, o), wrong: { p: t }, message: /glassbox.dropout: option p must be a finite number, got a tensor/ },
  maxPool2dWithIndices: { call: (o) => gb.maxPool2dWithIndices(x4(), { kernelSize: 2, ...o }), wrong: { kernelSize: t }, message: /glassbox.maxPool2d: option kernelSize must be an integer or a pair/ },
  maxPool2d: { call: (o) => gb.maxPool2d(x4(), { kernelSize: 2, ...o }), wrong: { ceilMode: 'true' }, message: /option ceilMode must be true or false/ },
  reluMaxPool2d: { call: (o) => gb.reluMaxPool2d(x4(), { kernelSize: 2, ...o }), wrong: { stride: [1, 1, 1] }, message: /option stride must be an integer or a pair/ },
  avgPool2d: { call: (o) => gb.avgPool2d(x4(), { kernelSize: 2, ...o }), wrong: { countIncludePad: 0 }, message: /option countIncludePad must be true or false/ },
  sum: { call: (o) => gb.sum(t, o), wrong: { dim: t }, message: /glassbox.sum: option dim must be a dimension \(an integer\) or an array of them, got a tensor/ },
  mean: { call: (o) => gb.mean(t, o), wrong: { keepdim: 1 }, message: /glassbox.mean: option keepdim must be true or false/ },
  prod: { call: (o) => gb.prod(t, o), wrong: { dim: '0' }, message: /glassbox.prod: option dim/ },
  amax: { call: (o) => gb.amax(t, o), wrong: { dim: 0.5 }, message: /glassbox.amax: option dim/ },
  amin: { call: (o) => gb.amin(t, o), wrong: { dim: [0.5] }, message: /glassbox.amin: option dim/ },
  max: { call: (o) => gb.max(t, { dim: 0, ...o } as { dim: number }), wrong: { dim: [0] }, message: /glassbox.max: option dim must be an integer, got \[0\]/ },
  min: { call: (o) => gb.min(t, { dim: 0, ...o } as { dim: number }), wrong: { keepdim: 'no' }, message: /glassbox.min: option keepdim/ },
  argmax: { call: (o) => gb.argmax(t, o), wrong: { dim: t }, message: /glassbox.argmax: option dim must be an integer, got a tensor/ },
  argmin: { call: (o) => gb.argmin(t, o), wrong: { dim: t }, message: /glassbox.argmin: option dim/ },
  variance: { call: (o) => gb.variance(t, o), wrong: { correction: t }, message: /glassbox.var: option correction must be a finite number/ },
  std: { call: (o) => gb.std(t, o), wrong: { correction: '1' }, message: /glassbox.var: option correction/ },
  logsumexp: { call: (o) => gb.logsumexp(t, { dim: 0, ...o }), wrong: { dim: undefined }, message: /glassbox.logsumexp: option dim is required/ },
  norm: { call: (o) => gb.norm(t, o), wrong: { p: t }, message: /glassbox.norm: option p must be a finite number/ },
  interpolate: { call: (o) => gb.interpolate(x4(), { size: 8, ...o }), wrong: { mode: 'bicubic' }, message: /option mode must be 'nearest' or 'bilinear', got "bicubic"/ },
  gridSample: { call: (o) => gb.gridSample(x4(), gb.zeros([1, 3, 3, 2]), o), wrong: { paddingMode: 'reflection' }, message: /glassbox.gridSample: option paddingMode must be 'zeros' or 'border', got "reflection"/ },
  affineGrid: { call: (o) => gb.affineGrid(gb.zeros([1, 2, 3]), [1, 2, 4, 4], o), wrong: { alignCorners: 1 }, message: /glassbox.affineGrid: option alignCorners must be true or false, got 1/ },
};

/** Exported functions of src/tensor/ops whose signature takes an options object. */
function opsTakingOptions(): string[] {
  const names: string[] = [];
  for (const file of readdirSync('src/tensor/ops')) {
    const text = readFileSync(join('src/tensor/ops', file), 'utf8');
    for (const m of text.matchAll(/^export (?:function (\w+)\(|const (\w+) = \()([^\n]*)/gm)) {
      const name = m[1] ?? m[2]!;
      if (/\bopts\??:/.test(m[3]!)) names.push(name);
    }
  }
  // elementwiseKernel's options are the kernel generator's, not a user's
  return [...new Set(names)].filter((n) => n !== 'elementwiseKernel').sort();
}

describe('option validation', () => {
  it('the table covers every op of src/tensor/ops taking options', () => {
    expect(opsTakingOptions()).toEqual(Object.keys(CASES).sort());
  });

  for (const [name, c] of Object.entries(CASES)) {
    it(`${name}: valid options run, an unknown key and a wrong kind throw`, () => {
      expect(() => c.call({})).not.toThrow();
      expect(() => c.call({ bogusOption: 1 })).toThrow(/unknown option 'bogusOption'; the options are /);
      expect(() => c.call(c.wrong)).toThrow(c.message);
    });
  }

  it('a misspelt option suggests the right one; options that are not an object are refused', () => {
    expect(() => gb.conv2d(x4(), w4(), null, { strides: 2 } as Opts)).toThrow(/unknown option 'strides' \(did you mean 'stride'\?\); the options are stride, padding, dilation, groups/);
    expect(() => gb.sum(t, 0 as unknown as Opts)).toThrow(/glassbox.sum: the options must be an object such as \{dim: \.\.\., keepdim: \.\.\.\}, got 0/);
  });

  it('grad and backward check theirs', () => {
    const x = gb.tensor([1, 2], { requiresGrad: true });
    expect(() => gb.grad([gb.sum(x)], [x], { create_graph: true } as Opts)).toThrow(/glassbox.grad: unknown option 'create_graph'.*createGraph/);
    expect(() => gb.grad([gb.sum(x)], [x], { gradOutputs: 1 } as unknown as Opts)).toThrow(/option gradOutputs must be a tensor or an array of tensors/);
    expect(() => gb.backward(gb.sum(x), { retainGraph: true } as unknown as gb.Tensor)).toThrow(/gradOutput must be a tensor.*options go third/);
  });
});
