/** Small file helpers: read a file that may be gzipped, hashing, atomic writes. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { gunzip as gunzipCb } from 'node:zlib';
import { DatasetFormatError, DatasetNotFoundError } from './errors.ts';

const gunzipAsync = promisify(gunzipCb);

/** True if the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Gunzip `bytes` (read from `file`, used in error messages). zlib's errors
 * are mapped to DatasetFormatError: an early end of the stream is
 * "truncated", anything else (bad header, CRC or length check) is "corrupt".
 */
export async function gunzipBytes(bytes: Uint8Array, file: string): Promise<Uint8Array> {
  try {
    const out = await gunzipAsync(bytes);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const msg = err.message ?? String(e);
    if (err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(msg)) {
      throw new DatasetFormatError(file, 'truncated', `gzip stream ends early (${msg}); the file was cut off, delete it and fetch it again`);
    }
    throw new DatasetFormatError(file, 'corrupt', `gzip data is corrupt (${msg})`);
  }
}

/** Read a file; gunzip it if it starts with the gzip magic. Missing file -> DatasetNotFoundError. */
export async function readMaybeGzipped(file: string): Promise<Uint8Array> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new DatasetNotFoundError(`${file}: file not found`);
    throw new DatasetNotFoundError(`${file}: cannot read (${err.message})`);
  }
  const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  if (bytes.length === 0) throw new DatasetFormatError(file, 'truncated', 'file is empty (0 bytes)');
  return isGzip(bytes) ? gunzipBytes(bytes, file) : bytes;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function fileExists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

export async function dirExists(dir: string): Promise<boolean> {
  try {
    return (await stat(dir)).isDirectory();
  } catch {
    return false;
  }
}

/** A unique temp path next to `file`, so that rename() stays on one file system. */
export function tempPathFor(file: string): string {
  return `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** Write `bytes` to `file` atomically: write a temp file in the same folder, then rename it over. */
export async function writeFileAtomic(file: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = tempPathFor(file);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
