/**
 * Memory limits: small tensors share slabs, live GPU buffers are bounded, and a long loop of
 * forgotten intermediates ends normally or with glassbox's error, never with a native crash.
 *
 * Before slabs, every tensor had a buffer of its own, which lavapipe maps into the process; at
 * Linux's vm.max_map_count (65,530) the driver crashed (SIGSEGV, exit 139) after ~64,000 ops of
 * the loop below. That loop runs in a child process so such a crash fails this test with its
 * signal instead of killing the vitest worker.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import * as gb from '../src/index.ts';
import { DEFAULT_MAX_BUFFERS } from '../src/kernels/buffer-budget.ts';
import { runtime, setBufferLimit } from '../src/kernels/runtime.ts';

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

function runScript(script: string, args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/run-ts.mjs', script, ...args], { cwd: REPO_ROOT, env: { ...process.env, LP_NUM_THREADS: '1' } });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, output }));
  });
}

const made: gb.Tensor[] = [];
afterEach(() => {
  made.splice(0).forEach((t) => t.dispose());
  setBufferLimit(DEFAULT_MAX_BUFFERS);
});

describe('memory limits', () => {
  it('300,000 ops on forgotten intermediates, with no await, run to the end (or stop with glassbox error), never a crash', async () => {
    const ops = 300_000;
    const { code, signal, output } = await runScript('tests/memory-limits/forgotten-ops.ts', [String(ops)]);
    const result = output.split('\n').filter((l) => /^(done|error) /.test(l));
    expect(signal, `the child died of a signal; its output:\n${output.slice(-2000)}`).toBeNull();
    if (code === 3) expect(result[0]).toMatch(/^error after \d+ ops: glassbox: /);
    else {
      expect(code, output.slice(-2000)).toBe(0);
      expect(result).toEqual([`done ${ops} ${ops}`]); // every add of 1 happened, in order
    }
  }, 150_000);

  it('small tensors share slabs: 2,000 of them take a few buffers and keep their own values', async () => {
    const before = gb.memory().buffersAlive;
    for (let i = 0; i < 2000; i++) made.push(gb.tensor([i, -i, i / 2], [3]));
    expect(gb.memory().buffersAlive - before).toBeLessThanOrEqual(4);
    // ops whose inputs and outputs lie in one slab (the alias-safe kernels), and views at an offset
    const sums = gb.tidy(() => made.slice(0, 50).map((t, i) => gb.keep(gb.add(gb.mul(t, 2), made[1999 - i]!))));
    const tails = made.slice(100, 110).map((t) => gb.slice(t, 0, { start: 1 }));
    const tailsPlusOne = tails.map((v) => gb.add(v, 1));
    for (const [i, s] of sums.entries()) expect(Array.from(await s.toArray())).toEqual([2 * i + (1999 - i), -2 * i - (1999 - i), i + (1999 - i) / 2]);
    for (const [i, v] of tails.entries()) expect(Array.from(await v.toArray())).toEqual([-(100 + i), (100 + i) / 2]);
    for (const [i, v] of tailsPlusOne.entries()) expect(Array.from(await v.toArray())).toEqual([1 - (100 + i), 1 + (100 + i) / 2]);
    // one input bound twice next to an output in the same slab (its second binding gets a copy)
    const squares = made.slice(200, 210).map((t) => gb.mul(t, t));
    for (const [i, q] of squares.entries()) expect(Array.from(await q.toArray())).toEqual([(200 + i) ** 2, (200 + i) ** 2, (200 + i) ** 2 / 4]);
    made.push(...sums, ...tails, ...tailsPlusOne, ...squares);
  });

  it('a budget bounds live GPU buffers: it first frees pooled buffers, then names the count, the limit and tidy()', async () => {
    const big = (n: number) => gb.zeros([n]); // over 64 KiB: a buffer of its own
    // three released buffers sit in the pool; a different size class at the limit destroys them instead of failing
    const spare = [big(40_000), big(40_000), big(40_000)];
    await spare[0]!.toArray();
    spare.forEach((t) => t.dispose());
    gb.tidy(() => undefined); // submits, so the released buffers are back in the pool
    setBufferLimit(gb.memory().buffersAlive);
    made.push(big(90_000));
    expect(gb.memory().buffersAlive).toBeLessThanOrEqual(gb.memory().bufferLimit);

    const limit = gb.memory().buffersAlive + 5;
    setBufferLimit(limit);
    let error: Error | undefined;
    try {
      for (let i = 0; i < 20; i++) made.push(big(30_000 + i * 1000));
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(new RegExp(`^glassbox: ${limit} GPU buffers are alive, the limit is ${limit} \\(allocating \\d+ more bytes\\)`));
    expect(error?.message).toContain('tidy(');
    expect(error?.message).toContain('dispose()');
    expect(made.length).toBe(5 + 1);
    // disposing makes room again
    made.splice(1).forEach((t) => t.dispose());
    gb.tidy(() => undefined);
    made.push(big(200_000));
    expect(Array.from((await made[made.length - 1]!.toArray()).slice(0, 2))).toEqual([0, 0]);
  });

  it('the limit is the one set; memory() reports it', () => {
    expect(gb.memory().bufferLimit).toBe(DEFAULT_MAX_BUFFERS);
    expect(DEFAULT_MAX_BUFFERS).toBeLessThan(65_530 / 2); // well below Linux's default vm.max_map_count
    expect(() => setBufferLimit(0)).toThrow(/positive integer, got 0/);
    expect(runtime().budget.live).toBe(gb.memory().buffersAlive);
  });
});
