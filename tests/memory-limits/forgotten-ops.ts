/**
 * Child-process script for tests/memory-limits.test.ts: runs `ops` additions, each result
 * replacing the last (the old one is forgotten, never disposed), and never awaits, so the
 * FinalizationRegistry cannot run. Prints "done <ops> <value>" or glassbox's error; a native
 * crash shows as the process's exit signal.
 */
import * as gb from '../../src/index.ts';

const ops = Number(process.argv[2] ?? 300_000);
let x = gb.zeros([16]);
let i = 0;
try {
  for (; i < ops; i++) x = gb.add(x, 1);
} catch (e) {
  console.log(`error after ${i} ops: ${(e as Error).message}`);
  process.exit(3);
}
const first = (await x.toArray())[0];
console.log(`done ${i} ${first}`);
