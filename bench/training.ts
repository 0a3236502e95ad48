/**
 * `npm run bench:training [-- options]`: training throughput of the zoo's CNNs, glassbox against
 * PyTorch on the CPU and TensorFlow.js's WebGPU backend (same Dawn GPU object), in one run; then
 * where glassbox's step time goes; then conv2d forward / input-gradient / weight-gradient GFLOP/s.
 *
 *   --quick                 fewer repetitions (each peer's figure from 1-2 of them for the slow nets)
 *   --reps=N                timed repetitions per peer (fewer when a row would exceed its budget)
 *   --models=lenet5,...     nets to train (lenet5, mnist-cnn, cifar-net)
 *   --no-subgroups          run the kernels that need no subgroups (for comparisons)
 *   --no-tfjs, --no-torch, --no-conv, --no-breakdown,
 *   --no-write              print only; leave bench/RESULTS.md and bench/results/ alone
 *
 * A step is batch 64: zero grads, forward, softmax cross-entropy, backward, SGD (lr 0.01,
 * momentum 0.9), on one fixed synthetic batch (uniform [-1, 1) pixels, labels 0-9), after warm-up
 * steps that compile the kernels and create the optimiser's state. glassbox runs the zoo's models
 * (src/nn/models/zoo.ts); PyTorch the same architectures (torch_bench.py); TensorFlow.js the same
 * architectures in tfjs-core ops (peers/tfjs_nets.ts, NHWC).
 *
 * Step anatomy (glassbox only): dispatches, submits, copies and new buffers per step; the
 * JavaScript time to record a step (the step function returning, while the GPU starts on the
 * batches already submitted) against the step's total with the final wait; and the kernels' time
 * by kind, from replaying one captured steady-state step's dispatches grouped by kernel, each
 * group alone (replay() in peers/glassbox.ts), which leaves out JavaScript and autograd.
 *
 * Results go to bench/RESULTS.md (the `training` section) and bench/results/training.json.
 */
import { resolve } from 'node:path';
import { conv2d, grad, init, kernelSubgroupSize, kernelTarget, setSubgroupsEnabled, tensor } from '../src/index.ts';
import { randomData, relativeDifference } from './inputs.ts';
import { emptyStepCounters, glassboxPeer, glassboxTrainPeer, replay, type CapturedDispatch, type StepCounters } from './peers/glassbox.ts';
import type { ConvPass } from './peers/tfjs.ts';
import type { NetName } from './peers/tfjs_nets.ts';
import { NETS } from './nets.ts';
import { startPeers } from './peers/start.ts';
import { fmt, kernelChoice, machine, markdownTable, repoRoot, runLines, textTable, writeJson, writeSection } from './report.ts';
import { median, now, timePeers, type Peer, type PeerTiming, type TimingOptions } from './timing.ts';

// --- options -------------------------------------------------------------------------------

const CONVS: Array<{ input: [number, number, number, number]; cout: number; k: number }> = [
  { input: [64, 1, 28, 28], cout: 32, k: 3 },
  { input: [64, 32, 26, 26], cout: 64, k: 3 },
];
const PASSES: ConvPass[] = ['forward', 'input-grad', 'weight-grad'];

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
const option = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const known = /^--(quick|no-tfjs|no-torch|no-conv|no-breakdown|no-write|no-subgroups|reps=\d+|models=[a-z0-9,-]+)$/;
for (const a of argv) {
  if (!known.test(a)) {
    console.error(`bench/training.ts: unknown option '${a}'. Options: --quick --reps=N --models=lenet5,mnist-cnn,cifar-net --no-tfjs --no-torch --no-conv --no-breakdown --no-write --no-subgroups`);
    process.exit(2);
  }
}
const quick = flag('quick');
const models = (option('models')?.split(',') ?? Object.keys(NETS)) as NetName[];
for (const m of models) {
  if (!(m in NETS)) {
    console.error(`bench/training.ts: unknown model '${m}'; known: ${Object.keys(NETS).join(', ')}`);
    process.exit(2);
  }
}
const reps = Number(option('reps') ?? (quick ? 2 : 3));
const BATCH = 64;
/**
 * Warm-up steps before timing: glassbox and tfjs compile kernels in the first and create optimiser
 * state in the first update. tfjs stops after one step slower than TFJS_SLOW_WARMUP_STEP_SECONDS
 * (its cifar-net step takes ~50 s here: compiling is a small part of it, and a second warm-up
 * step would push a run past ~6 minutes).
 */
const WARMUP_STEPS = { glassbox: 2, tfjs: 2, torch: 3 };
const TFJS_SLOW_WARMUP_STEP_SECONDS = 30;

const ROOT = repoRoot();
const RESULTS_MD = resolve(ROOT, 'bench/RESULTS.md');
const RESULTS_JSON = resolve(ROOT, 'bench/results/training.json');

const trainTiming: TimingOptions = { targetSeconds: quick ? 0.5 : 1, reps, maxRepeat: 100, budgetSeconds: quick ? 20 : 30 };
/** Seconds of kernel replays per model in the step breakdown (at least one round runs). */
const BREAKDOWN_BUDGET_SECONDS = quick ? 10 : 20;
const convTiming: TimingOptions = { targetSeconds: quick ? 0.2 : 0.4, reps: quick ? 2 : 3, maxRepeat: 50, budgetSeconds: quick ? 6 : 12 };

// --- set-up --------------------------------------------------------------------------------

const started = now();
const { adapter } = await init();
if (flag('no-subgroups')) setSubgroupsEnabled(false);
const info = machine();
console.error(`glassbox training bench: ${adapter.description || adapter.device} (${adapter.vendor}, ${adapter.architecture}); kernel target ${kernelChoice(kernelTarget(), kernelSubgroupSize())}`);
console.error(`machine: ${info.cpu}, ${info.cores} cores`);

const { tfjs, tfjsNote, torch, torchNote } = await startPeers({ tfjs: !flag('no-tfjs'), torch: !flag('no-torch'), tfjsDetail: 'nets in tfjs-core ops (tfjs-layers is not installed), NHWC' });

const peerLine = (timings: PeerTiming[], show: (t: PeerTiming) => string) =>
  timings.map((t) => `${t.name} ${t.error ? `error: ${t.error}` : `${show(t)} (R=${t.repeat}, ${t.samples.length} reps)`}`).join(', ');

// --- training throughput -------------------------------------------------------------------

interface KernelGroup {
  kernel: string;
  kind: string;
  dispatches: number;
  seconds: number;
  /** Multiply-adds x 2 of the group's dispatches (matmuls only). */
  flops?: number;
}

interface Breakdown {
  /** Empty-queue sync() cost subtracted from each replay. */
  syncSeconds: number;
  /** All captured dispatches replayed together (kernels plus per-dispatch launch cost, no JavaScript ops or autograd); NaN when the budget allowed only the per-kernel round. */
  allSeconds: number;
  /** Timings per figure (medians over them). */
  rounds: number;
  groups: KernelGroup[];
}

/** Sum of the kernels' times, each replayed alone. */
const groupSeconds = (b: Breakdown) => b.groups.reduce((s, gr) => s + gr.seconds, 0);

interface TrainRow {
  model: NetName;
  peers: PeerTiming[];
  counters: StepCounters;
  breakdown?: Breakdown;
}

function kindOf(kernel: string): string {
  if (kernel.startsWith('matmul')) return 'matmul';
  if (kernel === 'window_im2col' || kernel === 'window_col2im_backward') return 'im2col/col2im';
  if (kernel.startsWith('window_')) return 'pooling';
  if (kernel.startsWith('reduce_')) return 'reduction';
  if (kernel.startsWith('sgd')) return 'optimizer';
  return 'elementwise/other';
}
const KINDS = ['matmul', 'im2col/col2im', 'pooling', 'elementwise/other', 'reduction', 'optimizer'];

/** 2 x M x N x K x batch of a captured matmul dispatch (its uniforms start M, N, K, batch: src/kernels/wgsl/matmul.ts). */
function matmulFlops(d: CapturedDispatch): number {
  if (!d.uniforms) return 0;
  const [M, N, K, batch] = new Uint32Array(d.uniforms, 0, 4);
  return 2 * M! * N! * K! * batch!;
}

/**
 * Kernel time of one captured step: each kernel's dispatches replayed alone, then, while the
 * budget allows (at most 5 rounds, alternating order), all dispatches together and each kernel's
 * again; groups that replay in under 50 ms are repeated (up to 20 times) within a timing. Each
 * figure is the median over the later rounds (the first when there are none), less the cost of
 * an empty sync.
 */
async function breakdown(captured: readonly CapturedDispatch[], budgetSeconds: number): Promise<Breakdown> {
  const syncs: number[] = [];
  for (let i = 0; i < 7; i++) syncs.push(await replay([], 1));
  const syncSeconds = median(syncs);
  const byKernel = new Map<string, CapturedDispatch[]>();
  for (const d of captured) {
    const list = byKernel.get(d.kernel.name) ?? [];
    list.push(d);
    byKernel.set(d.kernel.name, list);
  }
  const sets: Array<{ kernel: string; list: readonly CapturedDispatch[] }> = [...byKernel].map(([kernel, list]) => ({ kernel, list }));
  const timed = async (list: readonly CapturedDispatch[], reps: number) => Math.max(0, (await replay(list, reps)) - syncSeconds / reps);
  // first round: each kernel's dispatches once; picks the repetitions, and is the figure when the budget allows no more
  const first: number[] = [];
  for (const set of sets) first.push(await timed(set.list, 1));
  const groupSum = first.reduce((a, t) => a + t, 0);
  sets.unshift({ kernel: '(all)', list: captured });
  first.unshift(groupSum);
  const reps = first.map((t) => (t >= 0.05 ? 1 : Math.min(20, Math.ceil(0.05 / Math.max(t, 1e-4)))));
  const roundSeconds = first.reduce((a, t, i) => a + t * reps[i]!, 0);
  const rounds = Math.min(5, Math.floor((budgetSeconds - groupSum) / Math.max(roundSeconds, 1e-3)));
  const samples: number[][] = sets.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const order = sets.map((_, i) => i);
    if (r % 2) order.reverse();
    for (const i of order) samples[i]!.push(await timed(sets[i]!.list, reps[i]!));
  }
  const seconds = samples.map((xs, i) => (xs.length ? median(xs) : first[i]!));
  const groups: KernelGroup[] = sets.slice(1).map(({ kernel, list }, i) => {
    const kind = kindOf(kernel);
    return { kernel, kind, dispatches: list.length, seconds: seconds[i + 1]!, flops: kind === 'matmul' ? list.reduce((s, d) => s + matmulFlops(d), 0) : undefined };
  });
  groups.sort((a, b) => b.seconds - a.seconds);
  return { syncSeconds, allSeconds: rounds > 0 ? seconds[0]! : NaN, rounds: Math.max(1, rounds), groups };
}

const trainRows: TrainRow[] = [];
for (const model of models) {
  const spec = NETS[model];
  const t0 = now();
  const pixels = BATCH * spec.channels * spec.height * spec.width;
  const x = randomData(pixels, 11);
  const labels = Int32Array.from(randomData(BATCH, 12), (v) => Math.min(9, Math.floor((v + 1) * 5)));
  const counters = emptyStepCounters();
  const peers: Peer[] = [glassboxTrainPeer(model, spec, x, labels, WARMUP_STEPS.glassbox, counters)];
  if (tfjs) peers.push(tfjs.train(model, x, labels, WARMUP_STEPS.tfjs, TFJS_SLOW_WARMUP_STEP_SECONDS));
  if (torch) peers.push(torch.request({ op: 'train', model, batch: BATCH, warmup: WARMUP_STEPS.torch }));
  const timings = await timePeers(peers, trainTiming);
  console.error(`  train ${model}: ${peerLine(timings, (t) => `${fmt(BATCH / t.seconds)} img/s`)}  [${(now() - t0).toFixed(1)} s]`);
  const row: TrainRow = { model, peers: timings, counters };
  if (!flag('no-breakdown') && counters.captured.length > 0) {
    const b0 = now();
    row.breakdown = await breakdown(counters.captured, BREAKDOWN_BUDGET_SECONDS);
    console.error(`  breakdown ${model}: ${counters.captured.length} dispatches, ${row.breakdown.groups.length} kernels; all replayed ${fmt(row.breakdown.allSeconds * 1e3)} ms, kernels alone ${fmt(groupSeconds(row.breakdown) * 1e3)} ms (median of ${row.breakdown.rounds})  [${(now() - b0).toFixed(1)} s]`);
  }
  trainRows.push(row);
}

// --- conv2d ----------------------------------------------------------------------------------

interface ConvRow {
  name: string;
  pass: ConvPass;
  flops: number;
  dispatchesPerOp?: number;
  check?: number;
  peers: PeerTiming[];
}

function glassboxConv(pass: ConvPass, x: Float32Array, xShape: number[], w: Float32Array, wShape: number[], g: Float32Array, gShape: number[], stats: { dispatchesPerOp?: number }): Peer {
  if (pass === 'forward') return glassboxPeer(() => [tensor(x, xShape), tensor(w, wShape)], ([xt, wt]) => conv2d(xt!, wt!), stats);
  // keep the graph y = conv2d(x, w) with only the wanted input requiring grad; each op is one backward through it
  const wrt = pass === 'input-grad' ? 0 : 1;
  return glassboxPeer(
    () => {
      const xt = tensor(x, xShape, { requiresGrad: wrt === 0 });
      const wt = tensor(w, wShape, { requiresGrad: wrt === 1 });
      return [xt, wt, tensor(g, gShape), conv2d(xt, wt)];
    },
    (xs) => grad([xs[3]!], [xs[wrt]!], { gradOutputs: [xs[2]!], retainGraph: true })[0]!,
    stats,
  );
}

const convRows: ConvRow[] = [];
if (!flag('no-conv')) {
  for (const { input, cout, k } of CONVS) {
    const [N, C, H, W] = input;
    const [OH, OW] = [H - k + 1, W - k + 1];
    const wShape: [number, number, number, number] = [cout, C, k, k];
    const x = randomData(N * C * H * W, 21);
    const w = randomData(cout * C * k * k, 22).map((v) => v * 0.3);
    const g = randomData(N * cout * OH * OW, 23);
    const name = `[${input.join(',')}] -> ${cout}, ${k}x${k}`;
    for (const pass of PASSES) {
      const t0 = now();
      const stats: { dispatchesPerOp?: number } = {};
      const peers = [glassboxConv(pass, x, input, w, wShape, g, [N, cout, OH, OW], stats)];
      if (tfjs) peers.push(tfjs.conv2d(pass, x, input, w, wShape, g));
      if (torch) peers.push(torch.request({ op: 'conv2d', input, cout, k, pass }));
      const timings = await timePeers(peers, convTiming);
      const flops = 2 * N * cout * OH * OW * C * k * k;
      const check = relativeDifference(timings.find((t) => t.name === 'glassbox')?.output, timings.find((t) => t.name === 'tfjs-webgpu')?.output);
      convRows.push({ name, pass, flops, dispatchesPerOp: stats.dispatchesPerOp, check, peers: timings });
      console.error(`  conv2d ${name} ${pass}: ${peerLine(timings, (t) => `${fmt(flops / t.seconds / 1e9)} GFLOP/s`)}  [${(now() - t0).toFixed(1)} s]`);
    }
  }
}

torch?.close();

// --- report --------------------------------------------------------------------------------

const peerOf = (peers: PeerTiming[], name: string) => peers.find((p) => p.name === name);
const ok = (p: PeerTiming | undefined): p is PeerTiming => !!p && !p.error && Number.isFinite(p.seconds);
/** glassbox speed over the peer's: peer seconds / glassbox seconds. */
const speedup = (peers: PeerTiming[], name: string) => {
  const g = peerOf(peers, 'glassbox');
  const p = peerOf(peers, name);
  return ok(g) && ok(p) ? p.seconds / g.seconds : NaN;
};
const ratioCell = (x: number) => (Number.isFinite(x) ? `${fmt(x)}x` : '-');
const perStep = (c: StepCounters, key: 'dispatches' | 'submits' | 'copies' | 'buffersCreated') => (c.steps ? c[key] / c.steps : NaN);
const pct = (part: number, whole: number) => (whole > 0 ? `${((100 * part) / whole).toFixed(0)}%` : '-');

const trainHead = ['model', 'glassbox img/s', 'ms/step', 'tfjs-webgpu img/s', 'x tfjs', 'torch-cpu img/s', 'x torch'];
const trainTable = trainRows.map((r) => {
  const ips = (name: string) => {
    const p = peerOf(r.peers, name);
    return !p ? '-' : p.error ? 'error' : fmt(BATCH / p.seconds);
  };
  const g = peerOf(r.peers, 'glassbox');
  return [r.model, ips('glassbox'), ok(g) ? fmt(g.seconds * 1e3) : '-', ips('tfjs-webgpu'), ratioCell(speedup(r.peers, 'tfjs-webgpu')), ips('torch-cpu'), ratioCell(speedup(r.peers, 'torch-cpu'))];
});

const anatomyHead = ['model', 'dispatches/step', 'submits', 'copies', 'new buffers', 'record (JS) ms', 'total ms', 'record share', 'kernels replayed ms', 'kernels share', 'matmul GFLOP/step', 'matmul GFLOP/s in step'];
const anatomyTable = trainRows.map((r) => {
  const c = r.counters;
  const record = c.samples.length ? median(c.samples.map((s) => s.record)) : NaN;
  const total = c.samples.length ? median(c.samples.map((s) => s.total)) : NaN;
  const b = r.breakdown;
  const mm = b?.groups.filter((gr) => gr.kind === 'matmul') ?? [];
  const mmFlops = mm.reduce((s, gr) => s + (gr.flops ?? 0), 0);
  const mmSeconds = mm.reduce((s, gr) => s + gr.seconds, 0);
  return [
    r.model,
    fmt(perStep(c, 'dispatches')),
    fmt(perStep(c, 'submits')),
    fmt(perStep(c, 'copies')),
    fmt(perStep(c, 'buffersCreated')),
    fmt(record * 1e3),
    fmt(total * 1e3),
    pct(record, total),
    b ? (Number.isFinite(b.allSeconds) ? fmt(b.allSeconds * 1e3) : `~${fmt(groupSeconds(b) * 1e3)}`) : '-',
    b ? pct(Number.isFinite(b.allSeconds) ? b.allSeconds : groupSeconds(b), total) : '-',
    b ? fmt(mmFlops / 1e9) : '-',
    b && mmSeconds > 0 ? fmt(mmFlops / mmSeconds / 1e9) : '-',
  ];
});

const kindsHead = ['model', 'sum of groups ms', ...KINDS.map((k) => `${k} %`), 'top kernels (ms)'];
const kindsTable = trainRows
  .filter((r) => r.breakdown)
  .map((r) => {
    const groups = r.breakdown!.groups;
    const sum = groupSeconds(r.breakdown!);
    const byKind = (k: string) => groups.filter((gr) => gr.kind === k).reduce((s, gr) => s + gr.seconds, 0);
    const top = groups
      .slice(0, 4)
      .map((gr) => `${gr.kernel} x${gr.dispatches} ${fmt(gr.seconds * 1e3)}`)
      .join('; ');
    return [r.model, fmt(sum * 1e3), ...KINDS.map((k) => pct(byKind(k), sum)), top];
  });

const convHead = ['conv2d', 'pass', 'GFLOP', 'glassbox GFLOP/s', 'dispatches', 'tfjs-webgpu GFLOP/s', 'x tfjs', 'torch-cpu GFLOP/s', 'x torch', 'check'];
const convTable = convRows.map((r) => {
  const rate = (name: string) => {
    const p = peerOf(r.peers, name);
    return !p ? '-' : p.error ? 'error' : fmt(r.flops / p.seconds / 1e9);
  };
  return [
    r.name,
    r.pass,
    fmt(r.flops / 1e9),
    rate('glassbox'),
    r.dispatchesPerOp === undefined ? '-' : String(r.dispatchesPerOp),
    rate('tfjs-webgpu'),
    ratioCell(speedup(r.peers, 'tfjs-webgpu')),
    rate('torch-cpu'),
    ratioCell(speedup(r.peers, 'torch-cpu')),
    r.check === undefined ? '-' : r.check.toExponential(1),
  ];
});

const errors = [
  ...trainRows.flatMap((r) => r.peers.filter((p) => p.error).map((p) => `train ${r.model}, ${p.name}: ${p.error}`)),
  ...convRows.flatMap((r) => r.peers.filter((p) => p.error).map((p) => `conv2d ${r.name} ${r.pass}, ${p.name}: ${p.error}`)),
];
const command = `npm run bench:training${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
const date = new Date().toISOString();
const adapterText = `${adapter.description || adapter.device} (vendor ${adapter.vendor}, architecture ${adapter.architecture}${adapter.fallback ? ', fallback' : ''})`;
const lavapipeThreads = process.env.LP_NUM_THREADS ? `, LP_NUM_THREADS=${process.env.LP_NUM_THREADS}` : '';
const totalSeconds = now() - started;

const tables: Array<[string, string[], string[][]]> = [
  [`Training throughput, batch ${BATCH} (images/s; x = glassbox speed over the peer's)`, trainHead, trainTable],
  ['glassbox step anatomy (medians over the timed repetitions; per step)', anatomyHead, anatomyTable],
  ["glassbox kernel time by kind (one step's dispatches replayed, grouped by kernel)", kindsHead, kindsTable],
  ['conv2d (stride 1, no padding), GFLOP/s = 2 N Cout OH OW Cin k^2 / s for each pass', convHead, convTable],
];
for (const [title, head, rows] of tables) if (rows.length) console.log(`\n${title}\n${textTable(head, rows)}`);
for (const e of errors) console.log(`error: ${e}`);
console.log(`(${totalSeconds.toFixed(0)} s)`);

if (!flag('no-write')) {
  const md = [
    '## Training and conv2d (`bench/training.ts`)',
    '',
    ...runLines({ date, machine: `${info.cpu}, ${info.cores} cores${lavapipeThreads}`, adapter: adapterText, target: kernelChoice(kernelTarget(), kernelSubgroupSize()), tfjsNote, torchNote, command, seconds: totalSeconds }),
    `- step: batch ${BATCH}, zero grads + forward + softmax cross-entropy + backward + SGD (lr 0.01, momentum 0.9), train mode (dropout, batch statistics); ` +
      `one fixed **synthetic** batch (uniform [-1, 1) pixels, labels 0-9), not a data set; after ${WARMUP_STEPS.glassbox} warm-up steps ` +
      `(torch ${WARMUP_STEPS.torch}; tfjs 1 when that one took over ${TFJS_SLOW_WARMUP_STEP_SECONDS} s); a repetition runs R steps and waits once; figures are medians of the repetitions. ` +
      'Nets: glassbox the zoo\'s `lenet5` (28x28), `mnist-cnn` (PyTorch examples), `cifar-net` (32x32x3); PyTorch and TF.js the same layers ' +
      '(TF.js: tfjs-core ops in NHWC, batch norm without running statistics).',
    '- anatomy: *record (JS)* is the time the step function takes to return (recording dispatches; the queue submits every 64, so the GPU ' +
      'already runs meanwhile); *total* adds the wait for the GPU; *kernels replayed* re-dispatches one captured steady-state step\'s ' +
      'dispatches (same kernels, buffers, uniforms) with no JavaScript ops or autograd (~: the sum of the kernels replayed alone, where the ' +
      'time budget allowed only that round); the kind shares come from replaying each kernel\'s dispatches alone (so they include each ' +
      'group\'s launch cost, ~20 us per dispatch on lavapipe).',
    '',
    ...tables.flatMap(([title, head, rows]) => (rows.length ? [`**${title}**`, '', markdownTable(head, rows), ''] : [])),
    ...(errors.length ? errors.map((e) => `- error: ${e}`) : []),
  ].join('\n');
  writeSection(RESULTS_MD, 'training', md);
  const peerJson = (p: PeerTiming, value: number) => ({
    name: p.name,
    value: Number.isFinite(value) ? value : null,
    secondsPerOp: Number.isFinite(p.seconds) ? p.seconds : null,
    repeat: p.repeat,
    samples: p.samples,
    warmupSeconds: p.warmupSeconds,
    error: p.error ?? null,
  });
  writeJson(RESULTS_JSON, {
    date,
    command,
    seconds: totalSeconds,
    machine: { ...info, node: process.versions.node, lpNumThreads: process.env.LP_NUM_THREADS ?? null },
    adapter,
    kernelTarget: kernelTarget(),
    tfjs: tfjsNote,
    torch: torch?.info ?? torchNote,
    batch: BATCH,
    inputs: 'synthetic: one fixed batch, uniform [-1, 1) pixels, labels 0-9',
    warmupSteps: WARMUP_STEPS,
    training: trainRows.map((r) => {
      const c = r.counters;
      return {
        model: r.model,
        unit: 'images/s',
        peers: r.peers.map((p) => ({ ...peerJson(p, BATCH / p.seconds), glassboxSpeedup: p.name === 'glassbox' ? null : speedup(r.peers, p.name) || null })),
        glassboxPerStep: {
          dispatches: perStep(c, 'dispatches'),
          submits: perStep(c, 'submits'),
          copies: perStep(c, 'copies'),
          buffersCreated: perStep(c, 'buffersCreated'),
          samples: c.samples,
        },
        breakdown: r.breakdown ?? null,
      };
    }),
    conv2d: convRows.map((r) => ({
      conv: r.name,
      pass: r.pass,
      flops: r.flops,
      unit: 'GFLOP/s',
      dispatchesPerOp: r.dispatchesPerOp ?? null,
      check: r.check ?? null,
      peers: r.peers.map((p) => ({ ...peerJson(p, r.flops / p.seconds / 1e9), glassboxSpeedup: p.name === 'glassbox' ? null : speedup(r.peers, p.name) || null })),
    })),
  });
  console.log(`wrote ${RESULTS_MD} (training section) and ${RESULTS_JSON}`);
}
