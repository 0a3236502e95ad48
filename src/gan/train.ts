/**
 * Training a DCGAN (Radford et al. 2016) with the non-saturating loss of Goodfellow et al. 2014 (the
 * default) or as a WGAN-GP (Gulrajani et al. 2017; wgan-gp.ts, `ganLoss: 'wgan-gp'`):
 *
 *   discriminator step  minimise  softplus(-D(x)) + softplus(D(G(z)))     (BCE: real 1, fake 0)
 *   generator step      minimise  softplus(-D(G(z)))                      (BCE of fakes against 1)
 *
 * Two Adam optimisers (lr 2e-4, betas [0.5, 0.999]), alternating steps on each batch; the fakes of a
 * batch are drawn once, detached for the discriminator step and reused for the generator step.
 *
 * A run folder is the classifier trainer's (src/train/checkpoint.ts): the pair's weights in one
 * safetensors file, both optimisers' state in one (names prefixed 'g.' and 'd.'), a crash-safe
 * checkpoint per epoch, `resume` continuing from it; plus samples-epoch-N.png from fixed latents.
 */
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import * as gb from '../index.ts';
import { Dcgan, DCGAN_DEFAULTS } from '../nn/models/dcgan.ts';
import { loadSafetensors, saveSafetensors, writeSafetensors } from '../nn/safetensors.ts';
import { assertFiniteParameters } from '../nn/index.ts';
import { readCheckpoint, removeStale, writeCheckpoint, type CheckpointState, type RunConfig } from '../train/checkpoint.ts';
import { acquireRunLock } from '../train/run-lock.ts';
import { DataLoader, seededRandom } from '../train/data-loader.ts';
import { datasetSpec } from '../train/datasets.ts';
import { Progress } from '../train/progress.ts';
import { Adam } from '../train/optim.ts';
import type { EpochRecord } from '../train/trainer.ts';
import { keep, tidy, type Tensor } from '../tensor/tensor.ts';
import { writeJson, writePng } from '../viz/files.ts';
import { GAN_PIXELS, imageGrid } from './images.ts';
import { WGAN_GP_DEFAULTS, wganGpStep } from './wgan-gp.ts';

/** The model name a GAN run's checkpoint records (accepted by src/train/checkpoint.ts besides the zoo's). */
export const GAN_MODEL = 'dcgan';
export const GAN_DATASETS = ['mnist', 'fashion-mnist'] as const;
export const GAN_LOSSES = ['non-saturating', 'wgan-gp'] as const;
export type GanLoss = (typeof GAN_LOSSES)[number];

export interface GanConfig extends RunConfig {
  latentSize: number;
  width: number;
  beta1: number;
  /** Absent in runs made before WGAN-GP: 'non-saturating', Adam beta2 0.999. */
  ganLoss?: GanLoss;
  beta2?: number;
  /** WGAN-GP: critic steps per generator step, and the gradient penalty's lambda. */
  nCritic?: number;
  penaltyWeight?: number;
}

export const ganLossOf = (config: GanConfig): GanLoss => config.ganLoss ?? 'non-saturating';

/** An epoch of GAN training: trainLoss is the generator's loss, trainAccuracy the discriminator's (real > 0, fake < 0). */
export interface GanEpochRecord extends EpochRecord {
  generatorLoss: number;
  discriminatorLoss: number;
  /** The discriminator's (critic's) Adam steps so far: the generator's count times n_critic, about, for WGAN-GP (absent in older runs: the generator's). */
  criticSteps?: number;
}

export function ganConfig(opts: Partial<GanConfig> & { dataset?: string }): GanConfig {
  const dataset = opts.dataset ?? 'mnist';
  if (!(GAN_DATASETS as readonly string[]).includes(dataset))
    throw new Error(`glassbox.gan: dataset '${dataset}' is not one the 28x28 DCGAN trains on; use one of ${GAN_DATASETS.join(', ')}`);
  const ganLoss = opts.ganLoss ?? 'non-saturating';
  if (!(GAN_LOSSES as readonly string[]).includes(ganLoss)) throw new Error(`glassbox.gan: unknown GAN loss '${ganLoss}'; use one of ${GAN_LOSSES.join(', ')}`);
  const wgan = ganLoss === 'wgan-gp';
  return {
    model: GAN_MODEL,
    dataset,
    optimizer: 'adam',
    ganLoss,
    // each loss with its paper's optimiser settings unless given
    lr: opts.lr ?? (wgan ? WGAN_GP_DEFAULTS.lr : 2e-4),
    beta1: opts.beta1 ?? (wgan ? WGAN_GP_DEFAULTS.beta1 : 0.5),
    beta2: opts.beta2 ?? (wgan ? WGAN_GP_DEFAULTS.beta2 : 0.999),
    ...(wgan ? { nCritic: opts.nCritic ?? WGAN_GP_DEFAULTS.nCritic, penaltyWeight: opts.penaltyWeight ?? WGAN_GP_DEFAULTS.penaltyWeight } : {}),
    epochs: opts.epochs ?? 5,
    batchSize: opts.batchSize ?? 64,
    seed: opts.seed ?? 0,
    latentSize: opts.latentSize ?? DCGAN_DEFAULTS.latentSize,
    width: opts.width ?? DCGAN_DEFAULTS.width,
    ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
  };
}

/** The pair and its two optimisers. */
export interface GanState {
  gan: Dcgan;
  optG: Adam;
  optD: Adam;
}

export function newGan(config: GanConfig): GanState {
  gb.manualSeed(config.seed);
  const gan = new Dcgan({ latentSize: config.latentSize, width: config.width, discriminatorNorm: ganLossOf(config) === 'wgan-gp' ? 'none' : 'batch' });
  const adam = { lr: config.lr, betas: [config.beta1, config.beta2 ?? 0.999] as [number, number] };
  return { gan, optG: new Adam(gan.generator.parameters(), adam), optD: new Adam(gan.discriminator.parameters(), adam) };
}

/** One discriminator step and one generator step on a batch of real images in [-1, 1]; returns the losses and D's hits, as tensors. */
export function ganStep(s: GanState, real: Tensor): { dLoss: Tensor; gLoss: Tensor; hits: Tensor } {
  const { gan, optG, optD } = s;
  const n = real.shape[0]!;
  const z = gb.randn([n, gan.generator.latentSize]);
  const fake = gan.generator.forward(z);
  optD.zeroGrad();
  const realLogits = gan.discriminator.forward(real);
  const fakeLogits = gan.discriminator.forward(fake.detach());
  // softplus(-l) is BCE-with-logits against 1, softplus(l) against 0
  const dLoss = gb.add(gb.mean(gb.softplus(gb.neg(realLogits))), gb.mean(gb.softplus(fakeLogits)));
  dLoss.backward();
  optD.step();
  optG.zeroGrad();
  const gLoss = gb.mean(gb.softplus(gb.neg(gan.discriminator.forward(fake))));
  gLoss.backward();
  optG.step();
  const hits = gb.noGrad(() => gb.add(gb.sum(gb.gt(realLogits, 0)), gb.sum(gb.lt(fakeLogits, 0))));
  return { dLoss: dLoss.detach(), gLoss: gLoss.detach(), hits };
}

/** Latents from a seeded JS generator (Box-Muller), independent of the engine's RNG so resuming does not change them. */
export function fixedLatents(n: number, latentSize: number, seed: number): Tensor {
  const rand = seededRandom(seed);
  const v = new Float32Array(n * latentSize);
  for (let i = 0; i < v.length; i++) v[i] = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return gb.tensor(v, [n, latentSize]);
}

export interface TrainGanOptions {
  out: string;
  /** A fresh run's config; omitted: resume the run in `out`. */
  config?: GanConfig;
  /** When resuming, train up to this many epochs in all. */
  epochs?: number;
  /** Stop after this many steps of the first epoch run (tests, benchmarks). */
  maxSteps?: number;
  log?: (line: string) => void;
}

const optimizerTensors = async (prefix: string, opt: Adam, into: Map<string, { shape: readonly number[]; data: Float32Array }>) => {
  for (const [name, t] of opt.stateDict().tensors) into.set(`${prefix}.${name}`, { shape: t.shape, data: (await t.toArray()) as Float32Array });
};

function loadOptimizer(opt: Adam, prefix: string, tensors: Map<string, { shape: number[]; data: ArrayLike<number> }>, step: number, lr: number): void {
  const own = new Map<string, Tensor>();
  for (const [name, t] of tensors) if (name.startsWith(`${prefix}.`)) own.set(name.slice(prefix.length + 1), gb.tensor(Array.from(t.data), t.shape));
  opt.loadStateDict({ step, lr, tensors: own });
}

/** Trains (or resumes) a GAN run in `opts.out`; returns the history of every epoch so far. */
export async function trainGan(opts: TrainGanOptions): Promise<GanEpochRecord[]> {
  mkdirSync(opts.out, { recursive: true });
  const lock = acquireRunLock(opts.out);
  try {
    return await trainLocked(opts);
  } finally {
    lock.release();
  }
}

async function trainLocked(opts: TrainGanOptions): Promise<GanEpochRecord[]> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const checkpoint = opts.config ? undefined : readCheckpoint(opts.out, { repair: true });
  if (opts.config) removeStale(opts.out);
  const config = (checkpoint?.state.config ?? opts.config!) as GanConfig;
  if (config.model !== GAN_MODEL) throw new Error(`glassbox.gan: ${opts.out} holds a '${config.model}' run of glassbox train, not a GAN run of glassbox gan train`);
  if (opts.epochs !== undefined) config.epochs = opts.epochs;
  const spec = datasetSpec(config.dataset);
  const data = await spec.load('train', config.limit);
  const state = newGan(config);
  const history = (checkpoint?.state.history ?? []) as GanEpochRecord[];
  const wgan = ganLossOf(config) === 'wgan-gp';
  if (checkpoint) {
    loadSafetensors(state.gan, checkpoint.model);
    const { step, lr } = checkpoint.state.optimizer;
    loadOptimizer(state.optG, 'g', checkpoint.optimizerTensors, step, lr);
    // a WGAN-GP critic steps n_critic times as often as the generator: its own count (Adam's bias correction)
    const last = checkpoint.state.history[checkpoint.state.history.length - 1] as GanEpochRecord | undefined;
    loadOptimizer(state.optD, 'd', checkpoint.optimizerTensors, last?.criticSteps ?? step, lr);
    gb.setRngState(checkpoint.state.rng);
    log(`resuming ${opts.out} after epoch ${checkpoint.state.epoch} of ${config.epochs}`);
  }
  const loader = new DataLoader(data, { batchSize: config.batchSize, shuffle: true, seed: config.seed, keepLast: false, ...GAN_PIXELS });
  if (loader.batchesPerEpoch === 0) throw new Error(`glassbox.gan: ${data.n} training images make no full batch of ${config.batchSize}; lower the batch size or raise the limit`);
  const fixed = keep(fixedLatents(64, config.latentSize, config.seed + 1));
  for (let epoch = checkpoint?.state.epoch ?? 0; epoch < config.epochs; epoch++) {
    state.gan.train();
    const total = opts.maxSteps ? Math.min(opts.maxSteps, loader.batchesPerEpoch) * config.batchSize : loader.batchesPerEpoch * config.batchSize;
    const progress = new Progress({ label: `${wgan ? 'wgan-gp' : 'gan'} epoch ${epoch + 1}/${config.epochs}`, total, unit: 'img' });
    // WGAN-GP: the critic's loss includes the penalty; 'ranked' is the share of (real, fake) pairs it scores in order
    const shown = (m: { d: number; g: number; acc: number }): Record<string, number> => (wgan ? { critic: m.d, G: m.g, ranked: m.acc } : { D: m.d, G: m.g, 'D acc': m.acc });
    let sums = { d: keep(gb.zeros([])), g: keep(gb.zeros([])), hits: keep(gb.zeros([])) };
    let seen = 0;
    let step = 0;
    const read = async () => ({ d: (await sums.d.item()) / step, g: (await sums.g.item()) / step, acc: (await sums.hits.item()) / (2 * seen) });
    for (const batch of loader.batches(epoch)) {
      const next = tidy(() => {
        const r = wgan ? wganGpStep(state, batch.x, { generatorStep: (step + 1) % config.nCritic! === 0, penaltyWeight: config.penaltyWeight }) : ganStep(state, batch.x);
        return { d: keep(gb.add(sums.d, r.dLoss)), g: keep(gb.add(sums.g, r.gLoss)), hits: keep(gb.add(sums.hits, r.hits)) };
      });
      for (const t of Object.values(sums)) t.dispose();
      sums = next;
      seen += batch.x.shape[0]!;
      batch.x.dispose();
      batch.y.dispose();
      step++;
      if (step % 20 === 0) {
        const m = await read();
        if (!Number.isFinite(m.d) || !Number.isFinite(m.g)) throw new Error(`glassbox.gan: training diverged in epoch ${epoch + 1} by step ${step} (D loss ${m.d}, G loss ${m.g}); lower the learning rate`);
        progress.update(seen, shown(m));
      }
      if (opts.maxSteps && step >= opts.maxSteps) break;
    }
    const m = await read();
    for (const t of Object.values(sums)) t.dispose();
    await assertFiniteParameters(state.gan, `after GAN epoch ${epoch + 1}`);
    const seconds = progress.elapsedSeconds;
    progress.done(shown(m));
    const record: GanEpochRecord = { epoch: epoch + 1, lr: config.lr, trainLoss: m.g, trainAccuracy: m.acc, seconds, imagesPerSecond: seen / seconds, generatorLoss: m.g, discriminatorLoss: m.d, criticSteps: state.optD.stateDict().step };
    history.push(record);
    await saveEpoch(opts.out, config, state, history, fixed, epoch + 1);
  }
  fixed.dispose();
  return history;
}

async function saveEpoch(out: string, config: GanConfig, state: GanState, history: GanEpochRecord[], fixed: Tensor, epoch: number): Promise<void> {
  state.gan.eval();
  const samples = gb.noGrad(() => state.gan.generator.forward(fixed));
  writePng(join(out, `samples-epoch-${epoch}.png`), await imageGrid(samples, { cols: 8, title: `${ganLossOf(config) === 'wgan-gp' ? 'WGAN-GP' : 'DCGAN'} on ${config.dataset}, epoch ${epoch}` }));
  samples.dispose();
  const modelBytes = await saveSafetensors(state.gan, {
    metadata: { model: GAN_MODEL, dataset: config.dataset, latentSize: String(config.latentSize), width: String(config.width), epoch: String(epoch), loss: ganLossOf(config), discriminatorNorm: ganLossOf(config) === 'wgan-gp' ? 'none' : 'batch' },
  });
  const opt = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  await optimizerTensors('g', state.optG, opt);
  await optimizerTensors('d', state.optD, opt);
  const g = state.optG.stateDict();
  const ckpt: CheckpointState = { config, epoch, optimizer: { step: g.step, lr: g.lr }, rng: gb.rngState(), history };
  writeCheckpoint(out, ckpt, { model: modelBytes, optimizer: writeSafetensors(opt) });
  writeJson(join(out, 'metrics.json'), { model: GAN_MODEL, dataset: config.dataset, config, epochs: history });
}
