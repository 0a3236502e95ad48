// Compiles src/ and datasets/ to dist/ (ES modules, .d.ts, source maps) with tsc and
// tsconfig.build.json: `npm run build` (`node scripts/build.mjs [--clean]`).
//
// bin/glassbox.mjs calls ensureBuilt() in a checkout, so the CLI always runs what the sources say:
// it rebuilds when a source is newer than the last build's stamp. Builds take a lock (a directory,
// created atomically) so that two commands started together never import each other's half-written
// files: the second waits for the first and then finds the build fresh.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..');
const SOURCE_DIRS = ['src', 'datasets'];
const OUTPUT_DIRS = ['dist/src', 'dist/datasets'];
const STAMP = join(ROOT, 'dist', '.build-stamp');
const LOCK = join(ROOT, 'dist', '.build-lock');
/** A lock older than this was left by a build that died; a real build takes seconds. */
const STALE_LOCK_MS = 120_000;

function newestSource(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** True when dist/ holds a build at least as new as every source file (and as the build config). */
export function isBuildFresh() {
  if (!existsSync(STAMP)) return false;
  const built = statSync(STAMP).mtimeMs;
  const configs = ['tsconfig.json', 'tsconfig.build.json'].map((f) => statSync(join(ROOT, f)).mtimeMs);
  return Math.max(...configs, ...SOURCE_DIRS.map((d) => newestSource(join(ROOT, d)))) <= built;
}

const sleep = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

function withLock(fn) {
  mkdirSync(join(ROOT, 'dist'), { recursive: true });
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(LOCK).mtimeMs > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
      } catch {
        // the other build just finished and removed it
      }
      sleep(100);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

/**
 * Runs tsc. Type errors fail the build when `strict` (npm run build); otherwise (the CLI in a
 * checkout, where someone may be half-way through an edit) the emitted JavaScript is used and the
 * errors are left to `npm run typecheck`. Returns tsc's exit status.
 */
function compile({ strict, clean }) {
  if (clean) for (const d of OUTPUT_DIRS) rmSync(join(ROOT, d), { recursive: true, force: true });
  const started = new Date();
  let tsc;
  try {
    tsc = join(dirname(createRequire(join(ROOT, 'package.json')).resolve('typescript/package.json')), 'bin', 'tsc');
  } catch {
    throw new Error('glassbox: dist/ is missing or older than the sources, and TypeScript is not installed to build it: run `npm install`, then `npm run build`.');
  }
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, encoding: 'utf8' });
  const emitted = existsSync(join(ROOT, 'dist/src/cli/main.js'));
  if (r.status !== 0 && (strict || !emitted)) {
    process.stderr.write(r.stdout + r.stderr);
    throw new Error(`glassbox: the build failed (tsc -p tsconfig.build.json exited with ${r.status ?? r.signal})`);
  }
  // stamped with the time the build started: a source saved during the build makes it stale
  writeFileSync(STAMP, `${started.toISOString()}\n`);
  utimesSync(STAMP, started, started);
  return r.status;
}

/** Builds dist/ unless it is fresh; safe to call from several processes at once. */
export function ensureBuilt() {
  if (isBuildFresh()) return;
  withLock(() => {
    if (isBuildFresh()) return; // another process built it while we waited
    process.stderr.write('glassbox: compiling the sources to dist/ (once after each change; `npm run build` does it too)\n');
    if (compile({ strict: false, clean: false }) !== 0) process.stderr.write('glassbox: built with type errors; see `npm run typecheck`\n');
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    withLock(() => compile({ strict: true, clean: process.argv.includes('--clean') }));
  } catch (e) {
    console.error(e.message);
    process.exit(1);
  }
}
