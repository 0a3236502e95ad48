/**
 * Crash-safe checkpoints (src/train/checkpoint.ts) and the run folder's lock (src/train/run-lock.ts),
 * without the GPU: a write killed before any of its steps (a failure injected there) always leaves
 * one consistent epoch; every damaged field of checkpoint.json is refused naming the file and field;
 * a folder locked by a live process is refused naming its pid, a dead process's lock is taken over.
 * tests/cli-train.test.ts resumes real runs killed mid-checkpoint and compares with uninterrupted ones.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeSafetensors } from '../src/nn/safetensors.ts';
import { CheckpointError, readCheckpoint, runWeights, WRITE_STEPS, writeCheckpoint, type CheckpointState, type WriteStep } from '../src/train/checkpoint.ts';
import { acquireRunLock, LOCK_FILE, RunLockedError } from '../src/train/run-lock.ts';

const tempDir = () => mkdtempSync(join(tmpdir(), 'gb-ckpt-'));

const config = { model: 'mlp', dataset: 'mnist', optimizer: 'adam' as const, lr: 1e-3, epochs: 3, batchSize: 64, schedule: 'none' as const, seed: 3 };
const record = (epoch: number) => ({ epoch, lr: 1e-3, trainLoss: 1 / epoch, trainAccuracy: 0.5, valLoss: 1, valAccuracy: 0.5, seconds: 1, imagesPerSecond: 100 });

/** Epoch `e`'s state and files, with values that say which epoch they belong to. */
function epochData(e: number): { state: CheckpointState; tensors: { model: Uint8Array; optimizer: Uint8Array } } {
  const state: CheckpointState = { config: { ...config }, epoch: e, optimizer: { step: 10 * e, lr: 1e-3 }, rng: { seed: 3, counter: 100 * e }, history: Array.from({ length: e }, (_, i) => record(i + 1)) };
  const model = writeSafetensors(new Map([['fc.weight', { shape: [2, 2], data: Float32Array.from([e, e, e, e]) }]]), { epoch: String(e) });
  const optimizer = writeSafetensors(new Map([['0.m', { shape: [4], data: Float32Array.from([e, -e, e, -e]) }]]));
  return { state, tensors: { model, optimizer } };
}

/** Writes a checkpoint that would be valid, then lets `edit` damage its manifest. */
function damagedRun(edit: (manifest: Record<string, any>) => void): string {
  const dir = tempDir();
  const { state, tensors } = epochData(1);
  writeCheckpoint(dir, state, tensors);
  const manifest = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8'));
  edit(manifest);
  writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify(manifest));
  return dir;
}

describe('checkpoint writes are atomic', () => {
  it.each(WRITE_STEPS)('killed before %s of epoch 2: resumes from one whole epoch, then finishes as an uninterrupted run', (killedAt) => {
    const dir = tempDir();
    writeCheckpoint(dir, epochData(1).state, epochData(1).tensors);
    const kill = (step: WriteStep, epoch: number) => {
      if (epoch === 2 && step === killedAt) throw new Error(`killed before ${step}`);
    };
    expect(() => writeCheckpoint(dir, epochData(2).state, epochData(2).tensors, kill)).toThrow(`killed before ${killedAt}`);

    // committed by the manifest's rename: before it epoch 1 stands, after it epoch 2
    const committed = WRITE_STEPS.indexOf(killedAt) > WRITE_STEPS.indexOf('commit-manifest') ? 2 : 1;
    const resumed = readCheckpoint(dir, { repair: true });
    expect(resumed.state.epoch).toBe(committed);
    expect(resumed.state.rng.counter).toBe(100 * committed);
    expect(Buffer.compare(resumed.model, epochData(committed).tensors.model)).toBe(0);
    expect([...resumed.optimizerTensors.get('0.m')!.data]).toEqual([committed, -committed, committed, -committed]);
    // repair: no temporary files, one epoch folder, and the top-level copy is the committed epoch's
    expect(readdirSync(dir).filter((n) => n.includes('.tmp-'))).toEqual([]);
    expect(readdirSync(join(dir, 'checkpoints'))).toHaveLength(1);
    expect(Buffer.compare(readFileSync(join(dir, 'model.safetensors')), epochData(committed).tensors.model)).toBe(0);
    expect(runWeights(dir)!.modelPath).toBe(resumed.modelPath);

    // the resumed run writes the epochs it still owes; the folder ends as an uninterrupted run's
    for (let e = committed + 1; e <= 3; e++) writeCheckpoint(dir, epochData(e).state, epochData(e).tensors);
    const straight = tempDir();
    for (let e = 1; e <= 3; e++) writeCheckpoint(straight, epochData(e).state, epochData(e).tensors);
    const [a, b] = [readCheckpoint(dir), readCheckpoint(straight)];
    expect(a.state).toEqual(b.state);
    expect(Buffer.compare(a.model, b.model)).toBe(0);
    expect(Buffer.compare(readFileSync(join(dir, 'model.safetensors')), readFileSync(join(straight, 'model.safetensors')))).toBe(0);
    expect(readdirSync(join(dir, 'checkpoints'))).toHaveLength(1);
  });

  it('a file of the epoch changed after the commit is refused, naming it and both hashes', () => {
    const dir = tempDir();
    writeCheckpoint(dir, epochData(1).state, epochData(1).tensors);
    const path = readCheckpoint(dir).modelPath;
    const bytes = readFileSync(path);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(path, bytes);
    expect(() => readCheckpoint(dir)).toThrow(/model\.safetensors: does not match .*checkpoint\.json .*SHA-256 [0-9a-f]{64}; recorded \d+ bytes, SHA-256 [0-9a-f]{64}/);
    expect(() => runWeights(dir)).toThrow(CheckpointError);
  });
});

describe('checkpoint.json is validated field by field', () => {
  const cases: Array<[string, (m: Record<string, any>) => void, RegExp]> = [
    ['epoch 1e9 (used to hang)', (m) => (m.epoch = 1e9), /field 'epoch' must be a whole number from 1 to 3; got 1000000000/],
    ['a negative epoch (used to train 8 more)', (m) => (m.epoch = -3), /field 'epoch' must be a whole number from 1 to 3; got -3/],
    ['a string epoch (used to exit 0 doing nothing)', (m) => (m.epoch = 'abc'), /field 'epoch' must be a whole number .*got "abc"/],
    ['no rng (used to crash on undefined)', (m) => delete m.rng, /field 'rng' must be an object; it is missing/],
    ['a fractional RNG counter', (m) => (m.rng.counter = 1.5), /field 'rng.counter' must be a whole number/],
    ['a negative learning rate', (m) => (m.config.lr = -1), /field 'config.lr' must be a positive finite number; got -1/],
    ['an unknown model', (m) => (m.config.model = 'gpt'), /field 'config.model' must be one of .*"mlp".*; got "gpt"/],
    ['a history shorter than the epoch', (m) => m.history.pop(), /field 'history' holds 0 epochs but 'epoch' is 1/],
    ['a folder outside checkpoints/', (m) => (m.dir = '../../etc'), /field 'dir' must be 'checkpoints\/epoch-0001-' and 8 hex digits/],
    ['a hash that is not hex', (m) => (m.files['model.safetensors'].sha256 = 'x'), /field 'files\['model.safetensors'\].sha256' must be 64 hex digits/],
    ['an escape sequence in a string', (m) => (m.config.optimizer = '\u001b[31mred'), /field 'config.optimizer' must be one of .*; got "\\u001b\[31mred"/],
  ];
  it.each(cases)('%s', (_, edit, message) => {
    const dir = damagedRun(edit);
    const error = (() => {
      try {
        readCheckpoint(dir);
      } catch (e) {
        return e as Error;
      }
      throw new Error('accepted');
    })();
    expect(error).toBeInstanceOf(CheckpointError);
    expect(error.message).toContain(join(dir, 'checkpoint.json'));
    expect(error.message).toMatch(message);
  });

  it('invalid JSON names the file', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'checkpoint.json'), '{"epoch": 1,');
    expect(() => readCheckpoint(dir)).toThrow(new RegExp(`${join(dir, 'checkpoint.json')}: is not valid JSON`));
  });

  it('NaN in the optimiser state is refused, naming the file and the tensor', () => {
    const dir = tempDir();
    const { state, tensors } = epochData(1);
    tensors.optimizer = writeSafetensors(new Map([['0.v', { shape: [3], data: Float32Array.from([1, NaN, 2]) }]]));
    writeCheckpoint(dir, state, tensors);
    expect(() => readCheckpoint(dir)).toThrow(/optimizer\.safetensors: optimiser state '0\.v' holds NaN at element 1/);
  });

  it('a run folder written before checkpoints were versioned is read by eval and explain, but not resumed', () => {
    const dir = tempDir();
    const { state, tensors } = epochData(1);
    writeFileSync(join(dir, 'checkpoint.json'), JSON.stringify(state));
    writeFileSync(join(dir, 'model.safetensors'), tensors.model);
    expect(runWeights(dir)).toEqual({ config: state.config, epoch: 1, modelPath: join(dir, 'model.safetensors') });
    expect(() => readCheckpoint(dir)).toThrow(/written by an older glassbox .* start a new run/);
    expect(runWeights(tempDir())).toBeUndefined();
  });
});

describe('one run per folder', () => {
  it('a folder locked by a live process is refused, naming its pid; released, it can be taken', () => {
    const dir = tempDir();
    const lock = acquireRunLock(dir);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    expect(() => acquireRunLock(dir)).toThrow(RunLockedError);
    expect(() => acquireRunLock(dir)).toThrow(new RegExp(`in use by process ${process.pid} `));
    lock.release();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    acquireRunLock(dir).release();
  });

  it('a lock file without a pid is being created (refused) unless it is old (taken over)', () => {
    const dir = tempDir();
    writeFileSync(join(dir, LOCK_FILE), '');
    expect(() => acquireRunLock(dir)).toThrow(/in use by another process \(its pid is not written yet\)/);
    const minuteAgo = new Date(Date.now() - 60_000);
    utimesSync(join(dir, LOCK_FILE), minuteAgo, minuteAgo);
    acquireRunLock(dir).release();
  });

  it("a dead process's lock is taken over", () => {
    const dir = tempDir();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // exited: its pid names no process now
    writeFileSync(join(dir, LOCK_FILE), `${dead}\n`);
    const lock = acquireRunLock(dir);
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8').trim()).toBe(String(process.pid));
    lock.release();
  });
});
