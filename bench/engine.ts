/**
 * `npm run bench [-- options]`: the engine's kernels against TensorFlow.js's WebGPU backend
 * (same Dawn instance) and PyTorch on the CPU, in one run.
 *
 *   --quick           fewer sizes (256, 1024) and repetitions
 *   --sizes=256,512   matmul sizes
 *   --reps=N          timed repetitions per peer (fewer, down to one, for ops that take seconds)
 *   --no-subgroups    run the kernels that need no subgroups (for comparisons)
 *   --no-tfjs, --no-torch, --no-write (print only; leave bench/RESULTS.md and bench/results/ alone)
 *
 * Rows: matmul N, add 16M, sum 10M, dispatch overhead, readback 4 MB (see RESULTS_HEADER in
 * report.ts). Results go to bench/RESULTS.md (the `engine` section) and bench/results/engine.json.
 */
import { resolve } from 'node:path';
import { add, init, kernelSubgroupSize, kernelTarget, matmul, setSubgroupsEnabled, sum, sync, tensor, type Tensor } from '../src/index.ts';
import { planMatmul } from '../src/kernels/wgsl/matmul.ts';
import { dawnDirectPeer, glassboxPeer } from './peers/glassbox.ts';
import { startPeers } from './peers/start.ts';
import { randomData, relativeDifference } from './inputs.ts';
import { fmt, kernelChoice, machine, markdownTable, repoRoot, runLines, textTable, writeJson, writeSection } from './report.ts';
import { now, timePeers, type Peer, type PeerTiming, type TimingOptions } from './timing.ts';

// --- options -------------------------------------------------------------------------------

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const option = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const known = /^--(quick|no-tfjs|no-torch|no-write|no-subgroups|sizes=[\d,]+|reps=\d+)$/;
for (const a of argv) {
  if (!known.test(a)) {
    console.error(`bench/engine.ts: unknown option '${a}'. Options: --quick --sizes=256,512 --reps=N --no-tfjs --no-torch --no-write --no-subgroups`);
    process.exit(2);
  }
}
const quick = flag('quick');
const sizes = option('sizes')?.split(',').map(Number) ?? (quick ? [256, 1024] : [256, 512, 1024, 2048]);
const reps = Number(option('reps') ?? (quick ? 3 : 5));
/** Seconds per repetition, and the most one peer may spend on one row's timed repetitions. */
const TARGET_SECONDS = quick ? 0.2 : 0.4;
const ROW_BUDGET_SECONDS = quick ? 8 : 30;
/** Outputs a repetition may hold at once (glassbox frees them after the final wait). */
const MAX_OUTPUT_BYTES = 256 * 2 ** 20;

const ROOT = repoRoot();
const RESULTS_MD = resolve(ROOT, 'bench/RESULTS.md');
const RESULTS_JSON = resolve(ROOT, 'bench/results/engine.json');

// --- glassbox peers ------------------------------------------------------------------------

function glassboxReadback(data: Float32Array): Peer {
  let x: Tensor | undefined;
  return {
    name: 'glassbox',
    async warmup() {
      x = tensor(data);
      const t0 = now();
      const y = add(x, x);
      const output = (await y.toArray()) as Float32Array;
      const seconds = now() - t0;
      y.dispose();
      return { seconds, output };
    },
    async run(repeat) {
      let total = 0;
      for (let i = 0; i < repeat; i++) {
        const y = add(x!, x!);
        await sync();
        const t0 = now();
        await y.toArray();
        total += now() - t0;
        y.dispose();
      }
      return total;
    },
    async dispose() {
      x?.dispose();
    },
  };
}

// --- rows ----------------------------------------------------------------------------------

type Unit = 'GFLOP/s' | 'GB/s' | 'us/op' | 'ms';

interface Row {
  name: string;
  unit: Unit;
  /** Flops or bytes per op, for the throughput units. */
  work?: number;
  kernel?: string;
  dispatchesPerOp?: number;
  /** max |glassbox - tfjs| / max |tfjs| on the same inputs. */
  check?: number;
  peers: PeerTiming[];
}

function value(row: Row, seconds: number): number {
  if (row.unit === 'us/op') return seconds * 1e6;
  if (row.unit === 'ms') return seconds * 1e3;
  return row.work! / seconds / 1e9;
}

function timing(overrides: Partial<TimingOptions> = {}): TimingOptions {
  return { targetSeconds: TARGET_SECONDS, reps, maxRepeat: 200, budgetSeconds: ROW_BUDGET_SECONDS, ...overrides };
}

async function runRow(row: Omit<Row, 'peers'>, peers: Peer[], options: TimingOptions, stats: { dispatchesPerOp?: number }): Promise<Row> {
  const t0 = now();
  const timings = await timePeers(peers, options);
  const gb = timings.find((t) => t.name === 'glassbox');
  const tf = timings.find((t) => t.name === 'tfjs-webgpu');
  const done: Row = { ...row, dispatchesPerOp: stats.dispatchesPerOp, check: relativeDifference(gb?.output, tf?.output), peers: timings };
  const line = timings.map((t) => `${t.name} ${t.error ? `error: ${t.error}` : `${fmt(value(done, t.seconds))} ${row.unit} (R=${t.repeat}, ${t.samples.length} reps)`}`).join(', ');
  console.error(`  ${row.name}: ${line}  [${(now() - t0).toFixed(1)} s]`);
  return done;
}

// --- main ----------------------------------------------------------------------------------

const started = now();
const { adapter } = await init();
if (flag('no-subgroups')) setSubgroupsEnabled(false);
const info = machine();
console.error(`glassbox bench: ${adapter.description || adapter.device} (${adapter.vendor}, ${adapter.architecture}); kernel target ${kernelChoice(kernelTarget(), kernelSubgroupSize())}`);
console.error(`machine: ${info.cpu}, ${info.cores} cores`);

const { tfjs, tfjsNote, torch, torchNote } = await startPeers({ tfjs: !flag('no-tfjs'), torch: !flag('no-torch') });

const rows: Row[] = [];

for (const n of sizes) {
  const a = randomData(n * n, 1 + n);
  const b = randomData(n * n, 2 + n);
  const stats: { dispatchesPerOp?: number } = {};
  const peers = [glassboxPeer(() => [tensor(a, [n, n]), tensor(b, [n, n])], ([x, y]) => matmul(x!, y!), stats)];
  if (tfjs) peers.push(tfjs.matmul(a, b, n));
  if (torch) peers.push(torch.peer('matmul', n));
  const kernel = planMatmul({ batch: 1, M: n, N: n, K: n, transA: false, transB: false, batchStrideA: 0, batchStrideB: 0 }, kernelTarget(), kernelSubgroupSize()).name;
  const maxRepeat = Math.max(1, Math.floor(MAX_OUTPUT_BYTES / (n * n * 4)));
  rows.push(await runRow({ name: `matmul ${n}`, unit: 'GFLOP/s', work: 2 * n ** 3, kernel }, peers, timing({ maxRepeat }), stats));
}

{
  const n = 16 * 2 ** 20;
  const x = randomData(n, 3);
  const y = randomData(n, 4);
  const stats: { dispatchesPerOp?: number } = {};
  const peers = [glassboxPeer(() => [tensor(x), tensor(y)], ([p, q]) => add(p!, q!), stats)];
  if (tfjs) peers.push(tfjs.add(x, y));
  if (torch) peers.push(torch.peer('add', n));
  rows.push(await runRow({ name: 'add 16M', unit: 'GB/s', work: 3 * 4 * n }, peers, timing({ maxRepeat: Math.floor(MAX_OUTPUT_BYTES / (4 * n)) }), stats));
}

{
  const n = 10_000_000;
  const x = randomData(n, 5);
  const stats: { dispatchesPerOp?: number } = {};
  const peers = [glassboxPeer(() => [tensor(x)], ([p]) => sum(p!), stats)];
  if (tfjs) peers.push(tfjs.sum(x));
  if (torch) peers.push(torch.peer('sum', n));
  rows.push(await runRow({ name: 'sum 10M', unit: 'GB/s', work: 4 * n }, peers, timing(), stats));
}

/** Untimed repetitions of the dispatch row (a few thousand calls before V8 optimises an op's path). */
const DISPATCH_WARMUP_RUNS = 6;
{
  const n = 1024;
  const x = randomData(n, 6);
  const stats: { dispatchesPerOp?: number } = {};
  const peers = [glassboxPeer(() => [tensor(x), tensor(x)], ([p, q]) => add(p!, q!), stats), dawnDirectPeer(() => [tensor(x), tensor(x)], ([p, q]) => add(p!, q!))];
  if (tfjs) peers.push(tfjs.tinyAdds(x));
  rows.push(await runRow({ name: 'dispatch (add 1K)', unit: 'us/op' }, peers, timing({ repeat: quick ? 500 : 2000, warmupRuns: DISPATCH_WARMUP_RUNS }), stats));
}

{
  const x = randomData(2 ** 20, 7);
  const stats: { dispatchesPerOp?: number } = {};
  const peers = [glassboxReadback(x)];
  if (tfjs) peers.push(tfjs.readback(x));
  rows.push(await runRow({ name: 'readback 4 MB', unit: 'ms' }, peers, timing({ repeat: 1, reps: Math.max(reps, quick ? 5 : 9) }), stats));
}

torch?.close();

// --- report --------------------------------------------------------------------------------

const lowerIsBetter = (u: Unit) => u === 'us/op' || u === 'ms';
const head = ['benchmark', 'unit', 'glassbox', 'kernel', 'tfjs-webgpu', 'x tfjs', 'torch-cpu', 'x torch', 'check'];
function cells(row: Row): string[] {
  const peer = (name: string) => row.peers.find((p) => p.name === name);
  const show = (p: PeerTiming | undefined) => (!p ? '-' : p.error ? 'error' : fmt(value(row, p.seconds)));
  const ratio = (p: PeerTiming | undefined) => {
    const g = peer('glassbox');
    if (!p || !g || p.error || g.error) return '-';
    return `${fmt(p.seconds / g.seconds)}x`;
  };
  const kernel = row.kernel ?? (row.dispatchesPerOp !== undefined ? `${row.dispatchesPerOp} dispatch${row.dispatchesPerOp === 1 ? '' : 'es'}` : '');
  return [
    row.name,
    `${row.unit}${lowerIsBetter(row.unit) ? ' (lower is better)' : ''}`,
    show(peer('glassbox')),
    kernel,
    show(peer('tfjs-webgpu')),
    ratio(peer('tfjs-webgpu')),
    show(peer('torch-cpu')),
    ratio(peer('torch-cpu')),
    row.check === undefined ? '-' : row.check.toExponential(1),
  ];
}
const table = rows.map(cells);
const errors = rows.flatMap((r) => r.peers.filter((p) => p.error).map((p) => `${r.name}, ${p.name}: ${p.error}`));
const command = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
const date = new Date().toISOString();
const adapterText = `${adapter.description || adapter.device} (vendor ${adapter.vendor}, architecture ${adapter.architecture}${adapter.fallback ? ', fallback' : ''})`;
const lavapipeThreads = process.env.LP_NUM_THREADS ? `, LP_NUM_THREADS=${process.env.LP_NUM_THREADS}` : '';
const totalSeconds = now() - started;

// Dawn alone, for the dispatch row (bench/peers/glassbox.ts, dawnDirectPeer)
const dispatchRow = rows.find((r) => r.name.startsWith('dispatch'));
const direct = dispatchRow?.peers.find((p) => p.name === 'dawn-direct');
const ours = dispatchRow?.peers.find((p) => p.name === 'glassbox');
const floorLine =
  direct && ours && !direct.error && !ours.error
    ? `Dawn alone (the same add kernel recorded straight into Dawn: one bind group, 64 dispatches per pass and submit, no glassbox op): ${fmt(direct.seconds * 1e6)} us/dispatch, so glassbox's op adds ${fmt((ours.seconds - direct.seconds) * 1e6)} us on top.`
    : undefined;
// the same row's first untimed repetition, before V8 has optimised the op path (timing.ts, warmupRuns)
const coldLine = dispatchRow
  ? `The dispatch row is timed after ${fmt((dispatchRow.peers[0]?.repeat ?? 0) * DISPATCH_WARMUP_RUNS)} untimed ops per peer; its first ${fmt(dispatchRow.peers[0]?.repeat ?? 0)} ops, before V8 optimises the JavaScript that records them, took ${dispatchRow.peers
      .filter((p) => p.firstRunSeconds !== undefined)
      .map((p) => `${fmt(p.firstRunSeconds! * 1e6)} us/op (${p.name})`)
      .join(', ')}.`
  : undefined;

console.log(`\n${textTable(head, table)}`);
if (floorLine) console.log(floorLine);
if (coldLine) console.log(coldLine);
for (const e of errors) console.log(`error: ${e}`);
console.log(`(${totalSeconds.toFixed(0)} s; x = glassbox speed over the peer's, above 1 = glassbox faster)`);

if (!flag('no-write')) {
  const md = [
    '## Engine kernels (`bench/engine.ts`)',
    '',
    ...runLines({ date, machine: `${info.cpu}, ${info.cores} cores${lavapipeThreads}`, adapter: adapterText, target: kernelChoice(kernelTarget(), kernelSubgroupSize()), tfjsNote, torchNote, command, seconds: totalSeconds }),
    '',
    markdownTable(head, table),
    ...(floorLine ? ['', floorLine] : []),
    ...(coldLine ? ['', coldLine] : []),
    ...(errors.length ? ['', ...errors.map((e) => `- error: ${e}`)] : []),
  ].join('\n');
  writeSection(RESULTS_MD, 'engine', md);
  writeJson(RESULTS_JSON, {
    date,
    command,
    seconds: totalSeconds,
    machine: { ...info, node: process.versions.node, lpNumThreads: process.env.LP_NUM_THREADS ?? null },
    adapter,
    kernelTarget: kernelTarget(),
    tfjs: tfjsNote,
    torch: torch?.info ?? torchNote,
    rows: rows.map((r) => ({
      name: r.name,
      unit: r.unit,
      work: r.work ?? null,
      kernel: r.kernel ?? null,
      dispatchesPerOp: r.dispatchesPerOp ?? null,
      check: r.check ?? null,
      peers: r.peers.map((p) => ({
        name: p.name,
        value: Number.isFinite(p.seconds) ? value(r, p.seconds) : null,
        secondsPerOp: Number.isFinite(p.seconds) ? p.seconds : null,
        repeat: p.repeat,
        samples: p.samples,
        warmupSeconds: p.warmupSeconds,
        error: p.error ?? null,
        /** glassbox speed over this peer's (peer time / glassbox time). */
        glassboxSpeedup: r.peers[0] && p !== r.peers[0] && Number.isFinite(p.seconds) ? p.seconds / r.peers[0].seconds : null,
      })),
    })),
  });
  console.log(`wrote ${RESULTS_MD} (engine section) and ${RESULTS_JSON}`);
}
