/**
 * Drops the two warnings Dawn prints when it finds an adapter on lavapipe (and other Vulkan
 * drivers that report a huge dynamic-buffer limit):
 *   Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 ...
 * Dawn writes them from native code straight to file descriptor 2, inside the synchronous part of
 * requestAdapter(), whatever limits are asked for later, and has no switch to turn them off. They
 * tell a glassbox user nothing (glassbox uses no dynamic offsets), so for the length of that one
 * call fd 2 points at a scratch file; afterwards the real stderr is put back and whatever else was
 * written there is passed on unchanged. Linux only (it reopens descriptors through /proc/self/fd);
 * elsewhere, or if any step fails, `call` simply runs with stderr as it is.
 */

type Fs = typeof import('node:fs');

const DAWN_LIMIT_WARNING = /^Warning: maxDynamic(?:Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.\r?\n/gm;

/** What `call` wrote to stderr, less Dawn's limit warnings. Exported for the test. */
export function withoutDawnLimitWarnings(text: string): string {
  return text.replace(DAWN_LIMIT_WARNING, '');
}

/**
 * Runs `call` (synchronous: no JavaScript runs while fd 2 is redirected) with Dawn's limit
 * warnings removed from what it writes to stderr. `fs` is node:fs, loaded by the caller (this
 * module stays free of Node imports for browser bundles).
 */
export function withoutDawnWarnings<T>(fs: Fs, call: () => T): T {
  if (process.platform !== 'linux') return call();
  let saved: number | undefined;
  let scratch: number | undefined;
  try {
    // a second descriptor for the real stderr (a terminal, pipe or file), to put back afterwards
    saved = fs.openSync('/proc/self/fd/2', 'a');
    const path = `/tmp/glassbox-stderr-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    scratch = fs.openSync(path, 'w+', 0o600);
    fs.unlinkSync(path);
  } catch {
    // a socket as stderr, no /proc or no /tmp: leave stderr alone
    for (const fd of [saved, scratch]) if (fd !== undefined) fs.closeSync(fd);
    return call();
  }
  // close(2) then open() takes the lowest free descriptor, 2: a dup2() made of calls Node has
  if (!pointFd2At(fs, scratch)) {
    pointFd2At(fs, saved);
    fs.closeSync(saved);
    fs.closeSync(scratch);
    return call();
  }
  try {
    return call();
  } finally {
    pointFd2At(fs, saved);
    const size = fs.fstatSync(scratch).size;
    const captured = Buffer.alloc(size);
    fs.readSync(scratch, captured, 0, size, 0);
    fs.closeSync(scratch);
    fs.closeSync(saved);
    const rest = withoutDawnLimitWarnings(captured.toString('utf8'));
    if (rest) fs.writeSync(2, rest);
  }
}

/** Makes fd 2 refer to what `fd` refers to; false if the descriptor that came back was not 2. */
function pointFd2At(fs: Fs, fd: number): boolean {
  fs.closeSync(2);
  const reopened = fs.openSync(`/proc/self/fd/${fd}`, 'a');
  if (reopened === 2) return true;
  fs.closeSync(reopened);
  return false;
}
