/**
 * Run-time option checks (issue 23): every exported op of src/tensor/ops that takes an options
 * object, found by scanning the sources (so a new one must join the table), and every exported
 * class of nn, optim and xai (layers, optimisers, schedulers, explanation methods and their
 * attribute()), found by walking the namespaces, is fed an unknown key and a value of the wrong
 * kind, and must throw naming the op or class, the option and the fix.
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

/**
 * Beyond the ops: the nn layers' constructors, the optimisers and schedulers, and the explanation
 * methods (constructor options and attribute() options). Every exported class of those kinds must
 * appear here, either with a wrong option or as taking none.
 */
type ClassCase = { call: (o: Opts) => unknown; wrong: Opts; message: RegExp; positional?: boolean };
const params = () => [gb.ones([2], { requiresGrad: true })];
const sgd = () => new gb.optim.SGD(params(), { lr: 0.1 });
const net = () => new gb.nn.Sequential(new gb.nn.Conv2d(1, 2, 3, { padding: 1 }), new gb.nn.ReLU(), new gb.nn.AdaptiveAvgPool2d(1), new gb.nn.Flatten(), new gb.nn.Linear(2, 3));

const CONSTRUCTOR_CASES: Record<string, ClassCase> = {
  'nn.Linear': { call: (o) => new gb.nn.Linear(2, 3, o), wrong: { bias: 1 }, message: /glassbox.nn.Linear: option bias must be true or false, got 1/ },
  'nn.Conv2d': { call: (o) => new gb.nn.Conv2d(1, 2, 3, o), wrong: { padding: 'full' }, message: /glassbox.nn.Conv2d: option padding must be an integer or a pair .* or 'same' or 'valid', got "full"/ },
  'nn.ConvTranspose2d': { call: (o) => new gb.nn.ConvTranspose2d(1, 2, 3, o), wrong: { stride: t }, message: /glassbox.nn.ConvTranspose2d: option stride must be an integer or a pair .*got a tensor/ },
  'nn.MaxPool2d': { call: (o) => new gb.nn.MaxPool2d(2, o), wrong: { ceilMode: 'yes' }, message: /glassbox.nn.MaxPool2d: option ceilMode must be true or false, got "yes"/ },
  'nn.AvgPool2d': { call: (o) => new gb.nn.AvgPool2d(2, o), wrong: { countIncludePad: 1 }, message: /glassbox.nn.AvgPool2d: option countIncludePad must be true or false/ },
  'nn.BatchNorm': { call: (o) => new gb.nn.BatchNorm(3, o), wrong: { momentum: t }, message: /glassbox.nn.BatchNorm: option momentum must be a finite number, got a tensor/ },
  'nn.BatchNorm1d': { call: (o) => new gb.nn.BatchNorm1d(3, o), wrong: { affine: 'no' }, message: /glassbox.nn.BatchNorm1d: option affine must be true or false/ },
  'nn.BatchNorm2d': { call: (o) => new gb.nn.BatchNorm2d(3, o), wrong: { eps: '1e-5' }, message: /glassbox.nn.BatchNorm2d: option eps must be a finite number, got "1e-5"/ },
  'nn.Upsample': { call: (o) => new gb.nn.Upsample({ scaleFactor: 2, ...o }), wrong: { mode: 'bicubic' }, message: /glassbox.nn.Upsample: option mode must be 'nearest' or 'bilinear', got "bicubic"/ },
  'nn.LeakyReLU': { call: (o) => new gb.nn.LeakyReLU(o.negativeSlope as number), wrong: { negativeSlope: t }, message: /glassbox.nn.LeakyReLU: option negativeSlope must be a finite number, got a tensor.*await t.item\(\)/, positional: true },
  'nn.ELU': { call: (o) => new gb.nn.ELU(o.alpha as number), wrong: { alpha: '1' }, message: /glassbox.nn.ELU: option alpha must be a finite number, got "1"/, positional: true },
  'nn.Softplus': { call: (o) => new gb.nn.Softplus(o.beta as number, o.threshold as number), wrong: { threshold: t }, message: /glassbox.nn.Softplus: option threshold must be a finite number/, positional: true },
  'nn.Softmax': { call: (o) => new gb.nn.Softmax(o.dim as number), wrong: { dim: 0.5 }, message: /glassbox.nn.Softmax: option dim must be an integer, got 0.5/, positional: true },
  'nn.LogSoftmax': { call: (o) => new gb.nn.LogSoftmax(o.dim as number), wrong: { dim: t }, message: /glassbox.nn.LogSoftmax: option dim must be an integer, got a tensor/, positional: true },
  'nn.Flatten': { call: (o) => new gb.nn.Flatten(o.startDim as number), wrong: { startDim: '1' }, message: /glassbox.nn.Flatten: option startDim must be an integer/, positional: true },
  'nn.Dropout': { call: (o) => new gb.nn.Dropout(o.p as number), wrong: { p: t }, message: /glassbox.nn.Dropout: option p must be a finite number, got a tensor/, positional: true },
  'nn.AdaptiveAvgPool2d': { call: (o) => new gb.nn.AdaptiveAvgPool2d((o.outputSize as number) ?? 1), wrong: { outputSize: t }, message: /glassbox.nn.AdaptiveAvgPool2d: outputSize must be a positive integer or a pair .*got a tensor/, positional: true },
  'optim.SGD': { call: (o) => new gb.optim.SGD(params(), { lr: 0.1, ...o }), wrong: { lr: t }, message: /glassbox.optim.SGD: option lr must be a finite number, got a tensor/ },
  'optim.Adam': { call: (o) => new gb.optim.Adam(params(), o), wrong: { betas: [0.9] }, message: /glassbox.optim.Adam: option betas must be a pair \[beta1, beta2\] of numbers in \[0, 1\), got \[0.9\]/ },
  'optim.AdamW': { call: (o) => new gb.optim.AdamW(params(), o), wrong: { weightDecay: t }, message: /glassbox.optim.AdamW: option weightDecay must be a finite number, got a tensor/ },
  'optim.StepLR': { call: (o) => new gb.optim.StepLR(sgd(), { stepSize: 2, ...o }), wrong: { gamma: t }, message: /glassbox.optim.StepLR: option gamma must be a finite number/ },
  'optim.CosineAnnealingLR': { call: (o) => new gb.optim.CosineAnnealingLR(sgd(), { tMax: 10, ...o }), wrong: { etaMin: '0' }, message: /glassbox.optim.CosineAnnealingLR: option etaMin must be a finite number, got "0"/ },
  'optim.OneCycleLR': { call: (o) => new gb.optim.OneCycleLR(sgd(), { maxLr: 0.1, totalSteps: 10, ...o }), wrong: { annealStrategy: 'cosine' }, message: /glassbox.optim.OneCycleLR: option annealStrategy must be 'cos' or 'linear', got "cosine"/ },
  'optim.LinearWarmup': { call: (o) => new gb.optim.LinearWarmup(sgd(), o), wrong: { totalIters: 2.5 }, message: /glassbox.optim.LinearWarmup: option totalIters must be an integer, got 2.5/ },
  'xai.CAM': { call: (o) => new gb.xai.CAM(net(), { layer: '0', fc: '4', ...o }), wrong: { relu: 'yes' }, message: /glassbox.xai.CAM: option relu must be true or false/ },
  'xai.GradCAM': { call: (o) => new gb.xai.GradCAM(net(), { layer: '0', ...o }), wrong: { layer: 0 }, message: /glassbox.xai.GradCAM: option layer must be a string, got 0/ },
  'xai.GradCAMPlusPlus': { call: (o) => new gb.xai.GradCAMPlusPlus(net(), { layer: '0', ...o }), wrong: { layer: undefined }, message: /glassbox.xai.GradCAMPlusPlus: option layer is required/ },
  'xai.GuidedGradCAM': { call: (o) => new gb.xai.GuidedGradCAM(net(), { layer: '0', ...o }), wrong: { relu: 1 }, message: /glassbox.xai.GuidedGradCAM: option relu must be true or false/ },
  'xai.GradientShap': { call: (o) => new gb.xai.GradientShap(net(), o.background as gb.Tensor), wrong: { background: [1] }, message: /glassbox.xai.GradientShap: option background must be a tensor, got \[1\]/, positional: true },
  'xai.LayerUnitGradient': { call: (o) => new gb.xai.LayerUnitGradient(net(), (o.layer as string) ?? '0'), wrong: { layer: 3 }, message: /glassbox.xai.LayerUnitGradient: option layer must be a string, got 3/, positional: true },
};

/** Classes that take no options (beyond the model, for the explanation methods): checked elsewhere or nothing to check. */
const TAKES_NO_OPTIONS = ['nn.ReLU', 'nn.Sigmoid', 'nn.Tanh', 'nn.GELU', 'nn.Identity', 'nn.Sequential', 'nn.Module', 'optim.Optimizer', 'optim.LRScheduler', 'xai.Attribution', 'xai.GradientAttribution'];
/** Written by another change (issue 23's L-BFGS): its options are its own file's to check. */
const NOT_HERE = ['optim.LBFGS'];

/** Each explanation method, made with valid options, and one wrong attribute() option. */
const ATTRIBUTE_CASES: Record<string, { make: () => gb.xai.Attribution<gb.xai.AttributeOptions>; wrong: Opts; message: RegExp }> = {
  Saliency: { make: () => new gb.xai.Saliency(net()), wrong: { reduce: 'mean' }, message: /option reduce must be 'max' or 'sum' or 'none', got "mean"/ },
  InputXGradient: { make: () => new gb.xai.InputXGradient(net()), wrong: { internalBatchSize: t }, message: /option internalBatchSize must be a finite number, got a tensor.*await t.item\(\)/ },
  SmoothGrad: { make: () => new gb.xai.SmoothGrad(net()), wrong: { variant: 'smoothgrad-sq' }, message: /option variant must be 'smoothgrad' or 'smoothgrad-squared' or 'vargrad'/ },
  LayerUnitGradient: { make: () => new gb.xai.LayerUnitGradient(net(), '0'), wrong: { abs: 1 }, message: /option abs must be true or false/ },
  GuidedBackprop: { make: () => new gb.xai.GuidedBackprop(net()), wrong: { score: 'logits' }, message: /option score must be 'logit' or 'probability' or 'log-probability' or 'loss', got "logits"/ },
  Deconvnet: { make: () => new gb.xai.Deconvnet(net()), wrong: { target: 'cat' }, message: /option target must be a class index, an array of them .*got "cat"/ },
  IntegratedGradients: { make: () => new gb.xai.IntegratedGradients(net()), wrong: { method: 'simpson' }, message: /option method must be 'riemann-left' or .*'gauss-legendre', got "simpson"/ },
  DeepLift: { make: () => new gb.xai.DeepLift(net()), wrong: { baseline: 'white' }, message: /option baseline must be 'black' or 'blurred' or 'uniform-noise' or a tensor, got "white"/ },
  GradientShap: { make: () => new gb.xai.GradientShap(net()), wrong: { background: [1] }, message: /option background must be a tensor, got \[1\]/ },
  CAM: { make: () => new gb.xai.CAM(net(), { layer: '0', fc: '4' }), wrong: { score: 1 }, message: /option score must be 'logit'/ },
  GradCAM: { make: () => new gb.xai.GradCAM(net(), { layer: '0' }), wrong: { layer: t }, message: /option layer must be a string, got a tensor/ },
  GradCAMPlusPlus: { make: () => new gb.xai.GradCAMPlusPlus(net(), { layer: '0' }), wrong: { layer: 1 }, message: /option layer must be a string, got 1/ },
  GuidedGradCAM: { make: () => new gb.xai.GuidedGradCAM(net(), { layer: '0' }), wrong: { layer: null }, message: /option layer must be a string, got null/ },
  Occlusion: { make: () => new gb.xai.Occlusion(net()), wrong: { fill: 'zero' }, message: /option fill must be a finite number or 'mean', got "zero"/ },
  MeaningfulPerturbation: { make: () => new gb.xai.MeaningfulPerturbation(net()), wrong: { perturbation: 'noise' }, message: /option perturbation must be 'blur' or a finite number or a tensor, got "noise"/ },
  ExtremalPerturbation: { make: () => new gb.xai.ExtremalPerturbation(net()), wrong: { variant: 'keep' }, message: /option variant must be 'preserve' or 'delete' or 'dual'/ },
  IGOS: { make: () => new gb.xai.IGOS(net()), wrong: { steps: t }, message: /option steps must be a finite number, got a tensor/ },
  KernelShap: { make: () => new gb.xai.KernelShap(net()), wrong: { fill: 'black' }, message: /option fill must be 'mean' or 'zero' or 'blur' or a tensor, got "black"/ },
  Lime: { make: () => new gb.xai.Lime(net()), wrong: { segmentation: 'slic' }, message: /option segmentation must be an object, got "slic"/ },
  ExactShapley: { make: () => new gb.xai.ExactShapley(net()), wrong: { fill: 0 }, message: /option fill must be 'mean' or 'zero' or 'blur' or a tensor, got 0/ },
};

/** The exported classes of a namespace that derive from `base` (base included), as 'prefix.Name'. */
function classesOf(prefix: string, ns: Record<string, unknown>, base: abstract new (...a: never[]) => unknown): string[] {
  return Object.entries(ns)
    .filter(([, v]) => typeof v === 'function' && (v === base || (v as { prototype: unknown }).prototype instanceof base))
    .map(([name]) => `${prefix}.${name}`);
}

describe('option validation: layers, optimisers, schedulers, explanation methods', () => {
  it('the tables cover every exported class of nn, optim and xai of those kinds', () => {
    const exported = [
      ...classesOf('nn', gb.nn, gb.nn.Module),
      ...classesOf('optim', gb.optim, gb.optim.Optimizer),
      ...classesOf('optim', gb.optim, gb.optim.LRScheduler),
      ...classesOf('xai', gb.xai, gb.xai.Attribution),
    ];
    const constructorCases = Object.keys(CONSTRUCTOR_CASES);
    const noOptions = exported.filter((n) => !constructorCases.includes(n) && !TAKES_NO_OPTIONS.includes(n) && !NOT_HERE.includes(n));
    // the xai methods whose constructor takes only the model: their options are attribute()'s
    expect(noOptions.filter((n) => !n.startsWith('xai.'))).toEqual([]);
    expect(constructorCases.filter((n) => !exported.includes(n))).toEqual([]);
    expect(Object.keys(ATTRIBUTE_CASES).sort()).toEqual(classesOf('xai', gb.xai, gb.xai.Attribution).map((n) => n.slice(4)).filter((n) => !TAKES_NO_OPTIONS.includes(`xai.${n}`)).sort());
  });

  for (const [name, c] of Object.entries(CONSTRUCTOR_CASES)) {
    it(`${name}: valid options build, ${c.positional ? '' : 'an unknown key and '}a wrong kind throw`, () => {
      expect(() => c.call({})).not.toThrow();
      if (!c.positional) expect(() => c.call({ bogusOption: 1 })).toThrow(new RegExp(`glassbox.${name}: unknown option 'bogusOption'; the options are `));
      expect(() => c.call(c.wrong)).toThrow(c.message);
    });
  }

  it('a misspelt layer or optimiser option suggests the right one', () => {
    expect(() => new gb.nn.Conv2d(1, 2, 3, { strides: 2 } as Opts)).toThrow(/glassbox.nn.Conv2d: unknown option 'strides' \(did you mean 'stride'\?\)/);
    expect(() => new gb.optim.SGD(params(), { lr: 0.1, weight_decay: 1e-4 } as unknown as gb.optim.SGDOptions)).toThrow(/glassbox.optim.SGD: unknown option 'weight_decay' \(did you mean 'weightDecay'\?\)/);
    expect(() => new gb.nn.Linear(t as unknown as number, 3)).toThrow(/glassbox.nn.Linear: option inFeatures must be an integer, got a tensor/);
    expect(() => new gb.optim.SGD(params(), {} as gb.optim.SGDOptions)).toThrow(/glassbox.optim.SGD: option lr is required/);
  });

  const x = () => gb.rand([1, 1, 8, 8]);
  for (const [name, c] of Object.entries(ATTRIBUTE_CASES)) {
    it(`xai.${name}: the model is checked; attribute() refuses an unknown key, a missing target and a wrong kind`, async () => {
      const Method = (gb.xai as unknown as Record<string, new (m: unknown, o?: unknown) => unknown>)[name]!;
      expect(() => new Method(t, { layer: '0', fc: '4' })).toThrow(new RegExp(`glassbox.xai.${name}: the first argument must be the model \\(an nn.Module\\), got a tensor`));
      const method = c.make();
      const call = (o: Opts) => method.attribute(x(), { target: 0, ...o } as gb.xai.AttributeOptions);
      await expect(call({ targets: 0 })).rejects.toThrow(new RegExp(`glassbox.xai.${name}.attribute: unknown option 'targets' \\(did you mean 'target'\\?\\)`));
      await expect(call({ target: undefined })).rejects.toThrow(new RegExp(`glassbox.xai.${name}.attribute: option target is required`));
      await expect(call(c.wrong)).rejects.toThrow(new RegExp(`glassbox.xai.${name}.attribute: ${c.message.source}`));
    });
  }

  it('registerMethods checks every field of a spec written in plain JavaScript', () => {
    const spec = { name: 'mine', catalogue: 'x', description: 'd', output: 'input', signed: true, create: (m: gb.nn.Module) => new gb.xai.Saliency(m) };
    const register = (s: unknown) => () => gb.xai.registerMethods(s as gb.xai.MethodSpec[]);
    expect(register(spec)).toThrow(/glassbox.xai.registerMethods: expects an array of method specs, got an object/);
    expect(register([{ ...spec, output: 'pixels' }])).toThrow(/registerMethods \(spec 0, 'mine'\): option output must be 'input' or 'layer', got "pixels"/);
    expect(register([{ ...spec, create: undefined }])).toThrow(/option create is required \(a function\)/);
    expect(register([{ ...spec, signd: true }])).toThrow(/unknown option 'signd' \(did you mean 'signed'\?\)/);
    expect(register([{ ...spec, requires: ['gpu'] }])).toThrow(/requires must be an array of 'feature-map', 'global-average-pooling', got \["gpu"\]/);
    expect(gb.xai.allMethods().some((m) => m.name === 'mine')).toBe(false);
  });

  it('valid attribute() options run (a cheap method of each option family)', async () => {
    const map = await new gb.xai.Saliency(net()).attribute(x(), { target: 1, reduce: 'sum', abs: false });
    expect(map.shape).toEqual([1, 1, 8, 8]);
    const ig = await new gb.xai.IntegratedGradients(net()).attribute(x(), { target: [2], steps: 4, baseline: 'black' });
    expect(ig.shape).toEqual([1, 1, 8, 8]);
  });
});
