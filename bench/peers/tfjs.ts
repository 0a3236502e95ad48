/**
 * TensorFlow.js's WebGPU backend as a peer, running on the same Dawn `GPU` object as glassbox
 * (its own device on the same adapter).
 *
 * The backend decides at import time whether WebGPU exists (it looks for `navigator.gpu`), so
 * `navigator` is set before the dynamic import. Its "sync" is what `data()` does without the
 * readback: submit the open command encoder and wait for the queue.
 */
import { permute4 } from '../inputs.ts';
import type { Peer } from '../timing.ts';
import { now } from '../timing.ts';
import { buildTfNet, type NetName } from './tfjs_nets.ts';

type Tf = typeof import('@tensorflow/tfjs-core');
type TfTensor = import('@tensorflow/tfjs-core').Tensor;
type Tensor4D = import('@tensorflow/tfjs-core').Tensor4D;
type Scalar = import('@tensorflow/tfjs-core').Scalar;

export type ConvPass = 'forward' | 'input-grad' | 'weight-grad';
type Shape4 = [number, number, number, number];

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
  /**
   * One op = one training step of a zoo net (tfjs_nets.ts): forward, softmax cross-entropy,
   * gradients, SGD with momentum 0.9 (tf.train.momentum, lr 0.01), on a fixed batch. `x` holds
   * the batch's pixels (any layout: the values are synthetic), `labels` one class per image.
   * Warm-up runs `warmupSteps` steps (fewer once one takes over `slowWarmupStepSeconds`) and times the last.
   */
  train(net: NetName, x: Float32Array, labels: Int32Array, warmupSteps: number, slowWarmupStepSeconds?: number): Peer;
  /**
   * conv2d (stride 1, no padding) or one of its gradients, as tf.grads would compute them (the
   * Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter kernels). Inputs and the warm-up output
   * are in glassbox's layouts (x, g: NCHW; w: OIHW) and converted to tfjs's NHWC / HWIO here.
   */
  conv2d(pass: ConvPass, x: Float32Array, xShape: Shape4, w: Float32Array, wShape: Shape4, g: Float32Array): Peer;
}

export async function loadTfjs(gpu: GPU): Promise<TfjsPeer> {
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  const tf = (await import('@tensorflow/tfjs-core')) as Tf;
  await import('@tensorflow/tfjs-backend-webgpu');
  // tfjs-core's Node bundle registers no gradients (the @tensorflow/tfjs union package does), so
  // training needs them: this relative path is bundled by esbuild (scripts/run-ts.mjs keeps only
  // '@tensorflow/*' imports external), and registers into tfjs's global gradient registry.
  await import('../../node_modules/@tensorflow/tfjs-core/dist/register_all_gradients.js');
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

  /** A peer that records `op()` `repeat` times, keeping only the latest result alive; `convert` maps the warm-up output for the cross-check. */
  function looped(name: string, inputs: () => TfTensor[], op: (xs: TfTensor[]) => TfTensor, convert = (y: Float32Array) => y): Peer {
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
        return { seconds, output: convert(output) };
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
    train(netName, x, labels, warmupSteps, slowWarmupStepSeconds = Infinity) {
      let step: (() => void) | undefined;
      let dispose = () => {};
      return {
        name: 'tfjs-webgpu',
        async warmup() {
          const net = buildTfNet(tf, netName);
          const batch = labels.length;
          const images = tf.tensor4d(x, [batch, ...net.image]);
          const oneHot = tf.oneHot(tf.tensor1d(labels, 'int32'), 10);
          const optimizer = tf.train.momentum(0.01, 0.9);
          step = () => tf.tidy(() => void optimizer.minimize(() => tf.losses.softmaxCrossEntropy(oneHot, net.forward(images)) as Scalar, false, net.variables));
          dispose = () => {
            tf.dispose([images, oneHot, ...net.variables]);
            optimizer.dispose();
          };
          let seconds = 0;
          for (let i = 0; i < Math.max(1, warmupSteps); i++) {
            const t0 = now();
            step();
            await sync();
            seconds = now() - t0;
            if (seconds > slowWarmupStepSeconds) break;
          }
          return { seconds };
        },
        async run(repeat) {
          const t0 = now();
          for (let i = 0; i < repeat; i++) step!();
          await sync();
          return now() - t0;
        },
        async dispose() {
          dispose();
          step = undefined;
        },
      };
    },
    conv2d(pass, x, [N, C, H, W], w, [O, I, KH, KW], g) {
      const [OH, OW] = [H - KH + 1, W - KW + 1];
      const nhwc = (data: Float32Array, shape: Shape4) => tf.tensor4d(permute4(data, shape, [0, 2, 3, 1]), [shape[0], shape[2], shape[3], shape[1]]);
      const inputs = () => [nhwc(x, [N, C, H, W]), tf.tensor4d(permute4(w, [O, I, KH, KW], [2, 3, 1, 0]), [KH, KW, I, O]), nhwc(g, [N, O, OH, OW])];
      const toNchw = (shape: Shape4) => (y: Float32Array) => permute4(y, shape, [0, 3, 1, 2]);
      const conv = { strides: [1, 1], pad: 'valid', dataFormat: 'NHWC' };
      if (pass === 'forward') return looped('tfjs-webgpu', inputs, ([xt, wt]) => tf.conv2d(xt as Tensor4D, wt as Tensor4D, 1, 'valid'), toNchw([N, OH, OW, O]));
      if (pass === 'input-grad')
        return looped(
          'tfjs-webgpu',
          inputs,
          ([, wt, gt]) => tf.engine().runKernel('Conv2DBackpropInput', { dy: gt!, filter: wt! }, { ...conv, inputShape: [N, H, W, C] }) as TfTensor,
          toNchw([N, H, W, C]),
        );
      return looped(
        'tfjs-webgpu',
        inputs,
        ([xt, , gt]) => tf.engine().runKernel('Conv2DBackpropFilter', { x: xt!, dy: gt! }, { ...conv, filterShape: [KH, KW, I, O] }) as TfTensor,
        (y) => permute4(y, [KH, KW, I, O], [3, 2, 0, 1]),
      );
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
