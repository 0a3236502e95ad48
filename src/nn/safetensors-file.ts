/** Node helpers: a Module's weights to and from a .safetensors file on disk. */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { Module } from './module.ts';
import { loadSafetensors, saveSafetensors, type LoadSafetensorsOptions, type LoadSafetensorsResult } from './safetensors.ts';

/**
 * Writes `module`'s state dict to `path` atomically: to a temporary file beside it, then renamed
 * over `path`, so a crash mid-write never leaves a half-written file under the real name.
 */
export async function saveModel(path: string, module: Module, opts: { metadata?: Record<string, string> } = {}): Promise<void> {
  const bytes = await saveSafetensors(module, opts);
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
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
