/**
 * Checking local data-set files against their known checksums, once per file version.
 *
 * A local copy (GLASSBOX_DATA, GLASSBOX_MNIST_DIR, ...) used to be trusted as it was: a file of
 * noise with a valid header trained silently. Now each file's hashes are compared with the known
 * ones the first time it is used; a match is remembered by path, size and modification time in
 * `<cache>/verified-files.json` (never in the data folder, which may be read-only), so later loads
 * cost a stat. The check is skipped with the `verify: false` option or GLASSBOX_VERIFY_DATA=0.
 *
 * A file is accepted when any of these holds: the SHA-256 (or MD5) of its bytes as stored is the
 * distributed file's; the SHA-256 of its uncompressed bytes is the data's (a copy gunzipped or
 * re-compressed); or, for a known partial copy, its uncompressed bytes start with the known
 * prefix (see KnownContent.prefix).
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DatasetFormatError } from './errors.ts';
import { gunzipBytes, isGzip, readCapped, writeFileAtomic, type SizeCap } from './io.ts';

/** What a data-set file's bytes are known to be. */
export interface KnownContent {
  /** SHA-256 of the file as distributed (the .gz bytes). */
  sha256?: string;
  /** MD5 of the file as distributed, where that is all that is published. */
  md5?: string;
  /** SHA-256 of the uncompressed bytes. */
  contentSha256?: string;
  /**
   * A known partial copy: the SHA-256 of the first `bytes` uncompressed bytes. A file of exactly
   * that length is that copy; a longer one whose first `bytes` match is accepted with the rest
   * unchecked (the full file's hash is not known here).
   */
  prefix?: { bytes: number; sha256: string };
  /** Where the hashes come from, for the error message. */
  source: string;
}

export const VERIFY_ENV = 'GLASSBOX_VERIFY_DATA';
const REGISTRY = 'verified-files.json';

/** Whether to check local files: the option, else GLASSBOX_VERIFY_DATA (default on). */
export function verifyWanted(option: boolean | undefined): boolean {
  if (option !== undefined) return option;
  const v = process.env[VERIFY_ENV];
  return !(v === '0' || v?.toLowerCase() === 'false' || v?.toLowerCase() === 'no');
}

type Registry = Record<string, { size: number; mtimeMs: number }>;

async function readRegistry(cacheDir: string): Promise<Registry> {
  try {
    const r = JSON.parse(await readFile(join(cacheDir, REGISTRY), 'utf8')) as unknown;
    return typeof r === 'object' && r !== null && !Array.isArray(r) ? (r as Registry) : {};
  } catch {
    return {}; // none yet, or damaged: files are checked again
  }
}

const hash = (algorithm: 'sha256' | 'md5', bytes: Uint8Array) => createHash(algorithm).update(bytes).digest('hex');

/** Null when `stored` (the file's bytes) or `content` (uncompressed) matches `known`, else what differs. */
export function mismatch(stored: Uint8Array, content: Uint8Array, known: KnownContent): string | null {
  // each hash is computed only when something is compared with it (or the message needs it)
  let storedSha: string | undefined;
  let contentSha: string | undefined;
  const ofStored = () => (storedSha ??= hash('sha256', stored));
  const ofContent = () => (contentSha ??= content === stored ? ofStored() : hash('sha256', content));
  if (known.sha256 && known.sha256 === ofStored()) return null;
  if (known.md5 && known.md5 === hash('md5', stored)) return null;
  if (known.contentSha256 && known.contentSha256 === ofContent()) return null;
  const p = known.prefix;
  if (p && content.length >= p.bytes && hash('sha256', content.subarray(0, p.bytes)) === p.sha256) return null;
  const expected = [
    known.sha256 && `SHA-256 ${known.sha256} (as distributed)`,
    known.md5 && `MD5 ${known.md5} (as distributed)`,
    known.contentSha256 && `SHA-256 ${known.contentSha256} (uncompressed)`,
    p && `SHA-256 ${p.sha256} of the first ${p.bytes} uncompressed bytes (a known partial copy)`,
  ].filter(Boolean);
  return `SHA-256 of the file is ${ofStored()}${content === stored ? '' : `, of its uncompressed bytes ${ofContent()}`}; expected ${expected.join(' or ')} (${known.source})`;
}

/**
 * Checks a local file (its bytes as stored and uncompressed) against `known`, unless a match of the
 * same path, size and modification time is remembered in `cacheDir`. Throws DatasetFormatError.
 */
export async function verifyLocalFile(path: string, stored: Uint8Array, content: Uint8Array, known: KnownContent, cacheDir: string): Promise<void> {
  const key = resolve(path);
  const { size, mtimeMs } = await stat(path);
  const registry = await readRegistry(cacheDir);
  const seen = registry[key];
  if (seen && seen.size === size && seen.mtimeMs === mtimeMs) return;
  const problem = mismatch(stored, content, known);
  if (problem)
    throw new DatasetFormatError(path, 'corrupt',
      `${problem}. The file is damaged or not this data set: fetch it again, or set ${VERIFY_ENV}=0 (the verify: false option) to use it unchecked`);
  await remember(cacheDir, key, { size, mtimeMs });
}

/** Registry updates of this process, one at a time (a loader checks its files side by side). */
let updates: Promise<void> = Promise.resolve();

function remember(cacheDir: string, key: string, entry: Registry[string]): Promise<void> {
  updates = updates.then(async () => {
    // read just before writing: another process's entries written meanwhile are kept
    const latest = await readRegistry(cacheDir);
    latest[key] = entry;
    try {
      await writeFileAtomic(join(cacheDir, REGISTRY), JSON.stringify(latest, null, 1));
    } catch {
      // a read-only cache only costs a new check next time
    }
  });
  return updates;
}

/**
 * A data file's uncompressed bytes, at most `cap` (io.ts); with `check`, first checked against its
 * known hashes (remembered in `check.cacheDir`).
 */
export async function readDataFile(path: string, cap: SizeCap, check?: { known: KnownContent; cacheDir: string }): Promise<Uint8Array> {
  const stored = await readCapped(path, cap);
  const content = isGzip(stored) ? await gunzipBytes(stored, path, cap) : stored;
  if (check) await verifyLocalFile(path, stored, content, check.known, check.cacheDir);
  return content;
}
