/** The train / eval commands end to end on a small MNIST subset: files written, resume is exact. */
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../src/cli/args.ts';
import { train, TRAIN_OPTIONS } from '../src/cli/train.ts';

const run = (argv: string[]) => train(parseArgs(argv, TRAIN_OPTIONS));
const common = ['--model', 'mlp', '--dataset', 'mnist', '--limit', '640', '--val-limit', '500', '--optimizer', 'adam', '--seed', '3'];

describe('glassbox train', () => {
  it('writes weights, metrics, curves; resuming after epoch 1 gives bit-identical weights to 2 straight epochs', async () => {
    const straight = mkdtempSync(join(tmpdir(), 'gb-train-'));
    const resumed = mkdtempSync(join(tmpdir(), 'gb-train-'));
    await run([...common, '--epochs', '2', '--out', straight]);
    for (const f of ['model.safetensors', 'optimizer.safetensors', 'checkpoint.json', 'metrics.json', 'curves.png']) expect(existsSync(join(straight, f)), f).toBe(true);
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
    await expect(run([...common, '--epochs', '1', '--shift', '1.5', '--out', out])).rejects.toThrow(/--shift must be a whole number/);
  });
});
