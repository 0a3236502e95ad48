/**
 * `glassbox train` with fewer training images than one batch (issue 22 item 7): it says so,
 * naming --batch-size and --limit, instead of training on nothing and reporting the NaN mean
 * loss as "training diverged, lower the learning rate".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { parseArgs } from '../src/cli/args.ts';
import { train, TRAIN_OPTIONS } from '../src/cli/train.ts';

const out = mkdtempSync(join(tmpdir(), 'glassbox-zero-batches-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

it('a run with no full batch is refused, naming --batch-size and --limit', async () => {
  const args = parseArgs(['--model', 'mlp', '--dataset', 'mnist', '--limit', '10', '--batch-size', '64', '--epochs', '1', '--out', join(out, 'run')], TRAIN_OPTIONS);
  await expect(train(args)).rejects.toThrow('no training batch: 10 training images make no full batch of --batch-size 64; lower --batch-size or raise --limit');
});
