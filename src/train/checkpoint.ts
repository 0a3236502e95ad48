/**
 * Crash-safe training checkpoints: a run folder always holds one whole epoch's state, never a mix.
 *
 * Layout of a run folder (`glassbox train --out <dir>`):
 *   checkpoints/epoch-0003-1a2b3c4d/model.safetensors      the weights after epoch 3
 *   checkpoints/epoch-0003-1a2b3c4d/optimizer.safetensors  the optimiser's state after epoch 3
 *   checkpoint.json                                the manifest: epoch, the folder above, each file's
 *                                                  SHA-256 and size, the run's config, optimiser step
 *                                                  and learning rate, RNG state, history
 *   model.safetensors                              a copy of the latest weights, for other tools
 *
 * Writing epoch N: the two files go into a temporary folder, each fsynced, then the folder is
 * fsynced and renamed to checkpoints/epoch-N-<random> (and checkpoints/ fsynced); then checkpoint.json is
 * written to a temporary file, fsynced and renamed over the old one: that rename is the commit.
 * A kill before it leaves the old manifest, which names epoch N-1's folder, untouched and intact;
 * a kill after it leaves epoch N complete. Only then are the top-level copy refreshed and older
 * epoch folders removed. Reading checks every field of the manifest and every file's hash, so a
 * damaged or hand-edited checkpoint is refused with the file and field named.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MODEL_ZOO, type Recipe } from '../nn/models/zoo.ts';
import { parseSafetensors, type SafetensorsTensor } from '../nn/safetensors.ts';
import { DATASETS } from './datasets.ts';
import { printable } from '../../datasets/printable.ts';
import type { EpochRecord } from './trainer.ts';

/** Everything that defines a run: the model's recipe with the options it was started with. */
export interface RunConfig extends Recipe {
  model: string;
  dataset: string;
  seed: number;
  limit?: number;
  valLimit?: number;
}

/** The state training resumes from, besides the two tensor files. */
export interface CheckpointState {
  config: RunConfig;
  /** Epochs finished. */
  epoch: number;
  optimizer: { step: number; lr: number };
  rng: { seed: number; counter: number };
  history: EpochRecord[];
}

interface FileEntry {
  sha256: string;
  bytes: number;
}

/** checkpoint.json as written. */
interface Manifest extends CheckpointState {
  format: typeof FORMAT;
  version: typeof VERSION;
  /** The epoch's folder, relative to the run folder. */
  dir: string;
  files: Record<(typeof TENSOR_FILES)[number], FileEntry>;
}

const FORMAT = 'glassbox-checkpoint';
const VERSION = 2;
export const MANIFEST_FILE = 'checkpoint.json';
export const MODEL_FILE = 'model.safetensors';
export const OPTIMIZER_FILE = 'optimizer.safetensors';
const TENSOR_FILES = [MODEL_FILE, OPTIMIZER_FILE] as const;
const CHECKPOINTS_DIR = 'checkpoints';
const TEMP_MARK = '.tmp-';
/** Bounds that keep a damaged file from asking for absurd work (epoch 1e9 used to hang the resume). */
const MAX_EPOCHS = 1_000_000;

const epochLabel = (epoch: number) => `epoch-${String(epoch).padStart(4, '0')}`;
/** A fresh folder name per write, so a write never replaces a folder that a committed manifest names. */
const newEpochDir = (epoch: number) => `${CHECKPOINTS_DIR}/${epochLabel(epoch)}-${randomBytes(4).toString('hex')}`;
const isEpochDir = (dir: unknown, epoch: number) => typeof dir === 'string' && new RegExp(`^${CHECKPOINTS_DIR}/${epochLabel(epoch)}-[0-9a-f]{8}$`).test(dir);

/** The steps of writing one checkpoint, in order; tests inject a failure before each to simulate a kill there. */
export const WRITE_STEPS = ['write-model', 'write-optimizer', 'sync-epoch-dir', 'rename-epoch-dir', 'write-manifest', 'commit-manifest', 'copy-model', 'remove-old'] as const;
export type WriteStep = (typeof WRITE_STEPS)[number];
/** Called before each step; throwing from it stops the write there, leaving what a kill would. */
export type WriteFault = (step: WriteStep, epoch: number) => void;

/** A checkpoint file that cannot be used: names the file and, where one is at fault, the field. */
export class CheckpointError extends Error {
  constructor(
    readonly file: string,
    detail: string,
  ) {
    super(`glassbox.checkpoint: ${file}: ${detail}`);
    this.name = 'CheckpointError';
  }
}

// ---------------------------------------------------------------------------------------------
// writing
// ---------------------------------------------------------------------------------------------

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const tempName = (name: string) => `${name}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`;

/** Writes `bytes` to `path` and flushes them to the disk before returning. */
function writeDurably(path: string, bytes: Uint8Array | string): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, typeof bytes === 'string' ? Buffer.from(bytes) : bytes);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Flushes a folder's entries (a rename into it) to the disk. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes epoch `state.epoch`'s checkpoint into run folder `runDir` as one atomic unit (see the top
 * of this file). The caller holds the run's lock. `fault` is for tests.
 */
export function writeCheckpoint(runDir: string, state: CheckpointState, tensors: { model: Uint8Array; optimizer: Uint8Array }, fault?: WriteFault): void {
  const step = (s: WriteStep) => fault?.(s, state.epoch);
  const checkpoints = join(runDir, CHECKPOINTS_DIR);
  mkdirSync(checkpoints, { recursive: true });
  const dir = newEpochDir(state.epoch);
  const temp = join(runDir, tempName(dir));
  mkdirSync(temp);
  step('write-model');
  writeDurably(join(temp, MODEL_FILE), tensors.model);
  step('write-optimizer');
  writeDurably(join(temp, OPTIMIZER_FILE), tensors.optimizer);
  step('sync-epoch-dir');
  syncDir(temp);
  step('rename-epoch-dir');
  renameSync(temp, join(runDir, dir));
  syncDir(checkpoints);

  step('write-manifest');
  const manifest: Manifest = {
    format: FORMAT,
    version: VERSION,
    ...state,
    dir,
    files: {
      [MODEL_FILE]: { sha256: sha256(tensors.model), bytes: tensors.model.length },
      [OPTIMIZER_FILE]: { sha256: sha256(tensors.optimizer), bytes: tensors.optimizer.length },
    },
  };
  const manifestTemp = join(runDir, tempName(MANIFEST_FILE));
  writeDurably(manifestTemp, JSON.stringify(manifest, null, 1));
  step('commit-manifest');
  renameSync(manifestTemp, join(runDir, MANIFEST_FILE));
  syncDir(runDir);

  step('copy-model');
  refreshModelCopy(runDir, tensors.model);
  step('remove-old');
  removeStale(runDir, dir);
}

/** The top-level model.safetensors, replaced atomically (a reader sees the old or the new copy). */
function refreshModelCopy(runDir: string, model: Uint8Array): void {
  const temp = join(runDir, tempName(MODEL_FILE));
  writeDurably(temp, model);
  renameSync(temp, join(runDir, MODEL_FILE));
}

/**
 * Removes what killed writers left (temporary files and folders) and, given `keep` (the committed
 * epoch folder), every other epoch folder. Needs the run's lock.
 */
export function removeStale(runDir: string, keep?: string): void {
  for (const name of safeList(runDir)) if (name.includes(TEMP_MARK)) rmSync(join(runDir, name), { recursive: true, force: true });
  const checkpoints = join(runDir, CHECKPOINTS_DIR);
  for (const name of safeList(checkpoints)) {
    if (keep === undefined ? name.includes(TEMP_MARK) : `${CHECKPOINTS_DIR}/${name}` !== keep) rmSync(join(checkpoints, name), { recursive: true, force: true });
  }
}

const safeList = (dir: string): string[] => {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
};

// ---------------------------------------------------------------------------------------------
// reading
// ---------------------------------------------------------------------------------------------

export interface LoadedCheckpoint {
  state: CheckpointState;
  /** The verified bytes of the epoch's model.safetensors. */
  model: Uint8Array;
  /** The optimiser's state tensors, every value checked finite. */
  optimizerTensors: Map<string, SafetensorsTensor>;
  /** Where the epoch's weights are. */
  modelPath: string;
}

/**
 * Reads and verifies run folder `runDir`'s last checkpoint for resuming: every manifest field,
 * both files' hashes, the optimiser state's values. Holding the run's lock, the caller may pass
 * `repair` to remove what killed writers left and to restore the top-level weights copy.
 */
export function readCheckpoint(runDir: string, opts: { repair?: boolean } = {}): LoadedCheckpoint {
  const manifestPath = join(runDir, MANIFEST_FILE);
  const manifest = readManifest(manifestPath);
  if (manifest.version !== VERSION)
    throw new CheckpointError(manifestPath, `was written by an older glassbox (no checkpoint format version ${VERSION}); it cannot be resumed: start a new run`);
  const m = manifest as Manifest;
  const bytes = {} as Record<(typeof TENSOR_FILES)[number], Uint8Array>;
  for (const name of TENSOR_FILES) bytes[name] = verifiedFile(join(runDir, m.dir, name), m.files[name], manifestPath, m.epoch);
  const optimizerPath = join(runDir, m.dir, OPTIMIZER_FILE);
  let optimizerTensors: Map<string, SafetensorsTensor>;
  try {
    optimizerTensors = parseSafetensors(bytes[OPTIMIZER_FILE]).tensors;
  } catch (e) {
    throw new CheckpointError(optimizerPath, (e as Error).message);
  }
  for (const [name, t] of optimizerTensors) {
    const bad = t.data.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new CheckpointError(optimizerPath, `optimiser state '${name}' holds ${t.data[bad]} at element ${bad}; resuming would train on it. Resume from a run whose state is finite, or start a new run`);
  }
  if (opts.repair) {
    removeStale(runDir, m.dir);
    const copy = join(runDir, MODEL_FILE);
    let current: Uint8Array | undefined;
    try {
      current = readFileSync(copy);
    } catch {
      current = undefined;
    }
    if (!current || sha256(current) !== m.files[MODEL_FILE].sha256) refreshModelCopy(runDir, bytes[MODEL_FILE]);
  }
  const { config, epoch, optimizer, rng, history } = m;
  return { state: { config, epoch, optimizer, rng, history }, model: bytes[MODEL_FILE], optimizerTensors, modelPath: join(runDir, m.dir, MODEL_FILE) };
}

/** A file's bytes, checked against its size and hash in the manifest. */
function verifiedFile(path: string, want: FileEntry, manifestPath: string, epoch: number): Uint8Array {
  let data: Uint8Array;
  try {
    data = readFileSync(path);
  } catch (e) {
    throw new CheckpointError(path, `cannot be read (${(e as Error).message}), but ${manifestPath} names it for epoch ${epoch}; the run folder was changed by hand`);
  }
  const got = sha256(data);
  if (data.length !== want.bytes || got !== want.sha256)
    throw new CheckpointError(path, `does not match ${manifestPath} (${data.length} bytes, SHA-256 ${got}; recorded ${want.bytes} bytes, SHA-256 ${want.sha256}): the file is damaged`);
  return data;
}

/**
 * The model and data set a run folder was trained with and the path of its latest weights (for
 * eval, explain, evaluate): the manifest's epoch folder, or the top-level model.safetensors of a
 * run written before checkpoints were versioned. Undefined when `runDir` has no checkpoint.json.
 */
export function runWeights(runDir: string): { config: RunConfig; epoch: number; modelPath: string } | undefined {
  const manifestPath = join(runDir, MANIFEST_FILE);
  let text: string;
  try {
    text = readFileSync(manifestPath, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CheckpointError(manifestPath, `cannot be read (${(e as Error).message})`);
  }
  const m = parseManifest(manifestPath, text);
  if (m.version !== VERSION) return { config: m.config, epoch: m.epoch, modelPath: join(runDir, MODEL_FILE) };
  const modelPath = join(runDir, (m as Manifest).dir, MODEL_FILE);
  verifiedFile(modelPath, (m as Manifest).files[MODEL_FILE], manifestPath, m.epoch);
  return { config: m.config, epoch: m.epoch, modelPath };
}

/** checkpoint.json, parsed and validated; `version` is undefined for the first, unversioned format. */
function readManifest(path: string): CheckpointState & { version?: number } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CheckpointError(path, missing ? 'not found: --resume needs a run folder of glassbox train in which at least one epoch finished' : `cannot be read (${(e as Error).message})`);
  }
  return parseManifest(path, text);
}

/** Validates checkpoint.json's text; exported for the fuzz tests. */
export function parseManifest(path: string, text: string): CheckpointState & { version?: number } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(path, `is not valid JSON (${printable((e as Error).message)}); the file is damaged`);
  }
  const v = new FieldChecker(path);
  const top = v.object(raw, '');
  const versioned = top.version !== undefined;
  if (versioned) {
    v.oneOf(top.format, 'format', [FORMAT]);
    v.oneOf(top.version, 'version', [VERSION]);
  }
  const config = checkConfig(v, top.config);
  const epoch = v.int(top.epoch, 'epoch', 1, config.epochs);
  const opt = v.object(top.optimizer, 'optimizer');
  const optimizer = { step: v.int(opt.step, 'optimizer.step', 0, Number.MAX_SAFE_INTEGER), lr: v.number(opt.lr, 'optimizer.lr', 0) };
  const rngRaw = v.object(top.rng, 'rng');
  const rng = { seed: v.int(rngRaw.seed, 'rng.seed', 0, 0xffffffff), counter: v.int(rngRaw.counter, 'rng.counter', 0, 0xffffffff) };
  if (!Array.isArray(top.history)) v.fail('history', 'must be an array of epoch records', top.history);
  const history = (top.history as unknown[]).map((r, i) => checkEpochRecord(v, r, `history[${i}]`, i + 1));
  if (history.length !== epoch) v.fail('history', `holds ${history.length} epochs but 'epoch' is ${epoch}`, undefined);
  if (versioned) {
    if (!isEpochDir(top.dir, epoch)) v.fail('dir', `must be '${CHECKPOINTS_DIR}/${epochLabel(epoch)}-' and 8 hex digits for epoch ${epoch}`, top.dir);
    const files = v.object(top.files, 'files');
    for (const name of TENSOR_FILES) {
      const f = v.object(files[name], `files['${name}']`);
      if (typeof f.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(f.sha256)) v.fail(`files['${name}'].sha256`, 'must be 64 hex digits', f.sha256);
      v.int(f.bytes, `files['${name}'].bytes`, 8, Number.MAX_SAFE_INTEGER);
    }
  }
  return { ...(top as object), config, epoch, optimizer, rng, history, version: versioned ? VERSION : undefined } as CheckpointState & { version?: number };
}

function checkConfig(v: FieldChecker, raw: unknown): RunConfig {
  const c = v.object(raw, 'config');
  // 'dcgan': the generator-discriminator pair of `glassbox gan train` (src/gan/train.ts), checkpointed the same way
  v.oneOf(c.model, 'config.model', [...Object.keys(MODEL_ZOO), 'dcgan']);
  v.oneOf(c.dataset, 'config.dataset', Object.keys(DATASETS));
  v.oneOf(c.optimizer, 'config.optimizer', ['sgd', 'adam', 'adamw']);
  v.oneOf(c.schedule ?? 'none', 'config.schedule', ['none', 'step', 'cosine', 'onecycle']);
  v.oneOf(c.loss ?? 'cross-entropy', 'config.loss', ['cross-entropy', 'hinge']);
  v.int(c.epochs, 'config.epochs', 1, MAX_EPOCHS);
  v.int(c.batchSize, 'config.batchSize', 1, 1 << 20);
  v.number(c.lr, 'config.lr', Number.MIN_VALUE);
  for (const key of ['momentum', 'weightDecay'] as const) if (c[key] !== undefined) v.number(c[key], `config.${key}`, 0);
  v.int(c.seed, 'config.seed', -Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  if (c.shift !== undefined) v.int(c.shift, 'config.shift', 0, 1024);
  for (const key of ['limit', 'valLimit'] as const) if (c[key] !== undefined) v.int(c[key], `config.${key}`, 0, Number.MAX_SAFE_INTEGER);
  // train --init's starting weights: provenance only, never reloaded
  if (c.init !== undefined && typeof c.init !== 'string') v.fail('config.init', 'must be the path of the starting weights', c.init);
  return c as unknown as RunConfig;
}

function checkEpochRecord(v: FieldChecker, raw: unknown, at: string, epoch: number): EpochRecord {
  const r = v.object(raw, at);
  v.int(r.epoch, `${at}.epoch`, epoch, epoch);
  for (const key of ['lr', 'trainLoss', 'trainAccuracy', 'seconds', 'imagesPerSecond'] as const) v.number(r[key], `${at}.${key}`, -Number.MAX_VALUE);
  // JSON has no NaN: a validation loss that was NaN is written as null
  for (const key of ['valLoss', 'valAccuracy'] as const) if (r[key] !== undefined && r[key] !== null) v.number(r[key], `${at}.${key}`, -Number.MAX_VALUE);
  return r as unknown as EpochRecord;
}

/** Checks single fields, naming the file and the field's path in every error. */
class FieldChecker {
  constructor(private readonly file: string) {}

  fail(field: string, problem: string, got: unknown): never {
    const shown = got === undefined ? 'it is missing' : `got ${printable(JSON.stringify(got) ?? String(got), 80)}`;
    throw new CheckpointError(this.file, `field '${field || '(top level)'}' ${problem}; ${shown}. The file is damaged or was edited: restore it or start a new run`);
  }

  object(raw: unknown, field: string): Record<string, unknown> {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) this.fail(field, 'must be an object', raw);
    return raw as Record<string, unknown>;
  }

  int(raw: unknown, field: string, min: number, max: number): number {
    if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < min || raw > max) this.fail(field, `must be a whole number from ${min} to ${max}`, raw);
    return raw;
  }

  /** A finite number >= min. */
  number(raw: unknown, field: string, min: number): number {
    if (typeof raw !== 'number' || !Number.isFinite(raw) || raw < min) this.fail(field, min > 0 ? 'must be a positive finite number' : min === 0 ? 'must be a finite number, 0 or more' : 'must be a finite number', raw);
    return raw;
  }

  oneOf(raw: unknown, field: string, allowed: readonly string[] | readonly number[]): void {
    if (!(allowed as readonly unknown[]).includes(raw)) this.fail(field, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, raw);
  }
}
