/**
 * glassbox as a benchmark peer: an op recorded back to back, and a model's training step
 * (the trainer's pattern: tidy { zeroGrad; loss = crossEntropy(model.forward(x), y); backward; step }).
 *
 * The training peer also counts what a step costs the engine (dispatches, submits, copies,
 * buffers created, JavaScript recording time) and can capture one step's dispatches so that
 * their kernels can be replayed, alone or by kind, without the JavaScript that recorded them.
 */
import { crossEntropy, keep, memory, sync, tensor, tidy, type Tensor } from '../../src/index.ts';
import { runtime } from '../../src/kernels/runtime.ts';
import { bindingResource, storageOffsets, type Binding } from '../../src/kernels/command-queue.ts';
import type { Kernel } from '../../src/kernels/pipelines.ts';
import { MODEL_ZOO, type InputSpec } from '../../src/nn/models/zoo.ts';
import { SGD } from '../../src/train/optim.ts';
import { now, type Peer } from '../timing.ts';

/** Records `op()` `repeat` times, waits once with sync(), then frees the outputs. */
export function glassboxPeer(inputs: () => Tensor[], op: (xs: Tensor[]) => Tensor, stats: { dispatchesPerOp?: number }): Peer {
  let xs: Tensor[] = [];
  return {
    name: 'glassbox',
    async warmup() {
      xs = inputs();
      await sync();
      const before = memory().dispatches;
      const t0 = now();
      const y = op(xs);
      const output = (await y.toArray()) as Float32Array;
      const seconds = now() - t0;
      stats.dispatchesPerOp = memory().dispatches - before;
      y.dispose();
      return { seconds, output };
    },
    async run(repeat) {
      const t0 = now();
      // each output's buffer goes back to the pool once the work reading it has been submitted
      for (let i = 0; i < repeat; i++) op(xs).dispose();
      await sync();
      return now() - t0;
    },
    async dispose() {
      for (const x of xs) x.dispose();
      xs = [];
      await sync();
    },
  };
}

/**
 * Dawn's own floor for the dispatch row: the kernel that `op` dispatches (captured once), recorded
 * straight into Dawn with no glassbox op, tensor or queue logic: one bind group made up front,
 * 64 dispatches per compute pass and submit as glassbox's queue does, one wait at the end.
 */
export function dawnDirectPeer(inputs: () => Tensor[], op: (xs: Tensor[]) => Tensor): Peer {
  let xs: Tensor[] = [];
  let captured: CapturedDispatch | undefined;
  let group: GPUBindGroup | undefined;
  let uniformBuffer: GPUBuffer | undefined;
  return {
    name: 'dawn-direct',
    async warmup() {
      xs = inputs();
      dispatchTap();
      sink = [];
      const y = op(xs);
      captured = sink[0];
      sink = undefined;
      await y.toArray();
      y.dispose();
      if (!captured) throw new Error('dawn-direct: the op dispatched nothing');
      const { device } = runtime();
      const { kernel, buffers, uniforms } = captured;
      const entries: GPUBindGroupEntry[] = buffers.map((buffer, i) => ({ binding: kernel.storage[i]!.binding, resource: bindingResource(buffer, kernel.dynamicStorage) }));
      if (kernel.uniform && uniforms) {
        uniformBuffer = device.createBuffer({ size: 256, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
        device.queue.writeBuffer(uniformBuffer, 0, uniforms);
        entries.push({ binding: kernel.uniform.binding, resource: { buffer: uniformBuffer, size: kernel.uniform.size } });
      }
      group = device.createBindGroup({ layout: kernel.layout, entries });
      const t0 = now();
      await this.run(1);
      return { seconds: now() - t0 };
    },
    async run(repeat) {
      const { device } = runtime();
      const { kernel, workgroups } = captured!;
      const offsets = new Uint32Array(captured!.buffers.length);
      await sync();
      const t0 = now();
      for (let done = 0; done < repeat; ) {
        const encoder = device.createCommandEncoder();
        const pass = encoder.beginComputePass();
        pass.setPipeline(kernel.pipeline);
        for (let i = 0; i < 64 && done < repeat; i++, done++) {
          pass.setBindGroup(0, group!, offsets, 0, kernel.dynamicStorage ? storageOffsets(captured!.buffers, offsets) : 0);
          pass.dispatchWorkgroups(workgroups[0], workgroups[1], workgroups[2]);
        }
        pass.end();
        device.queue.submit([encoder.finish()]);
      }
      await sync();
      return now() - t0;
    },
    async dispose() {
      for (const x of xs) x.dispose();
      xs = [];
      uniformBuffer?.destroy();
      await sync();
    },
  };
}

/** One dispatch as the command queue received it. */
export interface CapturedDispatch {
  kernel: Kernel;
  buffers: Binding[];
  uniforms: ArrayBuffer | undefined;
  workgroups: readonly [number, number, number];
}

/** What the engine did per training step, summed over the timed repetitions (divide by `steps`). */
export interface StepCounters {
  steps: number;
  dispatches: number;
  submits: number;
  copies: number;
  buffersCreated: number;
  /** JavaScript time spent recording the steps (returning from the step function), seconds. */
  recordSeconds: number;
  /** Per repetition: JavaScript recording seconds per step, and total seconds per step including the wait. */
  samples: Array<{ record: number; total: number }>;
  /** The dispatches of one steady-state step (the last warm-up step). */
  captured: CapturedDispatch[];
}

/**
 * Dispatches go through `runtime().queue.dispatch`; while `sink` is set, each is also appended to
 * it. Returns the original method, which replays a captured dispatch without capturing it again.
 */
let sink: CapturedDispatch[] | undefined;
let originalDispatch: ((kernel: Kernel, buffers: Binding[], uniforms: ArrayBuffer | undefined, workgroups: readonly [number, number, number]) => void) | undefined;
function dispatchTap(): NonNullable<typeof originalDispatch> {
  if (originalDispatch) return originalDispatch;
  const queue = runtime().queue;
  const original = queue.dispatch.bind(queue);
  queue.dispatch = (kernel, buffers, uniforms, workgroups) => {
    sink?.push({ kernel, buffers: buffers.slice(), uniforms: uniforms?.slice(0), workgroups: [...workgroups] });
    original(kernel, buffers, uniforms, workgroups);
  };
  return (originalDispatch = original);
}

/**
 * Replays dispatches `reps` times with one wait at the end and returns seconds per replay. The
 * buffers belong to the pool (released, never destroyed), so the kernels read and write stale
 * values: only the time means anything, and live tensors that share the buffers are overwritten.
 */
export async function replay(dispatches: readonly CapturedDispatch[], reps: number): Promise<number> {
  const dispatch = dispatchTap();
  await sync();
  const t0 = now();
  for (let r = 0; r < reps; r++) for (const d of dispatches) dispatch(d.kernel, d.buffers, d.uniforms, d.workgroups);
  await sync();
  return (now() - t0) / reps;
}

function counters(): { dispatches: number; submits: number; copies: number; buffersCreated: number } {
  const m = memory();
  return { dispatches: m.dispatches, submits: m.submits, copies: runtime().queue.stats.copies, buffersCreated: m.buffersCreated };
}

/**
 * A zoo model's training step as a peer: SGD (lr 0.01, momentum 0.9) on a fixed batch `x`
 * ([N, C, H, W] values) with `labels`. Warm-up runs `warmupSteps` steps (the first compiles the
 * kernels, the second the optimiser's steady-state update and its state buffers) and times the
 * last, whose dispatches it captures into `counters.captured`.
 */
export function glassboxTrainPeer(model: string, input: InputSpec, x: Float32Array, labels: Int32Array, warmupSteps: number, stats: StepCounters): Peer {
  let state: { step: () => void; release: () => void } | undefined;
  dispatchTap();
  return {
    name: 'glassbox',
    async warmup() {
      const net = MODEL_ZOO[model]!.build(input);
      net.train();
      const optimizer = new SGD(net.parameters(), { lr: 0.01, momentum: 0.9 });
      const batch = labels.length;
      const images = keep(tensor(x, [batch, input.channels, input.height, input.width]));
      const targets = keep(tensor(labels, [batch], { dtype: 'int32' }));
      const step = () =>
        tidy(() => {
          optimizer.zeroGrad();
          crossEntropy(net.forward(images), targets).backward();
          optimizer.step();
        });
      state = {
        step,
        release: () => {
          optimizer.zeroGrad();
          for (const t of optimizer.stateDict().tensors.values()) t.dispose();
          for (const p of net.parameters()) p.dispose();
          images.dispose();
          targets.dispose();
        },
      };
      let seconds = 0;
      for (let i = 0; i < Math.max(1, warmupSteps); i++) {
        sink = stats.captured = []; // the last step's dispatches are kept
        const t0 = now();
        step();
        sink = undefined;
        await sync();
        seconds = now() - t0;
      }
      return { seconds };
    },
    async run(repeat) {
      const before = counters();
      let record = 0;
      const t0 = now();
      for (let i = 0; i < repeat; i++) {
        const r0 = now();
        state!.step();
        record += now() - r0;
      }
      await sync();
      const total = now() - t0;
      const after = counters();
      stats.steps += repeat;
      stats.dispatches += after.dispatches - before.dispatches;
      stats.submits += after.submits - before.submits;
      stats.copies += after.copies - before.copies;
      stats.buffersCreated += after.buffersCreated - before.buffersCreated;
      stats.recordSeconds += record;
      stats.samples.push({ record: record / repeat, total: total / repeat });
      return total;
    },
    async dispose() {
      state?.release();
      state = undefined;
      await sync();
    },
  };
}

export function emptyStepCounters(): StepCounters {
  return { steps: 0, dispatches: 0, submits: 0, copies: 0, buffersCreated: 0, recordSeconds: 0, samples: [], captured: [] };
}
