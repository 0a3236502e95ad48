/** Node helpers: a Module's weights to and from a .safetensors file on disk. */
import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../../datasets/io.ts';
import type { Module } from './module.ts';
import { loadSafetensors, saveSafetensors, type LoadSafetensorsOptions, type LoadSafetensorsResult } from './safetensors.ts';

/**
 * Writes `module`'s state dict to `path` atomically: to a temporary file beside it, then renamed
 * over `path`, so a crash mid-write never leaves a half-written file under the real name.
 */
export async function saveModel(path: string, module: Module, opts: { metadata?: Record<string, string> } = {}): Promise<void> {
  await writeFileAtomic(path, await saveSafetensors(module, opts));
}

/** Reads a .safetensors file into `module` (see loadSafetensors for `strict` and `from`). */
export async function loadModel(path: string, module: Module, opts: LoadSafetensorsOptions = {}): Promise<LoadSafetensorsResult> {
  const bytes = await readFile(path);
  try {
    return loadSafetensors(module, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), opts);
  } catch (e) {
    (e as Error).message = `${(e as Error).message}\n  (file: ${path})`;
    throw e;
  }
}
