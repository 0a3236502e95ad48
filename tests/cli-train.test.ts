/** The train / eval commands end to end on a small MNIST subset: files written, resume is exact. */
import { mkdtempSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli/args.ts';
import { train, TRAIN_OPTIONS } from '../src/cli/train.ts';
import { readCheckpoint, type WriteStep } from '../src/train/checkpoint.ts';
import { LOCK_FILE } from '../src/train/run-lock.ts';

const run = async (argv: string[]) => train(parseArgs(argv, TRAIN_OPTIONS)); // async: a usage error rejects
const common = ['--model', 'mlp', '--dataset', 'mnist', '--limit', '640', '--val-limit', '500', '--optimizer', 'adam', '--seed', '3'];

/** An uninterrupted 2-epoch run (written by the first test), which the crash tests compare with. */
const straight = mkdtempSync(join(tmpdir(), 'gb-train-'));

describe('glassbox train', () => {
  it('writes weights, metrics, curves; resuming after epoch 1 gives bit-identical weights to 2 straight epochs', async () => {
    const resumed = mkdtempSync(join(tmpdir(), 'gb-train-'));
    await run([...common, '--epochs', '2', '--out', straight]);
    for (const f of ['model.safetensors', 'checkpoint.json', 'metrics.json', 'curves.png']) expect(existsSync(join(straight, f)), f).toBe(true);
    expect(existsSync(join(readCheckpoint(straight).modelPath, '..', 'optimizer.safetensors'))).toBe(true);
    expect(existsSync(join(straight, LOCK_FILE)), 'the lock is released at the end').toBe(false);
    const metrics = JSON.parse(readFileSync(join(straight, 'metrics.json'), 'utf8'));
    expect(metrics.epochs).toHaveLength(2);
    expect(metrics.epochs[1].valAccuracy).toBeGreaterThan(0.5);

    await run([...common, '--epochs', '1', '--out', resumed]);
    await run(['--resume', resumed, '--epochs', '2']);
    const a = readFileSync(join(straight, 'model.safetensors'));
    const b = readFileSync(join(resumed, 'model.safetensors'));
    // same weights; the headers differ only if metadata does (it records the same epoch)
    expect(Buffer.compare(a, b)).toBe(0);
  });

  it('--shift translates training images (recorded with the run); a bad value is a usage error', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-train-'));
    await run([...common, '--epochs', '1', '--shift', '2', '--out', out]);
    const checkpoint = JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8'));
    expect(checkpoint.config.shift).toBe(2);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics.epochs[0].valAccuracy).toBeGreaterThan(0.5);
    await expect(run([...common, '--epochs', '1', '--shift', '1.5', '--out', out])).rejects.toThrow(/'--shift <n>' argument '1.5' is invalid. It must be a whole number/);
  });

  // A kill between two writes of epoch 2's checkpoint, before and after its commit (every step is
  // covered without the GPU in tests/checkpoint.test.ts): resuming ends with the uninterrupted
  // run's weights, bit for bit. Before the checkpoint was one atomic unit, a kill between the
  // weights' and checkpoint.json's renames resumed epoch 1's state with epoch 2's weights.
  it.each(['rename-epoch-dir', 'copy-model'] as WriteStep[])('killed before %s of epoch 2, resumed: the same weights as an uninterrupted run', async (killedAt) => {
    const out = mkdtempSync(join(tmpdir(), 'gb-train-'));
    const kill = (step: WriteStep, epoch: number) => {
      if (epoch === 2 && step === killedAt) throw new Error(`killed before ${step}`);
    };
    await expect(train(parseArgs([...common, '--epochs', '2', '--out', out], TRAIN_OPTIONS), { checkpointFault: kill })).rejects.toThrow(`killed before ${killedAt}`);
    expect(existsSync(join(out, LOCK_FILE)), 'a failed run releases its lock').toBe(false);
    await run(['--resume', out, '--epochs', '2']);
    expect(Buffer.compare(readFileSync(join(out, 'model.safetensors')), readFileSync(join(straight, 'model.safetensors')))).toBe(0);
    expect(readCheckpoint(out).state.history.map((h) => h.trainLoss)).toEqual(readCheckpoint(straight).state.history.map((h) => h.trainLoss));
  });

  it('a folder in use by another run is refused, naming its pid', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-train-'));
    writeFileSync(join(out, LOCK_FILE), `${process.pid}\n`); // a live process holds it
    await expect(run([...common, '--epochs', '1', '--out', out])).rejects.toThrow(new RegExp(`in use by process ${process.pid} `));
    await expect(run(['--resume', out])).rejects.toThrow(new RegExp(`in use by process ${process.pid} `));
  });

  it('--resume refuses options it would not apply, naming them, and a damaged checkpoint.json naming the field', async () => {
    await expect(run(['--resume', straight, '--lr', '0.5', '--batch-size', '32'])).rejects.toThrow(/--batch-size, --lr would change it and are not applied/);
    await expect(run(['--resume', straight, '--model', 'lenet5'])).rejects.toThrow(/--model would change it and is not applied/);
    const damaged = mkdtempSync(join(tmpdir(), 'gb-train-'));
    const manifest = JSON.parse(readFileSync(join(straight, 'checkpoint.json'), 'utf8'));
    writeFileSync(join(damaged, 'checkpoint.json'), JSON.stringify({ ...manifest, epoch: 1e9 }));
    await expect(run(['--resume', damaged, '--epochs', '3'])).rejects.toThrow(/checkpoint\.json: field 'epoch' must be a whole number from 1 to 2; got 1000000000/);
  });

  it('--init starts from a trained run: at a vanishing learning rate the first epoch scores what the run scored', async () => {
    const out = mkdtempSync(join(tmpdir(), 'gb-train-'));
    await run([...common, '--epochs', '1', '--lr', '1e-12', '--init', straight, '--out', out]);
    const start = JSON.parse(readFileSync(join(straight, 'metrics.json'), 'utf8')).epochs.at(-1).valAccuracy;
    expect(start).toBeGreaterThan(0.5); // a random mlp scores about 0.1
    expect(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).epochs[0].valAccuracy).toBe(start);
    expect(JSON.parse(readFileSync(join(out, 'checkpoint.json'), 'utf8')).config.init).toBe(readCheckpoint(straight).modelPath);
    await expect(run([...common, '--init', join(out, 'missing'), '--out', out])).rejects.toThrow(/--init .*missing: no such file or folder/);
    await expect(run(['--model', 'lenet5', '--dataset', 'mnist', '--init', straight, '--out', out])).rejects.toThrow(/holds a mlp trained on mnist, and this run trains a lenet5 on mnist/);
    await expect(run([...common, '--epochs', '1', '--init', 'tests/fixtures/models/lenet-mnist.safetensors', '--out', mkdtempSync(join(tmpdir(), 'gb-train-'))])).rejects.toThrow(/--init .*lenet-mnist.safetensors does not fit a mlp for mnist/);
    await expect(run(['--resume', out, '--init', straight])).rejects.toThrow(/--init would change it and is not applied/);
  });
});
