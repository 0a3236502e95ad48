/**
 * `glassbox train` and `glassbox eval`: train a zoo model on a data set, writing into --out
 *   checkpoint.json, checkpoints/  the last finished epoch's weights, optimiser and RNG state,
 *                          written as one crash-safe unit (src/train/checkpoint.ts)
 *   model.safetensors      a copy of the last finished epoch's weights
 *   metrics.json           loss and accuracy per epoch
 *   curves.png             the loss and accuracy curves
 * `--resume <dir>` continues a run from its last checkpoint; `--init <model>` starts a new run from trained
 * weights (fine-tuning, e.g. adversarial fine-tuning with --adversarial).
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as gb from '../index.ts';
import { modelEntry, type Recipe } from '../nn/models/zoo.ts';
import { modelMetadata } from '../nn/model-metadata.ts';
import { loadModel } from '../nn/safetensors-file.ts';
import { assertFiniteParameters } from '../nn/finite-check.ts';
import { loadSafetensors, saveSafetensors, writeSafetensors } from '../nn/safetensors.ts';
import { readCheckpoint, removeStale, runWeights, writeCheckpoint, type CheckpointState, type RunConfig, type WriteFault } from '../train/checkpoint.ts';
import { acquireRunLock } from '../train/run-lock.ts';
import { DataLoader } from '../train/data-loader.ts';
import { datasetSpec } from '../train/datasets.ts';
import { evaluate, fit, type EpochRecord, type LossFn } from '../train/trainer.ts';
import { CosineAnnealingLR, OneCycleLR, StepLR } from '../train/schedulers.ts';
import { linePlot } from '../viz/plot.ts';
import { writeJson, writePng } from '../viz/node.ts';
import { numberOption, stringOption, UsageError, type ParsedArgs } from './args.ts';
import { refuseGanRun } from './gan-runs.ts';
import { adversarialBatchHook, adversarialTrainingSettings, type AdversarialTrainingSettings } from '../xai/attacks/adversarial-training.ts';

export { TRAIN_OPTIONS, EVAL_OPTIONS } from './options.ts';

export function lossFor(recipe: Recipe): LossFn {
  return recipe.loss === 'hinge' ? (l, y) => gb.multiMarginLoss(l, y) : (l, y) => gb.crossEntropy(l, y);
}

/**
 * A run's config; `adversarial` is set for adversarial training (recorded in the checkpoint, so --resume
 * keeps it); `init` is the model whose weights the run started from (recorded, not reapplied on --resume).
 */
type TrainConfig = RunConfig & { adversarial?: AdversarialTrainingSettings; init?: string };

/** --adversarial pgd|fgsm-rs with --eps, --alpha, --attack-steps, --eps-warmup (the last four only with it). */
function adversarialFrom(o: ParsedArgs['options']): AdversarialTrainingSettings | undefined {
  const given = ['eps', 'alpha', 'attack-steps', 'eps-warmup'].filter((n) => o[n] !== undefined);
  if (o.adversarial === undefined) {
    if (given.length) throw new UsageError(`${given.map((n) => `--${n}`).join(', ')} set${given.length === 1 ? 's' : ''} the attack of adversarial training; add --adversarial pgd or --adversarial fgsm-rs`);
    return undefined;
  }
  const num = (name: string) => (o[name] === undefined ? undefined : numberOption(o, name, 0));
  try {
    return adversarialTrainingSettings(stringOption(o, 'adversarial', ''), { eps: num('eps'), alpha: num('alpha'), steps: num('attack-steps'), warmupEpochs: num('eps-warmup') });
  } catch (e) {
    throw new UsageError((e as Error).message.replace('glassbox.attacks: ', '').replace('glassbox.attacks.adversarial training: ', '--'));
  }
}

function configFrom(args: ParsedArgs): TrainConfig {
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
    adversarial: adversarialFrom(o),
    init: o.init === undefined ? undefined : initOption(o, model, dataset),
  };
}

/** --init: a run folder of the same model and data set, or a .safetensors file (whose shapes loadModel checks). */
function initOption(o: ParsedArgs['options'], model: string, dataset: string): string {
  const path = stringOption(o, 'init', '');
  if (!path || !existsSync(path)) throw new UsageError(`--init ${path}: no such file or folder; give a glassbox train run folder or a .safetensors file`);
  if (!statSync(path).isDirectory()) return path;
  const run = runWeights(path);
  if (!run) throw new UsageError(`--init ${path} is a folder but not a glassbox train run (no checkpoint.json); give a run folder or a .safetensors file`);
  if (run.config.model !== model || run.config.dataset !== dataset)
    throw new UsageError(`--init ${path} holds a ${run.config.model} trained on ${run.config.dataset}, and this run trains a ${model} on ${dataset}; start from a run of the same --model and --dataset`);
  return run.modelPath;
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

/** What tests inject into a run: a failure at a step of a checkpoint write, standing in for a kill there. */
export interface TrainTesting {
  checkpointFault?: WriteFault;
}

/** Options that may come with --resume; every other one would change the recorded run. */
const RESUME_OPTIONS = ['resume', 'epochs', 'detect-anomaly', 'out'];

/** Refuses options that --resume would not apply (the run continues as its checkpoint records it). */
function refuseOptionsIgnoredOnResume(o: ParsedArgs['options'], resumeDir: string): void {
  const ignored = Object.keys(o).filter((name) => o[name] !== undefined && !RESUME_OPTIONS.includes(name));
  if (o.out !== undefined && resolve(String(o.out)) !== resolve(resumeDir)) ignored.push('out');
  if (ignored.length)
    throw new UsageError(
      `--resume continues the run recorded in ${join(resumeDir, 'checkpoint.json')} with its own settings; ` +
        `${ignored.map((n) => `--${n}`).join(', ')} would change it and ${ignored.length === 1 ? 'is' : 'are'} not applied. ` +
        `Drop ${ignored.length === 1 ? 'it' : 'them'} (only --epochs and --detect-anomaly go with --resume), or start a new run with another --out.`,
    );
}

export async function train(args: ParsedArgs, testing: TrainTesting = {}): Promise<void> {
  const resumeDir = args.options.resume === undefined ? undefined : stringOption(args.options, 'resume', '');
  if (resumeDir) refuseGanRun(resumeDir, 'train --resume');
  if (resumeDir) refuseOptionsIgnoredOnResume(args.options, resumeDir);
  const fresh = resumeDir ? undefined : configFrom(args);
  const out = resumeDir ?? stringOption(args.options, 'out', join('runs', `${fresh!.model}-${fresh!.dataset}`));
  mkdirSync(out, { recursive: true });
  // one run per folder: a second one would interleave its checkpoints with this one's
  const lock = acquireRunLock(out);
  try {
    await trainLocked(args, out, fresh, testing);
  } finally {
    lock.release();
  }
}

/** The run, holding `out`'s lock: a fresh one with `fresh`'s config, else resumed from `out`'s checkpoint. */
async function trainLocked(args: ParsedArgs, out: string, fresh: TrainConfig | undefined, testing: TrainTesting): Promise<void> {
  // verifies every field and both files' hashes, and removes what a killed run left half-written
  const checkpoint = fresh ? undefined : readCheckpoint(out, { repair: true });
  if (fresh) removeStale(out);
  const config: TrainConfig = checkpoint?.state.config ?? fresh!;
  if (checkpoint) config.epochs = numberOption(args.options, 'epochs', config.epochs);
  if (args.options['detect-anomaly']) gb.setAnomalyDetection(true);

  const info = await gb.init();
  const spec = datasetSpec(config.dataset);
  console.error(`training ${config.model} on ${config.dataset} (${info.adapter.description || info.adapter.device}, ${info.target} kernels) -> ${out}`);
  const trainSet = await spec.load('train', config.limit);
  const valSet = await spec.load('validation', config.valLimit);
  if (spec.note) console.error(`note: ${spec.note}`);

  gb.manualSeed(config.seed);
  const entry = modelEntry(config.model);
  const modelInput = { channels: trainSet.channels, height: trainSet.height, width: trainSet.width, classes: trainSet.classes.length };
  const model = entry.build(modelInput);
  console.error(gb.nn.summary(model, [1, trainSet.channels, trainSet.height, trainSet.width]).toString());
  if (!checkpoint && config.init) {
    try {
      await loadModel(config.init, model);
    } catch (e) {
      throw new UsageError(`--init ${config.init} does not fit a ${config.model} for ${config.dataset}: ${(e as Error).message}`);
    }
    await assertFiniteParameters(model, `in --init ${config.init}`);
    console.error(`starting from the weights of ${config.init}`);
  }
  const optimizer = makeOptimizer(config, model.parameters());
  const trainLoader = new DataLoader(trainSet, { batchSize: config.batchSize, shuffle: true, seed: config.seed, keepLast: false, mean: spec.mean, std: spec.std, augment: config.shift === undefined ? spec.augment : { ...spec.augment, cropPadding: config.shift } });
  const valLoader = new DataLoader(valSet, { batchSize: 500, mean: spec.mean, std: spec.std });
  if (trainLoader.batchesPerEpoch === 0)
    throw new UsageError(`no training batch: ${trainSet.n} training images make no full batch of --batch-size ${config.batchSize}; lower --batch-size or raise --limit`);
  const afterStep = makeSchedule(config, optimizer, trainLoader.batchesPerEpoch);
  const history: EpochRecord[] = checkpoint?.state.history ?? [];

  if (checkpoint) {
    const { state } = checkpoint;
    try {
      loadSafetensors(model, checkpoint.model);
    } catch (e) {
      throw new Error(`${(e as Error).message}\n  (file: ${checkpoint.modelPath})`);
    }
    const tensors = new Map([...checkpoint.optimizerTensors].map(([name, t]) => [name, gb.tensor(t.data, t.shape)]));
    optimizer.loadStateDict({ ...state.optimizer, tensors });
    // bounded: the checkpoint's epoch is at most its config's epochs, which are at most a million
    for (let s = 0; s < state.epoch * trainLoader.batchesPerEpoch; s++) afterStep?.();
    gb.setRngState(state.rng);
    if (state.epoch >= config.epochs) console.error(`the run in ${out} has finished ${state.epoch} epochs already; pass a larger --epochs to train more`);
    else console.error(`resuming after epoch ${state.epoch}`);
  }

  if (config.adversarial) {
    // a resumed run's settings come from its checkpoint: checked again, as a damaged file could hold anything
    const a = adversarialTrainingSettings(config.adversarial.method, config.adversarial);
    const warmup = a.warmupEpochs ? `, eps ramped up over the first ${a.warmupEpochs} epoch${a.warmupEpochs === 1 ? '' : 's'}` : '';
    console.error(`adversarial training: ${a.method}, eps ${a.eps}, alpha ${a.alpha}, ${a.steps} attack step${a.steps === 1 ? '' : 's'} per batch${warmup}`);
  }
  await fit(model, {
    epochs: config.epochs,
    perturbBatch: config.adversarial
      ? adversarialBatchHook(model, adversarialTrainingSettings(config.adversarial.method, config.adversarial), { mean: spec.mean, std: spec.std }, { batchesPerEpoch: trainLoader.batchesPerEpoch, startBatch: (checkpoint?.state.epoch ?? 0) * trainLoader.batchesPerEpoch })
      : undefined,
    startEpoch: checkpoint?.state.epoch ?? 0,
    optimizer,
    afterStep,
    loss: lossFor(config),
    train: trainLoader,
    val: valLoader,
    label: config.model,
    onEpoch: async (record) => {
      history.push(record);
      const described = modelMetadata({ architecture: config.model, dataset: config.dataset, input: modelInput, normalization: { mean: spec.mean, std: spec.std } });
      const modelBytes = await saveSafetensors(model, { metadata: { ...described, epoch: String(record.epoch), ...(config.adversarial ? { adversarial: JSON.stringify(config.adversarial) } : {}) } });
      const opt = optimizer.stateDict();
      const optTensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
      for (const [name, t] of opt.tensors) optTensors.set(name, { shape: t.shape, data: (await t.toArray()) as Float32Array });
      const state: CheckpointState = { config, epoch: record.epoch, optimizer: { step: opt.step, lr: opt.lr }, rng: gb.rngState(), history };
      writeCheckpoint(out, state, { model: modelBytes, optimizer: writeSafetensors(optTensors) }, testing.checkpointFault);
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

/** `glassbox eval --model runs/x --dataset mnist`: accuracy of a trained checkpoint. */
export async function evalCommand(args: ParsedArgs): Promise<void> {
  const dir = stringOption(args.options, 'model', '');
  if (!dir) throw new UsageError('eval needs --model <run folder>');
  refuseGanRun(dir, 'eval');
  const ckpt = runWeights(dir); // the manifest, validated, and where its weights are
  if (!ckpt) throw new UsageError(`${join(dir, 'checkpoint.json')} not found: --model must be a folder written by glassbox train`);
  const datasetName = stringOption(args.options, 'dataset', ckpt.config.dataset);
  const spec = datasetSpec(datasetName);
  const data = await spec.load('validation', args.options.limit === undefined ? undefined : numberOption(args.options, 'limit', 0));
  const model = modelEntry(ckpt.config.model).build({ channels: data.channels, height: data.height, width: data.width, classes: data.classes.length });
  await loadModel(ckpt.modelPath, model);
  await assertFiniteParameters(model, `in ${ckpt.modelPath}`);
  const r = await evaluate(model, new DataLoader(data, { batchSize: 500, mean: spec.mean, std: spec.std }), lossFor(ckpt.config));
  console.log(JSON.stringify({ model: ckpt.config.model, dataset: datasetName, split: spec.validationSplit, n: r.n, loss: r.loss, accuracy: r.accuracy }));
}
