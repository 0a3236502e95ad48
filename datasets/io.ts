/** Small file helpers: read a file that may be gzipped (with a cap on its size), hashing, atomic writes. */
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

/** The variable that raises every cap on a data file's (uncompressed) size, in MiB. */
export const MAX_INFLATED_ENV = 'GLASSBOX_MAX_INFLATED_MB';

/**
 * A cap on the bytes a data file may hold once uncompressed: what the data set can use, with some
 * room. It keeps a small crafted .gz (4.8 MB of zeros inflate to 4.5 GB) from taking the memory
 * before failing: zlib stops at the cap. GLASSBOX_MAX_INFLATED_MB raises it.
 */
export interface SizeCap {
  bytes: number;
  /** What the data set's largest such file holds, for the message. */
  why: string;
}

/** The largest cap (the CIFAR-10 tarball's), used where no tighter one is given. */
export const DEFAULT_CAP: SizeCap = { bytes: 192 * 2 ** 20, why: 'the largest data-set archive (CIFAR-10, 184 MB uncompressed) fits in it' };

/** `cap`, unless GLASSBOX_MAX_INFLATED_MB sets another. */
export function effectiveCap(cap: SizeCap): SizeCap {
  const env = process.env[MAX_INFLATED_ENV];
  if (env === undefined || env === '') return cap;
  const mb = Number(env);
  if (!Number.isFinite(mb) || mb <= 0) throw new DatasetNotFoundError(`${MAX_INFLATED_ENV}=${JSON.stringify(env)} must be a positive number of MiB`);
  return { bytes: Math.floor(mb * 2 ** 20), why: `set by ${MAX_INFLATED_ENV}` };
}

function capExceeded(file: string, cap: SizeCap, what: string): DatasetFormatError {
  return new DatasetFormatError(file, 'corrupt',
    `${what} more than ${cap.bytes} bytes (${(cap.bytes / 2 ** 20).toFixed(0)} MiB), the cap for this file: ${cap.why}. ` +
    `It is not this data set (or a crafted file); if it is meant to be this large, raise the cap with ${MAX_INFLATED_ENV}=<MiB>`);
}

/**
 * Gunzip `bytes` (read from `file`, used in error messages), stopping at `cap`. zlib's errors
 * are mapped to DatasetFormatError: an early end of the stream is
 * "truncated", anything else (bad header, CRC or length check) is "corrupt".
 */
export async function gunzipBytes(bytes: Uint8Array, file: string, cap: SizeCap = DEFAULT_CAP): Promise<Uint8Array> {
  const limit = effectiveCap(cap);
  try {
    const out = await gunzipAsync(bytes, { maxOutputLength: limit.bytes });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ERR_BUFFER_TOO_LARGE') throw capExceeded(file, limit, 'gzip data inflates to');
    const msg = err.message ?? String(e);
    if (err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(msg)) {
      throw new DatasetFormatError(file, 'truncated', `gzip stream ends early (${msg}); the file was cut off, delete it and fetch it again`);
    }
    throw new DatasetFormatError(file, 'corrupt', `gzip data is corrupt (${msg})`);
  }
}

/** Read a file; gunzip it if it starts with the gzip magic. Missing file -> DatasetNotFoundError. */
export async function readMaybeGzipped(file: string, cap: SizeCap = DEFAULT_CAP): Promise<Uint8Array> {
  const bytes = await readCapped(file, cap);
  return isGzip(bytes) ? gunzipBytes(bytes, file, cap) : bytes;
}

/** A file's bytes as stored (no gunzip), refused before reading when larger than `cap`. */
export async function readCapped(file: string, cap: SizeCap = DEFAULT_CAP): Promise<Uint8Array> {
  let raw: Buffer;
  try {
    const size = (await stat(file)).size;
    const limit = effectiveCap(cap);
    if (size > limit.bytes) throw capExceeded(file, limit, `the file holds ${size} bytes,`);
    raw = await readFile(file);
  } catch (e) {
    if (e instanceof DatasetFormatError) throw e;
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ENOENT') throw new DatasetNotFoundError(`${file}: file not found`);
    throw new DatasetNotFoundError(`${file}: cannot read (${err.message})`);
  }
  const bytes = new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
  if (bytes.length === 0) throw new DatasetFormatError(file, 'truncated', 'file is empty (0 bytes)');
  return bytes;
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
