/**
 * `glassbox train` and `glassbox eval`: train a zoo model on a data set, writing into --out
 *   model.safetensors      the weights after the last finished epoch (atomic write)
 *   optimizer.safetensors  the optimiser's state, and checkpoint.json (epoch, options, RNG state)
 *   metrics.json           loss and accuracy per epoch
 *   curves.png             the loss and accuracy curves
 * `--resume <dir>` continues a run from its last checkpoint.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as gb from '../index.ts';
import { modelEntry, type Recipe } from '../nn/models/zoo.ts';
import { loadModel, saveModel } from '../nn/safetensors-file.ts';
import { writeSafetensors, parseSafetensors } from '../nn/safetensors.ts';
import { DataLoader } from '../train/data-loader.ts';
import { datasetSpec } from '../train/datasets.ts';
import { evaluate, fit, type EpochRecord, type LossFn } from '../train/trainer.ts';
import { CosineAnnealingLR, OneCycleLR, StepLR } from '../train/schedulers.ts';
import { linePlot } from '../viz/plot.ts';
import { writeJson, writePng } from '../viz/node.ts';
import { writeFileAtomic } from '../../datasets/io.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';

export const TRAIN_OPTIONS = ['model', 'dataset', 'epochs', 'batch-size', 'lr', 'optimizer', 'momentum', 'weight-decay', 'schedule', 'shift', 'seed', 'out', 'limit', 'val-limit', 'resume', 'detect-anomaly'];

interface RunConfig extends Recipe {
  model: string;
  dataset: string;
  seed: number;
  limit?: number;
  valLimit?: number;
}

interface Checkpoint {
  config: RunConfig;
  epoch: number;
  optimizer: { step: number; lr: number };
  rng: { seed: number; counter: number };
  history: EpochRecord[];
}

export function lossFor(recipe: Recipe): LossFn {
  return recipe.loss === 'hinge' ? (l, y) => gb.multiMarginLoss(l, y) : (l, y) => gb.crossEntropy(l, y);
}

function configFrom(args: ParsedArgs): RunConfig {
  const o = args.options;
  const model = stringOption(o, 'model', '');
  const dataset = stringOption(o, 'dataset', '');
  if (!model || !dataset) throw new UsageError('train needs --model and --dataset');
  const recipe = modelEntry(model).recipe;
  const optimizer = stringOption(o, 'optimizer', recipe.optimizer);
  if (!['sgd', 'adam', 'adamw'].includes(optimizer)) throw new UsageError(`--optimizer must be sgd, adam or adamw, got ${optimizer}`);
  const schedule = stringOption(o, 'schedule', recipe.schedule ?? 'none');
  if (!['none', 'step', 'cosine', 'onecycle'].includes(schedule)) throw new UsageError(`--schedule must be none, step, cosine or onecycle, got ${schedule}`);
  return {
    ...recipe,
    model,
    dataset,
    optimizer: optimizer as Recipe['optimizer'],
    schedule: schedule as Recipe['schedule'],
    epochs: numberOption(o, 'epochs', recipe.epochs),
    batchSize: numberOption(o, 'batch-size', recipe.batchSize),
    lr: numberOption(o, 'lr', recipe.lr),
    momentum: numberOption(o, 'momentum', recipe.momentum ?? 0),
    weightDecay: numberOption(o, 'weight-decay', recipe.weightDecay ?? 0),
    seed: numberOption(o, 'seed', 0),
    shift: o.shift === undefined ? recipe.shift : shiftOption(o),
    limit: o.limit === undefined ? undefined : numberOption(o, 'limit', 0),
    valLimit: o['val-limit'] === undefined ? undefined : numberOption(o, 'val-limit', 0),
  };
}

function shiftOption(o: ParsedArgs['options']): number {
  const shift = numberOption(o, 'shift', 0);
  if (!Number.isInteger(shift) || shift < 0) throw new UsageError(`--shift must be a whole number of pixels (0 or more), got ${o.shift}`);
  return shift;
}

function makeOptimizer(c: RunConfig, params: gb.Tensor[]): gb.optim.Optimizer {
  if (c.optimizer === 'sgd') return new gb.optim.SGD(params, { lr: c.lr, momentum: c.momentum, weightDecay: c.weightDecay });
  if (c.optimizer === 'adamw') return new gb.optim.AdamW(params, { lr: c.lr, weightDecay: c.weightDecay || undefined });
  return new gb.optim.Adam(params, { lr: c.lr, weightDecay: c.weightDecay });
}

function makeSchedule(c: RunConfig, opt: gb.optim.Optimizer, stepsPerEpoch: number): (() => void) | undefined {
  const total = c.epochs * stepsPerEpoch;
  if (c.schedule === 'step') {
    const s = new StepLR(opt, { stepSize: Math.max(1, Math.floor(total / 3)), gamma: 0.1 });
    return () => s.step();
  }
  if (c.schedule === 'cosine') {
    const s = new CosineAnnealingLR(opt, { tMax: total });
    return () => s.step();
  }
  if (c.schedule === 'onecycle') {
    const s = new OneCycleLR(opt, { maxLr: c.lr, totalSteps: total });
    let done = 0;
    return () => {
      if (++done < total) s.step();
    };
  }
  return undefined;
}

export async function train(args: ParsedArgs): Promise<void> {
  const resumeDir = args.options.resume === undefined ? undefined : stringOption(args.options, 'resume', '');
  const checkpoint: Checkpoint | undefined = resumeDir ? JSON.parse(readFileSync(join(resumeDir, 'checkpoint.json'), 'utf8')) : undefined;
  const config = checkpoint?.config ?? configFrom(args);
  if (checkpoint) config.epochs = numberOption(args.options, 'epochs', config.epochs);
  const out = resumeDir ?? stringOption(args.options, 'out', join('runs', `${config.model}-${config.dataset}`));
  if (args.options['detect-anomaly']) gb.setAnomalyDetection(true);
  mkdirSync(out, { recursive: true });

  const info = await gb.init();
  const spec = datasetSpec(config.dataset);
  console.error(`training ${config.model} on ${config.dataset} (${info.adapter.description || info.adapter.device}, ${info.target} kernels) -> ${out}`);
  const trainSet = await spec.load('train', config.limit);
  const valSet = await spec.load('validation', config.valLimit);
  if (spec.note) console.error(`note: ${spec.note}`);

  gb.manualSeed(config.seed);
  const entry = modelEntry(config.model);
  const model = entry.build({ channels: trainSet.channels, height: trainSet.height, width: trainSet.width, classes: trainSet.classes.length });
  console.error(gb.nn.summary(model, [1, trainSet.channels, trainSet.height, trainSet.width]).toString());
  const optimizer = makeOptimizer(config, model.parameters());
  const trainLoader = new DataLoader(trainSet, { batchSize: config.batchSize, shuffle: true, seed: config.seed, keepLast: false, mean: spec.mean, std: spec.std, augment: config.shift === undefined ? spec.augment : { ...spec.augment, cropPadding: config.shift } });
  const valLoader = new DataLoader(valSet, { batchSize: 500, mean: spec.mean, std: spec.std });
  const afterStep = makeSchedule(config, optimizer, trainLoader.batchesPerEpoch);
  const history: EpochRecord[] = checkpoint?.history ?? [];

  if (checkpoint && resumeDir) {
    await loadModel(join(resumeDir, 'model.safetensors'), model);
    const state = parseSafetensors(new Uint8Array(readFileSync(join(resumeDir, 'optimizer.safetensors'))));
    const tensors = new Map([...state.tensors].map(([name, t]) => [name, gb.tensor(t.data, t.shape)]));
    optimizer.loadStateDict({ ...checkpoint.optimizer, tensors });
    for (let s = 0; s < checkpoint.epoch * trainLoader.batchesPerEpoch; s++) afterStep?.();
    gb.setRngState(checkpoint.rng);
    console.error(`resuming after epoch ${checkpoint.epoch}`);
  }

  await fit(model, {
    epochs: config.epochs,
    startEpoch: checkpoint?.epoch ?? 0,
    optimizer,
    afterStep,
    loss: lossFor(config),
    train: trainLoader,
    val: valLoader,
    label: config.model,
    onEpoch: async (record) => {
      history.push(record);
      await saveModel(join(out, 'model.safetensors'), model, { metadata: { model: config.model, dataset: config.dataset, epoch: String(record.epoch) } });
      const opt = optimizer.stateDict();
      const optTensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
      for (const [name, t] of opt.tensors) optTensors.set(name, { shape: t.shape, data: (await t.toArray()) as Float32Array });
      await writeFileAtomic(join(out, 'optimizer.safetensors'), writeSafetensors(optTensors));
      const ckpt: Checkpoint = { config, epoch: record.epoch, optimizer: { step: opt.step, lr: opt.lr }, rng: gb.rngState(), history };
      writeJson(join(out, 'checkpoint.json'), ckpt);
      writeJson(join(out, 'metrics.json'), { model: config.model, dataset: config.dataset, validation: spec.validationSplit, note: spec.note, epochs: history });
      writePng(join(out, 'curves.png'), curves(history, config));
    },
  });
  const last = history[history.length - 1];
  if (last) console.log(`${config.model} on ${config.dataset}: ${spec.validationSplit} accuracy ${(100 * last.valAccuracy!).toFixed(2)}% after ${last.epoch} epochs; files in ${out}`);
}

function curves(history: EpochRecord[], c: RunConfig) {
  const x = history.map((h) => h.epoch);
  const loss = linePlot(
    [
      { name: 'train loss', x, y: history.map((h) => h.trainLoss) },
      { name: 'validation loss', x, y: history.map((h) => h.valLoss ?? NaN) },
      { name: 'train accuracy', x, y: history.map((h) => h.trainAccuracy), dashed: true },
      { name: 'validation accuracy', x, y: history.map((h) => h.valAccuracy ?? NaN), dashed: true },
    ],
    { title: `${c.model} on ${c.dataset}`, xLabel: 'epoch', width: 640, height: 400 },
  );
  return loss;
}

export const EVAL_OPTIONS = ['model', 'dataset', 'limit'];

/** `glassbox eval --model runs/x --dataset mnist`: accuracy of a trained checkpoint. */
export async function evalCommand(args: ParsedArgs): Promise<void> {
  const dir = stringOption(args.options, 'model', '');
  if (!dir) throw new UsageError('eval needs --model <run folder>');
  const ckptPath = join(dir, 'checkpoint.json');
  if (!existsSync(ckptPath)) throw new UsageError(`${ckptPath} not found: --model must be a folder written by glassbox train`);
  const ckpt = JSON.parse(readFileSync(ckptPath, 'utf8')) as Checkpoint;
  const datasetName = stringOption(args.options, 'dataset', ckpt.config.dataset);
  const spec = datasetSpec(datasetName);
  const data = await spec.load('validation', args.options.limit === undefined ? undefined : numberOption(args.options, 'limit', 0));
  const model = modelEntry(ckpt.config.model).build({ channels: data.channels, height: data.height, width: data.width, classes: data.classes.length });
  await loadModel(join(dir, 'model.safetensors'), model);
  const r = await evaluate(model, new DataLoader(data, { batchSize: 500, mean: spec.mean, std: spec.std }), lossFor(ckpt.config));
  console.log(JSON.stringify({ model: ckpt.config.model, dataset: datasetName, split: spec.validationSplit, n: r.n, loss: r.loss, accuracy: r.accuracy }));
}
