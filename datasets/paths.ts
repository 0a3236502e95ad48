/**
 * Where data sets are looked for. Resolution order, per data set (first match wins):
 *
 *  1. the `dir` option of the loader call;
 *  2. the per-data-set variable: GLASSBOX_MNIST_DIR, GLASSBOX_FASHION_MNIST_DIR, GLASSBOX_CIFAR10_DIR;
 *  3. GLASSBOX_DATA/<sub> with <sub> = mnist, fashion-mnist, cifar10 (used if that subfolder exists);
 *  4. built-in local copies (skipped with the `searchDefaults: false` option): <repo>/../shared/datasets/<sub>, and for Fashion-MNIST
 *     /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist);
 *  5. the download cache, GLASSBOX_CACHE/<sub> (default ~/.cache/glassbox/datasets/<sub>,
 *     or $XDG_CACHE_HOME/glassbox/datasets/<sub>);
 *  6. a download into that cache, unless the `download: false` option or GLASSBOX_OFFLINE=1.
 *
 * A folder named in 1-3 must hold the files: if it does not, the loader stops
 * with an error instead of quietly using another copy.
 */
import { homedir } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type DatasetKey = 'mnist' | 'fashion-mnist' | 'cifar10';

export const DIR_ENV: Record<DatasetKey, string> = {
  mnist: 'GLASSBOX_MNIST_DIR',
  'fashion-mnist': 'GLASSBOX_FASHION_MNIST_DIR',
  cifar10: 'GLASSBOX_CIFAR10_DIR',
};

/**
 * The repository root: the nearest folder above this module holding package.json. (Walking up
 * rather than taking '..' keeps it right when the code runs bundled from dist/run/.)
 */
function findRepoRoot(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  return resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
}
export const REPO_ROOT = findRepoRoot();

/** Folder of the shared offline copies used during development: <repo>/../shared/datasets. */
export const SHARED_DATASETS_DIR = resolve(REPO_ROOT, '..', 'shared', 'datasets');

/** Where Debian's dataset-fashion-mnist package installs its files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Root of the download cache: GLASSBOX_CACHE, else $XDG_CACHE_HOME/glassbox/datasets, else ~/.cache/glassbox/datasets. */
export function cacheRoot(): string {
  const env = process.env['GLASSBOX_CACHE'];
  if (env) return resolve(env);
  const xdg = process.env['XDG_CACHE_HOME'];
  return join(xdg ? resolve(xdg) : join(homedir(), '.cache'), 'glassbox', 'datasets');
}

/** True when GLASSBOX_OFFLINE is set to something other than '', '0' or 'false'. */
export function offlineByEnv(): boolean {
  const v = process.env['GLASSBOX_OFFLINE'];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

export interface Candidate {
  dir: string;
  /** How the folder was chosen, for messages: 'option dir', 'GLASSBOX_MNIST_DIR', ... */
  origin: string;
  /** Chosen explicitly by the user: must hold the files. */
  explicit: boolean;
}

/**
 * The local folders to try for a data set, in order (steps 1-4 above). If the
 * user named a folder (option or per-data-set variable), only that one is
 * returned. `exists` tells whether a GLASSBOX_DATA subfolder is present.
 */
export function localCandidates(key: DatasetKey, optDir: string | undefined, exists: (dir: string) => boolean, searchDefaults = true): Candidate[] {
  if (optDir) return [{ dir: resolve(optDir), origin: 'the dir option', explicit: true }];
  const envName = DIR_ENV[key];
  const perSet = process.env[envName];
  if (perSet) return [{ dir: resolve(perSet), origin: envName, explicit: true }];
  const out: Candidate[] = [];
  const root = process.env['GLASSBOX_DATA'];
  if (root) {
    const dir = resolve(root, key);
    if (exists(dir)) return [{ dir, origin: `GLASSBOX_DATA (${key}/ subfolder)`, explicit: true }];
  }
  if (!searchDefaults) return out;
  out.push({ dir: join(SHARED_DATASETS_DIR, key), origin: 'built-in search path', explicit: false });
  if (key === 'fashion-mnist') out.push({ dir: DEBIAN_FASHION_MNIST_DIR, origin: 'Debian package dataset-fashion-mnist', explicit: false });
  return out;
}

/** One sentence telling the user how to point a loader at a local copy. */
export function offlineHint(key: DatasetKey): string {
  return `To use a local copy instead (e.g. offline), set ${DIR_ENV[key]} to the folder holding the files, ` +
    `or GLASSBOX_DATA to a folder with a ${key}/ subfolder; set GLASSBOX_CACHE to change the download cache.`;
}
