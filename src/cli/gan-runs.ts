/**
 * A run folder of `glassbox gan train` holds a checkpoint in the classifier trainer's format (model
 * 'dcgan'), so commands for classifier runs would otherwise read it and fail on the zoo lookup. This
 * turns that into an error naming the GAN command that does the job.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GAN_MODEL } from '../gan/train.ts';
import { UsageError } from './args.ts';

/** The model name checkpoint.json records, or undefined when there is none or it cannot be read (the command's own checks report that). */
function recordedModel(dir: string): string | undefined {
  try {
    const model = (JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8')) as { config?: { model?: unknown } }).config?.model;
    return typeof model === 'string' ? model : undefined;
  } catch {
    return undefined;
  }
}

/** Throws when `dir` is a GAN run: `eval` points to `gan sample`, `train --resume` to `gan train --resume`. */
export function refuseGanRun(dir: string, command: 'eval' | 'train --resume'): void {
  if (recordedModel(dir) !== GAN_MODEL) return;
  const instead = command === 'eval' ? `score its generator with glassbox gan sample --model ${dir}` : `continue it with glassbox gan train --resume ${dir} [--epochs N]`;
  throw new UsageError(`${dir} is a GAN run of glassbox gan train (a DCGAN generator and discriminator), not a classifier run; glassbox ${command} works on classifier runs of glassbox train: ${instead}`);
}
