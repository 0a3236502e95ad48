/**
 * One training run per folder: `glassbox train` holds `<out>/.lock` (holding its pid) while it
 * runs, so a second run on the same folder stops instead of interleaving its checkpoints with the
 * first one's (without it the last writer silently wins). The file is created with O_EXCL, which
 * is atomic, so of two runs starting together exactly one gets it. A lock left by a process that
 * no longer exists (killed with -9, a crashed machine) is taken over.
 */
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = '.lock';
/** A lock file younger than this without a pid is being written, not stale. */
const FRESH_MS = 10_000;

export class RunLockedError extends Error {
  constructor(
    readonly dir: string,
    readonly pid: number | undefined,
  ) {
    const who = pid === undefined ? 'another process (its pid is not written yet)' : `process ${pid}`;
    super(
      `the run folder ${dir} is in use by ${who} (lock file ${join(dir, LOCK_FILE)}); ` +
        `wait for that run to end, or choose another --out. If ${who} is not a glassbox run, delete the lock file.`,
    );
    this.name = 'RunLockedError';
  }
}

export interface RunLock {
  release(): void;
}

/** True when a process with this pid exists (EPERM: it exists but belongs to another user). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid written in a lock file, or undefined when it holds none (a writer killed before writing it). */
function lockOwner(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined; // removed meanwhile: the next attempt decides
  }
}

/** Takes `<dir>/.lock` for this process, or throws RunLockedError naming the live owner's pid. */
export function acquireRunLock(dir: string): RunLock {
  const path = join(dir, LOCK_FILE);
  // two attempts: the second after removing a dead owner's lock
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = lockOwner(path);
      if (owner !== undefined && processAlive(owner)) throw new RunLockedError(dir, owner);
      // no pid yet: a run that created the file this instant is about to write it
      const created = statSync(path, { throwIfNoEntry: false })?.mtimeMs;
      if (owner === undefined && created !== undefined && Date.now() - created < FRESH_MS) throw new RunLockedError(dir, undefined);
      console.error(`glassbox train: taking over the lock ${path} left by process ${owner ?? '(unknown)'}, which no longer runs`);
      rmSync(path, { force: true });
      continue;
    }
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    let held = true;
    return {
      release() {
        // remove it only if it is still ours (never another run's that took over a stale one)
        if (held && lockOwner(path) === process.pid) rmSync(path, { force: true });
        held = false;
      },
    };
  }
  throw new RunLockedError(dir, lockOwner(path));
}
