/**
 * vitest globalSetup (runs in vitest's main process): drops Dawn's two adapter-limit warnings from
 * what the test workers write to stderr. src/kernels/native-stderr.ts keeps them off a terminal,
 * pipe or file, but a vitest worker's stderr is a socket, which Node cannot reopen (it has no
 * dup2), so there they reach this process, and are filtered here instead.
 */
import { withoutDawnLimitWarnings } from '../../src/kernels/native-stderr.ts';

export default function quietDawnWarnings(): () => void {
  const write = process.stderr.write;
  process.stderr.write = function (this: NodeJS.WriteStream, chunk: unknown, ...rest: unknown[]) {
    const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : undefined;
    if (text === undefined) return (write as (...a: unknown[]) => boolean).call(this, chunk, ...rest);
    const kept = withoutDawnLimitWarnings(text);
    if (kept === '') {
      const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      done?.();
      return true;
    }
    return (write as (...a: unknown[]) => boolean).call(this, kept, ...rest);
  } as typeof process.stderr.write;
  return () => {
    process.stderr.write = write;
  };
}
