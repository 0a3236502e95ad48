/** Shared logic: find a data set's files locally, following the order in paths.ts. */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { DatasetNotFoundError } from './errors.ts';
import { fileExists } from './io.ts';
import { cacheRoot, localCandidates, offlineByEnv, offlineHint, type DatasetKey } from './paths.ts';
import type { LoadOptions } from './types.ts';

function isDir(dir: string): boolean {
  try {
    return existsSync(dir) && statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

export interface Located<T> {
  found: T;
  dir: string;
  origin: string;
}

/**
 * Try the local folders for `key` (steps 1-4 of paths.ts). `find(dir)` returns
 * what it needs from a folder, or a list of missing file names. A folder the
 * user named that lacks files is an error; the built-in ones are skipped.
 * Returns null when nothing was found; `searched` collects the folders tried.
 */
export async function findLocal<T>(
  key: DatasetKey,
  opts: LoadOptions,
  find: (dir: string) => Promise<T | { missing: string[] }>,
  searched: string[],
): Promise<Located<T> | null> {
  for (const c of localCandidates(key, opts.dir, isDir, opts.searchDefaults ?? true)) {
    searched.push(`${c.dir} (${c.origin})`);
    const r = await find(c.dir);
    if (!(r !== null && typeof r === 'object' && 'missing' in r)) return { found: r as T, dir: c.dir, origin: c.origin };
    if (c.explicit) {
      throw new DatasetNotFoundError(
        `${key}: ${c.origin} points to ${c.dir}, which lacks ${(r as { missing: string[] }).missing.join(', ')} ` +
        `(gzipped .gz or uncompressed).`);
    }
  }
  return null;
}

/** The cache subfolder for a data set. */
export function cacheDirFor(key: DatasetKey, opts: LoadOptions): string {
  return join(opts.cacheDir ?? cacheRoot(), key);
}

/** Whether downloading is allowed for this call. */
export function downloadAllowed(opts: LoadOptions): boolean {
  return opts.download ?? !offlineByEnv();
}

/** The error for "nowhere to be found and not allowed to download". */
export function notFound(key: DatasetKey, what: string, searched: string[]): DatasetNotFoundError {
  return new DatasetNotFoundError(
    `${key}: ${what} not found; searched:\n  ${searched.join('\n  ')}\n` +
    `Downloading is off (download: false option or GLASSBOX_OFFLINE=1). ${offlineHint(key)}`);
}

/** First of `names` that exists in `dir`, or undefined. */
export async function firstExisting(dir: string, names: string[]): Promise<string | undefined> {
  for (const n of names) {
    const p = join(dir, n);
    if (await fileExists(p)) return p;
  }
  return undefined;
}
