/**
 * TensorFlow.js's WebGPU backend as a peer, running on the same Dawn `GPU` object as glassbox
 * (its own device on the same adapter).
 *
 * The backend decides at import time whether WebGPU exists (it looks for `navigator.gpu`), so
 * `navigator` is set before the dynamic import. Its "sync" is what `data()` does without the
 * readback: submit the open command encoder and wait for the queue.
 */
import type { Peer } from '../timing.ts';
import { now } from '../timing.ts';

type Tf = typeof import('@tensorflow/tfjs-core');
type TfTensor = import('@tensorflow/tfjs-core').Tensor;

interface WebGpuBackendInternals {
  device: GPUDevice;
  commandEncoder: GPUCommandEncoder | null;
  endComputePassEncoder(): void;
  submitQueue(): void;
  adapterInfo?: { vendor?: string; architecture?: string };
}

export interface TfjsPeer {
  tf: Tf;
  version: string;
  adapter: string;
  sync(): Promise<void>;
  matmul(a: Float32Array, b: Float32Array, n: number): Peer;
  add(a: Float32Array, b: Float32Array): Peer;
  sum(x: Float32Array): Peer;
  /** Adds of a small tensor to itself (at least 1,000 elements, or tfjs runs them on the CPU). */
  tinyAdds(x: Float32Array): Peer;
  /** Reads back a freshly computed tensor (tfjs caches values it has read, so each read needs a new one). */
  readback(x: Float32Array): Peer;
}

export async function loadTfjs(gpu: GPU): Promise<TfjsPeer> {
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  const tf = (await import('@tensorflow/tfjs-core')) as Tf;
  await import('@tensorflow/tfjs-backend-webgpu');
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") returned false');
  await tf.ready();
  const backend = tf.backend() as unknown as WebGpuBackendInternals;
  if (!backend.device) throw new Error('the tfjs webgpu backend exposes no device');

  // validation errors would otherwise only be printed, and skipped work would look fast
  const errors: string[] = [];
  backend.device.addEventListener('uncapturederror', (e) => errors.push((e as GPUUncapturedErrorEvent).error.message));
  function throwErrors(): void {
    if (errors.length) throw new Error(`tfjs WebGPU device error: ${errors.splice(0).join('; ')}`);
  }

  /** What tfjs does before a readback (end the open pass, submit), then wait for the queue. */
  async function sync(): Promise<void> {
    if (backend.commandEncoder) {
      backend.endComputePassEncoder();
      backend.submitQueue();
    }
    await backend.device.queue.onSubmittedWorkDone();
    throwErrors();
  }

  /** A peer that records `op()` `repeat` times, keeping only the latest result alive. */
  function looped(name: string, inputs: () => TfTensor[], op: (xs: TfTensor[]) => TfTensor): Peer {
    let xs: TfTensor[] = [];
    return {
      name,
      async warmup() {
        xs = inputs();
        const t0 = now();
        const y = op(xs);
        const output = (await y.data()) as Float32Array;
        const seconds = now() - t0;
        y.dispose();
        throwErrors();
        return { seconds, output };
      },
      async run(repeat) {
        const t0 = now();
        let last: TfTensor | undefined;
        for (let i = 0; i < repeat; i++) {
          const y = op(xs);
          last?.dispose();
          last = y;
        }
        await sync();
        const seconds = now() - t0;
        last?.dispose();
        return seconds;
      },
      async dispose() {
        for (const x of xs) x.dispose();
        xs = [];
      },
    };
  }

  const info = backend.adapterInfo;
  return {
    tf,
    version: tf.version_core,
    adapter: info ? `${info.vendor ?? ''} ${info.architecture ?? ''}`.trim() : 'unknown',
    sync,
    matmul: (a, b, n) => looped('tfjs-webgpu', () => [tf.tensor2d(a, [n, n]), tf.tensor2d(b, [n, n])], ([x, y]) => tf.matMul(x!, y!)),
    add: (a, b) => looped('tfjs-webgpu', () => [tf.tensor1d(a), tf.tensor1d(b)], ([x, y]) => tf.add(x!, y!)),
    sum: (x) => looped('tfjs-webgpu', () => [tf.tensor1d(x)], ([t]) => tf.sum(t!)),
    tinyAdds(data) {
      if (data.length < 1000) throw new Error('tinyAdds: tfjs runs ops on fewer than 1,000 elements on the CPU; use at least 1,000');
      return looped('tfjs-webgpu', () => [tf.tensor1d(data), tf.tensor1d(data)], ([x, y]) => tf.add(x!, y!));
    },
    readback(data) {
      let x: TfTensor | undefined;
      return {
        name: 'tfjs-webgpu',
        async warmup() {
          x = tf.tensor1d(data);
          const t0 = now();
          const y = tf.add(x, x);
          const output = (await y.data()) as Float32Array;
          const seconds = now() - t0;
          y.dispose();
          return { seconds, output };
        },
        async run(repeat) {
          let total = 0;
          for (let i = 0; i < repeat; i++) {
            const y = tf.add(x!, x!);
            await sync();
            const t0 = now();
            await y.data();
            total += now() - t0;
            y.dispose();
          }
          return total;
        },
        async dispose() {
          x?.dispose();
        },
      };
    },
  };
}
