/**
 * PyTorch on the CPU as a peer: one long-lived `/usr/bin/python3 bench/peers/torch_bench.py`
 * process, so its repetitions can alternate with the WebGPU peers'. Times are taken inside Python.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Peer } from '../timing.ts';

export const PYTHON = '/usr/bin/python3';

export interface TorchInfo {
  torch: string;
  threads: number;
  blas_info: string;
  blas_libraries: string[];
  openblas: boolean;
  omp_wait_policy: string;
}

/** One line for reports: version, threads, BLAS and OpenMP's wait policy. */
export function describeTorch(t: TorchInfo): string {
  const libs = t.blas_libraries.map((l) => l.split('/').pop()).join(', ') || 'no BLAS library mapped';
  return `PyTorch ${t.torch}, ${t.threads} threads, OMP_WAIT_POLICY=${t.omp_wait_policy}, BLAS_INFO=${t.blas_info}, ${t.openblas ? 'OpenBLAS' : 'no OpenBLAS'} loaded (${libs})`;
}

/** What one op of a torch peer is (see the protocol in torch_bench.py); `warmup`: runs before timing, the last one timed (default 1). */
export type TorchRequest = { warmup?: number } & (
  | { op: 'matmul' | 'add' | 'sum'; size: number }
  | { op: 'train'; model: 'lenet5' | 'mnist-cnn' | 'cifar-net'; batch: number }
  | { op: 'conv2d'; input: [number, number, number, number]; cout: number; k: number; pass: 'forward' | 'input-grad' | 'weight-grad' }
);

export interface TorchPeer {
  info: TorchInfo;
  peer(op: 'matmul' | 'add' | 'sum', size: number): Peer;
  request(req: TorchRequest): Peer;
  close(): void;
}

/** Starts the Python peer, or returns why it cannot (no python3, no torch). */
export async function startTorch(script: string): Promise<TorchPeer | string> {
  const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.error) return `${PYTHON} not runnable (${probe.error.message})`;
  if (probe.status !== 0) return `\`${PYTHON} -c 'import torch'\` failed: ${probe.stderr.trim().split('\n').pop()}`;

  // OpenMP's default busy-waiting at barriers collapses when the cores are shared (a LeNet step took
  // 240 ms with 2 spinning threads on a loaded 2-core machine, 20 ms with PASSIVE); set before torch loads.
  const env = { ...process.env, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' };
  const child: ChildProcessWithoutNullStreams = spawn(PYTHON, [script], { stdio: ['pipe', 'pipe', 'pipe'], env });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();

  async function reply(): Promise<Record<string, unknown>> {
    const next = await lines.next();
    if (next.done) throw new Error(`the torch peer exited: ${stderr.trim().split('\n').pop() ?? ''}`);
    const msg = JSON.parse(next.value) as Record<string, unknown>;
    if (typeof msg.error === 'string') throw new Error(`torch peer: ${msg.error}`);
    return msg;
  }
  async function ask(req: object): Promise<Record<string, unknown>> {
    child.stdin.write(`${JSON.stringify(req)}\n`);
    return reply();
  }

  const ready = (await reply()).ready as TorchInfo;
  const request = (req: TorchRequest): Peer => ({
    name: 'torch-cpu',
    async warmup() {
      return { seconds: (await ask({ cmd: 'warmup', ...req })).seconds as number };
    },
    async run(repeat) {
      return (await ask({ cmd: 'run', repeat })).seconds as number;
    },
    async dispose() {
      await ask({ cmd: 'dispose' });
    },
  });
  return {
    info: ready,
    peer: (op, size) => request({ op, size }),
    request,
    close() {
      child.stdin.end();
    },
  };
}
