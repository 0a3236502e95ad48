/**
 * `node scripts/run-ts.mjs bench/step-kernels.ts [model] [--reps=N]`: every dispatch of one training
 * step of a zoo model (lenet5, mnist-cnn, cifar-net; default lenet5), in order, with the time its
 * kernel takes replayed alone, then the step's dispatches replayed together and the step itself.
 *
 * The step is the training benchmark's (bench/training.ts: batch 64, SGD with momentum, a fixed
 * synthetic batch). Each dispatch is replayed 10 times back to back per timing, `reps` timings
 * (default 7, alternating over the dispatches), median, minus an empty queue's wait; what it
 * prints per line: index, ms, kernel name, workgroups, first uniforms (for a matmul: M, N, K, batch).
 * Replays read and write the pool's buffers as the step left them: only the times mean anything.
 */
import { init } from '../src/index.ts';
import { emptyStepCounters, glassboxTrainPeer, replay } from './peers/glassbox.ts';
import { NETS } from './nets.ts';
import type { NetName } from './peers/tfjs_nets.ts';
import { median } from './timing.ts';

const args = process.argv.slice(2);
const model = (args.find((a) => !a.startsWith('--')) ?? 'lenet5') as NetName;
const reps = Number(args.find((a) => a.startsWith('--reps='))?.slice(7) ?? 7);
if (!NETS[model] || !Number.isInteger(reps) || reps < 1) {
  console.error(`usage: node scripts/run-ts.mjs bench/step-kernels.ts [lenet5|mnist-cnn|cifar-net] [--reps=N]`);
  process.exit(2);
}
await init();
const input = NETS[model];
const batch = 64;
const pixels = new Float32Array(batch * input.channels * input.height * input.width).map((_, i) => Math.sin(i));
const labels = new Int32Array(batch).map((_, i) => i % 10);
const counters = emptyStepCounters();
const peer = glassboxTrainPeer(model, input, pixels, labels, 3, counters);
await peer.warmup();
const stepSeconds = await peer.run(10);
const step = counters.captured;

const REPEAT = 10;
const samples = step.map((): number[] => []);
const empty: number[] = [];
for (let r = 0; r < reps; r++) {
  empty.push(await replay([], REPEAT));
  for (let i = 0; i < step.length; i++) samples[i]!.push(await replay([step[i]!], REPEAT));
}
const wait = median(empty);
let sum = 0;
for (const [i, d] of step.entries()) {
  const ms = (median(samples[i]!) - wait) * 1e3;
  sum += ms;
  const uniforms = d.uniforms ? Array.from(new Uint32Array(d.uniforms).slice(0, 4)).join(',') : '';
  console.log(`${String(i).padStart(3)} ${ms.toFixed(3).padStart(8)} ms  ${d.kernel.name}  workgroups ${d.workgroups.join('x')}  uniforms ${uniforms}`);
}
const together: number[] = [];
for (let r = 0; r < 3; r++) together.push(await replay(step, REPEAT));
console.log(`${step.length} dispatches: ${sum.toFixed(2)} ms alone (sum), ${(median(together) * 1e3).toFixed(2)} ms replayed together, ${((stepSeconds / 10) * 1e3).toFixed(2)} ms per training step`);
process.exit(0);
